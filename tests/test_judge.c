/* The judge (faults/judge.c) can fail on every promise it checks: each
 * check is fed a run result that breaks exactly that promise and must say
 * so with its own verdict and sentence.  And the reentrancy runner finds
 * state shared between sessions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "judge.h"
#include "plan.h"
#include "testutil.h"
#include "tokens.h"

#define NOW 1700000000

static char why[2048];

/* A clean-looking result of diag d as the table writes it. */
static ws_run_result result(ws_diag d) {
  ws_run_result r;
  const ws_diag_info *info = ws_diag_get(d);
  memset(&r, 0, sizeof(r));
  r.has_outcome = 1;
  r.outcome.diag = d;
  r.outcome.stage = info->stage;
  if (info->http_status && info->stage != WS_STAGE_FRAMES) {
    r.outcome.http_status = info->http_status;
  } else {
    r.outcome.http_status = 101;
    r.outcome.close_code =
        info->close_code == WS_CLOSE_ECHO ? 1000 : info->close_code;
  }
  snprintf(r.outcome.reason, sizeof(r.outcome.reason), "%s", info->code);
  return r;
}

static void inject(ws_run_result *r, ws_fault_kind k, int site, int attr) {
  ws_fault_event *e = &r->injected[r->n_injected++];
  e->kind = k;
  e->site_id = site;
  e->attr = attr;
  e->n = 1;
  snprintf(e->site, sizeof(e->site), "test");
}

static void test_table_checks(void **st) {
  ws_run_result r = result(WS_DIAG_AUTH_FIRST_MESSAGE);
  (void)st;
  assert_int_equal(ws_judge(NULL, &r, why, sizeof(why)), WS_V_DIAGNOSED);
  r.outcome.stage = WS_STAGE_FRAMES; /* the bug issue 9 found */
  assert_int_equal(ws_judge(NULL, &r, why, sizeof(why)), WS_V_UNEXPLAINED);
  assert_string_equal(why,
                      "AUTH_FIRST_MESSAGE reported stage frames, but its "
                      "table row says auth");
  r = result(WS_DIAG_MSG_BAD_JSON);
  r.outcome.stage = WS_STAGE_FRAMES;
  assert_int_equal(ws_judge(NULL, &r, why, sizeof(why)), WS_V_UNEXPLAINED);
  assert_non_null(strstr(why, "message-level diagnosis"));
  r = result(WS_DIAG_FRAME_RSV);
  r.outcome.close_code = 1011; /* a protocol error answered 1011 */
  assert_int_equal(ws_judge(NULL, &r, why, sizeof(why)), WS_V_UNEXPLAINED);
  assert_non_null(strstr(why, "close 1011 with FRAME_RSV"));
  r = result(WS_DIAG_FRAME_RSV);
  r.outcome.close_code = 0; /* no close frame after the upgrade */
  assert_int_equal(ws_judge(NULL, &r, why, sizeof(why)), WS_V_UNEXPLAINED);
  assert_non_null(strstr(why, "sent no close frame"));
}

static void test_internal_needs_a_fault(void **st) {
  ws_run_result r = result(WS_DIAG_CTX_ATTR_RUN_ID);
  (void)st;
  assert_int_equal(ws_judge(NULL, &r, why, sizeof(why)), WS_V_INTERNAL);
  assert_non_null(strstr(why, "with no fault injected"));
  inject(&r, WS_FAULT_ATTR, WS_SITE_ATTR_ + WS_ATTR_RUN_ID, WS_ATTR_RUN_ID);
  assert_int_equal(ws_judge(NULL, &r, why, sizeof(why)), WS_V_DIAGNOSED);
}

static void test_leak_names_sites(void **st) {
  ws_run_result r = result(WS_DIAG_CLOSE_CLIENT);
  (void)st;
  r.live_blocks = 1;
  r.live_bytes = 24;
  r.n_live_sites = 1;
  snprintf(r.live_sites[0], sizeof(r.live_sites[0]),
           "core/json.c:40 ws_json_parse [cJSON] (24 bytes)");
  assert_int_equal(ws_judge(NULL, &r, why, sizeof(why)), WS_V_LEAKED);
  assert_non_null(
      strstr(why, "\n  live: core/json.c:40 ws_json_parse [cJSON] (24 bytes)"));
}

static void set_ids(ws_run_result *r, const char *fmt) {
  int a;
  r->has_context = 1;
  r->default_idgen = 1;
  r->attr_reads = (1u << WS_ATTR_COUNT_) - 1;
  for (a = WS_ATTR_THREAD_ID; a < WS_ATTR_COUNT_; a++)
    snprintf(r->ids[a], sizeof(r->ids[a]), "%s", fmt);
}

static void test_context_obligations(void **st) {
  ws_run_result r = result(WS_DIAG_CLOSE_CLIENT);
  (void)st;
  set_ids(&r, "thread_1700000000_0123456789abcdef");
  assert_int_equal(ws_judge(NULL, &r, why, sizeof(why)), WS_V_DIAGNOSED);
  /* An attribute never read back through the reader. */
  r.attr_reads &= ~(1u << WS_ATTR_USER_ID);
  assert_int_equal(ws_judge(NULL, &r, why, sizeof(why)), WS_V_OBLIGATION);
  assert_non_null(strstr(why, "attribute user_id was never read back"));
  /* A resumed copy was read back where it was built. */
  r.resumed = 1;
  assert_int_equal(ws_judge(NULL, &r, why, sizeof(why)), WS_V_DIAGNOSED);
  r.resumed = 0;
  r.attr_reads = (1u << WS_ATTR_COUNT_) - 1;
  /* A fallback id (UUID v4) with no trail entry, and the reverse. */
  snprintf(r.ids[WS_ATTR_RUN_ID], sizeof(r.ids[0]),
           "0b3f6a2c-1d4e-4f5a-9b6c-7d8e9fa0b1c2");
  assert_int_equal(ws_judge(NULL, &r, why, sizeof(why)), WS_V_OBLIGATION);
  assert_non_null(strstr(why, "run_id is \"0b3f6a2c"));
  assert_non_null(strstr(why, "the primary generator"));
  {
    r.outcome.trail[0].event = WS_TRAIL_IDGEN_FALLBACK;
    r.outcome.trail[0].attr = WS_ATTR_RUN_ID;
    r.outcome.trail_len = 1;
  }
  assert_int_equal(ws_judge(NULL, &r, why, sizeof(why)), WS_V_DIAGNOSED);
  r.outcome.trail[0].attr = WS_ATTR_THREAD_ID; /* the trail names another */
  assert_int_equal(ws_judge(NULL, &r, why, sizeof(why)), WS_V_OBLIGATION);
  /* Custom generators: formats unknown, not judged. */
  r.default_idgen = 0;
  assert_int_equal(ws_judge(NULL, &r, why, sizeof(why)), WS_V_DIAGNOSED);
}

static void test_absorbed_needs_its_trail(void **st) {
  ws_run_result clean = result(WS_DIAG_CLOSE_CLIENT), r;
  (void)st;
  r = clean;
  /* An attribute read has no fallback: absorbing it is never explained. */
  inject(&r, WS_FAULT_ATTR, WS_SITE_ATTR_ + WS_ATTR_THREAD_ID,
         WS_ATTR_THREAD_ID);
  assert_int_equal(ws_judge(&clean, &r, why, sizeof(why)), WS_V_UNEXPLAINED);
  assert_non_null(strstr(why, "was absorbed without a trail entry"));
  /* A failed primary generation needs the fallback entry for that id. */
  r = clean;
  inject(&r, WS_FAULT_IDGEN, WS_SITE_IDGEN_PRIMARY, WS_ATTR_RUN_ID);
  assert_int_equal(ws_judge(&clean, &r, why, sizeof(why)), WS_V_UNEXPLAINED);
  r.outcome.trail[0].event = WS_TRAIL_IDGEN_FALLBACK;
  r.outcome.trail[0].attr = WS_ATTR_THREAD_ID;
  r.outcome.trail_len = 1;
  assert_int_equal(ws_judge(&clean, &r, why, sizeof(why)), WS_V_UNEXPLAINED);
  r.outcome.trail[0].attr = WS_ATTR_RUN_ID;
  assert_int_equal(ws_judge(&clean, &r, why, sizeof(why)), WS_V_ABSORBED);
  /* Blame, by enum: an attr fault must end in its own CTX_ATTR_ row. */
  r = result(WS_DIAG_CTX_ATTR_RUN_ID);
  inject(&r, WS_FAULT_ATTR, WS_SITE_ATTR_ + WS_ATTR_THREAD_ID,
         WS_ATTR_THREAD_ID);
  assert_int_equal(ws_judge(&clean, &r, why, sizeof(why)), WS_V_MISATTRIBUTED);
  /* Different without a fault: the session is not deterministic. */
  r = result(WS_DIAG_EOF_CLEAN);
  assert_int_equal(ws_judge(&clean, &r, why, sizeof(why)), WS_V_UNSTABLE);
}

static void test_visible_of_resumed_frames(void **st) {
  /* Frames only (no HTTP head): generated ids are masked. */
  static const uint8_t a[] =
      "\x81\x22{\"type\":\"ack\",\"request_id\":\"req_1\"}";
  static const uint8_t b[] =
      "\x81\x22{\"type\":\"ack\",\"request_id\":\"req_2\"}";
  size_t na, nb;
  uint8_t *va = ws_judge_visible(a, sizeof(a) - 1, &na);
  uint8_t *vb = ws_judge_visible(b, sizeof(b) - 1, &nb);
  (void)st;
  assert_int_equal(na, nb);
  assert_memory_equal(va, vb, na);
  assert_non_null(memchr(va, '*', na));
  free(va);
  free(vb);
}

/* The masked text exactly: each generated id becomes "*", user_id and other
 * strings stay, bytes around and between ids are kept, a payload without a
 * quote is copied as is; and a difference outside the ids is still seen. */
static void test_visible_masks_exactly(void **st) {
  static const uint8_t a[] =
      "\x81\x32{\"user_id\":\"u1\",\"thread_id\":\"thr_1_ab\",\"x\":"
      "\"\"\"r\"\"}"
      "\x81\x02hi";
  static const char want[] =
      "\x81{\"user_id\":\"u1\",\"thread_id\":\"*\",\"x\":\"\"\"r\"\"}\x81hi";
  static const uint8_t b[] =
      "\x81\x32{\"user_id\":\"u2\",\"thread_id\":\"thr_1_ab\",\"x\":"
      "\"\"\"r\"\"}"
      "\x81\x02hi";
  size_t na, nb;
  uint8_t *va, *vb;
  (void)st;
  /* The first frame's length byte is its payload's length. */
  assert_int_equal(a[1], sizeof(a) - 1 - 2 - 4);
  va = ws_judge_visible(a, sizeof(a) - 1, &na);
  vb = ws_judge_visible(b, sizeof(b) - 1, &nb);
  assert_non_null(va);
  assert_non_null(vb);
  assert_int_equal(na, sizeof(want) - 1);
  assert_memory_equal(va, want, na);
  /* user_id is compared as it is: u1 and u2 differ. */
  assert_true(na != nb || memcmp(va, vb, na) != 0);
  free(va);
  free(vb);
}

/* ---- the reentrancy oracle --------------------------------------------- */

/* A test-only id generator with state shared by every session: the kind of
 * bug a static buffer makes. */
static unsigned long shared_counter;
static int shared_idgen(const ws_env *env, ws_id_kind k, char *buf,
                        size_t cap) {
  (void)env;
  (void)k;
  snprintf(buf, cap, "id_%lu", ++shared_counter);
  return 0;
}

static tu_env envs[2];
static void reset0(void *ud) {
  (void)ud;
  tu_env_init(&envs[0], NOW, 3);
  envs[0].env.alloc.malloc = NULL;
  shared_counter = 0;
}
static void reset1(void *ud) {
  (void)ud;
  tu_env_init(&envs[1], NOW, 4);
  envs[1].env.alloc.malloc = NULL;
  shared_counter = 0; /* alone, each session starts the counter afresh */
}

/* Session i (0 or 1) of an interleaved pair over in, on envs[i]. */
static void pair_spec(ws_run_spec *sp, int i, const ws_config *cfg,
                      const ws_keyset *ks, const tu_bytes *in) {
  memset(sp, 0, sizeof(*sp));
  (i ? reset1 : reset0)(NULL);
  sp->cfg = cfg;
  sp->keys = ks;
  sp->env = envs[i].env;
  sp->env.user_data = &envs[i];
  sp->prepare = i ? reset1 : reset0;
  sp->input = in->p;
  sp->len = in->n;
}

static void test_interleaved_sessions(void **st) {
  ws_keyset *ks = tu_keys();
  ws_config *cfg = tu_config(NULL);
  char *tok = tok_sign_jwt(WS_ALG_HS256, "hs256",
                           "{\"sub\":\"alice\",\"exp\":2000000000}");
  char hdr[2048];
  tu_bytes in = {0};
  ws_run_spec specs[2];
  ws_run_result solo[2], both[2];
  int i, shared;
  (void)st;
  snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n", tok);
  tu_request(&in, hdr);
  for (i = 0; i < 3; i++) tu_text(&in, "{\"type\":\"user_message\"}");
  tu_close(&in, 1000, NULL);
  for (shared = 0; shared < 2; shared++) {
    for (i = 0; i < 2; i++) {
      pair_spec(&specs[i], i, cfg, ks, &in);
      specs[i].chunk = i ? 5 : 11;
      if (shared) specs[i].env.idgen = shared_idgen;
      assert_int_equal(ws_run(&specs[i], NULL, &solo[i], NULL), 0);
      assert_int_equal(solo[i].outcome.diag, WS_DIAG_CLOSE_CLIENT);
    }
    assert_int_equal(ws_run_multi(specs, NULL, 2, both), 0);
    /* Honest sessions do not see each other; a shared counter makes the
     * acks of the second depend on the first (whose head completes first,
     * fed in larger pieces).  Masked, the two look alike either way. */
    assert_int_equal(ws_judge_same(&solo[0], &both[0], 1), 1);
    assert_int_equal(ws_judge_same(&solo[1], &both[1], 1), !shared);
    for (i = 0; i < 2; i++) {
      assert_int_equal(ws_judge_same(&solo[i], &both[i], 0), 1);
      ws_run_result_clear(&solo[i]);
      ws_run_result_clear(&both[i]);
    }
  }
  tu_bytes_free(&in);
  free(tok);
  ws_config_free(cfg);
  ws_keyset_free(ks);
}

/* ws_run_spec.hold_at: the holding session waits after its head until the
 * other is upgraded, so none of its later ids (the acks') comes before the
 * other's first; without the hold they all do (the holder's head and
 * messages go in 64-byte pieces, the other's head byte by byte).  The
 * outcomes and bytes stay each session's own, and two holders are refused. */
static int order_log[256];
static size_t order_n;
static int order_idgen(const ws_env *env, ws_id_kind k, char *buf, size_t cap) {
  (void)k;
  if (order_n < 256) order_log[order_n++] = env->user_data == &envs[1];
  snprintf(buf, cap, "id%zu", order_n);
  return 0;
}

static void test_interleaved_hold(void **st) {
  ws_keyset *ks = tu_keys();
  ws_config *cfg = tu_config(NULL);
  char *tok = tok_sign_jwt(WS_ALG_HS256, "hs256",
                           "{\"sub\":\"alice\",\"exp\":2000000000}");
  char hdr[2048];
  tu_bytes in = {0};
  ws_run_spec specs[2];
  ws_run_result solo[2], both[2];
  size_t head, i, at_hold, first1;
  int hold;
  (void)st;
  snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n", tok);
  tu_request(&in, hdr);
  head = in.n;
  for (i = 0; i < 3; i++) tu_text(&in, "{\"type\":\"user_message\"}");
  tu_close(&in, 1000, NULL);
  for (hold = 0; hold < 2; hold++) {
    for (i = 0; i < 2; i++) {
      pair_spec(&specs[i], (int)i, cfg, ks, &in);
      specs[i].env.idgen = order_idgen;
      specs[i].len = i ? head : in.n; /* the other: an upgrade only */
      specs[i].chunk = i ? 1 : 64;
      if (i == 0 && hold) {
        specs[0].hold_at = head;
        specs[0].hold_chunk = 3;
      }
      order_n = 0;
      assert_int_equal(ws_run(&specs[i], NULL, &solo[i], NULL), 0);
    }
    /* The ids the holder has made by the end of its head. */
    order_n = 0;
    specs[0].len = head;
    assert_int_equal(ws_run(&specs[0], NULL, &both[0], NULL), 0);
    ws_run_result_clear(&both[0]);
    specs[0].len = in.n;
    at_hold = order_n;
    assert_true(at_hold > 0);
    order_n = 0;
    assert_int_equal(ws_run_multi(specs, NULL, 2, both), 0);
    for (first1 = 0; first1 < order_n && !order_log[first1]; first1++) {
    }
    assert_true(first1 < order_n);
    if (hold)
      assert_int_equal(first1, at_hold); /* waited at its head */
    else
      assert_true(first1 > at_hold); /* the acks' ids came first */
    for (i = 0; i < 2; i++) {
      assert_int_equal(ws_judge_same(&solo[i], &both[i], 0), 1);
      ws_run_result_clear(&solo[i]);
      ws_run_result_clear(&both[i]);
    }
  }
  specs[1].hold_at = 1;
  assert_int_equal(ws_run_multi(specs, NULL, 2, both), -1);
  tu_bytes_free(&in);
  free(tok);
  ws_config_free(cfg);
  ws_keyset_free(ks);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_table_checks),
      cmocka_unit_test(test_internal_needs_a_fault),
      cmocka_unit_test(test_leak_names_sites),
      cmocka_unit_test(test_context_obligations),
      cmocka_unit_test(test_absorbed_needs_its_trail),
      cmocka_unit_test(test_visible_of_resumed_frames),
      cmocka_unit_test(test_visible_masks_exactly),
      cmocka_unit_test(test_interleaved_sessions),
      cmocka_unit_test(test_interleaved_hold),
  };
  tu_global_init();
  return cmocka_run_group_tests(tests, NULL, NULL);
}
