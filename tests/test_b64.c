#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "b64.h"

static long url(const char *s, uint8_t *out) {
  return ws_b64url_decode(s, strlen(s), out, 64);
}
static long std64(const char *s, uint8_t *out) {
  return ws_b64_decode(s, strlen(s), out, 64);
}

static void test_rfc4648_vectors(void **st) {
  /* RFC 4648 10 test vectors, both directions. */
  static const char *const plain[] = {"",     "f",     "fo",    "foo",
                                      "foob", "fooba", "foobar"};
  static const char *const enc[] = {"",         "Zg==",     "Zm8=",    "Zm9v",
                                    "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
  static const char *const encurl[] = {"",       "Zg",      "Zm8",     "Zm9v",
                                       "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
  size_t i;
  (void)st;
  for (i = 0; i < 7; i++) {
    char out[32];
    uint8_t dec[32];
    size_t n = strlen(plain[i]);
    assert_int_equal(
        ws_b64_encode((const uint8_t *)plain[i], n, out, sizeof(out)),
        strlen(enc[i]));
    assert_string_equal(out, enc[i]);
    assert_int_equal(
        ws_b64url_encode((const uint8_t *)plain[i], n, out, sizeof(out)),
        strlen(encurl[i]));
    assert_string_equal(out, encurl[i]);
    assert_int_equal(std64(enc[i], dec), (long)n);
    assert_memory_equal(dec, plain[i], n);
    assert_int_equal(url(encurl[i], dec), (long)n);
    assert_memory_equal(dec, plain[i], n);
  }
}

static void test_url_rejects_non_canonical(void **st) {
  uint8_t out[64];
  (void)st;
  assert_int_equal(url("Zg==", out), -1); /* padding */
  assert_int_equal(url("Zh", out), -1);   /* non-zero unused bits */
  assert_int_equal(url("Zm9", out), -1);  /* non-zero unused bits */
  assert_int_equal(url("Z", out), -1);    /* length % 4 == 1 */
  assert_int_equal(url("ab+/", out), -1); /* standard alphabet */
  assert_int_equal(url("ab c", out), -1); /* whitespace */
  assert_int_equal(url("Zm9v\n", out), -1);
  assert_int_equal(url("-_-_", out), 3); /* url alphabet */
}

static void test_std_rejects_non_canonical(void **st) {
  uint8_t out[64];
  (void)st;
  assert_int_equal(std64("Zg=", out), -1);      /* length not multiple of 4 */
  assert_int_equal(std64("Zg", out), -1);       /* missing padding */
  assert_int_equal(std64("Zh==", out), -1);     /* unused bits */
  assert_int_equal(std64("Z===", out), -1);     /* too much padding */
  assert_int_equal(std64("Zg==Zg==", out), -1); /* padding inside */
  assert_int_equal(std64("-_-_", out), -1);     /* url alphabet */
  /* The RFC 6455 sample key is 16 bytes. */
  assert_int_equal(std64("dGhlIHNhbXBsZSBub25jZQ==", out), 16);
  /* Output capacity is respected. */
  assert_int_equal(ws_b64_decode("Zm9vYmFy", 8, out, 5), -1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rfc4648_vectors),
      cmocka_unit_test(test_url_rejects_non_canonical),
      cmocka_unit_test(test_std_rejects_non_canonical),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
