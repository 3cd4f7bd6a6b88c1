/* A small reproducible generator shared by the fault plan's rates, the test
 * and fuzz environments' randomness and the command line's seeded ids.
 * Not for anything that needs unpredictability: production randomness comes
 * from getrandom() (cli/sysenv.c). */
#ifndef WS_RNG_H
#define WS_RNG_H

#include <stdint.h>

/* splitmix64 step: advances *state and returns the next value.  The same
 * seed gives the same sequence on every platform. */
static inline uint64_t ws_splitmix64(uint64_t *state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

#endif
