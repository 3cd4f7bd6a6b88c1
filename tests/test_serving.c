/* The core's serving calls (ws_session_timeout, ws_session_shutdown,
 * ws_session_upgraded) and the no-session responses a server writes
 * (HS_CONN_LIMIT, HS_NOMEM): each new diagnosis reached, with the status or
 * close code and the bytes the client would read. */
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
#define CLAIMS "{\"sub\":\"alice\",\"exp\":2000000000}"

static ws_keyset *keys;
static char *good;

static int setup(void **st) {
  (void)st;
  tu_global_init();
  keys = tu_keys();
  good = tok_sign_jwt(WS_ALG_HS256, "hs256", CLAIMS);
  return 0;
}
static int teardown(void **st) {
  (void)st;
  ws_keyset_free(keys);
  free(good);
  return 0;
}

typedef enum { ACT_TIMEOUT, ACT_SHUTDOWN } act;

typedef struct drive {
  tu_env t;
  ws_config *cfg;
  ws_session *s;
  tu_bytes out;
} drive;

static void drain(drive *d) {
  const uint8_t *p;
  size_t n;
  while ((n = ws_session_send(d->s, &p)) > 0) tu_put(&d->out, p, n);
}

static void start(drive *d, const char *cfgjson) {
  memset(d, 0, sizeof(*d));
  tu_env_init(&d->t, NOW, 3);
  d->cfg = tu_config(cfgjson);
  assert_int_equal(ws_session_new(&d->s, d->cfg, keys, &d->t.env), WS_OK);
}

static void feed(drive *d, const void *p, size_t n) {
  assert_int_equal(ws_session_recv(d->s, p, n), (long)n);
  drain(d);
}

static void finish(drive *d) {
  ws_session_free(d->s);
  assert_int_equal(d->t.counts.live_blocks, 0);
  ws_config_free(d->cfg);
  tu_bytes_free(&d->out);
}

static int out_has(const drive *d, const char *needle) {
  size_t n = strlen(needle), i;
  for (i = 0; i + n <= d->out.n; i++)
    if (memcmp(d->out.p + i, needle, n) == 0) return 1;
  return 0;
}

/* Applies a, drains, and checks the outcome is code with that HTTP status
 * (0: none) or close code (0: none) as the last frame. */
static void end_and_check(drive *d, act a, const char *code, int http,
                          int close) {
  const ws_outcome *o;
  assert_null(ws_session_outcome(d->s));
  assert_int_equal(
      a == ACT_TIMEOUT ? ws_session_timeout(d->s) : ws_session_shutdown(d->s),
      WS_OK);
  drain(d);
  o = ws_session_outcome(d->s);
  assert_non_null(o);
  assert_string_equal(ws_diag_get(o->diag)->code, code);
  assert_true(strncmp(o->reason, code, strlen(code)) == 0);
  assert_int_equal(o->http_status, http);
  assert_int_equal(o->close_code, close);
  if (http && http != 101) {
    char line[32];
    snprintf(line, sizeof(line), "HTTP/1.1 %d ", http);
    assert_true(d->out.n > strlen(line));
    assert_memory_equal(d->out.p, line, strlen(line));
    assert_true(out_has(d, o->reason));
    assert_int_equal(ws_session_upgraded(d->s), 0);
  }
  if (close) {
    tu_sframe f[16];
    size_t n = tu_server_frames(d->out.p, d->out.n, f, 16);
    assert_true(n > 0 && n <= 16);
    assert_int_equal(f[n - 1].opcode, 8);
    assert_int_equal(f[n - 1].p[0] << 8 | f[n - 1].p[1], close);
    assert_int_equal(f[n - 1].n - 2, strlen(o->reason));
    assert_int_equal(ws_session_upgraded(d->s), 1);
  }
  /* The session answers every later call with the same error. */
  assert_int_equal(ws_session_timeout(d->s), WS_ERR_ENDED);
  assert_int_equal(ws_session_shutdown(d->s), WS_ERR_ENDED);
  assert_string_equal(ws_diag_get(ws_session_outcome(d->s)->diag)->code, code);
}

static void upgrade(drive *d, int with_token) {
  tu_bytes b = {0};
  char hdr[1024];
  snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n", good);
  tu_request(&b, with_token ? hdr : NULL);
  feed(d, b.p, b.n);
  tu_bytes_free(&b);
  assert_int_equal(ws_session_upgraded(d->s), 1);
  assert_true(out_has(d, "HTTP/1.1 101 "));
}

/* A slowloris head: part of the request, then the deadline. */
static void test_handshake_timeout_408(void **st) {
  drive d;
  static const char part[] = "GET /chat HTTP/1.1\r\nHost: x\r\nUpg";
  (void)st;
  start(&d, NULL);
  assert_int_equal(ws_session_upgraded(d.s), 0);
  feed(&d, part, sizeof(part) - 1);
  assert_int_equal(d.out.n, 0);
  end_and_check(&d, ACT_TIMEOUT, "HS_TIMEOUT", 408, 0);
  assert_true(out_has(&d, "HTTP/1.1 408 Request Timeout\r\n"));
  assert_int_equal(ws_session_outcome(d.s)->stage, WS_STAGE_HANDSHAKE);
  finish(&d);
}

/* Nothing at all received: still a 408, never silence. */
static void test_handshake_timeout_empty(void **st) {
  drive d;
  (void)st;
  start(&d, NULL);
  end_and_check(&d, ACT_TIMEOUT, "HS_TIMEOUT", 408, 0);
  finish(&d);
}

static void test_auth_timeout_1008(void **st) {
  drive d;
  (void)st;
  start(&d, "{\"first_message_auth\":true}");
  upgrade(&d, 0);
  end_and_check(&d, ACT_TIMEOUT, "AUTH_TIMEOUT", 101, 1008);
  assert_int_equal(ws_session_outcome(d.s)->stage, WS_STAGE_AUTH);
  finish(&d);
}

static void test_idle_timeout_1001(void **st) {
  drive d;
  tu_bytes b = {0};
  tu_sframe f[8];
  (void)st;
  start(&d, NULL);
  upgrade(&d, 1);
  tu_text(&b, "{\"type\":\"ping\"}");
  feed(&d, b.p, b.n);
  tu_bytes_free(&b);
  end_and_check(&d, ACT_TIMEOUT, "IDLE_TIMEOUT", 101, 1001);
  assert_int_equal(ws_session_outcome(d.s)->stage, WS_STAGE_FRAMES);
  /* The pong went out before the close. */
  assert_int_equal(tu_server_frames(d.out.p, d.out.n, f, 8), 2);
  assert_int_equal(f[0].opcode, 1);
  assert_memory_equal(f[0].p, "{\"type\":\"pong\"}", f[0].n);
  finish(&d);
}

/* First-message auth done: the idle deadline, not the auth one. */
static void test_idle_after_first_message_auth(void **st) {
  drive d;
  tu_bytes b = {0};
  char msg[1024];
  (void)st;
  start(&d, "{\"first_message_auth\":true}");
  upgrade(&d, 0);
  snprintf(msg, sizeof(msg), "{\"type\":\"auth\",\"token\":\"%s\"}", good);
  tu_text(&b, msg);
  feed(&d, b.p, b.n);
  tu_bytes_free(&b);
  assert_true(out_has(&d, "auth_ok"));
  end_and_check(&d, ACT_TIMEOUT, "IDLE_TIMEOUT", 101, 1001);
  finish(&d);
}

static void test_shutdown_before_upgrade_503(void **st) {
  drive d;
  (void)st;
  start(&d, NULL);
  feed(&d, "GET / HTTP/1.1\r\n", 16);
  end_and_check(&d, ACT_SHUTDOWN, "SERVER_SHUTDOWN", 503, 0);
  assert_true(out_has(&d, "Retry-After: "));
  finish(&d);
}

static void test_shutdown_after_upgrade_1001(void **st) {
  drive d;
  (void)st;
  start(&d, NULL);
  upgrade(&d, 1);
  end_and_check(&d, ACT_SHUTDOWN, "SERVER_SHUTDOWN", 101, 1001);
  finish(&d);
}

/* A session that ended on its own is not re-ended by a late deadline. */
static void test_timeout_after_end_keeps_outcome(void **st) {
  drive d;
  tu_bytes b = {0};
  (void)st;
  start(&d, NULL);
  upgrade(&d, 1);
  tu_close(&b, 1000, "bye");
  feed(&d, b.p, b.n);
  tu_bytes_free(&b);
  assert_int_equal(ws_session_timeout(d.s), WS_ERR_ENDED);
  assert_int_equal(ws_session_shutdown(d.s), WS_ERR_ENDED);
  assert_string_equal(ws_diag_get(ws_session_outcome(d.s)->diag)->code,
                      "CLOSE_CLIENT");
  assert_int_equal(ws_session_outcome(d.s)->close_code, 1000);
  assert_int_equal(ws_session_upgraded(d.s), 1);
  finish(&d);
}

static void test_null_arguments(void **st) {
  (void)st;
  assert_int_equal(ws_session_timeout(NULL), WS_ERR_ARG);
  assert_int_equal(ws_session_shutdown(NULL), WS_ERR_ARG);
  assert_int_equal(ws_session_upgraded(NULL), 0);
}

/* What a server writes with no session: the cap and a failed
 * ws_session_new. */
static void test_no_session_responses(void **st) {
  char buf[512];
  size_t n;
  (void)st;
  n = ws_diag_http_response(WS_DIAG_HS_CONN_LIMIT, NULL, buf, sizeof(buf));
  assert_true(n > 0 && n < sizeof(buf));
  buf[n] = '\0';
  assert_non_null(strstr(buf, "HTTP/1.1 503 Service Unavailable\r\n"));
  assert_non_null(strstr(buf, "Retry-After: "));
  assert_non_null(strstr(buf, "Connection: close\r\n"));
  assert_non_null(strstr(buf, "\r\n\r\nHS_CONN_LIMIT"));
  n = ws_diag_http_response(WS_DIAG_HS_NOMEM, "session", buf, sizeof(buf));
  assert_true(n > 0 && n < sizeof(buf));
  buf[n] = '\0';
  assert_non_null(strstr(buf, "\r\n\r\nHS_NOMEM: session"));
  /* A diagnosis with no HTTP status has no such response. */
  assert_int_equal(
      ws_diag_http_response(WS_DIAG_IDLE_TIMEOUT, NULL, buf, sizeof(buf)), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_handshake_timeout_408),
      cmocka_unit_test(test_handshake_timeout_empty),
      cmocka_unit_test(test_auth_timeout_1008),
      cmocka_unit_test(test_idle_timeout_1001),
      cmocka_unit_test(test_idle_after_first_message_auth),
      cmocka_unit_test(test_shutdown_before_upgrade_503),
      cmocka_unit_test(test_shutdown_after_upgrade_1001),
      cmocka_unit_test(test_timeout_after_end_keeps_outcome),
      cmocka_unit_test(test_null_arguments),
      cmocka_unit_test(test_no_session_responses),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
