/* Environments for the command line: the system one (wall clock, getrandom)
 * and a reproducible one (fixed clock, seeded randomness).  These live
 * outside the sans-IO core on purpose. */
#ifndef WS_SYSENV_H
#define WS_SYSENV_H

#include <stdint.h>

#include "wsgate/wsgate.h"

typedef struct ws_sysenv {
  int64_t fixed_now; /* used when has_fixed_now */
  int has_fixed_now;
  uint64_t seed; /* used when seeded */
  int seeded;
} ws_sysenv;

/* Fills env: clock = fixed_now or time(); random = seeded splitmix64 or
 * getrandom(2).  env->alloc is left as libc. */
void ws_sysenv_fill(ws_sysenv *se, ws_env *env);

#endif
