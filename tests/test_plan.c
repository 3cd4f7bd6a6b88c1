/* The fault plan: spec grammar, modes, the seeded rate, the binary form. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "plan.h"

/* The hit numbers (1..20) of kind that fail under p, as a bit mask. */
static unsigned long fails(ws_fault_plan *p, ws_fault_kind kind) {
  unsigned long mask = 0, n, i;
  for (i = 1; i <= 20; i++)
    if (ws_fault_hit(p, kind, &n)) {
      assert_int_equal(n, i);
      mask |= 1ul << i;
    }
  return mask;
}

static void test_modes(void **st) {
  ws_fault_plan p;
  char err[128];
  (void)st;
  ws_fault_plan_init(&p);
  assert_int_equal(ws_fault_plan_add(&p, "alloc@3", err, sizeof(err)), 0);
  assert_int_equal(fails(&p, WS_FAULT_ALLOC), 1ul << 3);
  assert_int_equal(fails(&p, WS_FAULT_IDGEN), 0); /* other kinds untouched */
  ws_fault_plan_init(&p);
  assert_int_equal(ws_fault_plan_add(&p, "idgen@18+", err, sizeof(err)), 0);
  assert_int_equal(fails(&p, WS_FAULT_IDGEN),
                   (1ul << 18) | (1ul << 19) | (1ul << 20));
  ws_fault_plan_init(&p);
  assert_int_equal(ws_fault_plan_add(&p, "attr@*", err, sizeof(err)), 0);
  assert_int_equal(fails(&p, WS_FAULT_ATTR), 0x1ffffeul);
  assert_int_equal(p.injected[WS_FAULT_ATTR], 20);
  /* Rules combine. */
  ws_fault_plan_init(&p);
  assert_int_equal(ws_fault_plan_add(&p, "alloc@2", err, sizeof(err)), 0);
  assert_int_equal(ws_fault_plan_add(&p, "alloc@5", err, sizeof(err)), 0);
  assert_int_equal(fails(&p, WS_FAULT_ALLOC), (1ul << 2) | (1ul << 5));
}

static void test_bad_specs(void **st) {
  static const char *const bad[] = {
      "alloc",     "alloc@", "alloc@0", "alloc@x",  "alloc@3-",
      "alloc@3++", "disk@1", "@1",      "alloc@-1", "alloc@ 1"};
  size_t i;
  (void)st;
  for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    ws_fault_plan p;
    char err[128] = "";
    ws_fault_plan_init(&p);
    assert_int_equal(ws_fault_plan_add(&p, bad[i], err, sizeof(err)), -1);
    assert_non_null(strstr(err, bad[i]));
    assert_int_equal(p.nrules, 0);
  }
}

/* A number beyond unsigned long is refused like any other bad number, not
 * clamped to the largest one (strtoul's ERANGE); the largest itself is a
 * valid N. */
static void test_number_range(void **st) {
  ws_fault_plan p;
  char err[128] = "", spec[64];
  (void)st;
  ws_fault_plan_init(&p);
  assert_int_equal(
      ws_fault_plan_add(&p, "alloc@99999999999999999999", err, sizeof(err)),
      -1);
  assert_string_equal(err,
                      "fault spec 'alloc@99999999999999999999': N is out of "
                      "range (at most 2^64-1)");
  assert_int_equal(
      ws_fault_plan_add(&p, "idgen@99999999999999999999+", err, sizeof(err)),
      -1);
  assert_int_equal(p.nrules, 0);
  snprintf(spec, sizeof(spec), "attr@%lu", ULONG_MAX);
  assert_int_equal(ws_fault_plan_add(&p, spec, err, sizeof(err)), 0);
  assert_int_equal(p.nrules, 1);
  assert_true(p.rules[0].n == ULONG_MAX);
}

static void test_rate_is_reproducible(void **st) {
  ws_fault_plan a, b;
  unsigned long ma, mb, total = 0, i, n;
  (void)st;
  ws_fault_plan_init(&a);
  ws_fault_plan_init(&b);
  assert_int_equal(ws_fault_plan_set_rate(&a, 0.3, 42), 0);
  assert_int_equal(ws_fault_plan_set_rate(&b, 0.3, 42), 0);
  ma = fails(&a, WS_FAULT_ALLOC);
  mb = fails(&b, WS_FAULT_ALLOC);
  assert_int_equal(ma, mb);
  ws_fault_plan_init(&a);
  assert_int_equal(ws_fault_plan_set_rate(&a, 0.3, 42), 0);
  for (i = 0; i < 100000; i++)
    total += (unsigned long)ws_fault_hit(&a, WS_FAULT_ALLOC, &n);
  assert_true(total > 29000 && total < 31000);
  assert_int_equal(ws_fault_plan_set_rate(&a, 1.5, 1), -1);
  assert_int_equal(ws_fault_plan_set_rate(&a, -0.1, 1), -1);
}

static void test_binary_decode(void **st) {
  static const uint8_t in[] = {2, 0, 0, 4, 1, 1, 9, 0xff};
  ws_fault_plan p;
  (void)st;
  assert_int_equal(ws_fault_plan_decode(&p, in, sizeof(in)), 7);
  assert_int_equal(p.nrules, 2);
  assert_int_equal(p.rules[0].kind, WS_FAULT_ALLOC);
  assert_int_equal(p.rules[0].mode, WS_FAULT_ONCE);
  assert_int_equal(p.rules[0].n, 5);
  assert_int_equal(p.rules[1].kind, WS_FAULT_IDGEN);
  assert_int_equal(p.rules[1].mode, WS_FAULT_FROM);
  assert_int_equal(p.rules[1].n, 10);
  assert_int_equal(ws_fault_plan_decode(&p, in, 3), 1); /* short: no rule */
  assert_int_equal(p.nrules, 0);
  assert_int_equal(ws_fault_plan_decode(&p, in, 0), 0);
}

/* A hit is counted for its kind and its site; a rule on a site sees only
 * that site's hits; an invalid site is not a hit at all. */
static void test_site_hits(void **st) {
  ws_fault_plan p;
  char err[160];
  unsigned long n = 99;
  (void)st;
  ws_fault_plan_init(&p);
  assert_int_equal(ws_fault_plan_add(&p, "alloc.openssl@2", err, sizeof(err)),
                   0);
  assert_int_equal(ws_fault_hit_site(&p, WS_SITE_ALLOC_CORE, &n), 0);
  assert_int_equal(n, 1);
  assert_int_equal(ws_fault_hit_site(&p, WS_SITE_ALLOC_OPENSSL, &n), 0);
  assert_int_equal(ws_fault_hit_site(&p, WS_SITE_ALLOC_OPENSSL, &n), 1);
  assert_int_equal(n, 3);
  assert_int_equal(p.rule_fired[0], 1);
  assert_int_equal(ws_fault_hit_site(&p, WS_SITE_ANY, &n), 0);
  assert_int_equal(n, 0);
  assert_int_equal(ws_fault_hit_site(&p, WS_FAULT_SITES_, &n), 0);
  assert_int_equal(p.hits[WS_FAULT_ALLOC], 3);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_site_hits),
      cmocka_unit_test(test_modes),
      cmocka_unit_test(test_bad_specs),
      cmocka_unit_test(test_number_range),
      cmocka_unit_test(test_rate_is_reproducible),
      cmocka_unit_test(test_binary_decode),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
