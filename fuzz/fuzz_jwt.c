/* fuzz_jwt: a token through verification (ws_jwt_verify), with the config
 * and an allocation fault chosen by the input, judged by the JWS/JWT
 * decision model and the acceptance oracle (fuzz/forge.h, model_jwt.h).
 *
 * Input: the common header (fuzz/common.h: config and policy, a fault plan
 * whose allocation rules apply here; chunking and reentrancy do not), then,
 * with target bit 0 set, a token spec for the forge (forge.h: key, header,
 * claims, tamper), else a raw token.  For the sweep and --decode the same
 * token travels in an upgrade request (Authorization: Bearer).
 * Checks: a diagnosis from the auth stage of the table; AUTH_NOMEM exactly
 * when an allocation failed (never a bad signature or bad JSON for an
 * out-of-memory); nothing left allocated; and, when no allocation failed,
 * the oracle: an accepted token must be pristine (a raw token: pass the
 * forge's independent strict check), else "forged"; the diagnosis and the
 * user id must be the model's whenever it knows them, else
 * "wrong_outcome". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "forge.h"
#include "inject.h"
#include "jwt.h"
#include "mem.h"
#include "model_jwt.h"

const char fz_target_name[] = "fuzz_jwt";

typedef struct jwt_case {
  fz_token tok;
} jwt_case;

static void jwt_free(void *ud) {
  jwt_case *j = ud;
  fz_token_free(&j->tok);
  free(j);
}

static void jwt_run(const fz_case *c) {
  const jwt_case *j = c->oracle_ud;
  const fz_token *t = &j->tok;
  ws_run_spec spec;
  ws_fault_env fe;
  ws_mem m;
  ws_jwt_claims claims;
  const ws_diag_info *info;
  const ws_config *cfg = fz_config(c->h.cfg);
  char msg[160], why[1200];
  ws_diag d;
  ws_mem *prev;
  int verdict;

  fz_spec(&spec, cfg, NULL, 0);
  ws_fault_env_init(&fe, &spec.env, &c->h.plan);
  ws_mem_init(&m, &fe.env.alloc);
  memset(&claims, 0, sizeof(claims));
  prev = ws_mem_enter(&m);
  d = ws_jwt_verify(&m, cfg, fz_keys(), FZ_NOW, t->text, t->len, &claims);
  ws_mem_leave(prev);
  info = ws_diag_get(d);
  snprintf(msg, sizeof(msg), "ws_jwt_verify returned %s",
           info ? info->code : "a diag outside the table");
  fz_require(d == WS_DIAG_NONE || (info && info->stage == WS_STAGE_AUTH),
             "fuzz_jwt", msg);
  if (fe.trail_len)
    fz_require(d == WS_DIAG_AUTH_NOMEM, "fuzz_jwt",
               "an allocation failed but the verdict is not AUTH_NOMEM");
  else
    fz_require(d != WS_DIAG_AUTH_NOMEM, "fuzz_jwt",
               "AUTH_NOMEM without a failed allocation");
  fz_require(fe.counts.live_blocks == 0 && fe.counts.live_bytes == 0,
             "fuzz_jwt", "memory left allocated after ws_jwt_verify");
  if (!fe.trail_len) {
    verdict = fz_jwt_oracle_check_sub(t, d, claims.sub, claims.sub_len, why,
                                      sizeof(why));
    if (verdict == FZ_ORACLE_FORGED) fz_fail(WS_V_FORGED, why, NULL);
    if (verdict != FZ_ORACLE_OK) fz_fail(WS_V_WRONG_OUTCOME, why, NULL);
  }
}

int fz_target_decode(const uint8_t *data, size_t size, fz_case *c) {
  size_t used = fz_case_begin(c, data, size), n;
  jwt_case *j;
  uint8_t *req;
  if (used == 0) return -1;
  if (!(j = calloc(1, sizeof(*j)))) return -1;
  if (c->h.bits & 1)
    fz_token_decode(data + used, size - used, c->h.cfg, &j->tok);
  else
    fz_token_from_raw(data + used, size - used, &j->tok);
  if (!j->tok.text || !(req = fz_request(j->tok.text, &n))) {
    jwt_free(j);
    return -1;
  }
  fz_case_set_input(c, req, n);
  c->oracle_ud = j;
  c->oracle_free = jwt_free;
  c->run = jwt_run;
  fz_token_describe(&j->tok, c->note, sizeof(c->note));
  return 0;
}
