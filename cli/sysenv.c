#define _GNU_SOURCE /* getrandom(2) */
#include "sysenv.h"

#include "rng.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

static int64_t se_now(void *ud) {
  ws_sysenv *se = ud;
  return se->has_fixed_now ? se->fixed_now : (int64_t)time(NULL);
}

static int se_random(void *ud, uint8_t *buf, size_t len) {
  ws_sysenv *se = ud;
  size_t i;
  if (se->seeded) {
    for (i = 0; i < len; i++) buf[i] = (uint8_t)ws_splitmix64(&se->seed);
    return 0;
  }
  while (len > 0) {
    ssize_t r = getrandom(buf, len, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    buf += r;
    len -= (size_t)r;
  }
  return 0;
}

void ws_sysenv_fill(ws_sysenv *se, ws_env *env) {
  memset(env, 0, sizeof(*env));
  env->now = se_now;
  env->random = se_random;
  env->user_data = se;
}
