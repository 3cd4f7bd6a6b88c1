#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "utf8.h"

typedef struct {
  const char *bytes;
  size_t n;
  int valid;
} vec;

#define V(s, ok) \
  { s, sizeof(s) - 1, ok }
static const vec vecs[] = {
    V("", 1),
    V("hello", 1),
    V("\xc2\xa9", 1),
    V("\xe2\x82\xac", 1),
    V("\xf0\x9f\x98\x80", 1),
    V("\xf4\x8f\xbf\xbf", 1),
    V("\xed\x9f\xbf", 1),
    V("\xee\x80\x80", 1),
    V("\xc0\x80", 0),         /* overlong NUL */
    V("\xc1\xbf", 0),         /* overlong */
    V("\xe0\x9f\xbf", 0),     /* overlong 3-byte */
    V("\xed\xa0\x80", 0),     /* surrogate U+D800 */
    V("\xf0\x8f\xbf\xbf", 0), /* overlong 4-byte */
    V("\xf4\x90\x80\x80", 0), /* above U+10FFFF */
    V("\xf5\x80\x80\x80", 0),
    V("\xff", 0),
    V("\x80", 0),
    V("\xc2", 0), /* truncated */
    V("\xe2\x82", 0),
    V("a\xc2z", 0),
};

static void test_vectors_whole_and_split(void **st) {
  size_t i, cut;
  (void)st;
  for (i = 0; i < sizeof(vecs) / sizeof(vecs[0]); i++) {
    assert_int_equal(ws_utf8_valid((const uint8_t *)vecs[i].bytes, vecs[i].n),
                     vecs[i].valid);
    /* Any split gives the same verdict (fragments, RFC 6455 8.1). */
    for (cut = 0; cut <= vecs[i].n; cut++) {
      ws_utf8 u;
      int ok;
      ws_utf8_init(&u);
      ok = ws_utf8_feed(&u, (const uint8_t *)vecs[i].bytes, cut) == 0;
      ok = ok && ws_utf8_feed(&u, (const uint8_t *)vecs[i].bytes + cut,
                              vecs[i].n - cut) == 0;
      assert_int_equal(ok && ws_utf8_complete(&u), vecs[i].valid);
    }
  }
}

static void test_fails_fast(void **st) {
  /* The verdict comes at the first bad byte, before the message ends. */
  ws_utf8 u;
  (void)st;
  ws_utf8_init(&u);
  assert_int_equal(ws_utf8_feed(&u, (const uint8_t *)"\xed", 1), 0);
  assert_int_equal(ws_utf8_feed(&u, (const uint8_t *)"\xa0", 1), -1);
  assert_int_equal(ws_utf8_feed(&u, (const uint8_t *)"ok", 2), -1); /* sticky */
}

static void test_long_ascii_fast_path(void **st) {
  uint8_t buf[1000];
  (void)st;
  memset(buf, 'a', sizeof(buf));
  assert_true(ws_utf8_valid(buf, sizeof(buf)));
  buf[517] = 0x80;
  assert_false(ws_utf8_valid(buf, sizeof(buf)));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_vectors_whole_and_split),
      cmocka_unit_test(test_fails_fast),
      cmocka_unit_test(test_long_ascii_fast_path),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
