#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "json.h"
#include "testutil.h"

static const ws_json_limits lim = {1024, 4};

static ws_json_status parse(const char *s) {
  ws_mem m;
  ws_json *j = NULL;
  ws_json_status st;
  ws_mem_init(&m, NULL);
  st = ws_json_parse(&m, s, strlen(s), &lim, &j);
  if (st == WS_JSON_OK)
    assert_non_null(j);
  else
    assert_null(j);
  ws_json_free(&m, j);
  return st;
}

static void test_accessors(void **st) {
  ws_mem m;
  ws_json *j = NULL;
  const char *s;
  size_t n;
  int ok;
  const char *doc =
      "{\"a\":\"x\\\"y\",\"n\":12.5,\"arr\":[1,2,3],\"t\":true,\"z\":null}";
  (void)st;
  ws_mem_init(&m, NULL);
  assert_int_equal(ws_json_parse(&m, doc, strlen(doc), &lim, &j), WS_JSON_OK);
  assert_true(ws_json_is_object(j));
  s = ws_json_string(ws_json_get(j, "a"), &n);
  assert_int_equal(n, 3);
  assert_memory_equal(s, "x\"y", 3);
  assert_true(ws_json_number(ws_json_get(j, "n"), &ok) == 12.5 && ok);
  assert_int_equal(ws_json_size(ws_json_get(j, "arr")), 3);
  assert_true(ws_json_is_true(ws_json_get(j, "t")));
  assert_true(ws_json_is_null(ws_json_get(j, "z")));
  assert_null(ws_json_get(j, "A")); /* case-sensitive */
  assert_string_equal(ws_json_name(ws_json_item(j, 1)), "n");
  ws_json_number(ws_json_get(j, "a"), &ok);
  assert_false(ok);
  ws_json_free(&m, j);
}

static void test_rejects(void **st) {
  (void)st;
  assert_int_equal(parse("{\"a\":1,\"a\":2}"), WS_JSON_SYNTAX); /* duplicate */
  assert_int_equal(parse("{\"a\":{\"b\":1,\"b\":1}}"),
                   WS_JSON_SYNTAX);                       /* nested duplicate */
  assert_int_equal(parse("{\"a\":1} x"), WS_JSON_SYNTAX); /* trailing bytes */
  assert_int_equal(parse("{\"a\":1} \n"), WS_JSON_OK); /* trailing whitespace */
  assert_int_equal(parse("{\"a\":\"\x01\"}"), WS_JSON_SYNTAX); /* raw control */
  assert_int_equal(parse("{\"a\":\"\\u0000\"}"),
                   WS_JSON_SYNTAX); /* NUL escape */
  assert_int_equal(parse("{\"a\":\"\xc3\x28\"}"),
                   WS_JSON_SYNTAX); /* bad UTF-8 */
  assert_int_equal(parse("{\"a\":"), WS_JSON_SYNTAX);
  assert_int_equal(parse(""), WS_JSON_SYNTAX);
}

static void test_large_object_duplicates(void **st) {
  char doc[1024];
  size_t n = 0;
  int i;
  (void)st;
  n += (size_t)snprintf(doc + n, sizeof(doc) - n, "{");
  for (i = 0; i < 40; i++)
    n += (size_t)snprintf(doc + n, sizeof(doc) - n, "%s\"k%d\":%d",
                          i ? "," : "", i, i);
  snprintf(doc + n, sizeof(doc) - n, "}");
  assert_int_equal(parse(doc), WS_JSON_OK);
  doc[n] = '\0';
  snprintf(doc + n, sizeof(doc) - n, ",\"k17\":0}");
  assert_int_equal(parse(doc), WS_JSON_SYNTAX);
}

static void test_depth_limit(void **st) {
  (void)st;
  /* max_depth 4: four levels pass, five fail — before cJSON recurses. */
  assert_int_equal(parse("[[[[1]]]]"), WS_JSON_OK);
  assert_int_equal(parse("[[[[[1]]]]]"), WS_JSON_LIMIT);
  assert_int_equal(parse("{\"a\":{\"b\":{\"c\":{\"d\":1}}}}"), WS_JSON_OK);
  assert_int_equal(parse("{\"a\":{\"b\":{\"c\":{\"d\":{}}}}}"), WS_JSON_LIMIT);
  assert_int_equal(parse("[\"[[[[[[\"]"), WS_JSON_OK); /* brackets in strings */
}

static void test_length_limit(void **st) {
  char doc[1100];
  (void)st;
  memset(doc, ' ', sizeof(doc));
  memcpy(doc, "{}", 2);
  doc[1024] = '\0'; /* exactly max_len */
  assert_int_equal(parse(doc), WS_JSON_OK);
  doc[1024] = ' ';
  doc[1025] = '\0'; /* one past */
  assert_int_equal(parse(doc), WS_JSON_LIMIT);
}

/* Every allocation failure, in cJSON or ours, reads as NOMEM, never SYNTAX,
 * and leaves nothing behind. */
static void test_nomem_is_not_syntax(void **st) {
  const char *doc =
      "{\"sub\":\"alice\",\"aud\":[\"a\",\"b\"],\"k0\":1,\"k1\":1,\"k2\":1,"
      "\"k3\":1,\"k4\":1,\"k5\":1,\"k6\":1,\"k7\":1,\"k8\":1}";
  unsigned long n, total;
  tu_failalloc fa = {0};
  ws_allocator a = tu_failalloc_allocator(&fa);
  ws_countalloc ca;
  ws_allocator c;
  ws_mem m;
  ws_json *j = NULL;
  (void)st;
  tu_global_init();
  ws_countalloc_init(&ca, &a);
  c = ws_countalloc_allocator(&ca);
  ws_mem_init(&m, &c);
  assert_int_equal(ws_json_parse(&m, doc, strlen(doc), &lim, &j), WS_JSON_OK);
  ws_json_free(&m, j);
  total = fa.calls;
  assert_true(total > 10); /* cJSON's allocations come through the session */
  for (n = 1; n <= total; n++) {
    fa.calls = 0;
    fa.fail_at = n;
    j = NULL;
    assert_int_equal(ws_json_parse(&m, doc, strlen(doc), &lim, &j),
                     WS_JSON_NOMEM);
    assert_null(j);
    assert_int_equal(ca.live_blocks, 0);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_accessors),
      cmocka_unit_test(test_rejects),
      cmocka_unit_test(test_large_object_duplicates),
      cmocka_unit_test(test_depth_limit),
      cmocka_unit_test(test_length_limit),
      cmocka_unit_test(test_nomem_is_not_syntax),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
