/* The outcome and the server's bytes must not depend on how the client's
 * bytes are split between calls (POLICY §5), and sessions must not depend on
 * each other:
 * many sessions fed interleaved, a byte of each in turn, give the same
 * results as one after another (reentrancy: no hidden shared state). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "testutil.h"
#include "tokens.h"

#define NOW 1700000000
#define NCASES 16

static ws_keyset *keys;
static ws_config *cfg, *cfg_fma;
static tu_bytes cases[NCASES];
static const ws_config *case_cfg[NCASES];
static size_t ncases;

static tu_bytes *add_case(const ws_config *c) {
  case_cfg[ncases] = c;
  return &cases[ncases++];
}

static void with_token(tu_bytes *b, const char *tok, const char *extra) {
  char hdr[4096];
  snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n%s", tok,
           extra ? extra : "");
  tu_request(b, hdr);
}

static int setup(void **st) {
  char *hs, *rs, *es, *ed, msg[4096];
  char big[3000];
  tu_bytes *b;
  (void)st;
  tu_global_init();
  keys = tu_keys();
  cfg = tu_config("{\"max_message_bytes\":2500,\"subprotocols\":[\"chat\"]}");
  cfg_fma = tu_config("{\"first_message_auth\":true}");
  hs = tok_sign(WS_ALG_HS256, "hs256", "{\"alg\":\"HS256\",\"kid\":\"hs256\"}",
                "{\"sub\":\"u1\",\"exp\":2000000000}");
  rs = tok_sign(WS_ALG_RS256, "rs256", "{\"alg\":\"RS256\",\"kid\":\"rs256\"}",
                "{\"sub\":\"u2\",\"exp\":2000000000}");
  es = tok_sign(WS_ALG_ES256, "es256", "{\"alg\":\"ES256\",\"kid\":\"es256\"}",
                "{\"sub\":\"u3\",\"exp\":2000000000}");
  ed = tok_sign(WS_ALG_EDDSA, "ed25519",
                "{\"alg\":\"EdDSA\",\"kid\":\"ed25519\"}",
                "{\"sub\":\"u4\",\"exp\":2000000000}");

  /* A long exchange with every message type, fragmented and with pings. */
  b = add_case(cfg);
  with_token(b, hs, "Sec-WebSocket-Protocol: chat\r\n");
  tu_text(b, "{\"type\":\"ping\"}");
  tu_frame(b, 0, 1, "{\"type\":\"user_", 14);
  tu_frame(b, 1, 9, "mid", 3);
  tu_frame(b, 0, 0, "message\",\"text\":\"h\xc3", 19);
  tu_frame(b, 1, 0, "\xa9llo\"}", 6);
  tu_text(b, "{\"type\":\"user_message\",\"text\":\"again\"}");
  tu_text(b, "{bad json");
  tu_text(b, "{\"type\":\"nope\"}");
  tu_close(b, 1000, "done");
  /* Each algorithm. */
  b = add_case(cfg);
  with_token(b, rs, NULL);
  tu_text(b, "{\"type\":\"user_message\"}");
  tu_close(b, 4001, NULL);
  b = add_case(cfg);
  with_token(b, es, NULL);
  tu_close(b, 0, NULL);
  b = add_case(cfg);
  with_token(b, ed, NULL);
  tu_text(b, "{\"type\":\"ping\"}");
  /* First-message auth. */
  b = add_case(cfg_fma);
  tu_request(b, NULL);
  snprintf(msg, sizeof(msg), "{\"type\":\"auth\",\"token\":\"%s\"}", hs);
  tu_text(b, msg);
  tu_text(b, "{\"type\":\"user_message\"}");
  tu_close(b, 1000, NULL);
  /* Failures of each stage. */
  b = add_case(cfg);
  tu_puts(b, "GET / HTTP/1.1\r\nHost: h\r\n\r\n");
  b = add_case(cfg);
  with_token(b, "a.b.c", NULL);
  b = add_case(cfg);
  with_token(b, hs, NULL);
  memset(big, 'x', sizeof(big));
  tu_frame(b, 1, 1, big, sizeof(big)); /* over 2500 */
  b = add_case(cfg);
  with_token(b, hs, NULL);
  tu_frame(b, 1, 1, "\"\xed\xa0\x80\"", 5); /* surrogate */
  b = add_case(cfg);
  with_token(b, hs, NULL);
  tu_text(b, "{\"type\":\"ping\"}");
  b->n -= 2; /* truncated */
  b = add_case(cfg_fma);
  tu_request(b, NULL);
  tu_text(b, "{\"type\":\"user_message\"}");
  free(hs);
  free(rs);
  free(es);
  free(ed);
  return 0;
}

static int teardown(void **st) {
  size_t i;
  (void)st;
  for (i = 0; i < ncases; i++) tu_bytes_free(&cases[i]);
  ws_config_free(cfg);
  ws_config_free(cfg_fma);
  ws_keyset_free(keys);
  return 0;
}

static void assert_same(const tu_result *a, const tu_result *b, size_t i,
                        const char *how) {
  if (a->outcome.diag != b->outcome.diag ||
      a->outcome.close_code != b->outcome.close_code ||
      a->outcome.http_status != b->outcome.http_status ||
      a->outcome.stage != b->outcome.stage ||
      strcmp(a->outcome.reason, b->outcome.reason) != 0 ||
      a->outcome.trail_len != b->outcome.trail_len)
    fail_msg("case %zu (%s): outcome %s differs from whole-input %s", i, how,
             ws_diag_get(b->outcome.diag) ? ws_diag_get(b->outcome.diag)->code
                                          : "none",
             ws_diag_get(a->outcome.diag) ? ws_diag_get(a->outcome.diag)->code
                                          : "none");
  if (a->out_len != b->out_len || memcmp(a->out, b->out, a->out_len) != 0)
    fail_msg("case %zu (%s): server bytes differ (%zu vs %zu)", i, how,
             a->out_len, b->out_len);
  assert_int_equal(b->live_blocks, 0);
}

static void run_one(size_t i, size_t chunk, uint64_t seed, tu_result *r) {
  tu_env t;
  tu_env_init(&t, NOW, 99); /* same ids every run */
  tu_run(case_cfg[i], keys, &t, cases[i].p, cases[i].n, chunk, seed, 1, r);
}

static void test_chunkings_agree(void **st) {
  size_t i;
  uint64_t seed;
  (void)st;
  for (i = 0; i < ncases; i++) {
    tu_result whole, r;
    run_one(i, 0, 0, &whole);
    assert_true(whole.ended);
    assert_int_equal(whole.live_blocks, 0);
    run_one(i, 1, 0, &r);
    assert_same(&whole, &r, i, "byte by byte");
    tu_result_free(&r);
    for (seed = 1; seed <= 8; seed++) {
      run_one(i, TU_RANDOM_CHUNKS, seed, &r);
      assert_same(&whole, &r, i, "random chunks");
      tu_result_free(&r);
    }
    tu_result_free(&whole);
  }
}

static void test_expected_outcomes(void **st) {
  static const char *const want[] = {
      "CLOSE_CLIENT", "CLOSE_CLIENT",    "CLOSE_CLIENT",      "EOF_CLEAN",
      "CLOSE_CLIENT", "HS_UPGRADE",      "AUTH_BASE64",       "FRAME_TOO_BIG",
      "FRAME_UTF8",   "FRAME_TRUNCATED", "AUTH_FIRST_MESSAGE"};
  size_t i;
  (void)st;
  assert_int_equal(ncases, sizeof(want) / sizeof(want[0]));
  for (i = 0; i < ncases; i++) {
    tu_result r;
    run_one(i, 0, 0, &r);
    tu_assert_diag(&r, want[i]);
    tu_result_free(&r);
  }
}

/* Sessions fed a byte of each in turn equal sessions run one by one. */
static void test_interleaved_sessions(void **st) {
  ws_session *s[NCASES];
  tu_env t[NCASES];
  tu_result seq[NCASES], il[NCASES];
  size_t i, off, left;
  (void)st;
  for (i = 0; i < ncases; i++) run_one(i, 0, 0, &seq[i]);
  memset(il, 0, sizeof(il));
  for (i = 0; i < ncases; i++) {
    tu_env_init(&t[i], NOW, 99);
    assert_int_equal(ws_session_new(&s[i], case_cfg[i], keys, &t[i].env),
                     WS_OK);
  }
  for (off = 0, left = ncases; left > 0; off++) {
    left = 0;
    for (i = 0; i < ncases; i++) {
      const uint8_t *d;
      size_t n;
      if (off >= cases[i].n) continue;
      left++;
      ws_session_recv(s[i], cases[i].p + off, 1);
      while ((n = ws_session_send(s[i], &d)) > 0) {
        il[i].out = realloc(il[i].out, il[i].out_len + n);
        memcpy(il[i].out + il[i].out_len, d, n);
        il[i].out_len += n;
      }
    }
  }
  for (i = 0; i < ncases; i++) {
    const uint8_t *d;
    size_t n;
    ws_session_eof(s[i]);
    while ((n = ws_session_send(s[i], &d)) > 0) {
      il[i].out = realloc(il[i].out, il[i].out_len + n);
      memcpy(il[i].out + il[i].out_len, d, n);
      il[i].out_len += n;
    }
    assert_non_null(ws_session_outcome(s[i]));
    il[i].outcome = *ws_session_outcome(s[i]);
    ws_session_free(s[i]);
    il[i].live_blocks = t[i].counts.live_blocks;
    assert_same(&seq[i], &il[i], i, "interleaved");
    tu_result_free(&seq[i]);
    tu_result_free(&il[i]);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_expected_outcomes),
      cmocka_unit_test(test_chunkings_agree),
      cmocka_unit_test(test_interleaved_sessions),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
