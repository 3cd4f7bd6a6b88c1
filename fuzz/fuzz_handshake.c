/* fuzz_handshake: raw upgrade-request bytes, fed in input-chosen chunks.
 *
 * Input: byte 0 picks the config (low 2 bits) and whether the outcome is
 * also compared with an unchunked run (bit 7); byte 1 says how many chunk
 * sizes follow (mod 8); then those sizes (each 1 + byte); then the bytes a
 * client writes.  The outcome and the server's bytes must not depend on the
 * chunking. */
#include <stdlib.h>
#include <string.h>

#include "common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ws_run_spec spec;
  ws_run_result r, whole;
  size_t nchunks;
  int err = 0;
  fz_init();
  if (size < 2) return 0;
  nchunks = data[1] % 8u;
  if (size < 2 + nchunks) return 0;
  fz_spec(&spec, fz_config(data[0]), data + 2 + nchunks, size - 2 - nchunks);
  spec.chunk_sizes = data + 2;
  spec.n_chunk_sizes = nchunks;
  fz_require(ws_run(&spec, NULL, &r, &err) == 0, "fuzz_handshake",
             "ws_session_new refused the setup");
  fz_check("fuzz_handshake", NULL, &r);
  if ((data[0] & 0x80) && nchunks) {
    spec.n_chunk_sizes = 0;
    fz_require(ws_run(&spec, NULL, &whole, &err) == 0, "fuzz_handshake",
               "ws_session_new refused the setup");
    fz_require(
        whole.outcome.diag == r.outcome.diag && whole.sent_len == r.sent_len &&
            (r.sent_len == 0 || memcmp(whole.sent, r.sent, r.sent_len) == 0),
        "fuzz_handshake", "the outcome depends on the chunking");
    ws_run_result_clear(&whole);
  }
  ws_run_result_clear(&r);
  return 0;
}
