/* N threads x M sessions sharing one config and one key set (read-only),
 * each thread with its own environment.  Run under the tsan preset this
 * proves the core has no data races (cJSON/OpenSSL trampolines included);
 * under asan too, every session's outcome and server bytes must equal those
 * of the same input run alone. */
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

/* What one session did: its outcome and every byte the server sent. */
typedef struct result {
  int ok; /* the session ran to an outcome and left nothing allocated */
  ws_outcome outcome;
  uint8_t *sent; /* malloc'd */
  size_t sent_len;
} result;

typedef struct worker {
  int id;
  int bad;           /* sessions whose outcome or bytes differed */
  char why[256];     /* the first difference */
  const result *ref; /* the single-threaded run of each input */
} worker;

/* The sink: every server byte, kept.  No cmocka in the threads (it is not
 * thread-safe): a failure is r->ok = 0, reported after the join. */
static void keep(void *ud, const uint8_t *d, size_t n) {
  result *r = ud;
  uint8_t *p;
  if (!r->ok) return;
  if (!(p = realloc(r->sent, r->sent_len + n))) {
    r->ok = 0;
    return;
  }
  memcpy(p + r->sent_len, d, n);
  r->sent = p;
  r->sent_len += n;
}

/* Ids are seeded (tu_env_init's seed 5), so the same input gives the same
 * bytes on every thread. */
static void run(const tu_bytes *in, size_t chunk, result *r) {
  tu_env t;
  ws_session *s = NULL;
  long rc;
  memset(r, 0, sizeof(*r));
  tu_env_init(&t, NOW, 5);
  if (ws_session_new(&s, cfg, keys, &t.env) != WS_OK) return;
  r->ok = 1;
  rc = tb_session_feed(s, in->p, in->n, chunk, 0, 1, keep, r);
  if (rc == 0 && ws_session_outcome(s))
    r->outcome = *ws_session_outcome(s);
  else
    r->ok = 0;
  ws_session_free(s);
  if (t.counts.live_blocks != 0) r->ok = 0;
}

/* 0 when a and b are the same session seen from outside; else says how
 * they differ. */
static int differ(const result *a, const result *b, char *why, size_t cap) {
  const ws_outcome *x = &a->outcome, *y = &b->outcome;
  if (!a->ok || !b->ok)
    return snprintf(why, cap, "no outcome, or memory left allocated"), 1;
  if (x->diag != y->diag || x->stage != y->stage ||
      x->http_status != y->http_status || x->close_code != y->close_code ||
      strcmp(x->reason, y->reason) != 0 || x->trail_len != y->trail_len)
    return snprintf(why, cap,
                    "outcome %s/%d/%d \"%s\" instead of %s/%d/%d \"%s\"",
                    ws_diag_get(y->diag) ? ws_diag_get(y->diag)->code : "?",
                    y->http_status, y->close_code, y->reason,
                    ws_diag_get(x->diag) ? ws_diag_get(x->diag)->code : "?",
                    x->http_status, x->close_code, x->reason),
           1;
  if (a->sent_len != b->sent_len ||
      (a->sent_len && memcmp(a->sent, b->sent, a->sent_len) != 0))
    return snprintf(why, cap, "server bytes differ (%zu vs %zu bytes)",
                    b->sent_len, a->sent_len),
           1;
  return 0;
}

static void *work(void *arg) {
  worker *w = arg;
  int i;
  for (i = 0; i < SESSIONS; i++) {
    int k = (i + w->id) % 3;
    result r;
    run(&inputs[k], (size_t)(1 + (i * 7 + w->id) % 300), &r);
    if (differ(&w->ref[k], &r, w->bad ? NULL : w->why,
               w->bad ? 0 : sizeof(w->why)))
      w->bad++;
    free(r.sent);
  }
  return NULL;
}

/* The comparison itself can fail: a changed byte or outcome is seen. */
static void test_differ_catches_a_difference(void **st) {
  result a, b;
  char why[256];
  (void)st;
  run(&inputs[0], 1 << 20, &a);
  run(&inputs[0], 13, &b);
  assert_int_equal(differ(&a, &b, why, sizeof(why)), 0);
  assert_true(b.sent_len > 20);
  b.sent[b.sent_len - 3] ^= 1;
  assert_int_equal(differ(&a, &b, why, sizeof(why)), 1);
  assert_non_null(strstr(why, "server bytes differ"));
  b.sent[b.sent_len - 3] ^= 1;
  b.outcome.close_code = 1001;
  assert_int_equal(differ(&a, &b, why, sizeof(why)), 1);
  assert_non_null(strstr(why, "outcome"));
  free(a.sent);
  free(b.sent);
}

static void test_threads_share_config_and_keys(void **st) {
  pthread_t th[THREADS];
  worker w[THREADS];
  result ref[3];
  int i, k;
  (void)st;
  for (k = 0; k < 3; k++) {
    run(&inputs[k], 1 << 20, &ref[k]);
    assert_true(ref[k].ok);
    assert_int_equal(ref[k].outcome.diag, want[k]);
    assert_true(ref[k].sent_len > 0);
  }
  for (i = 0; i < THREADS; i++) {
    memset(&w[i], 0, sizeof(w[i]));
    w[i].id = i;
    w[i].ref = ref;
    assert_int_equal(pthread_create(&th[i], NULL, work, &w[i]), 0);
  }
  for (i = 0; i < THREADS; i++) {
    assert_int_equal(pthread_join(th[i], NULL), 0);
    if (w[i].bad)
      fail_msg("thread %d: %d sessions differ; first: %s", i, w[i].bad,
               w[i].why);
  }
  for (k = 0; k < 3; k++) free(ref[k].sent);
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
      cmocka_unit_test(test_differ_catches_a_difference),
      cmocka_unit_test(test_threads_share_config_and_keys),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
