/* The fault-injecting environment over whole sessions: each kind fails
 * where the plan says, the trail names the site, and every allocation hit
 * (failed once, and from there on) ends diagnosed as a resource failure or
 * is absorbed, with nothing left allocated. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "inject.h"
#include "testutil.h"
#include "tokens.h"

#define NOW 1700000000

static ws_keyset *keys;
static ws_config *cfg;
static tu_bytes stream;

typedef struct run {
  ws_outcome o;
  ws_fault_env fe;
} run;

static void run_plan(const char *const *specs, run *r) {
  tu_env base;
  ws_fault_plan plan;
  ws_session *s = NULL;
  const uint8_t *d;
  char err[128];
  size_t i;
  tu_env_init(&base, NOW, 11);
  base.env.alloc.malloc = NULL; /* libc under the decorator's own counter */
  ws_fault_plan_init(&plan);
  for (i = 0; specs && specs[i]; i++)
    assert_int_equal(ws_fault_plan_add(&plan, specs[i], err, sizeof(err)), 0);
  ws_fault_env_init(&r->fe, &base.env, &plan);
  assert_int_equal(ws_session_new(&s, cfg, keys, &r->fe.env), WS_OK);
  ws_session_recv(s, stream.p, stream.n);
  while (ws_session_send(s, &d) > 0) {
  }
  ws_session_eof(s);
  assert_non_null(ws_session_outcome(s));
  r->o = *ws_session_outcome(s);
  ws_session_free(s);
  assert_int_equal(r->fe.counts.live_blocks, 0);
}

/* A site is "<file>:<line> <what>" (POLICY §4). */
static void assert_site(const char *site, const char *what) {
  const char *sp = strchr(site, ' ');
  assert_non_null(sp);
  assert_true(strncmp(site, "faults/inject.c:", 16) == 0);
  assert_true(strspn(site + 16, "0123456789") == (size_t)(sp - site - 16));
  assert_string_equal(sp + 1, what);
}

static const char *code(const run *r) {
  return ws_diag_get(r->o.diag)->code;
}

static void test_clean_run_counts_hits(void **st) {
  run r;
  (void)st;
  run_plan(NULL, &r);
  assert_string_equal(code(&r), "CLOSE_CLIENT");
  assert_int_equal(r.fe.trail_len, 0);
  assert_int_equal(r.fe.plan.hits[WS_FAULT_IDGEN],
                   5); /* 4 context ids + 1 request id */
  assert_true(r.fe.plan.hits[WS_FAULT_ATTR] >= 6);
  assert_true(r.fe.plan.hits[WS_FAULT_ALLOC] > 10);
}

/* The session succeeded on the fallback's thread id, and says so. */
static void assert_absorbed_by_fallback(const run *r) {
  assert_string_equal(code(r), "CLOSE_CLIENT");
  assert_int_equal(r->o.trail_len, 1);
  assert_int_equal(r->o.trail[0].event, WS_TRAIL_IDGEN_FALLBACK);
  assert_int_equal(r->o.trail[0].attr, WS_ATTR_THREAD_ID);
}

static void test_primary_idgen_absorbed(void **st) {
  static const char *const p[] = {"idgen@1", NULL};
  run r;
  (void)st;
  run_plan(p, &r);
  assert_absorbed_by_fallback(&r);
  assert_int_equal(r.fe.trail_len, 1);
  assert_site(r.fe.trail[0].site, "idgen.primary:thread_id");
  assert_int_equal(r.fe.trail[0].n, 1);
}

static void test_both_idgens_exhausted(void **st) {
  static const char *const p[] = {"idgen@1", "idgen@2", NULL};
  run r;
  (void)st;
  run_plan(p, &r);
  assert_string_equal(code(&r), "CTX_IDGEN_EXHAUSTED");
  assert_int_equal(r.o.http_status, 503);
  assert_site(r.fe.trail[1].site, "idgen.fallback:thread_id");
}

static void test_attr_names_the_attribute(void **st) {
  static const char *const p[] = {"attr@3", NULL};
  run r;
  (void)st;
  run_plan(p, &r);
  assert_string_equal(code(&r), "CTX_ATTR_WEBSOCKET_CLIENT_ID");
  assert_int_equal(r.o.http_status, 500);
  assert_site(r.fe.trail[0].site, "attr:websocket_client_id");
}

/* The id generators' randomness is a fault kind of its own: one failed
 * draw is absorbed by the fallback, every draw failing exhausts both. */
static void test_random_absorbed_then_exhausted(void **st) {
  static const char *const once[] = {"random@1", NULL};
  static const char *const all[] = {"random@*", NULL};
  run r;
  (void)st;
  run_plan(once, &r);
  assert_absorbed_by_fallback(&r);
  assert_int_equal(r.fe.trail[0].kind, WS_FAULT_RANDOM);
  assert_site(r.fe.trail[0].site, "random");
  run_plan(all, &r);
  assert_string_equal(code(&r), "CTX_IDGEN_EXHAUSTED");
  assert_int_equal(r.fe.trail_len, 2);
}

typedef struct listing {
  unsigned long allocs, core, openssl, cjson, wslay;
  char bad[WS_FAULT_SITE_MAX];
} listing;

/* Each allocation site is "core/<file>.c:<line> <function>", with the
 * dependency in brackets when the block is one of theirs. */
static void on_hit(void *ud, ws_fault_kind kind, unsigned long n,
                   const char *site, int failed) {
  listing *l = ud;
  const char *colon = strchr(site, ':'), *sp = strchr(site, ' ');
  (void)failed;
  if (kind != WS_FAULT_ALLOC) return;
  l->allocs++;
  if (n != l->allocs || strncmp(site, "core/", 5) != 0 || !colon || !sp ||
      colon > sp || strspn(colon + 1, "0123456789") != (size_t)(sp - colon - 1))
    snprintf(l->bad, sizeof(l->bad), "%s", site);
  if (strstr(site, "[OpenSSL "))
    l->openssl++;
  else if (strstr(site, "[cJSON]"))
    l->cjson++;
  else if (strstr(site, "[wslay]"))
    l->wslay++;
  else
    l->core++;
}

static void test_alloc_sites_name_the_call(void **st) {
  tu_env base;
  ws_fault_env fe;
  ws_session *s = NULL;
  listing l;
  const uint8_t *d;
  (void)st;
  memset(&l, 0, sizeof(l));
  tu_env_init(&base, NOW, 11);
  base.env.alloc.malloc = NULL;
  ws_fault_env_init(&fe, &base.env, NULL);
  fe.on_hit = on_hit;
  fe.on_hit_ud = &l;
  assert_int_equal(ws_session_new(&s, cfg, keys, &fe.env), WS_OK);
  ws_session_recv(s, stream.p, stream.n);
  while (ws_session_send(s, &d) > 0) {
  }
  ws_session_free(s);
  assert_string_equal(l.bad, "");
  assert_int_equal(l.allocs, fe.plan.hits[WS_FAULT_ALLOC]);
  assert_true(l.core > 0);
  assert_true(l.openssl > 0);   /* ES256 verify */
  assert_true(l.cjson > 0);     /* header, claims, the user_message */
  assert_int_equal(l.wslay, 1); /* the frame context, once */
}

/* The outcome's faults list, as `wsgate session` prints it. */
static void test_trail_json(void **st) {
  static const char *const p[] = {"attr@3", NULL};
  run r;
  char buf[512], small[8];
  size_t n;
  (void)st;
  run_plan(p, &r);
  n = ws_fault_trail_json(r.fe.trail, r.fe.trail_len, buf, sizeof(buf));
  assert_int_equal(n, strlen(buf));
  {
    static const char want[] =
        "[{\"kind\":\"attr\",\"n\":3,\"site\":\"faults/inject.c:";
    assert_memory_equal(buf, want, sizeof(want) - 1);
  }
  assert_non_null(strstr(buf, " attr:websocket_client_id\"}]"));
  assert_int_equal(
      ws_fault_trail_json(r.fe.trail, r.fe.trail_len, small, sizeof(small)), n);
  assert_int_equal(strlen(small), 7);
}

/* Every allocation hit, failed once and from there on. */
static void test_every_alloc_point(void **st) {
  run clean;
  unsigned long n, total;
  int persistent;
  (void)st;
  run_plan(NULL, &clean);
  total = clean.fe.plan.hits[WS_FAULT_ALLOC];
  for (persistent = 0; persistent < 2; persistent++)
    for (n = 1; n <= total; n++) {
      char spec[32];
      const char *p[2] = {spec, NULL};
      run r;
      const ws_diag_info *d;
      snprintf(spec, sizeof(spec), "alloc@%lu%s", n, persistent ? "+" : "");
      if (n <= 2) {
        /* The session object and its HTTP room: ws_session_new reports
         * them (test_session). */
        continue;
      }
      run_plan(p, &r);
      d = ws_diag_get(r.o.diag);
      assert_non_null(d);
      if (d->cls != WS_CLASS_RESOURCE && r.o.diag != clean.o.diag)
        fail_msg("%s: %s is neither a resource diagnosis nor the clean outcome",
                 spec, d->code);
      if (r.o.close_code == 1011) fail_msg("%s: 1011", spec);
    }
}

static int setup(void **st) {
  char hdr[2048], *tok;
  (void)st;
  tu_global_init();
  keys = tu_keys();
  cfg = tu_config(NULL);
  tok = tok_sign(WS_ALG_ES256, "es256", "{\"alg\":\"ES256\",\"kid\":\"es256\"}",
                 "{\"sub\":\"f\",\"exp\":2000000000}");
  snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n", tok);
  tu_request(&stream, hdr);
  tu_text(&stream, "{\"type\":\"user_message\",\"text\":\"x\"}");
  tu_frame(&stream, 1, 9, "p", 1);
  tu_close(&stream, 1000, NULL);
  free(tok);
  return 0;
}

static int teardown(void **st) {
  (void)st;
  tu_bytes_free(&stream);
  ws_config_free(cfg);
  ws_keyset_free(keys);
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_clean_run_counts_hits),
      cmocka_unit_test(test_primary_idgen_absorbed),
      cmocka_unit_test(test_both_idgens_exhausted),
      cmocka_unit_test(test_attr_names_the_attribute),
      cmocka_unit_test(test_random_absorbed_then_exhausted),
      cmocka_unit_test(test_alloc_sites_name_the_call),
      cmocka_unit_test(test_trail_json),
      cmocka_unit_test(test_every_alloc_point),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
