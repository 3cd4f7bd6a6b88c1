/* The one text writer (core/text.h): the JSON escaping rule every writer
 * shares, pinned byte by byte, and snprintf-like length reporting. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "buf.h"
#include "json.h"
#include "testutil.h"
#include "text.h"

/* s[0..n) as a JSON string literal through ws_text (cap large enough). */
static size_t quote(const char *s, size_t n, char *out, size_t cap) {
  ws_text t;
  ws_text_init(&t, out, cap);
  ws_text_json_str(&t, s, n);
  assert_true(ws_text_fits(&t));
  return ws_text_cstr(&t);
}

static void expect_quoted(const char *in, size_t n, const char *want) {
  char out[256];
  size_t len = quote(in, n, out, sizeof(out));
  if (len != strlen(want) || memcmp(out, want, len) != 0)
    fail_msg("quoted as %s, want %s", out, want);
}

/* The oracle: json parses (with the core's parser, i.e. cJSON) to a string
 * equal to in[0..n).  1 when it does. */
static int round_trips(const char *in, size_t n, const char *json,
                       size_t jlen) {
  ws_mem m;
  ws_json *root = NULL;
  ws_json_limits lim = {1024, 4};
  char doc[512];
  const char *v;
  size_t vlen = 0;
  int ok;
  /* A top-level string is wrapped in an array: [<json>]. */
  if (jlen + 3 > sizeof(doc)) return 0;
  doc[0] = '[';
  memcpy(doc + 1, json, jlen);
  doc[jlen + 1] = ']';
  ws_mem_init(&m, NULL);
  if (ws_json_parse(&m, doc, jlen + 2, &lim, &root) != WS_JSON_OK) return 0;
  v = ws_json_string(ws_json_item(root, 0), &vlen);
  ok = v && vlen == n && memcmp(v, in, n) == 0;
  ws_json_free(&m, root);
  return ok;
}

static void test_pinned_escapes(void **st) {
  (void)st;
  expect_quoted("", 0, "\"\"");
  expect_quoted("plain text", 10, "\"plain text\"");
  expect_quoted("a\"b", 3, "\"a\\\"b\"");
  expect_quoted("a\\b", 3, "\"a\\\\b\"");
  expect_quoted("\n\t\r", 3, "\"\\u000a\\u0009\\u000d\"");
  expect_quoted("\x01\x1f", 2, "\"\\u0001\\u001f\"");
  expect_quoted("\x7f", 1, "\"\\u007f\"");
  expect_quoted("\0x", 2, "\"\\u0000x\"");
  expect_quoted(" ~/", 3, "\" ~/\"");
  /* UTF-8 is copied as it is: é, €, U+1F600, and C1 NEL (U+0085). */
  expect_quoted("J\xc3\xb6rg \xe2\x82\xac \xf0\x9f\x98\x80 \xc2\x85", 17,
                "\"J\xc3\xb6rg \xe2\x82\xac \xf0\x9f\x98\x80 \xc2\x85\"");
}

/* Every byte value: the escape is \u00xx (lower-case hex, as libc prints
 * it) for C0 and DEL, a backslash pair for " and \, the byte itself for
 * everything else; and what the escape decodes to is the byte again. */
static void test_every_byte(void **st) {
  int c;
  (void)st;
  for (c = 0; c < 256; c++) {
    char e[WS_JSON_ESCAPE_MAX], want[8], in = (char)c, q[16];
    size_t n = ws_json_escape((unsigned char)c, e), wn;
    if (c < 0x20 || c == 0x7f)
      wn = (size_t)snprintf(want, sizeof(want), "\\u%04x", c);
    else if (c == '"' || c == '\\')
      wn = (size_t)snprintf(want, sizeof(want), "\\%c", c);
    else
      want[0] = (char)c, wn = 1;
    if (n != wn || memcmp(e, want, n) != 0)
      fail_msg("byte 0x%02x escaped wrongly (%zu bytes)", c, n);
    /* NUL is not allowed in the core's JSON strings; bytes >= 0x80 alone
     * are not UTF-8: the round trip covers the rest. */
    if (c == 0 || c >= 0x80) continue;
    n = quote(&in, 1, q, sizeof(q));
    if (!round_trips(&in, 1, q, n))
      fail_msg("byte 0x%02x does not round-trip: %s", c, q);
  }
}

/* The round-trip oracle rejects wrong escapes. */
static void test_round_trip_oracle_can_fail(void **st) {
  (void)st;
  assert_true(round_trips("\x01", 1, "\"\\u0001\"", 8));
  assert_false(round_trips("\x01", 1, "\"\\u0002\"", 8)); /* wrong byte */
  assert_false(round_trips("\x01", 1, "\"\x01\"", 3));    /* unescaped */
  assert_false(round_trips("a\"b", 3, "\"a\"b\"", 5));    /* unescaped " */
  assert_false(round_trips("ab", 2, "\"a\"", 3));         /* short */
}

/* ws_buf_append_json_str uses the same rule: byte-identical output for a
 * string holding every byte value. */
static void test_buf_uses_the_same_rule(void **st) {
  char all[256], viatext[256 * 6 + 3];
  ws_buf b = {0};
  ws_mem m;
  size_t n;
  int i;
  (void)st;
  for (i = 0; i < 256; i++) all[i] = (char)i;
  n = quote(all, sizeof(all), viatext, sizeof(viatext));
  ws_mem_init(&m, NULL);
  assert_int_equal(ws_buf_append(&b, &m, "x", 1), 0);
  assert_int_equal(ws_buf_append_json_str(&b, &m, all, sizeof(all)), 0);
  assert_int_equal(b.len, n + 1);
  assert_memory_equal(b.data + 1, viatext, n);
  ws_buf_free(&b, &m);
}

/* The outcome's JSON line uses the rule too (DEL included: the outcome
 * writer used to pass it through). */
static void test_outcome_json_uses_the_same_rule(void **st) {
  ws_outcome o;
  char buf[512];
  (void)st;
  memset(&o, 0, sizeof(o));
  o.diag = WS_DIAG_FRAME_UTF8;
  o.stage = WS_STAGE_FRAMES;
  o.close_code = 1007;
  snprintf(o.reason, sizeof(o.reason), "FRAME_UTF8: \x7f\x01\"\\\xc3\xa9");
  ws_outcome_json(&o, NULL, buf, sizeof(buf));
  assert_non_null(strstr(
      buf, ",\"reason\":\"FRAME_UTF8: \\u007f\\u0001\\\"\\\\\xc3\xa9\","));
}

static void test_lengths(void **st) {
  char buf[8];
  ws_text t;
  (void)st;
  /* No buffer: only counts. */
  ws_text_init(&t, NULL, 5);
  ws_text_puts(&t, "hello world");
  assert_int_equal(t.cap, 0);
  assert_false(ws_text_fits(&t));
  assert_int_equal(ws_text_cstr(&t), 11);
  /* Cut like snprintf: cap - 1 bytes and a NUL. */
  memset(buf, 'z', sizeof(buf));
  ws_text_init(&t, buf, 5);
  ws_text_puts(&t, "hello world");
  assert_int_equal(ws_text_cstr(&t), 11);
  assert_string_equal(buf, "hell");
  assert_int_equal(buf[5], 'z'); /* nothing past cap */
  /* Exactly cap bytes fit as bytes, not as a C string. */
  ws_text_init(&t, buf, 5);
  ws_text_put(&t, "hello", 5);
  assert_true(ws_text_fits(&t));
  assert_memory_equal(buf, "hello", 5);
  ws_text_put(&t, "!", 1);
  assert_false(ws_text_fits(&t));
  /* Pieces after the cut are still counted, never written. */
  ws_text_init(&t, buf, 4);
  ws_text_puts(&t, "abcdef");
  ws_text_json_str(&t, "\x01", 1);
  assert_int_equal(ws_text_cstr(&t), 6 + 8);
  assert_string_equal(buf, "abc");
  ws_text_init(&t, buf, sizeof(buf));
  ws_text_puts(&t, NULL);
  ws_text_put(&t, NULL, 0);
  assert_int_equal(ws_text_cstr(&t), 0);
  assert_string_equal(buf, "");
}

static void test_int(void **st) {
  char buf[32];
  ws_text t;
  (void)st;
  ws_text_init(&t, buf, sizeof(buf));
  ws_text_int(&t, 0);
  ws_text_puts(&t, " ");
  ws_text_int(&t, -1011);
  ws_text_puts(&t, " ");
  ws_text_int(&t, 503);
  ws_text_cstr(&t);
  assert_string_equal(buf, "0 -1011 503");
  ws_text_init(&t, buf, sizeof(buf));
  ws_text_int(&t, LLONG_MIN);
  ws_text_cstr(&t);
  assert_string_equal(buf, "-9223372036854775808");
  ws_text_init(&t, buf, sizeof(buf));
  ws_text_int(&t, LLONG_MAX);
  ws_text_cstr(&t);
  assert_string_equal(buf, "9223372036854775807");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_pinned_escapes),
      cmocka_unit_test(test_every_byte),
      cmocka_unit_test(test_round_trip_oracle_can_fail),
      cmocka_unit_test(test_buf_uses_the_same_rule),
      cmocka_unit_test(test_outcome_json_uses_the_same_rule),
      cmocka_unit_test(test_lengths),
      cmocka_unit_test(test_int),
  };
  tu_global_init();
  return cmocka_run_group_tests(tests, NULL, NULL);
}
