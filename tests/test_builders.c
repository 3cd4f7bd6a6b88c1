/* The shared builders (builders.h) against independent answers: the frame
 * examples of RFC 6455 5.7, exact request bytes, the failing allocator's
 * two modes, and the feed loop's chunking. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "builders.h"
#include "testutil.h"

static void test_frames_rfc6455_examples(void **st) {
  /* RFC 6455 5.7: a single-frame masked and unmasked text "Hello", and the
   * 256-byte and 64 KiB unmasked binary headers. */
  static const uint8_t masked[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d,
                                   0x7f, 0x9f, 0x4d, 0x51, 0x58};
  static const uint8_t unmasked[] = {0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
  static const uint8_t h256[] = {0x82, 0x7e, 0x01, 0x00};
  static const uint8_t h64k[] = {0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0};
  uint8_t out[16], *big = calloc(1, 65536 + 16);
  uint8_t payload[256] = {0};
  (void)st;
  assert_non_null(big);
  assert_int_equal(
      tb_frame(out, sizeof(out), TB_FIN | TB_TEXT, tb_mask_key, "Hello", 5),
      sizeof(masked));
  assert_memory_equal(out, masked, sizeof(masked));
  assert_int_equal(
      tb_frame(out, sizeof(out), TB_FIN | TB_TEXT, NULL, "Hello", 5),
      sizeof(unmasked));
  assert_memory_equal(out, unmasked, sizeof(unmasked));
  assert_int_equal(tb_frame(big, 65536 + 16, TB_FIN | TB_BINARY, NULL, payload,
                            sizeof(payload)),
                   4 + 256);
  assert_memory_equal(big, h256, sizeof(h256));
  {
    uint8_t *p = calloc(1, 65536);
    assert_non_null(p);
    assert_int_equal(
        tb_frame(big, 65536 + 16, TB_FIN | TB_BINARY, NULL, p, 65536),
        10 + 65536);
    assert_memory_equal(big, h64k, sizeof(h64k));
    free(p);
  }
  /* 125 is the last one-byte length; 126 takes the 16-bit form. */
  assert_int_equal(tb_frame(NULL, 0, TB_TEXT, tb_mask_key, payload, 125),
                   2 + 4 + 125);
  assert_int_equal(tb_frame(NULL, 0, TB_TEXT, tb_mask_key, payload, 126),
                   4 + 4 + 126);
  /* Too small: the length is reported and nothing is written. */
  memset(out, 0xee, sizeof(out));
  assert_int_equal(tb_frame(out, 10, TB_FIN | TB_TEXT, tb_mask_key, "Hello", 5),
                   11);
  assert_int_equal(out[0], 0xee);
  free(big);
}

static void test_request_and_close(void **st) {
  char buf[512];
  uint8_t p[125];
  char reason[200];
  size_t n;
  (void)st;
  n = tb_request(buf, sizeof(buf), "Origin: https://a.example\r\n");
  assert_int_equal(n, 188);
  assert_memory_equal(buf,
                      "GET /chat HTTP/1.1\r\n"
                      "Host: server.example.com\r\n"
                      "Upgrade: websocket\r\n"
                      "Connection: Upgrade\r\n"
                      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                      "Sec-WebSocket-Version: 13\r\n"
                      "Origin: https://a.example\r\n\r\n",
                      n);
  memset(buf, 'z', sizeof(buf));
  assert_int_equal(tb_request(buf, 100, NULL), 161);
  assert_int_equal(buf[0], 'z');
  assert_int_equal(tb_close_payload(p, 0, "ignored"), 0);
  assert_int_equal(tb_close_payload(p, 1000, "bye"), 5);
  assert_memory_equal(p,
                      "\x03\xe8"
                      "bye",
                      5);
  memset(reason, 'r', sizeof(reason) - 1);
  reason[sizeof(reason) - 1] = '\0';
  assert_int_equal(tb_close_payload(p, 4000, reason), 125);
}

static void test_failalloc_modes(void **st) {
  tb_failalloc once = {.fail_at = 2}, from = {.fail_at = 2, .fail_from = 1};
  ws_allocator a = tb_failalloc_allocator(&once);
  ws_allocator b = tb_failalloc_allocator(&from);
  void *p1, *p3;
  (void)st;
  p1 = a.malloc(10, a.user_data);
  assert_non_null(p1);
  assert_null(a.calloc(3, 100, a.user_data));
  p3 = a.realloc(p1, 20, a.user_data);
  assert_non_null(p3);
  a.free(p3, a.user_data);
  assert_int_equal(once.calls, 3);
  assert_int_equal(once.failed, 1);
  assert_int_equal(once.largest, 300);
  p1 = b.malloc(1, b.user_data);
  assert_non_null(p1);
  assert_null(b.malloc(1, b.user_data));
  assert_null(b.realloc(p1, 2, b.user_data));
  assert_int_equal(from.failed, 2);
  b.free(p1, b.user_data);
}

static void count(void *ud, const uint8_t *p, size_t n) {
  (void)p;
  *(size_t *)ud += n;
}

/* The feed loop: the same server bytes for any chunking, nothing read after
 * the session ended. */
static void test_session_feed(void **st) {
  ws_config *cfg = tu_config("{\"first_message_auth\":true}");
  ws_keyset *ks = tu_keys();
  tu_bytes in = {0};
  size_t chunks[] = {0, 1, 7, TB_RANDOM_CHUNKS}, i, want = 0;
  (void)st;
  tu_request(&in, NULL);
  tu_text(&in, "{\"type\":\"ping\"}"); /* not auth: ends the session */
  tu_text(&in, "{\"type\":\"ping\"}");
  for (i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
    tu_env t;
    ws_session *s = NULL;
    size_t got = 0;
    tu_env_init(&t, 1700000000, 1);
    assert_int_equal(ws_session_new(&s, cfg, ks, &t.env), WS_OK);
    assert_int_equal(
        tb_session_feed(s, in.p, in.n, chunks[i], 3, 1, count, &got), 0);
    assert_non_null(ws_session_outcome(s));
    assert_int_equal(ws_session_outcome(s)->diag, WS_DIAG_AUTH_FIRST_MESSAGE);
    if (i == 0) want = got;
    assert_int_equal(got, want);
    ws_session_free(s);
  }
  /* 101 head + one close frame (4 + the reason). */
  assert_true(want > 4 + strlen("AUTH_FIRST_MESSAGE"));
  tu_bytes_free(&in);
  ws_keyset_free(ks);
  ws_config_free(cfg);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_frames_rfc6455_examples),
      cmocka_unit_test(test_request_and_close),
      cmocka_unit_test(test_failalloc_modes),
      cmocka_unit_test(test_session_feed),
  };
  tu_global_init();
  return cmocka_run_group_tests(tests, NULL, NULL);
}
