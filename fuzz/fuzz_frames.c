/* fuzz_frames: frame bytes after an accepted, authenticated upgrade.
 *
 * Every input starts from a snapshot of the same session: its upgrade
 * request, carrying a token signed at start-up with the test key, was run
 * once; each input resumes a copy of it (ws_session_clone_open) on the
 * input's own environment, with the fault layer and the judge on.
 * Input: the common header (fuzz/common.h; its config is replaced by the
 * target's bit 1), then the frames.  Target bits: bit 0 = structured mode,
 * bit 1 = small limits (200-byte messages, depth 3).  Raw mode: the body is
 * client bytes as they are (the fuzzer masks them itself).  Structured
 * mode: a list of [first byte (FIN, RSV, opcode) | length | payload] that
 * the target masks and encodes (fz_frames_encode). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

const char fz_target_name[] = "fuzz_frames";

static ws_verdict upgraded(void *ud, const ws_run_result *clean, char *why,
                           size_t cap) {
  (void)ud;
  if (clean->outcome.http_status == 101) return WS_V_DIAGNOSED;
  snprintf(why, cap, "the snapshot's upgrade is not reported (HTTP %d)",
           clean->outcome.http_status);
  return WS_V_WRONG_OUTCOME;
}

int fz_target_decode(const uint8_t *data, size_t size, fz_case *c) {
  size_t used = fz_case_begin(c, data, size), n = size - used, len;
  uint8_t *p;
  if (used == 0) return -1;
  fz_case_resume(c, (c->h.bits & 2) ? FZ_CFG_TIGHT : FZ_CFG_DEFAULT);
  if (!(p = malloc(3 * n + 8))) return -1;
  if (c->h.bits & 1) {
    len = fz_frames_encode(data + used, n, p);
  } else {
    memcpy(p, data + used, n);
    len = n;
  }
  fz_case_set_input(c, p, len);
  c->oracle = upgraded;
  return 0;
}
