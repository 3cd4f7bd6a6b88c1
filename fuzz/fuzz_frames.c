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
#include "model_frames.h"

const char fz_target_name[] = "fuzz_frames";

/* The frame oracle: an independent model of RFC 6455 framing and UTF-8
 * (fuzz/model_frames.h) predicts the diagnosis and close code of the
 * frames; the fault-free run must agree, whatever the chunking. */
typedef struct oracle {
  const fz_case *c;
  size_t max_message;
} oracle;

static ws_verdict frames_oracle(void *ud, const ws_run_result *clean, char *why,
                                size_t cap) {
  const oracle *o = ud;
  if (clean->outcome.http_status != 101) {
    snprintf(why, cap, "the snapshot's upgrade is not reported (HTTP %d)",
             clean->outcome.http_status);
    return WS_V_WRONG_OUTCOME;
  }
  if (fz_frames_oracle_check(o->c->spec.input, o->c->spec.len, o->max_message,
                             1, clean->outcome.diag, clean->outcome.close_code,
                             why, cap))
    return WS_V_WRONG_OUTCOME;
  return WS_V_DIAGNOSED;
}

static void oracle_free(void *ud) {
  free(ud);
}

int fz_target_decode(const uint8_t *data, size_t size, fz_case *c) {
  size_t used = fz_case_begin(c, data, size), n = size - used, len;
  uint8_t *p;
  oracle *o;
  if (used == 0) return -1;
  fz_case_resume(c, (c->h.bits & 2) ? FZ_CFG_TIGHT : FZ_CFG_DEFAULT);
  /* The frames get a buffer of exactly their length, so a read past the
   * input's end is an ASan report, not a read of slack. */
  len = (c->h.bits & 1) ? fz_frames_encode(data + used, n, NULL) : n;
  if (!(p = malloc(len ? len : 1))) return -1;
  if (c->h.bits & 1) {
    len = fz_frames_encode(data + used, n, p);
  } else {
    memcpy(p, data + used, n);
    len = n;
  }
  fz_case_set_input(c, p, len);
  if (!(o = malloc(sizeof(*o)))) {
    fz_case_free(c);
    return -1;
  }
  o->c = c;
  /* The two configs' limits (fuzz/common.c): default 1 MiB, tight 200. */
  o->max_message = (c->h.bits & 2) ? 200 : 1048576;
  c->oracle = frames_oracle;
  c->oracle_ud = o;
  c->oracle_free = oracle_free;
  return 0;
}
