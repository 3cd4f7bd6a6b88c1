/* The deadlines of wsgate serve (cli/serve_deadline.c), driven by a clock
 * the test owns: which deadline applies in each state, when it falls, and
 * that only the idle one follows activity (a slowloris head does not buy
 * time). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "serve_deadline.h"

static const ws_deadline_limits L = {1000, 2000, 5000, 300};

static void test_handshake_counts_from_accept(void **st) {
  ws_conn_times t = {0};
  ws_deadline_kind k;
  uint64_t at;
  (void)st;
  t.start = 10000;
  t.active = 10000;
  assert_int_equal(ws_deadline_next(&L, &t, &at), WS_DL_HANDSHAKE);
  assert_int_equal(at, 11000);
  assert_false(ws_deadline_passed(&L, &t, 10999, &k));
  assert_int_equal(k, WS_DL_HANDSHAKE);
  /* A byte of the head just before the deadline changes nothing. */
  t.active = 10990;
  assert_true(ws_deadline_passed(&L, &t, 11000, &k));
  assert_int_equal(k, WS_DL_HANDSHAKE);
}

static void test_auth_counts_from_upgrade(void **st) {
  ws_conn_times t = {0};
  uint64_t at;
  (void)st;
  t.start = 0;
  t.upgraded = 1;
  t.upgrade = 700;
  t.active = 1500;
  assert_int_equal(ws_deadline_next(&L, &t, &at), WS_DL_AUTH);
  assert_int_equal(at, 2700);
  assert_false(ws_deadline_passed(&L, &t, 2699, NULL));
  assert_true(ws_deadline_passed(&L, &t, 2700, NULL));
}

static void test_idle_follows_activity(void **st) {
  ws_conn_times t = {0};
  uint64_t at;
  ws_deadline_kind k;
  (void)st;
  t.upgraded = t.authenticated = 1;
  t.upgrade = 100;
  t.active = 100;
  assert_int_equal(ws_deadline_next(&L, &t, &at), WS_DL_IDLE);
  assert_int_equal(at, 5100);
  t.active = 5000; /* a message at 5000: the deadline moves */
  assert_false(ws_deadline_passed(&L, &t, 5100, &k));
  assert_true(ws_deadline_passed(&L, &t, 10000, &k));
  assert_int_equal(k, WS_DL_IDLE);
}

static void test_close_wait_after_outcome(void **st) {
  ws_conn_times t = {0};
  uint64_t at;
  (void)st;
  t.upgraded = t.authenticated = 1;
  t.ended = 1;
  t.end = 40000;
  t.active = 1; /* an old activity time does not end it early */
  assert_int_equal(ws_deadline_next(&L, &t, &at), WS_DL_CLOSE);
  assert_int_equal(at, 40300);
  assert_false(ws_deadline_passed(&L, &t, 40299, NULL));
  assert_true(ws_deadline_passed(&L, &t, 40300, NULL));
  /* Ended before the upgrade: the same wait (drain after the HTTP error). */
  t.upgraded = t.authenticated = 0;
  assert_int_equal(ws_deadline_next(&L, &t, &at), WS_DL_CLOSE);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_handshake_counts_from_accept),
      cmocka_unit_test(test_auth_counts_from_upgrade),
      cmocka_unit_test(test_idle_follows_activity),
      cmocka_unit_test(test_close_wait_after_outcome),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
