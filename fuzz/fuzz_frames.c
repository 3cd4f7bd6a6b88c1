/* fuzz_frames: frame bytes after an accepted, authenticated upgrade.
 *
 * Every input starts from the same upgrade request carrying a token signed
 * at start-up with the test key, so each input is fed to the frame loop.
 * Input: byte 0: bit 0 = structured mode, bit 1 = small limits (200-byte
 * messages, depth 3).  Raw mode: the rest is client bytes as they are (the
 * fuzzer has to mask them itself).  Structured mode: the rest is a list of
 * frames, each [first byte (FIN, RSV, opcode) | length byte | payload], which
 * the target masks and encodes, so the frame and message logic is reached
 * with every opcode, fragmentation and payload. */
#include <stdlib.h>
#include <string.h>

#include "common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t *prefix;
static size_t prefix_len;

static void make_prefix(void) {
  static const char claims[] = "{\"sub\":\"fuzz\",\"exp\":2000000000}";
  static const char req[] =
      "GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n"
      "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
      "Sec-WebSocket-Version: 13\r\nAuthorization: Bearer ";
  char *tok = fz_sign((const uint8_t *)claims, sizeof(claims) - 1);
  size_t n;
  fz_require(tok != NULL, "fuzz_frames", "cannot sign the start-up token");
  n = strlen(tok);
  prefix = malloc(sizeof(req) + n + 4);
  fz_require(prefix != NULL, "fuzz_frames", "out of memory at start-up");
  memcpy(prefix, req, sizeof(req) - 1);
  memcpy(prefix + sizeof(req) - 1, tok, n);
  memcpy(prefix + sizeof(req) - 1 + n, "\r\n\r\n", 4);
  prefix_len = sizeof(req) - 1 + n + 4;
  free(tok);
}

/* Encodes the structured list into masked client frames after the prefix. */
static size_t encode(const uint8_t *in, size_t n, uint8_t *out) {
  static const uint8_t mask[4] = {0x37, 0xfa, 0x21, 0x3d};
  size_t i = 0, at = 0, k, len;
  while (i + 2 <= n) {
    uint8_t b0 = in[i];
    len = in[i + 1];
    i += 2;
    if (len > n - i) len = n - i;
    out[at++] = b0;
    out[at++] = (uint8_t)(0x80 | (len < 126 ? len : 126));
    if (len >= 126) {
      out[at++] = 0;
      out[at++] = (uint8_t)len;
    }
    memcpy(out + at, mask, 4);
    at += 4;
    for (k = 0; k < len; k++) out[at + k] = in[i + k] ^ mask[k % 4];
    at += len;
    i += len;
  }
  return at;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ws_run_spec spec;
  ws_run_result r;
  uint8_t *stream;
  size_t len;
  int err = 0;
  fz_init();
  if (!prefix) make_prefix();
  if (size < 1) return 0;
  /* Structured frames grow by at most 6 bytes per 2 input bytes. */
  stream = malloc(prefix_len + 4 * size + 8);
  if (!stream) return 0;
  memcpy(stream, prefix, prefix_len);
  if (data[0] & 1) {
    len = prefix_len + encode(data + 1, size - 1, stream + prefix_len);
  } else {
    memcpy(stream + prefix_len, data + 1, size - 1);
    len = prefix_len + size - 1;
  }
  fz_spec(&spec, fz_config((data[0] & 2) ? 3 : 0), stream, len);
  fz_require(ws_run(&spec, NULL, &r, &err) == 0, "fuzz_frames",
             "ws_session_new refused the setup");
  fz_check("fuzz_frames", NULL, &r);
  /* Past the prefix, every input is in the frame loop: the upgrade must
   * have been accepted. */
  fz_require(r.outcome.http_status == 101, "fuzz_frames",
             "the fixed upgrade was not accepted");
  ws_run_result_clear(&r);
  free(stream);
  return 0;
}
