/* N threads x M sessions sharing one config and one key set (read-only),
 * each thread with its own environment.  Run under the tsan preset this
 * proves the core has no data races (cJSON/OpenSSL trampolines included);
 * under asan it checks every session's outcome and bytes. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "testutil.h"
#include "tokens.h"

#define NOW 1700000000
#define THREADS 4
#define SESSIONS 40

static ws_keyset *keys;
static ws_config *cfg;
static tu_bytes inputs[3];
static const ws_diag want[3] = {WS_DIAG_CLOSE_CLIENT, WS_DIAG_AUTH_SIG_INVALID,
                                WS_DIAG_CLOSE_CLIENT};

typedef struct worker {
  int id;
  int bad; /* sessions whose outcome or bytes differed */
  size_t out_len[3];
} worker;

static void count(void *ud, const uint8_t *p, size_t n) {
  (void)p;
  *(size_t *)ud += n;
}

/* No cmocka in the threads (it is not thread-safe): a wrong outcome, a
 * feeding error or a leak is reported as diag WS_DIAG_NONE. */
static size_t run(const tu_bytes *in, ws_diag *diag, size_t chunk) {
  tu_env t;
  ws_session *s = NULL;
  size_t total = 0;
  long rc;
  tu_env_init(&t, NOW, 5);
  *diag = WS_DIAG_NONE;
  if (ws_session_new(&s, cfg, keys, &t.env) != WS_OK) return 0;
  rc = tb_session_feed(s, in->p, in->n, chunk, 0, 1, count, &total);
  if (rc == 0 && ws_session_outcome(s)) *diag = ws_session_outcome(s)->diag;
  ws_session_free(s);
  if (t.counts.live_blocks != 0) *diag = WS_DIAG_NONE;
  return total;
}

static void *work(void *arg) {
  worker *w = arg;
  int i;
  for (i = 0; i < SESSIONS; i++) {
    int k = (i + w->id) % 3;
    ws_diag d;
    size_t n = run(&inputs[k], &d, (size_t)(1 + (i * 7 + w->id) % 300));
    if (d != want[k] || n != w->out_len[k]) w->bad++;
  }
  return NULL;
}

static void test_threads_share_config_and_keys(void **st) {
  pthread_t th[THREADS];
  worker w[THREADS];
  size_t ref[3];
  int i, k;
  (void)st;
  for (k = 0; k < 3; k++) {
    ws_diag d;
    ref[k] = run(&inputs[k], &d, 1 << 20);
    assert_int_equal(d, want[k]);
  }
  for (i = 0; i < THREADS; i++) {
    w[i].id = i;
    w[i].bad = 0;
    memcpy(w[i].out_len, ref, sizeof(ref));
    assert_int_equal(pthread_create(&th[i], NULL, work, &w[i]), 0);
  }
  for (i = 0; i < THREADS; i++) {
    assert_int_equal(pthread_join(th[i], NULL), 0);
    assert_int_equal(w[i].bad, 0);
  }
}

static int setup(void **st) {
  char hdr[4096];
  char *hs, *es, *bad;
  (void)st;
  tu_global_init();
  keys = tu_keys();
  cfg = tu_config(NULL);
  hs = tok_sign(WS_ALG_HS256, "hs256", "{\"alg\":\"HS256\",\"kid\":\"hs256\"}",
                "{\"sub\":\"t\",\"exp\":2000000000}");
  es = tok_sign(WS_ALG_ES256, "es256", "{\"alg\":\"ES256\",\"kid\":\"es256\"}",
                "{\"sub\":\"t\",\"exp\":2000000000}");
  bad = tok_sign(WS_ALG_HS256, "hs384", "{\"alg\":\"HS256\",\"kid\":\"hs256\"}",
                 "{\"sub\":\"t\",\"exp\":2000000000}");
  snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n", hs);
  tu_request(&inputs[0], hdr);
  tu_text(&inputs[0], "{\"type\":\"user_message\",\"text\":\"x\"}");
  tu_text(&inputs[0], "{\"type\":\"ping\"}");
  tu_close(&inputs[0], 1000, NULL);
  snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n", bad);
  tu_request(&inputs[1], hdr);
  snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n", es);
  tu_request(&inputs[2], hdr);
  tu_text(&inputs[2], "{\"type\":\"user_message\",\"text\":\"y\"}");
  tu_close(&inputs[2], 1001, NULL);
  free(hs);
  free(es);
  free(bad);
  return 0;
}

static int teardown(void **st) {
  int k;
  (void)st;
  for (k = 0; k < 3; k++) tu_bytes_free(&inputs[k]);
  ws_config_free(cfg);
  ws_keyset_free(keys);
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_threads_share_config_and_keys),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
