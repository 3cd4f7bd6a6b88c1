/* Sessions refuse to start before ws_global_init (the dependency
 * trampolines would be missing: no attribution of OpenSSL/cJSON failures),
 * and ws_global_init is idempotent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

static void test_session_needs_global_init(void **st) {
  ws_config *cfg = NULL;
  ws_session *s = (ws_session *)1;
  tu_env t;
  (void)st;
  assert_int_equal(ws_config_new(&cfg, NULL, 0, NULL, 0), WS_OK);
  tu_env_init(&t, 1700000000, 1);
  /* The key set is never read before the check; any non-NULL pointer. */
  assert_int_equal(ws_session_new(&s, cfg, (const ws_keyset *)cfg, &t.env),
                   WS_ERR_STATE);
  assert_null(s);
  assert_int_equal(ws_global_init(), WS_OK);
  assert_int_equal(ws_global_init(), WS_OK);
  ws_config_free(cfg);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_session_needs_global_init)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
