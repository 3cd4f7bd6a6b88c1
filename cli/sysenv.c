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

/* A per-thread pool filled by one getrandom(2) call: a request id per
 * message would otherwise cost a system call per message.  The bytes are
 * the kernel's either way; each is handed out once (and wiped). */
static _Thread_local uint8_t pool[256];
static _Thread_local size_t pos, end;

static int se_random(void *ud, uint8_t *buf, size_t len) {
  ws_sysenv *se = ud;
  size_t i;
  if (se->seeded) {
    for (i = 0; i < len; i++) buf[i] = (uint8_t)ws_splitmix64(&se->seed);
    return 0;
  }
  while (len > 0) {
    size_t k;
    if (pos == end) {
      ssize_t r = getrandom(pool, sizeof(pool), 0);
      if (r < 0) {
        if (errno == EINTR) continue;
        return -1;
      }
      pos = 0;
      end = (size_t)r;
      continue;
    }
    k = len < end - pos ? len : end - pos;
    memcpy(buf, pool + pos, k);
    explicit_bzero(pool + pos, k);
    pos += k;
    buf += k;
    len -= k;
  }
  return 0;
}

void ws_sysenv_fill(ws_sysenv *se, ws_env *env) {
  memset(env, 0, sizeof(*env));
  env->now = se_now;
  env->random = se_random;
  env->user_data = se;
}
