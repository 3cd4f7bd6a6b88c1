/* The user execution context factory: each failure has its own diagnosis,
 * and a failing primary id generator is absorbed and recorded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "context.h"
#include "testutil.h"

typedef struct fenv {
  tu_env t;
  int fail_attr; /* ws_attr whose reads fail, -1 none */
  int primary;   /* 0 ok, 1 fails, 2 returns an invalid id */
  int fallback;  /* 0 ok, 1 fails */
} fenv;

static int rd(const ws_env *e, const ws_context *c, ws_attr a, const char **v,
              size_t *n) {
  fenv *f = e->user_data;
  if ((int)a == f->fail_attr) return -1;
  return ws_context_attr_default(c, a, v, n);
}
static int prim(const ws_env *e, ws_id_kind k, char *buf, size_t cap) {
  fenv *f = e->user_data;
  if (f->primary == 1) return -1;
  if (f->primary == 2) {
    strcpy(buf, "has space");
    return 0;
  }
  return ws_idgen_primary_default(e, k, buf, cap);
}
static int fb(const ws_env *e, ws_id_kind k, char *buf, size_t cap) {
  fenv *f = e->user_data;
  return f->fallback ? -1 : ws_idgen_fallback_default(e, k, buf, cap);
}

static void init(fenv *f) {
  memset(f, 0, sizeof(*f));
  tu_env_init(&f->t, 1700000000, 3);
  f->fail_attr = -1;
  f->t.env.attr_read = rd;
  f->t.env.idgen = prim;
  f->t.env.idgen_fallback = fb;
  f->t.env.user_data = f;
}

static ws_diag build(fenv *f, ws_outcome *o) {
  ws_mem m;
  ws_context *c = NULL;
  ws_diag d;
  ws_mem_init(&m, &f->t.env.alloc);
  memset(o, 0, sizeof(*o));
  d = ws_context_build(&m, &f->t.env, "alice", 5, o, &c);
  if (d == WS_DIAG_NONE) {
    const char *v;
    size_t n;
    assert_non_null(c);
    assert_int_equal(ws_context_read(c, &f->t.env, WS_ATTR_USER_ID, &v, &n),
                     WS_DIAG_NONE);
    assert_int_equal(n, 5);
    assert_memory_equal(v, "alice", 5);
    assert_int_equal(ws_context_read(c, &f->t.env, WS_ATTR_THREAD_ID, &v, &n),
                     WS_DIAG_NONE);
    assert_true(strncmp(v, "thread_1700000000_", 18) == 0 ||
                (n == 36 && v[14] == '4'));
  } else {
    assert_null(c);
  }
  ws_context_free(&m, c);
  assert_int_equal(f->t.counts.live_blocks, 0);
  return d;
}

static void test_each_attr_failure_names_the_attr(void **st) {
  static const ws_diag want[WS_ATTR_COUNT_] = {
      WS_DIAG_CTX_ATTR_USER_ID, WS_DIAG_CTX_ATTR_THREAD_ID,
      WS_DIAG_CTX_ATTR_WEBSOCKET_CLIENT_ID, WS_DIAG_CTX_ATTR_RUN_ID,
      WS_DIAG_CTX_ATTR_REQUEST_ID};
  int a;
  (void)st;
  for (a = 0; a < WS_ATTR_COUNT_; a++) {
    fenv f;
    ws_outcome o;
    init(&f);
    f.fail_attr = a;
    assert_int_equal(build(&f, &o), want[a]);
    assert_int_equal(ws_diag_get(want[a])->cls, WS_CLASS_INTERNAL);
  }
}

/* Everything built from the attribute list (wsgate/attr.h) agrees with an
 * independent statement of it: names, diagnosis rows (code, stage, class,
 * status, close, description), id kinds and the primary ids' prefixes. */
static const struct {
  ws_attr attr;
  const char *name, *diag, *prefix;
} expected_attrs[] = {
    {WS_ATTR_USER_ID, "user_id", "CTX_ATTR_USER_ID", NULL},
    {WS_ATTR_THREAD_ID, "thread_id", "CTX_ATTR_THREAD_ID", "thread_"},
    {WS_ATTR_WEBSOCKET_CLIENT_ID, "websocket_client_id",
     "CTX_ATTR_WEBSOCKET_CLIENT_ID", "wsc_"},
    {WS_ATTR_RUN_ID, "run_id", "CTX_ATTR_RUN_ID", "run_"},
    {WS_ATTR_REQUEST_ID, "request_id", "CTX_ATTR_REQUEST_ID", "req_"},
};

static void test_attr_list(void **st) {
  size_t i, rows = 0;
  int d;
  (void)st;
  assert_int_equal(WS_ATTR_COUNT_,
                   sizeof(expected_attrs) / sizeof(expected_attrs[0]));
  assert_int_equal(WS_ID_THREAD, WS_ATTR_THREAD_ID);
  assert_int_equal(WS_ID_WEBSOCKET_CLIENT, WS_ATTR_WEBSOCKET_CLIENT_ID);
  assert_int_equal(WS_ID_RUN, WS_ATTR_RUN_ID);
  assert_int_equal(WS_ID_REQUEST, WS_ATTR_REQUEST_ID);
  assert_null(ws_attr_name(WS_ATTR_COUNT_));
  for (i = 0; i < WS_ATTR_COUNT_; i++) {
    const ws_diag_info *info = ws_diag_find(expected_attrs[i].diag);
    char desc[128];
    assert_int_equal(expected_attrs[i].attr, (ws_attr)i);
    assert_string_equal(ws_attr_name((ws_attr)i), expected_attrs[i].name);
    assert_non_null(info);
    assert_int_equal(info->stage, WS_STAGE_CONTEXT);
    assert_int_equal(info->cls, WS_CLASS_INTERNAL);
    assert_int_equal(info->http_status, 500);
    assert_int_equal(info->close_code, 1011);
    snprintf(desc, sizeof(desc),
             "context attribute %s could not be read or is invalid",
             expected_attrs[i].name);
    assert_string_equal(info->description, desc);
    if (expected_attrs[i].prefix) {
      tu_env t;
      char id[WS_ID_MAX + 1];
      tu_env_init(&t, 1700000000, 1);
      assert_int_equal(
          ws_idgen_primary_default(&t.env, (ws_id_kind)i, id, sizeof(id)), 0);
      assert_true(strncmp(id, expected_attrs[i].prefix,
                          strlen(expected_attrs[i].prefix)) == 0);
    }
  }
  /* No CTX_ATTR_* row without an attribute, and they sit together, after
   * CTX_IDGEN_EXHAUSTED (the codes' numbers are as before the list). */
  for (d = 1; d <= ws_diag_count(); d++)
    if (strncmp(ws_diag_get((ws_diag)d)->code, "CTX_ATTR_", 9) == 0) rows++;
  assert_int_equal(rows, WS_ATTR_COUNT_);
  assert_int_equal(WS_DIAG_CTX_ATTR_USER_ID, WS_DIAG_CTX_IDGEN_EXHAUSTED + 1);
  assert_int_equal(WS_DIAG_CTX_NOMEM,
                   WS_DIAG_CTX_ATTR_USER_ID + (int)WS_ATTR_COUNT_);
}

static void test_fallbacks(void **st) {
  fenv f;
  ws_outcome o;
  (void)st;
  init(&f);
  assert_int_equal(build(&f, &o), WS_DIAG_NONE);
  assert_int_equal(o.trail_len, 0);
  f.primary = 1; /* fails: fallback UUIDs, four trail entries */
  assert_int_equal(build(&f, &o), WS_DIAG_NONE);
  assert_int_equal(o.trail_len, 4);
  assert_int_equal(o.trail[0].event, WS_TRAIL_IDGEN_FALLBACK);
  assert_int_equal(o.trail[3].attr, WS_ATTR_REQUEST_ID);
  f.primary = 2; /* an invalid id is not used */
  assert_int_equal(build(&f, &o), WS_DIAG_NONE);
  assert_int_equal(o.trail[0].event, WS_TRAIL_IDGEN_INVALID);
  f.fallback = 1;
  assert_int_equal(build(&f, &o), WS_DIAG_CTX_IDGEN_EXHAUSTED);
  assert_int_equal(ws_diag_get(WS_DIAG_CTX_IDGEN_EXHAUSTED)->cls,
                   WS_CLASS_RESOURCE);
}

/* One rule for user ids and the token's sub. */
static void test_user_id_rule(void **st) {
  char longid[257];
  (void)st;
  memset(longid, 'a', sizeof(longid));
  assert_true(ws_user_id_valid("alice", 5));
  assert_true(
      ws_user_id_valid("J\xc3\xb6rg", 5)); /* non-ASCII letters are fine */
  assert_false(ws_user_id_valid("", 0));
  assert_false(ws_user_id_valid("a\tb", 3));
  assert_false(ws_user_id_valid("a\x7f", 2));
  assert_false(ws_user_id_valid("a\xc2\x85", 3)); /* C1 NEL */
  assert_true(ws_user_id_valid(longid, 255));
  assert_false(ws_user_id_valid(longid, 256));
}

static void test_nomem(void **st) {
  fenv f;
  ws_outcome o;
  tu_failalloc fa = {.fail_at = 1};
  ws_allocator a = tu_failalloc_allocator(&fa);
  (void)st;
  init(&f);
  ws_countalloc_init(&f.t.counts, &a);
  assert_int_equal(build(&f, &o), WS_DIAG_CTX_NOMEM);
  assert_int_equal(fa.failed, 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_each_attr_failure_names_the_attr),
      cmocka_unit_test(test_attr_list),
      cmocka_unit_test(test_fallbacks),
      cmocka_unit_test(test_user_id_rule),
      cmocka_unit_test(test_nomem),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
