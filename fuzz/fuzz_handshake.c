/* fuzz_handshake: raw upgrade-request bytes.
 *
 * Input: the common header (fuzz/common.h: config, fault plan, chunk sizes,
 * reentrancy), then the bytes a client writes.  Every before-the-upgrade
 * row is reachable; the outcome and the server's bytes must not depend on
 * the chunking, nor on another session running beside it. */
#include <stdlib.h>
#include <string.h>

#include "common.h"

const char fz_target_name[] = "fuzz_handshake";

int fz_target_decode(const uint8_t *data, size_t size, fz_case *c) {
  size_t used = fz_case_begin(c, data, size), n = size - used;
  uint8_t *p;
  if (used == 0) return -1;
  if (!(p = malloc(n ? n : 1))) return -1;
  memcpy(p, data + used, n);
  fz_case_set_input(c, p, n);
  c->head_only = 1; /* no token of the input verifies: see fz_case */
  return 0;
}
