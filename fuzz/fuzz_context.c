/* fuzz_context: a token and a fault plan through the context factory.
 *
 * Input: the common header (fuzz/common.h: config, fault plan, chunk sizes,
 * reentrancy), then a token spec for the forge (fuzz/forge.h: any key,
 * header, claims, tampering).  The session is an upgrade carrying that
 * token (in the request, or, with first-message auth, in the auth message),
 * one user_message and a close.  The fault-free run's answer to the token
 * is judged by the acceptance oracle and the JWT model (fz_token_oracle).  The
 * run with the plan is judged against the run without it: every injected fault
 * is absorbed (and the trail says so) or blamed (CTX_IDGEN_EXHAUSTED,
 * CTX_ATTR_<NAME>, a resource diag); a built context has every attribute read
 * back and ids in the format of the generator the trail names. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builders.h"
#include "common.h"
#include "forge.h"

const char fz_target_name[] = "fuzz_context";

static void put_text(uint8_t *out, size_t *at, const char *s, size_t n) {
  *at += tb_frame(out + *at, n + 14, TB_FIN | TB_TEXT, tb_mask_key, s, n);
}

static ws_verdict token_oracle(void *ud, const ws_run_result *clean, char *why,
                               size_t cap) {
  return fz_token_oracle(ud, clean, why, cap);
}

static void token_free(void *ud) {
  fz_token_free(ud);
  free(ud);
}

int fz_target_decode(const uint8_t *data, size_t size, fz_case *c) {
  static const char msg[] = "{\"type\":\"user_message\",\"text\":\"x\"}";
  static const uint8_t close_frame[] = {0x88, 0x82, 0x37, 0xfa,
                                        0x21, 0x3d, 0x34, 0x12};
  size_t used = fz_case_begin(c, data, size), n, rl, at;
  int fma = c->h.cfg == FZ_CFG_FMA;
  char *tok, *auth;
  uint8_t *req, *stream;
  fz_token *t;
  if (used == 0 || size - used > 4096) return -1; /* 16-bit frame lengths */
  if (!(t = calloc(1, sizeof(*t)))) return -1;
  fz_token_decode(data + used, size - used, c->h.cfg, t);
  if (!t->text) {
    free(t);
    return -1;
  }
  c->oracle = token_oracle;
  c->oracle_ud = t;
  c->oracle_free = token_free;
  fz_token_describe(t, c->note, sizeof(c->note));
  tok = t->text;
  n = t->len;
  req = fz_request(fma ? NULL : tok, &rl);
  auth = malloc(n + 40);
  stream = malloc(rl + n + 40 + 16 + sizeof(msg) + 16 + sizeof(close_frame));
  if (!req || !auth || !stream) {
    fz_case_free(c);
    free(req);
    free(auth);
    free(stream);
    return -1;
  }
  memcpy(stream, req, rl);
  at = rl;
  if (fma) {
    int alen =
        snprintf(auth, n + 40, "{\"type\":\"auth\",\"token\":\"%s\"}", tok);
    put_text(stream, &at, auth, (size_t)alen);
  }
  put_text(stream, &at, msg, sizeof(msg) - 1);
  memcpy(stream + at, close_frame, sizeof(close_frame));
  at += sizeof(close_frame);
  free(req);
  free(auth);
  fz_case_set_input(c, stream, at);
  return 0;
}
