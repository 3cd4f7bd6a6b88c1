/* wsgate benchmark: prints figures, asserts nothing (targets are in the
 * README, not in timed tests).
 *
 *   build/release/tests/bench_session [seconds-per-figure]
 *
 * 1. full sessions per second on one core: upgrade + token + context + 10
 *    user_message round trips + close, for HS256, RS256, ES256 and EdDSA;
 * 2. MB/s of 64 KiB text messages, through the frame loop alone and through
 *    the whole session (frames + JSON + ack);
 * 3. bytes per open idle session and the peak while opening, read from the
 *    counting allocator (wslay's frame context, which wslay allocates with
 *    libc, exists only while a frame is in progress: an idle session holds
 *    none of it). */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "frames.h"
#include "testutil.h"
#include "tokens.h"

#define NOW 1700000000

static double secs(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static ws_keyset *keys;
static ws_config *cfg;

static void count(void *ud, const uint8_t *p, size_t n) {
  (void)p;
  *(size_t *)ud += n;
}

/* Runs one whole session over in; returns the server bytes count. */
static size_t one_session(const tu_bytes *in, tu_env *t, ws_diag *diag) {
  ws_session *s = NULL;
  size_t total = 0;
  if (ws_session_new(&s, cfg, keys, &t->env) != WS_OK) return 0;
  tb_session_feed(s, in->p, in->n, 0, 0, 1, count, &total);
  *diag = ws_session_outcome(s)->diag;
  ws_session_free(s);
  return total;
}

static void bench_sessions(const char *name, ws_alg alg, const char *kid,
                           double budget) {
  char hdr[4096], head[128], *tok;
  tu_bytes in = {0};
  tu_env t;
  ws_diag d = WS_DIAG_NONE;
  double t0, el;
  long n = 0;
  int i;
  snprintf(head, sizeof(head),
           "{\"alg\":\"%s\",\"kid\":\"%s\",\"typ\":\"JWT\"}", ws_alg_name(alg),
           kid);
  tok = tok_sign(
      alg, kid, head,
      "{\"sub\":\"bench-user\",\"exp\":2000000000,\"iat\":1699999000}");
  snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n", tok);
  tu_request(&in, hdr);
  for (i = 0; i < 10; i++)
    tu_text(&in, "{\"type\":\"user_message\",\"text\":\"hello, world\"}");
  tu_close(&in, 1000, NULL);
  tu_env_init(&t, NOW, 1);
  t.env.alloc.malloc = NULL; /* libc: measure the core, not the counter */
  one_session(&in, &t, &d);
  if (d != WS_DIAG_CLOSE_CLIENT) {
    printf("%-28s FAILED: %s\n", name,
           ws_diag_get(d) ? ws_diag_get(d)->code : "none");
    exit(1);
  }
  t0 = secs();
  do {
    int k;
    for (k = 0; k < 50; k++) one_session(&in, &t, &d);
    n += 50;
    el = secs() - t0;
  } while (el < budget);
  printf("%-28s %10.0f sessions/s  (%.1f us/session, %ld sessions)\n", name,
         n / el, el / n * 1e6, n);
  free(tok);
  tu_bytes_free(&in);
}

static ws_diag noop_text(void *ud, const uint8_t *m, size_t n) {
  (void)m;
  *(size_t *)ud += n;
  return WS_DIAG_NONE;
}

static void bench_throughput(double budget) {
  enum { MSG = 64 * 1024, BATCH = 64 };
  tu_bytes frames = {0}, in = {0};
  char *payload = malloc(MSG), hdr[4096], *tok;
  ws_mem m;
  ws_buf out = {0};
  ws_frames *f = NULL;
  ws_frames_handler h;
  size_t got = 0, i;
  double t0, el;
  long rounds = 0;
  tu_env t;
  ws_session *s = NULL;
  const uint8_t *d;

  /* A user_message of exactly 64 KiB of JSON text. */
  memset(payload, 'a', MSG);
  memcpy(payload, "{\"type\":\"user_message\",\"text\":\"", 32);
  memcpy(payload + MSG - 2, "\"}", 2);
  for (i = 0; i < BATCH; i++) tu_frame(&frames, 1, 1, payload, MSG);

  ws_mem_init(&m, NULL);
  h.on_text = noop_text;
  h.ud = &got;
  if (ws_frames_new(&f, &m, 1 << 20, &out, &h) != 0) exit(1);
  t0 = secs();
  do {
    if (ws_frames_recv(f, frames.p, frames.n) != WS_DIAG_NONE) exit(1);
    out.len = 0;
    rounds++;
    el = secs() - t0;
  } while (el < budget);
  printf("%-28s %10.0f MB/s      (%ld x %d messages of 64 KiB)\n",
         "frames: 64 KiB text", (double)rounds * BATCH * MSG / el / 1e6, rounds,
         BATCH);
  ws_frames_free(f);
  ws_buf_free(&out, &m);

  tok = tok_sign(WS_ALG_HS256, "hs256", "{\"alg\":\"HS256\",\"kid\":\"hs256\"}",
                 "{\"sub\":\"bench\",\"exp\":2000000000}");
  snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n", tok);
  tu_request(&in, hdr);
  tu_env_init(&t, NOW, 1);
  t.env.alloc.malloc = NULL;
  if (ws_session_new(&s, cfg, keys, &t.env) != WS_OK) exit(1);
  ws_session_recv(s, in.p, in.n);
  while (ws_session_send(s, &d) > 0) {
  }
  rounds = 0;
  t0 = secs();
  do {
    ws_session_recv(s, frames.p, frames.n);
    while (ws_session_send(s, &d) > 0) {
    }
    rounds++;
    el = secs() - t0;
  } while (el < budget && !ws_session_outcome(s));
  if (ws_session_outcome(s)) {
    printf("session throughput: ended early with %s\n",
           ws_diag_get(ws_session_outcome(s)->diag)->code);
    exit(1);
  }
  printf("%-28s %10.0f MB/s      (frames + JSON parse + ack)\n",
         "session: 64 KiB messages", (double)rounds * BATCH * MSG / el / 1e6);
  ws_session_free(s);
  free(tok);
  free(payload);
  tu_bytes_free(&frames);
  tu_bytes_free(&in);
}

static void bench_memory(void) {
  char hdr[4096], *tok;
  tu_bytes in = {0};
  tu_env t;
  ws_session *s = NULL;
  const uint8_t *d;
  tok = tok_sign(WS_ALG_HS256, "hs256", "{\"alg\":\"HS256\",\"kid\":\"hs256\"}",
                 "{\"sub\":\"bench\",\"exp\":2000000000}");
  snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n", tok);
  tu_request(&in, hdr);
  tu_text(&in, "{\"type\":\"user_message\",\"text\":\"warm\"}");
  tu_env_init(&t, NOW, 1);
  if (ws_session_new(&s, cfg, keys, &t.env) != WS_OK) exit(1);
  ws_session_recv(s, in.p, in.n);
  while (ws_session_send(s, &d) > 0) {
  }
  ws_session_send(s, &d); /* releases the last handed-out buffer */
  printf(
      "%-28s %10zu bytes     (%zu blocks on the session allocator; wslay's "
      "%zu-byte context only during a frame)\n",
      "idle session", t.counts.live_bytes, t.counts.live_blocks,
      ws_frames_libc_bytes());
  printf(
      "%-28s %10zu bytes     (session allocator, during upgrade + HS256 + "
      "context)\n",
      "peak while opening", t.counts.peak_bytes);
  ws_session_free(s);
  free(tok);
  tu_bytes_free(&in);
}

int main(int argc, char **argv) {
  double budget = 1.0;
  if (argc > 2 || (argc == 2 && (strcmp(argv[1], "--help") == 0 ||
                                 strcmp(argv[1], "-h") == 0))) {
    fprintf(stderr,
            "usage: bench_session [SECONDS]  (per figure, 0.01..600; "
            "default 1)\n");
    return argc == 2 ? 0 : 2;
  }
  if (argc == 2) {
    char *end;
    budget = strtod(argv[1], &end);
    if (end == argv[1] || *end || !(budget >= 0.01 && budget <= 600)) {
      fprintf(stderr,
              "bench_session: '%s' is not a number of seconds in 0.01..600\n"
              "usage: bench_session [SECONDS]\n",
              argv[1]);
      return 2;
    }
  }
  tu_global_init();
  keys = tu_keys();
  cfg = tu_config(NULL);
  printf("wsgate benchmark (one thread; %.1f s per figure)\n", budget);
  bench_sessions("full session HS256", WS_ALG_HS256, "hs256", budget);
  bench_sessions("full session RS256", WS_ALG_RS256, "rs256", budget);
  bench_sessions("full session ES256", WS_ALG_ES256, "es256", budget);
  bench_sessions("full session EdDSA", WS_ALG_EDDSA, "ed25519", budget);
  bench_throughput(budget);
  bench_memory();
  ws_config_free(cfg);
  ws_keyset_free(keys);
  return 0;
}
