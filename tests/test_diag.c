/* The diagnosis table's own invariants (POLICY §1, §3). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "wsgate/diag.h"

static void test_codes_unique_and_findable(void **st) {
  int i, j, n = ws_diag_count();
  (void)st;
  assert_true(n > 40);
  assert_null(ws_diag_get(WS_DIAG_NONE));
  assert_null(ws_diag_get((ws_diag)(n + 1)));
  for (i = 1; i <= n; i++) {
    const ws_diag_info *a = ws_diag_get((ws_diag)i);
    assert_non_null(a);
    assert_int_equal(a->diag, i);
    assert_ptr_equal(ws_diag_find(a->code), a);
    assert_true(strlen(a->description) > 10);
    for (j = i + 1; j <= n; j++)
      assert_string_not_equal(a->code, ws_diag_get((ws_diag)j)->code);
  }
  assert_null(ws_diag_find("NO_SUCH_CODE"));
}

/* 1011 and 500 only with class internal; internal always has them. */
static void test_internal_is_the_only_1011(void **st) {
  int i, n = ws_diag_count();
  (void)st;
  for (i = 1; i <= n; i++) {
    const ws_diag_info *d = ws_diag_get((ws_diag)i);
    if (d->close_code == 1011 || d->http_status == 500)
      assert_int_equal(d->cls, WS_CLASS_INTERNAL);
    if (d->cls == WS_CLASS_INTERNAL) assert_int_equal(d->close_code, 1011);
    if (d->cls == WS_CLASS_RESOURCE) {
      assert_true(d->close_code == 1013 || d->close_code == 0);
      assert_true(d->http_status == 503 || d->http_status == 0);
    }
    if (d->cls == WS_CLASS_AUTH && d->http_status)
      assert_int_equal(d->http_status, 401);
    if (d->cls == WS_CLASS_MESSAGE) {
      assert_int_equal(d->http_status, 0);
      assert_int_equal(d->close_code, 0);
    }
  }
}

/* Each stage owns its codes; names carry the stage prefix. */
static void test_prefixes_match_stages(void **st) {
  int i, n = ws_diag_count();
  (void)st;
  for (i = 1; i <= n; i++) {
    const ws_diag_info *d = ws_diag_get((ws_diag)i);
    const char *c = d->code;
    if (!strncmp(c, "HS_", 3))
      assert_int_equal(d->stage, WS_STAGE_HANDSHAKE);
    else if (!strncmp(c, "AUTH_", 5))
      assert_int_equal(d->stage, WS_STAGE_AUTH);
    else if (!strncmp(c, "CTX_", 4))
      assert_int_equal(d->stage, WS_STAGE_CONTEXT);
    else
      assert_int_equal(d->stage, WS_STAGE_FRAMES);
  }
  assert_string_equal(ws_stage_name(WS_STAGE_CONTEXT), "context");
  assert_string_equal(ws_class_name(WS_CLASS_RESOURCE), "resource");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_codes_unique_and_findable),
      cmocka_unit_test(test_internal_is_the_only_1011),
      cmocka_unit_test(test_prefixes_match_stages),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
