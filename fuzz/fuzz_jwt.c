/* fuzz_jwt: a token through verification (ws_jwt_verify), with the config
 * and an allocation fault chosen by the input, judged by the JWS/JWT
 * decision model and the acceptance oracle (fuzz/forge.h, model_jwt.h).
 *
 * Input: byte 0: bit 0 = the rest is a token spec for the forge (forge.h:
 * key, header, claims, tamper) rather than a raw token; bits 1-2 = config
 * (and policy); bit 3 = fail one allocation, the N-th with N = 1 + byte 1.
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ws_run_spec spec;
  ws_fault_plan plan;
  ws_fault_env fe;
  ws_mem m;
  ws_jwt_claims claims;
  const ws_diag_info *info;
  const ws_config *cfg;
  fz_token tok;
  char msg[160], why[1200];
  unsigned which;
  ws_diag d;
  ws_mem *prev;
  int verdict;

  fz_init();
  fz_forge_init();
  if (size < 2) return 0;
  which = (data[0] >> 1) & 3;
  cfg = fz_config(which);
  if (data[0] & 1)
    fz_token_decode(data + 2, size - 2, which, &tok);
  else
    fz_token_from_raw(data + 2, size - 2, &tok);
  if (!tok.text) return 0;
  ws_fault_plan_init(&plan);
  if (data[0] & 8) {
    plan.rules[0].kind = WS_FAULT_ALLOC;
    plan.rules[0].mode = WS_FAULT_ONCE;
    plan.rules[0].n = 1u + data[1];
    plan.nrules = 1;
  }
  fz_spec(&spec, cfg, NULL, 0);
  ws_fault_env_init(&fe, &spec.env, &plan);
  ws_mem_init(&m, &fe.env.alloc);
  memset(&claims, 0, sizeof(claims));
  prev = ws_mem_enter(&m);
  d = ws_jwt_verify(&m, cfg, fz_keys(), FZ_NOW, tok.text, tok.len, &claims);
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
    verdict = fz_jwt_oracle_check_sub(&tok, d, claims.sub, claims.sub_len, why,
                                      sizeof(why));
    if (verdict != FZ_ORACLE_OK) {
      fprintf(stderr, "wsgate fuzz: fuzz_jwt: promise broken (%s): %s\n",
              fz_oracle_name(verdict), why);
      abort();
    }
  }
  fz_token_free(&tok);
  return 0;
}
