#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "config.h"

static int parse(const char *json, ws_config **c, char *err) {
  return ws_config_new(c, json, strlen(json), err, 256);
}

static void test_defaults(void **st) {
  ws_config *c = NULL;
  (void)st;
  assert_int_equal(ws_config_new(&c, NULL, 0, NULL, 0), WS_OK);
  assert_int_equal(c->max_head_bytes, 8192);
  assert_int_equal(c->max_message_bytes, 1024 * 1024);
  assert_null(c->issuer);
  assert_false(c->origins_set);
  assert_false(c->first_message_auth);
  ws_config_free(c);
}

static void test_all_keys(void **st) {
  ws_config *c = NULL;
  char err[256];
  (void)st;
  assert_int_equal(
      parse(
          "{\"issuer\":\"https://issuer.example\",\"audience\":\"chat\","
          "\"leeway_s\":30,\"max_message_bytes\":4096,\"max_head_bytes\":1024,"
          "\"max_headers\":16,\"max_token_bytes\":512,\"max_json_depth\":5,"
          "\"origins\":[\"https://"
          "a.example\"],\"subprotocols\":[\"chat.v1\",\"x\"],"
          "\"first_message_auth\":true}",
          &c, err),
      WS_OK);
  assert_string_equal(c->issuer, "https://issuer.example");
  assert_string_equal(c->audience, "chat");
  assert_int_equal(c->leeway_s, 30);
  assert_int_equal(c->max_message_bytes, 4096);
  assert_int_equal(c->max_head_bytes, 1024);
  assert_int_equal(c->max_headers, 16);
  assert_int_equal(c->max_token_bytes, 512);
  assert_int_equal(c->max_json_depth, 5);
  assert_true(c->origins_set);
  assert_int_equal(c->origins.n, 1);
  assert_int_equal(c->subprotocols.n, 2);
  assert_string_equal(c->subprotocols.items[0], "chat.v1");
  assert_true(c->first_message_auth);
  ws_config_free(c);
}

static void test_errors_name_the_key(void **st) {
  static const struct {
    const char *json, *needle;
  } cases[] = {
      {"{\"max_head_bytes\":\"big\"}", "max_head_bytes"},
      {"{\"max_head_bytes\":8192.5}", "max_head_bytes"},
      {"{\"max_message_bytes\":0}", "max_message_bytes"},
      {"{\"leeway_s\":-1}", "leeway_s"},
      {"{\"origins\":\"https://a\"}", "origins"},
      {"{\"subprotocols\":[\"has space\"]}", "subprotocols"},
      {"{\"first_message_auth\":1}", "first_message_auth"},
      {"{\"issuer\":\"\"}", "issuer"},
      {"{\"max_head_byte\":100}", "unknown key"},
      {"[1]", "JSON object"},
      {"{\"a\":1,\"a\":1}", "duplicate"},
      {"{", "not valid JSON"},
  };
  size_t i;
  (void)st;
  for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    ws_config *c = (ws_config *)1;
    char err[256];
    assert_int_equal(parse(cases[i].json, &c, err), WS_ERR_PARSE);
    assert_null(c);
    if (!strstr(err, cases[i].needle))
      fail_msg("'%s' -> '%s' lacks '%s'", cases[i].json, err, cases[i].needle);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_defaults),
      cmocka_unit_test(test_all_keys),
      cmocka_unit_test(test_errors_name_the_key),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
