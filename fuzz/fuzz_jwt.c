/* fuzz_jwt: a token through verification (ws_jwt_verify), with the config
 * and an allocation fault chosen by the input.
 *
 * Input: byte 0: bit 0 = the rest is claims that the target signs with the
 * test HS256 key (so the claim checks are reached) rather than a raw token;
 * bits 1-2 = config; bit 3 = fail one allocation, the N-th with N = 1 +
 * byte 1.  Checks: a diagnosis from the auth stage of the table; AUTH_NOMEM
 * exactly when an allocation failed (never a bad signature or bad JSON for
 * an out-of-memory); nothing left allocated. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "inject.h"
#include "jwt.h"
#include "mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ws_run_spec spec;
  ws_fault_plan plan;
  ws_fault_env fe;
  ws_mem m;
  ws_jwt_claims claims;
  const ws_diag_info *info;
  const uint8_t *body;
  char *signed_tok = NULL, msg[160];
  const char *tok;
  size_t blen, tlen;
  ws_diag d;
  ws_mem *prev;

  fz_init();
  if (size < 2) return 0;
  body = data + 2;
  blen = size - 2;
  if (data[0] & 1) {
    if (!(signed_tok = fz_sign(body, blen))) return 0;
    tok = signed_tok;
    tlen = strlen(signed_tok);
  } else {
    tok = (const char *)body;
    tlen = blen;
  }
  ws_fault_plan_init(&plan);
  if (data[0] & 8) {
    plan.rules[0].kind = WS_FAULT_ALLOC;
    plan.rules[0].mode = WS_FAULT_ONCE;
    plan.rules[0].n = 1u + data[1];
    plan.nrules = 1;
  }
  fz_spec(&spec, fz_config(data[0] >> 1), NULL, 0);
  ws_fault_env_init(&fe, &spec.env, &plan);
  ws_mem_init(&m, &fe.env.alloc);
  prev = ws_mem_enter(&m);
  d = ws_jwt_verify(&m, fz_config(data[0] >> 1), fz_keys(), FZ_NOW, tok, tlen,
                    &claims);
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
  free(signed_tok);
  return 0;
}
