/* fuzz_context: claims and an id/attribute fault plan through the context
 * factory.
 *
 * Input: a fault plan (ws_fault_plan_decode: its leading bytes), one byte
 * choosing header-token or first-message auth, then claims JSON that the
 * target signs with the test key; the session is an upgrade carrying that
 * token (or the auth message), one user_message and a close.  The run with
 * the plan is judged against the run without it: every injected fault is
 * absorbed (trail) or blamed (CTX_IDGEN_EXHAUSTED, CTX_ATTR_<NAME>,
 * a resource diag). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char req[] =
    "GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n"
    "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 13\r\n";

/* Appends a masked text frame (mask 0x37fa213d). */
static size_t text_frame(uint8_t *out, const char *s, size_t n) {
  static const uint8_t mask[4] = {0x37, 0xfa, 0x21, 0x3d};
  size_t at = 0, i;
  out[at++] = 0x81;
  if (n < 126) {
    out[at++] = (uint8_t)(0x80 | n);
  } else {
    out[at++] = 0x80 | 126;
    out[at++] = (uint8_t)(n >> 8);
    out[at++] = (uint8_t)n;
  }
  memcpy(out + at, mask, 4);
  at += 4;
  for (i = 0; i < n; i++) out[at + i] = (uint8_t)s[i] ^ mask[i % 4];
  return at + n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const char msg[] = "{\"type\":\"user_message\",\"text\":\"x\"}";
  static const uint8_t close_frame[] = {0x88, 0x82, 0x37, 0xfa,
                                        0x21, 0x3d, 0x34, 0x12};
  ws_fault_plan plan;
  ws_run_spec spec;
  size_t used, n, at, cap;
  char *tok;
  uint8_t *stream;
  int fma;

  fz_init();
  used = ws_fault_plan_decode(&plan, data, size);
  if (size <= used) return 0;
  fma = data[used++] & 1;
  if (size - used > 4096) return 0; /* frames here use 16-bit lengths */
  if (!(tok = fz_sign(data + used, size - used))) return 0;
  n = strlen(tok);
  cap = sizeof(req) + n + 64 + (n + 40 + 8) + sizeof(msg) + 8 + 8;
  if (!(stream = malloc(cap))) {
    free(tok);
    return 0;
  }
  memcpy(stream, req, sizeof(req) - 1);
  at = sizeof(req) - 1;
  if (fma) {
    char *auth = malloc(n + 40);
    int alen;
    if (!auth) {
      free(stream);
      free(tok);
      return 0;
    }
    alen = sprintf(auth, "{\"type\":\"auth\",\"token\":\"%s\"}", tok);
    memcpy(stream + at, "\r\n", 2);
    at += 2;
    at += text_frame(stream + at, auth, (size_t)alen);
    free(auth);
  } else {
    at += (size_t)sprintf((char *)stream + at,
                          "Authorization: Bearer %s\r\n\r\n", tok);
  }
  at += text_frame(stream + at, msg, sizeof(msg) - 1);
  memcpy(stream + at, close_frame, sizeof(close_frame));
  at += sizeof(close_frame);
  free(tok);

  fz_spec(&spec, fz_config(fma ? 1 : 0), stream, at);
  fz_run_judged("fuzz_context", &spec, &plan);
  free(stream);
  return 0;
}
