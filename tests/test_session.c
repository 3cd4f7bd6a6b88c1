/* End to end through ws_session: one test per row of POLICY §3 (before and
 * after the upgrade), the message protocol, token sources, subprotocols and
 * the context factory's fallback.  Each asserts the diag, the status or
 * close code, and the bytes that matter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "message.h"
#include "testutil.h"
#include "tokens.h"

#define NOW 1700000000
#define HS_HDR "{\"alg\":\"HS256\",\"kid\":\"hs256\",\"typ\":\"JWT\"}"
#define CLAIMS "{\"sub\":\"alice\",\"exp\":2000000000}"

static ws_keyset *keys;
static char *good; /* a valid HS256 token for alice */

static int setup(void **st) {
  (void)st;
  tu_global_init();
  keys = tu_keys();
  good = tok_sign(WS_ALG_HS256, "hs256", HS_HDR, CLAIMS);
  return 0;
}
static int teardown(void **st) {
  (void)st;
  ws_keyset_free(keys);
  free(good);
  return 0;
}

/* Runs in[] whole with config json (NULL: defaults) and EOF. */
static void run_cfg(const char *cfgjson, tu_bytes *in, tu_result *r) {
  ws_config *cfg = tu_config(cfgjson);
  tu_env t;
  tu_env_init(&t, NOW, 7);
  tu_run(cfg, keys, &t, in->p, in->n, 0, 0, 1, r);
  assert_int_equal(r->live_blocks, 0);
  ws_config_free(cfg);
}

/* A request with the good token in Authorization plus extra headers. */
static void req_auth(tu_bytes *b, const char *extra) {
  char hdr[2048];
  snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n%s", good,
           extra ? extra : "");
  tu_request(b, hdr);
}

static int out_has(const tu_result *r, const char *needle) {
  size_t n = strlen(needle), i;
  for (i = 0; i + n <= r->out_len; i++)
    if (memcmp(r->out + i, needle, n) == 0) return 1;
  return 0;
}

static void assert_http(const tu_result *r, const char *code, int status,
                        const char *header) {
  char line[64];
  tu_assert_diag(r, code);
  assert_int_equal(r->outcome.http_status, status);
  assert_int_equal(r->outcome.close_code, 0);
  snprintf(line, sizeof(line), "HTTP/1.1 %d ", status);
  assert_true(r->out_len > strlen(line) &&
              memcmp(r->out, line, strlen(line)) == 0);
  if (header && !out_has(r, header)) fail_msg("response lacks '%s'", header);
  /* The body is the reason, which starts with the code (POLICY §2). */
  assert_true(strncmp(r->outcome.reason, code, strlen(code)) == 0);
  assert_true(out_has(r, r->outcome.reason));
}

/* The last server frame must be a close with code and a reason naming diag. */
static void assert_close(const tu_result *r, const char *code, int close) {
  tu_sframe f[64];
  size_t n = tu_server_frames(r->out, r->out_len, f, 64);
  tu_assert_diag(r, code);
  assert_int_equal(r->outcome.http_status, 101);
  assert_int_equal(r->outcome.close_code, close);
  assert_true(n > 0 && n <= 64);
  assert_int_equal(f[n - 1].opcode, 8);
  assert_true(f[n - 1].n >= 2);
  assert_int_equal(f[n - 1].p[0] << 8 | f[n - 1].p[1], close);
  assert_int_equal(f[n - 1].n - 2, strlen(r->outcome.reason));
  assert_memory_equal(f[n - 1].p + 2, r->outcome.reason, f[n - 1].n - 2);
  assert_true(strncmp(r->outcome.reason, code, strlen(code)) == 0);
}

/* ---- before the upgrade ------------------------------------------------- */

static void test_valid_upgrade(void **st) {
  tu_bytes in = {0};
  tu_result r;
  (void)st;
  req_auth(&in, NULL);
  tu_close(&in, 1000, "bye");
  run_cfg(NULL, &in, &r);
  /* RFC 6455 1.3 / 4.2.2: the sample key's accept value. */
  assert_true(out_has(&r, "HTTP/1.1 101 Switching Protocols\r\n"));
  assert_true(
      out_has(&r, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
  assert_false(out_has(&r, "Sec-WebSocket-Extensions"));
  assert_close(&r, "CLOSE_CLIENT", 1000);
  assert_int_equal(ws_diag_get(r.outcome.diag)->cls, WS_CLASS_NONE);
  assert_int_equal(r.outcome.stage, WS_STAGE_FRAMES);
  tu_result_free(&r);
  tu_bytes_free(&in);
}

static void http_case_n(const char *raw, size_t n, const char *code, int status,
                        const char *header) {
  tu_bytes in = {0};
  tu_result r;
  tu_put(&in, raw, n);
  run_cfg(NULL, &in, &r);
  assert_http(&r, code, status, header);
  assert_int_equal(r.outcome.stage, WS_STAGE_HANDSHAKE);
  tu_result_free(&r);
  tu_bytes_free(&in);
}

static void http_case(const char *raw, const char *code, int status,
                      const char *header) {
  http_case_n(raw, strlen(raw), code, status, header);
}

#define BASE_HEADERS                                                       \
  "Host: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"               \
  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: " \
  "13\r\n"

static void test_method_not_get(void **st) {
  (void)st;
  http_case("POST /chat HTTP/1.1\r\n" BASE_HEADERS "\r\n", "HS_METHOD", 405,
            "\r\nAllow: GET\r\n");
}

static void test_bad_requests_400(void **st) {
  (void)st;
  http_case("GET /chat HTTP/1.0\r\n" BASE_HEADERS "\r\n", "HS_HTTP_VERSION",
            400, NULL);
  http_case("GET /chat\r\n" BASE_HEADERS "\r\n", "HS_REQUEST_LINE", 400, NULL);
  http_case("GET /chat HTTP/1.1\r\nBad Header: x\r\n" BASE_HEADERS "\r\n",
            "HS_HEADER_SYNTAX", 400, NULL);
  {
    static const char nul[] =
        "GET /chat HTTP/1.1\r\nX: a\0b\r\n" BASE_HEADERS "\r\n";
    http_case_n(nul, sizeof(nul) - 1, "HS_BAD_BYTE", 400, NULL);
  }
  http_case("GET /chat HTTP/1.1\r\nX: a\rb\r\n" BASE_HEADERS "\r\n",
            "HS_BAD_BYTE", 400, NULL);
  http_case("GET /chat HTTP/1.1\r\nX: a\r\n b\r\n" BASE_HEADERS "\r\n",
            "HS_OBS_FOLD", 400, NULL);
  http_case("GET /chat HTTP/1.1\r\n" BASE_HEADERS
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
            "HS_DUPLICATE_HEADER", 400, NULL);
}

static void test_upgrade_connection_400(void **st) {
  (void)st;
  http_case(
      "GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: "
      "13\r\n\r\n",
      "HS_UPGRADE", 400, NULL);
  http_case(
      "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: "
      "keep-alive\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: "
      "13\r\n\r\n",
      "HS_CONNECTION", 400, NULL);
}

static void test_key_400(void **st) {
  (void)st;
  http_case(
      "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: "
      "Upgrade\r\n"
      "Sec-WebSocket-Version: 13\r\n\r\n",
      "HS_KEY_MISSING", 400, NULL);
  /* 15 bytes of key. */
  http_case(
      "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: "
      "Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25j\r\nSec-WebSocket-Version: "
      "13\r\n\r\n",
      "HS_KEY_INVALID", 400, NULL);
}

static void test_version_426(void **st) {
  (void)st;
  http_case(
      "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: "
      "Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: "
      "8\r\n\r\n",
      "HS_WS_VERSION", 426, "\r\nSec-WebSocket-Version: 13\r\n");
  http_case(
      "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: "
      "Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
      "HS_WS_VERSION", 426, "\r\nSec-WebSocket-Version: 13\r\n");
}

static void test_head_limit_431(void **st) {
  /* max_head_bytes at the limit passes the scanner; one byte more is 431. */
  tu_bytes in = {0};
  tu_result r;
  char pad[600];
  size_t base;
  (void)st;
  req_auth(&in, NULL);
  base = in.n;
  tu_bytes_free(&in);
  memset(pad, 'a', sizeof(pad));
  {
    /* Build "X-Pad: aaa...\r\n" so the head is exactly limit bytes. */
    size_t limit = base + 200, padlen = limit - base - strlen("X-Pad: \r\n");
    char cfg[64], extra[700];
    snprintf(cfg, sizeof(cfg), "{\"max_head_bytes\":%zu}", limit);
    snprintf(extra, sizeof(extra), "X-Pad: %.*s\r\n", (int)padlen, pad);
    req_auth(&in, extra);
    assert_int_equal(in.n, limit);
    run_cfg(cfg, &in, &r);
    assert_int_equal(r.outcome.http_status, 101);
    tu_result_free(&r);
    tu_bytes_free(&in);
    snprintf(extra, sizeof(extra), "X-Pad: %.*s\r\n", (int)padlen + 1, pad);
    req_auth(&in, extra);
    run_cfg(cfg, &in, &r);
    assert_http(&r, "HS_HEAD_TOO_LARGE", 431, NULL);
    tu_result_free(&r);
    tu_bytes_free(&in);
  }
}

static void test_origin_403(void **st) {
  tu_bytes in = {0};
  tu_result r;
  const char *cfg = "{\"origins\":[\"https://chat.example\"]}";
  (void)st;
  req_auth(&in, "Origin: https://evil.example\r\n");
  run_cfg(cfg, &in, &r);
  assert_http(&r, "HS_ORIGIN", 403, NULL);
  tu_result_free(&r);
  tu_bytes_free(&in);
  req_auth(&in, "Origin: https://chat.example\r\n");
  run_cfg(cfg, &in, &r);
  assert_int_equal(r.outcome.http_status, 101);
  tu_result_free(&r);
  tu_bytes_free(&in);
}

static void auth_case(const char *token, const char *code) {
  tu_bytes in = {0};
  tu_result r;
  char hdr[4096];
  snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n", token);
  tu_request(&in, hdr);
  run_cfg(NULL, &in, &r);
  assert_http(&r, code, 401,
              "\r\nWWW-Authenticate: Bearer error=\"invalid_token\"\r\n");
  assert_int_equal(r.outcome.stage, WS_STAGE_AUTH);
  tu_result_free(&r);
  tu_bytes_free(&in);
}

static void test_invalid_token_401(void **st) {
  char *t;
  (void)st;
  auth_case("abc", "AUTH_MALFORMED");
  t = tok_sign(WS_ALG_HS256, "hs256", HS_HDR,
               "{\"sub\":\"alice\",\"exp\":1600000000}");
  auth_case(t, "AUTH_EXPIRED");
  free(t);
  t = tok_sign(WS_ALG_HS256, "hs256", HS_HDR, "{\"exp\":2000000000}");
  auth_case(t, "AUTH_SUB");
  free(t);
  t = tok_sign(WS_ALG_HS256, "hs256", "{\"alg\":\"none\"}", CLAIMS);
  auth_case(t, "AUTH_ALG_NONE");
  free(t);
}

static void test_no_token_401(void **st) {
  tu_bytes in = {0};
  tu_result r;
  (void)st;
  tu_request(&in, NULL);
  run_cfg(NULL, &in, &r);
  assert_http(&r, "AUTH_NO_TOKEN", 401, "\r\nWWW-Authenticate: Bearer\r\n");
  assert_false(out_has(&r, "invalid_token"));
  tu_result_free(&r);
  tu_bytes_free(&in);
}

/* An environment whose attribute reader or id generators fail on demand. */
typedef struct bad_env {
  tu_env t;
  int fail_attr;        /* -1: none; else the ws_attr whose read fails */
  int fail_primary;     /* primary id generator fails */
  int fail_fallback;    /* fallback fails */
  int fail_after_reads; /* reads before the attribute starts failing */
  int reads;
} bad_env;

static int bad_attr(const ws_env *env, const ws_context *ctx, ws_attr a,
                    const char **v, size_t *n) {
  bad_env *b = env->user_data;
  if ((int)a == b->fail_attr && b->reads++ >= b->fail_after_reads) return -1;
  return ws_context_attr_default(ctx, a, v, n);
}
static int bad_primary(const ws_env *env, ws_id_kind k, char *buf, size_t cap) {
  bad_env *b = env->user_data;
  return b->fail_primary ? -1 : ws_idgen_primary_default(env, k, buf, cap);
}
static int bad_fallback(const ws_env *env, ws_id_kind k, char *buf,
                        size_t cap) {
  bad_env *b = env->user_data;
  return b->fail_fallback ? -1 : ws_idgen_fallback_default(env, k, buf, cap);
}

static void bad_env_init(bad_env *b) {
  memset(b, 0, sizeof(*b));
  tu_env_init(&b->t, NOW, 7);
  b->fail_attr = -1;
  b->t.env.attr_read = bad_attr;
  b->t.env.idgen = bad_primary;
  b->t.env.idgen_fallback = bad_fallback;
  b->t.env.user_data =
      b; /* tu_env is the first member: now/random still work */
}

static void run_bad(bad_env *b, const char *cfgjson, tu_bytes *in,
                    tu_result *r) {
  ws_config *cfg = tu_config(cfgjson);
  tu_run(cfg, keys, &b->t, in->p, in->n, 0, 0, 1, r);
  assert_int_equal(r->live_blocks, 0);
  ws_config_free(cfg);
}

static void test_resource_before_upgrade_503(void **st) {
  bad_env b;
  tu_bytes in = {0};
  tu_result r;
  (void)st;
  bad_env_init(&b);
  b.fail_primary = b.fail_fallback = 1;
  req_auth(&in, NULL);
  run_bad(&b, NULL, &in, &r);
  assert_http(&r, "CTX_IDGEN_EXHAUSTED", 503, "\r\nRetry-After: ");
  assert_int_equal(r.outcome.stage, WS_STAGE_CONTEXT);
  tu_result_free(&r);
  tu_bytes_free(&in);
}

/* Allocation failures before the upgrade: every one is a 503 naming a
 * resource diagnosis, and nothing leaks. */
static void test_alloc_failures_before_upgrade(void **st) {
  tu_bytes in = {0};
  ws_config *cfg = tu_config(NULL);
  unsigned long n, total, checked = 0;
  (void)st;
  req_auth(&in, NULL);
  {
    tu_failalloc fa = {0};
    ws_allocator a = tu_failalloc_allocator(&fa);
    tu_env t;
    tu_result r;
    tu_env_init(&t, NOW, 7);
    ws_countalloc_init(&t.counts, &a);
    tu_run(cfg, keys, &t, in.p, in.n, 0, 0, 1, &r);
    total = fa.calls;
    assert_int_equal(r.outcome.http_status, 101);
    tu_result_free(&r);
  }
  /* 1 and 2 are the session and the room for its HTTP error response:
   * ws_session_new itself fails, and leaves nothing behind. */
  for (n = 1; n <= 2; n++) {
    tu_failalloc fa = {.fail_at = n};
    ws_allocator a = tu_failalloc_allocator(&fa);
    tu_env t;
    ws_session *s = (ws_session *)&fa; /* must be reset to NULL */
    tu_env_init(&t, NOW, 7);
    ws_countalloc_init(&t.counts, &a);
    assert_int_equal(ws_session_new(&s, cfg, keys, &t.env), WS_ERR_NOMEM);
    assert_null(s);
    assert_int_equal(fa.calls, n);
    assert_int_equal(t.counts.live_blocks, 0);
  }
  for (n = 3; n <= total; n++) {
    tu_failalloc fa = {.fail_at = n};
    ws_allocator a = tu_failalloc_allocator(&fa);
    tu_env t;
    tu_result r;
    const ws_diag_info *d;
    tu_env_init(&t, NOW, 7);
    ws_countalloc_init(&t.counts, &a);
    tu_run(cfg, keys, &t, in.p, in.n, 0, 0, 1, &r);
    d = ws_diag_get(r.outcome.diag);
    if (r.live_blocks)
      fail_msg("alloc %lu failed: %zu blocks live after free (diag %s)", n,
               r.live_blocks, d ? d->code : "none");
    assert_non_null(d);
    if (r.outcome.http_status == 101) { /* failure came after the upgrade */
      assert_true(r.outcome.close_code == 1013 || d->cls == WS_CLASS_NONE);
    } else {
      if (d->cls != WS_CLASS_RESOURCE)
        fail_msg("alloc %lu: %s is not a resource diag", n, d->code);
      assert_int_equal(r.outcome.http_status, 503);
      checked++;
    }
    tu_result_free(&r);
  }
  assert_true(checked > 3);
  ws_config_free(cfg);
  tu_bytes_free(&in);
}

static void test_internal_before_upgrade_500(void **st) {
  bad_env b;
  tu_bytes in = {0};
  tu_result r;
  (void)st;
  bad_env_init(&b);
  b.fail_attr = WS_ATTR_THREAD_ID;
  req_auth(&in, NULL);
  run_bad(&b, NULL, &in, &r);
  assert_http(&r, "CTX_ATTR_THREAD_ID", 500, NULL);
  assert_int_equal(ws_diag_get(r.outcome.diag)->cls, WS_CLASS_INTERNAL);
  tu_result_free(&r);
  tu_bytes_free(&in);
}

static void test_primary_idgen_fallback_absorbed(void **st) {
  bad_env b;
  tu_bytes in = {0};
  tu_result r;
  size_t i;
  (void)st;
  bad_env_init(&b);
  b.fail_primary = 1;
  req_auth(&in, NULL);
  tu_close(&in, 1000, NULL);
  run_bad(&b, NULL, &in, &r);
  assert_close(&r, "CLOSE_CLIENT", 1000);
  /* thread, websocket client, run and request ids: four fallbacks. */
  assert_int_equal(r.outcome.trail_len, 4);
  for (i = 0; i < 4; i++)
    assert_int_equal(r.outcome.trail[i].event, WS_TRAIL_IDGEN_FALLBACK);
  assert_int_equal(r.outcome.trail[0].attr, WS_ATTR_THREAD_ID);
  tu_result_free(&r);
  tu_bytes_free(&in);
}

/* ---- token sources and subprotocols -------------------------------------- */

static void test_token_sources(void **st) {
  tu_bytes in = {0};
  tu_result r;
  char hdr[2048];
  (void)st;
  snprintf(hdr, sizeof(hdr), "Sec-WebSocket-Protocol: bearer, %s\r\n", good);
  tu_request(&in, hdr);
  run_cfg(NULL, &in, &r);
  assert_int_equal(r.outcome.http_status, 101);
  assert_true(out_has(&r, "\r\nSec-WebSocket-Protocol: bearer\r\n"));
  tu_result_free(&r);
  tu_bytes_free(&in);

  snprintf(hdr, sizeof(hdr),
           "GET /chat?room=1&access_token=%s HTTP/1.1\r\n" BASE_HEADERS "\r\n",
           good);
  tu_puts(&in, hdr);
  run_cfg(NULL, &in, &r);
  assert_int_equal(r.outcome.http_status, 101);
  assert_false(out_has(&r, "Sec-WebSocket-Protocol"));
  tu_result_free(&r);
  tu_bytes_free(&in);

  /* Authorization wins over a bad query token (POLICY §3 order). */
  snprintf(hdr, sizeof(hdr),
           "GET /chat?access_token=bad HTTP/1.1\r\n" BASE_HEADERS
           "Authorization: Bearer   %s  \r\n\r\n",
           good);
  tu_puts(&in, hdr);
  run_cfg(NULL, &in, &r);
  assert_int_equal(r.outcome.http_status, 101);
  tu_result_free(&r);
  tu_bytes_free(&in);
}

static void test_subprotocol_selection(void **st) {
  tu_bytes in = {0};
  tu_result r;
  (void)st;
  req_auth(&in, "Sec-WebSocket-Protocol: v2.chat, v1.chat\r\n");
  run_cfg("{\"subprotocols\":[\"v1.chat\",\"v2.chat\"]}", &in, &r);
  assert_true(out_has(&r, "\r\nSec-WebSocket-Protocol: v2.chat\r\n"));
  tu_result_free(&r);
  tu_bytes_free(&in);
  req_auth(&in, "Sec-WebSocket-Protocol: v3.chat\r\n");
  run_cfg("{\"subprotocols\":[\"v1.chat\"]}", &in, &r);
  assert_int_equal(r.outcome.http_status, 101);
  assert_false(out_has(&r, "Sec-WebSocket-Protocol"));
  tu_result_free(&r);
  tu_bytes_free(&in);
}

/* ---- after the upgrade ----------------------------------------------------
 */

static void frames_case(const uint8_t *frames, size_t n, const char *code,
                        int close) {
  tu_bytes in = {0};
  tu_result r;
  req_auth(&in, NULL);
  tu_put(&in, frames, n);
  run_cfg("{\"max_message_bytes\":1000}", &in, &r);
  assert_close(&r, code, close);
  assert_int_equal(r.outcome.stage, WS_STAGE_FRAMES);
  tu_result_free(&r);
  tu_bytes_free(&in);
}

static void test_frame_protocol_1002(void **st) {
  tu_bytes f = {0};
  static const uint8_t unmasked[] = {0x81, 0x02, 'h', 'i'};
  (void)st;
  frames_case(unmasked, sizeof(unmasked), "FRAME_UNMASKED", 1002);
  tu_frame(&f, 1, 0x1, "x", 1);
  f.p[0] = 0x91; /* fin + RSV1 + text */
  frames_case(f.p, f.n, "FRAME_RSV", 1002);
  tu_bytes_free(&f);
  tu_frame(&f, 1, 0x3, "x", 1);
  frames_case(f.p, f.n, "FRAME_OPCODE", 1002);
  tu_bytes_free(&f);
  tu_frame(&f, 0, 0x9, "x", 1); /* fragmented ping */
  frames_case(f.p, f.n, "FRAME_BAD_HEADER", 1002);
  tu_bytes_free(&f);
  {
    char big[126];
    memset(big, 'p', sizeof(big));
    tu_frame(&f, 1, 0x9, big, sizeof(big)); /* control payload 126 */
    frames_case(f.p, f.n, "FRAME_BAD_HEADER", 1002);
    tu_bytes_free(&f);
  }
  tu_frame(&f, 1, 0x0, "x", 1);
  frames_case(f.p, f.n, "FRAME_CONTINUATION", 1002);
  tu_bytes_free(&f);
  tu_frame(&f, 0, 0x1, "{", 1);
  tu_frame(&f, 1, 0x1, "}", 1);
  frames_case(f.p, f.n, "FRAME_INTERLEAVED", 1002);
  tu_bytes_free(&f);
  tu_frame(&f, 1, 0x8, "\x03", 1);
  frames_case(f.p, f.n, "FRAME_CLOSE_PAYLOAD", 1002);
  tu_bytes_free(&f);
  tu_close(&f, 1005, NULL);
  frames_case(f.p, f.n, "FRAME_CLOSE_CODE", 1002);
  tu_bytes_free(&f);
  tu_close(&f, 999, NULL);
  frames_case(f.p, f.n, "FRAME_CLOSE_CODE", 1002);
  tu_bytes_free(&f);
  tu_close(&f, 5000, NULL);
  frames_case(f.p, f.n, "FRAME_CLOSE_CODE", 1002);
  tu_bytes_free(&f);
}

static void test_utf8_1007(void **st) {
  tu_bytes f = {0};
  (void)st;
  /* Invalid across fragments: E2 82 | 28. */
  tu_frame(&f, 0, 0x1, "\"\xe2\x82", 3);
  tu_frame(&f, 1, 0x0, "(\"", 2);
  frames_case(f.p, f.n, "FRAME_UTF8", 1007);
  tu_bytes_free(&f);
  tu_close(&f, 1000, "\xff");
  frames_case(f.p, f.n, "FRAME_CLOSE_UTF8", 1007);
  tu_bytes_free(&f);
}

static void test_binary_1003_and_too_big_1009(void **st) {
  tu_bytes f = {0};
  char big[1001];
  (void)st;
  tu_frame(&f, 1, 0x2, "\x01\x02", 2);
  frames_case(f.p, f.n, "FRAME_BINARY", 1003);
  tu_bytes_free(&f);
  memset(big, 'a', sizeof(big)); /* limit is 1000 in frames_case */
  tu_frame(&f, 1, 0x1, big, 1001);
  frames_case(f.p, f.n, "FRAME_TOO_BIG", 1009);
  tu_bytes_free(&f);
}

static void test_first_message_auth_1008(void **st) {
  tu_bytes in = {0};
  tu_result r;
  char msg[2048];
  char *expired = tok_sign(WS_ALG_HS256, "hs256", HS_HDR,
                           "{\"sub\":\"a\",\"exp\":1600000000}");
  const char *fma = "{\"first_message_auth\":true}";
  tu_sframe f[8];
  (void)st;
  /* Not an auth message. */
  tu_request(&in, NULL);
  tu_text(&in, "{\"type\":\"ping\"}");
  run_cfg(fma, &in, &r);
  assert_close(&r, "AUTH_FIRST_MESSAGE", 1008);
  /* The table's stage (auth), not where the bytes were (it said "frames"
   * before the session had one owner of its state). */
  assert_int_equal(r.outcome.stage, WS_STAGE_AUTH);
  tu_result_free(&r);
  tu_bytes_free(&in);
  /* Invalid token. */
  tu_request(&in, NULL);
  snprintf(msg, sizeof(msg), "{\"type\":\"auth\",\"token\":\"%s\"}", expired);
  tu_text(&in, msg);
  run_cfg(fma, &in, &r);
  assert_close(&r, "AUTH_EXPIRED", 1008);
  assert_int_equal(r.outcome.stage, WS_STAGE_AUTH);
  tu_result_free(&r);
  tu_bytes_free(&in);
  /* Valid: auth_ok with every id, then a normal session. */
  tu_request(&in, NULL);
  snprintf(msg, sizeof(msg), "{\"type\":\"auth\",\"token\":\"%s\"}", good);
  tu_text(&in, msg);
  tu_close(&in, 1001, NULL);
  run_cfg(fma, &in, &r);
  assert_close(&r, "CLOSE_CLIENT", 1001);
  assert_int_equal(tu_server_frames(r.out, r.out_len, f, 8), 2);
  assert_int_equal(f[0].opcode, 1);
  assert_true(
      f[0].n > 40 &&
      memcmp(
          f[0].p,
          "{\"type\":\"auth_ok\",\"user_id\":\"alice\",\"thread_id\":\"thread_",
          54) == 0);
  tu_result_free(&r);
  tu_bytes_free(&in);
  free(expired);
}

static void test_resource_after_upgrade_1013(void **st) {
  bad_env b;
  tu_bytes in = {0};
  tu_result r;
  (void)st;
  bad_env_init(&b);
  req_auth(&in, NULL);
  tu_text(&in, "{\"type\":\"user_message\",\"text\":\"hi\"}");
  /* The context is built (4 ids) with working generators; then both fail. */
  run_bad(&b, NULL, &in, &r); /* first: clean, for comparison */
  assert_int_equal(r.outcome.diag, WS_DIAG_EOF_CLEAN);
  tu_result_free(&r);
  {
    /* Both generators start failing once the context exists: the request
     * id of the message cannot be made. */
    bad_env c;
    bad_env_init(&c);
    {
      ws_config *cfg = tu_config(NULL);
      ws_session *s = NULL;
      const uint8_t *d;
      size_t head = 0;
      /* Feed the head first, then make both generators fail. */
      while (head + 4 <= in.n && memcmp(in.p + head, "\r\n\r\n", 4) != 0)
        head++;
      head += 4;
      assert_int_equal(ws_session_new(&s, cfg, keys, &c.t.env), WS_OK);
      assert_int_equal(ws_session_recv(s, in.p, head), (long)head);
      while (ws_session_send(s, &d) > 0) {
      }
      c.fail_primary = c.fail_fallback = 1;
      assert_int_equal(ws_session_recv(s, in.p + head, in.n - head),
                       (long)(in.n - head));
      assert_non_null(ws_session_outcome(s));
      assert_int_equal(ws_session_outcome(s)->diag,
                       WS_DIAG_CTX_IDGEN_EXHAUSTED);
      assert_int_equal(ws_session_outcome(s)->close_code, 1013);
      assert_int_equal(ws_session_recv(s, in.p, 1), WS_ERR_ENDED);
      ws_session_free(s);
      ws_config_free(cfg);
      assert_int_equal(c.t.counts.live_blocks, 0);
    }
  }
  tu_bytes_free(&in);
}

static void test_internal_after_upgrade_1011(void **st) {
  bad_env b;
  tu_bytes in = {0};
  tu_result r;
  (void)st;
  bad_env_init(&b);
  /* request_id reads: 1 while the context is validated, then the ack's. */
  b.fail_attr = WS_ATTR_REQUEST_ID;
  b.fail_after_reads = 1;
  req_auth(&in, NULL);
  tu_text(&in, "{\"type\":\"user_message\",\"text\":\"hi\"}");
  run_bad(&b, NULL, &in, &r);
  assert_close(&r, "CTX_ATTR_REQUEST_ID", 1011);
  assert_int_equal(ws_diag_get(r.outcome.diag)->cls, WS_CLASS_INTERNAL);
  tu_result_free(&r);
  tu_bytes_free(&in);
}

/* First-message auth: the context is built, then an attribute of auth_ok
 * cannot be read.  Internal (1011), named, and stage context even though
 * the session was already exchanging frames. */
static void test_first_message_auth_ok_attr_1011(void **st) {
  bad_env b;
  tu_bytes in = {0};
  tu_result r;
  char msg[2048];
  (void)st;
  bad_env_init(&b);
  b.fail_attr = WS_ATTR_THREAD_ID;
  b.fail_after_reads = 1; /* the context's own validation read succeeds */
  tu_request(&in, NULL);
  snprintf(msg, sizeof(msg), "{\"type\":\"auth\",\"token\":\"%s\"}", good);
  tu_text(&in, msg);
  tu_text(&in, "{\"type\":\"ping\"}");
  run_bad(&b, "{\"first_message_auth\":true}", &in, &r);
  assert_close(&r, "CTX_ATTR_THREAD_ID", 1011);
  assert_int_equal(r.outcome.stage, WS_STAGE_CONTEXT);
  assert_int_equal(b.reads, 2);
  tu_result_free(&r);
  tu_bytes_free(&in);
}

/* The consistency check tu_run applies to every outcome can fail. */
static void test_outcome_check_can_fail(void **st) {
  ws_outcome o;
  (void)st;
  memset(&o, 0, sizeof(o));
  o.diag = WS_DIAG_AUTH_FIRST_MESSAGE;
  o.stage = WS_STAGE_AUTH;
  assert_null(tu_outcome_check(&o));
  o.stage = WS_STAGE_FRAMES; /* the old, wrong answer */
  assert_string_equal(tu_outcome_check(&o),
                      "stage is not the table row's stage");
  o.diag = WS_DIAG_NONE;
  assert_string_equal(tu_outcome_check(&o), "diag is not a table row");
  assert_non_null(tu_outcome_check(NULL));
}

static void test_client_close_echo(void **st) {
  tu_bytes f = {0};
  (void)st;
  tu_close(&f, 4000, "done");
  frames_case(f.p, f.n, "CLOSE_CLIENT", 4000);
  tu_bytes_free(&f);
  tu_close(&f, 0, NULL); /* empty close: answered with 1000 */
  frames_case(f.p, f.n, "CLOSE_CLIENT", 1000);
  tu_bytes_free(&f);
  /* A client may close with 1011 or 1013, but the server sends those only
   * with its own internal or resource diagnosis (POLICY §1): it answers
   * 1000.  (Found by fuzz_frames.) */
  tu_close(&f, 1011, "client broke");
  frames_case(f.p, f.n, "CLOSE_CLIENT", 1000);
  tu_bytes_free(&f);
  tu_close(&f, 1013, NULL);
  frames_case(f.p, f.n, "CLOSE_CLIENT", 1000);
  tu_bytes_free(&f);
  tu_close(&f, 1012, NULL);
  frames_case(f.p, f.n, "CLOSE_CLIENT", 1012);
  tu_bytes_free(&f);
}

static void test_eof_without_close(void **st) {
  tu_bytes in = {0};
  tu_result r;
  (void)st;
  req_auth(&in, NULL);
  tu_text(&in, "{\"type\":\"ping\"}");
  run_cfg(NULL, &in, &r);
  tu_assert_diag(&r, "EOF_CLEAN");
  assert_int_equal(r.outcome.close_code, 0);
  assert_int_equal(ws_diag_get(r.outcome.diag)->cls, WS_CLASS_NONE);
  assert_string_equal(r.outcome.reason, "");
  tu_result_free(&r);
  in.n -= 3; /* cut inside the frame */
  run_cfg(NULL, &in, &r);
  tu_assert_diag(&r, "FRAME_TRUNCATED");
  assert_int_equal(r.outcome.close_code, 0);
  tu_result_free(&r);
  tu_bytes_free(&in);
  /* Before the head is complete. */
  tu_puts(&in, "GET / HTTP/1.1\r\nHost: h\r\n");
  run_cfg(NULL, &in, &r);
  tu_assert_diag(&r, "HS_INCOMPLETE");
  assert_int_equal(r.outcome.http_status, 0);
  assert_int_equal(r.out_len, 0);
  tu_result_free(&r);
  tu_bytes_free(&in);
}

static void test_ping_pong_and_messages(void **st) {
  tu_bytes in = {0};
  tu_result r;
  tu_sframe f[16];
  size_t n;
  (void)st;
  req_auth(&in, NULL);
  tu_frame(&in, 1, 0x9, "abc", 3); /* ping */
  tu_frame(&in, 1, 0xA, "zz", 2);  /* unsolicited pong: ignored */
  tu_text(&in, "{\"type\":\"ping\"}");
  tu_text(&in, "{\"type\":\"user_message\",\"text\":\"hi\"}");
  tu_text(&in, "{\"type\":\"user_message\",\"text\":\"again\"}");
  tu_text(&in, "not json");
  tu_text(&in, "{\"type\":\"dance\"}");
  tu_text(&in, "{\"type\":\"auth\",\"token\":\"x\"}");
  tu_close(&in, 1000, NULL);
  run_cfg(NULL, &in, &r);
  assert_close(&r, "CLOSE_CLIENT", 1000);
  n = tu_server_frames(r.out, r.out_len, f, 16);
  assert_int_equal(n, 8);
  assert_int_equal(f[0].opcode, 0xA);
  assert_int_equal(f[0].n, 3);
  assert_memory_equal(f[0].p, "abc", 3);
  assert_int_equal(f[1].n, strlen("{\"type\":\"pong\"}"));
  assert_memory_equal(f[1].p, "{\"type\":\"pong\"}", f[1].n);
  assert_true(f[2].n > 30 &&
              memcmp(f[2].p, "{\"type\":\"ack\",\"request_id\":\"req_", 32) ==
                  0);
  assert_true(f[3].n > 30 &&
              memcmp(f[3].p, "{\"type\":\"ack\",\"request_id\":\"req_", 32) ==
                  0);
  /* A fresh request id per message. */
  assert_false(f[2].n == f[3].n && memcmp(f[2].p, f[3].p, f[2].n) == 0);
  assert_memory_equal(f[4].p, "{\"type\":\"error\",\"code\":\"MSG_BAD_JSON\"}",
                      f[4].n);
  assert_memory_equal(
      f[5].p, "{\"type\":\"error\",\"code\":\"MSG_UNKNOWN_TYPE\"}", f[5].n);
  assert_memory_equal(
      f[6].p, "{\"type\":\"error\",\"code\":\"MSG_ALREADY_AUTHENTICATED\"}",
      f[6].n);
  tu_result_free(&r);
  tu_bytes_free(&in);
}

/* ---- the message layer's decisions (message.h) ---------------------------
 */

static ws_msg decide(const ws_config *cfg, ws_mem *m, int await_auth,
                     const char *text) {
  ws_msg msg;
  ws_message_decide(m, cfg, await_auth, (const uint8_t *)text, strlen(text),
                    &msg);
  return msg;
}

static void expect_decision(const ws_config *cfg, int await_auth,
                            const char *text, ws_msg_action action,
                            ws_diag diag) {
  ws_mem m;
  ws_msg msg;
  ws_mem_init(&m, NULL);
  msg = decide(cfg, &m, await_auth, text);
  if (msg.action != action || msg.diag != diag)
    fail_msg("%s (await_auth %d): action %d diag %d, want %d %d", text,
             await_auth, (int)msg.action, (int)msg.diag, (int)action,
             (int)diag);
  ws_message_done(&m, &msg);
  assert_null(msg.root);
}

static void test_message_decisions(void **st) {
  ws_config *cfg = tu_config(NULL);
  ws_mem m;
  ws_msg msg;
  ws_buf out = {0};
  tu_failalloc fa = {.fail_at = 1};
  ws_allocator fail_first = tu_failalloc_allocator(&fa);
  (void)st;
  /* Waiting for first-message auth: only an auth message with a token. */
  expect_decision(cfg, 1, "{\"type\":\"ping\"}", WS_MSG_END,
                  WS_DIAG_AUTH_FIRST_MESSAGE);
  expect_decision(cfg, 1, "{\"type\":\"auth\"}", WS_MSG_END,
                  WS_DIAG_AUTH_FIRST_MESSAGE);
  expect_decision(cfg, 1, "{\"type\":\"auth\",\"token\":7}", WS_MSG_END,
                  WS_DIAG_AUTH_FIRST_MESSAGE);
  expect_decision(cfg, 1, "not json", WS_MSG_END, WS_DIAG_AUTH_FIRST_MESSAGE);
  ws_mem_init(&m, NULL);
  msg = decide(cfg, &m, 1, "{\"type\":\"auth\",\"token\":\"a.b\\u002ec\"}");
  assert_int_equal(msg.action, WS_MSG_AUTH);
  assert_int_equal(msg.diag, WS_DIAG_NONE);
  assert_int_equal(msg.token_len, 5); /* the JSON string, unescaped */
  assert_memory_equal(msg.token, "a.b.c", 5);
  ws_message_done(&m, &msg);
  /* Authenticated. */
  expect_decision(cfg, 0, "{\"type\":\"ping\"}", WS_MSG_PONG, WS_DIAG_NONE);
  expect_decision(cfg, 0, "{\"type\":\"user_message\",\"text\":\"hi\"}",
                  WS_MSG_ACK, WS_DIAG_NONE);
  expect_decision(cfg, 0, "{\"type\":\"auth\",\"token\":\"x\"}", WS_MSG_ERROR,
                  WS_DIAG_MSG_ALREADY_AUTHENTICATED);
  expect_decision(cfg, 0, "{}", WS_MSG_ERROR, WS_DIAG_MSG_UNKNOWN_TYPE);
  expect_decision(cfg, 0, "{\"type\":5}", WS_MSG_ERROR,
                  WS_DIAG_MSG_UNKNOWN_TYPE);
  expect_decision(cfg, 0, "[1]", WS_MSG_ERROR, WS_DIAG_MSG_BAD_JSON);
  expect_decision(cfg, 0, "{\"type\":\"ping\",\"type\":\"ping\"}", WS_MSG_ERROR,
                  WS_DIAG_MSG_BAD_JSON);
  /* An allocation failure while parsing ends the session as a resource
   * failure, never as bad JSON. */
  ws_mem_init(&m, &fail_first);
  msg = decide(cfg, &m, 0, "{\"type\":\"ping\"}");
  assert_int_equal(fa.failed, 1);
  assert_int_equal(msg.action, WS_MSG_END);
  assert_int_equal(msg.diag, WS_DIAG_FRAME_NOMEM);
  ws_message_done(&m, &msg);
  /* Replies that need no context. */
  ws_mem_init(&m, NULL);
  msg.action = WS_MSG_PONG;
  assert_int_equal(ws_message_reply(&out, &m, &msg, NULL, NULL), WS_DIAG_NONE);
  assert_int_equal(out.len, 15);
  assert_memory_equal(out.data, "{\"type\":\"pong\"}", 15);
  msg.action = WS_MSG_ERROR;
  msg.diag = WS_DIAG_MSG_BAD_JSON;
  assert_int_equal(ws_message_reply(&out, &m, &msg, NULL, NULL), WS_DIAG_NONE);
  assert_int_equal(out.len, 38);
  assert_memory_equal(out.data,
                      "{\"type\":\"error\",\"code\":\"MSG_BAD_JSON\"}", 38);
  msg.action = WS_MSG_END;
  assert_int_equal(ws_message_reply(&out, &m, &msg, NULL, NULL),
                   WS_DIAG_FRAME_INTERNAL);
  ws_buf_free(&out, &m);
  ws_config_free(cfg);
}

static void test_outcome_json(void **st) {
  ws_outcome o;
  char buf[512];
  (void)st;
  memset(&o, 0, sizeof(o));
  o.stage = WS_STAGE_CONTEXT;
  o.diag = WS_DIAG_CTX_ATTR_RUN_ID;
  o.http_status = 500;
  snprintf(o.reason, sizeof(o.reason), "CTX_ATTR_RUN_ID: \"quoted\"");
  o.trail_len = 1;
  o.trail[0].event = WS_TRAIL_IDGEN_FALLBACK;
  o.trail[0].attr = WS_ATTR_THREAD_ID;
  ws_outcome_json(&o, "\"faults\":[]", buf, sizeof(buf));
  assert_string_equal(buf,
                      "{\"stage\":\"context\",\"diag\":\"CTX_ATTR_RUN_ID\","
                      "\"class\":\"internal\","
                      "\"http_status\":500,\"close_code\":null,\"reason\":"
                      "\"CTX_ATTR_RUN_ID: \\\"quoted\\\"\","
                      "\"trail\":[{\"event\":\"idgen_fallback\",\"attr\":"
                      "\"thread_id\"}],\"faults\":[]}");
  /* Truncation is reported like snprintf. */
  assert_true(ws_outcome_json(&o, NULL, buf, 10) > 10);
  assert_int_equal(strlen(buf), 9);
}

static void test_api_errors(void **st) {
  ws_config *cfg = tu_config(NULL);
  ws_session *s = (ws_session *)1;
  tu_env t;
  ws_env e;
  (void)st;
  tu_env_init(&t, NOW, 1);
  assert_int_equal(ws_session_new(&s, NULL, keys, &t.env), WS_ERR_ARG);
  assert_null(s);
  e = t.env;
  e.now = NULL;
  assert_int_equal(ws_session_new(&s, cfg, keys, &e), WS_ERR_ARG);
  assert_int_equal(ws_session_new(&s, cfg, keys, &t.env), WS_OK);
  assert_int_equal(ws_session_recv(s, NULL, 3), WS_ERR_ARG);
  assert_null(ws_session_outcome(s));
  assert_int_equal(ws_session_eof(s), WS_OK);
  assert_int_equal(ws_session_eof(s), WS_ERR_ENDED);
  assert_int_equal(ws_session_recv(s, (const uint8_t *)"x", 1), WS_ERR_ENDED);
  ws_session_free(s);
  ws_config_free(cfg);
  assert_int_equal(t.counts.live_blocks, 0);
}

/* With no session at all (ws_session_new failed, or a server refusing a
 * connection), the table's response is still written without allocating. */
static void test_static_response(void **state) {
  char buf[512];
  size_t n;
  (void)state;
  n = ws_diag_http_response(WS_DIAG_HS_NOMEM, "session", buf, sizeof(buf));
  assert_true(n > 0 && n < sizeof(buf));
  buf[n] = '\0';
  assert_non_null(strstr(buf, "HTTP/1.1 503 Service Unavailable\r\n"));
  assert_non_null(strstr(buf, "\r\nRetry-After: 1\r\n"));
  assert_non_null(strstr(buf, "\r\nConnection: close\r\n"));
  assert_non_null(strstr(buf, "Content-Length: 17\r\n"));
  assert_string_equal(buf + n - 17, "HS_NOMEM: session");
  n = ws_diag_http_response(WS_DIAG_AUTH_EXPIRED, NULL, buf, sizeof(buf));
  buf[n] = '\0';
  assert_non_null(strstr(buf, "HTTP/1.1 401 "));
  assert_non_null(strstr(buf, "Bearer error=\"invalid_token\""));
  assert_string_equal(buf + n - 12, "AUTH_EXPIRED");
  /* After-the-upgrade rows have no HTTP response; a short buffer gets none. */
  assert_int_equal(
      ws_diag_http_response(WS_DIAG_FRAME_RSV, NULL, buf, sizeof(buf)), 0);
  assert_int_equal(ws_diag_http_response(WS_DIAG_HS_NOMEM, NULL, buf, 40), 0);
  /* Bytes, not a C string: an exact fit is written whole, one byte less is
   * nothing. */
  n = ws_diag_http_response(WS_DIAG_HS_ORIGIN, "x", buf, sizeof(buf));
  assert_true(n > 0);
  assert_int_equal(ws_diag_http_response(WS_DIAG_HS_ORIGIN, "x", buf, n), n);
  assert_int_equal(buf[n - 1], 'x');
  assert_int_equal(ws_diag_http_response(WS_DIAG_HS_ORIGIN, "x", buf, n - 1),
                   0);
  assert_int_equal(ws_diag_http_response((ws_diag)9999, NULL, buf, sizeof(buf)),
                   0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_valid_upgrade),
      cmocka_unit_test(test_method_not_get),
      cmocka_unit_test(test_bad_requests_400),
      cmocka_unit_test(test_upgrade_connection_400),
      cmocka_unit_test(test_key_400),
      cmocka_unit_test(test_version_426),
      cmocka_unit_test(test_head_limit_431),
      cmocka_unit_test(test_origin_403),
      cmocka_unit_test(test_invalid_token_401),
      cmocka_unit_test(test_no_token_401),
      cmocka_unit_test(test_resource_before_upgrade_503),
      cmocka_unit_test(test_alloc_failures_before_upgrade),
      cmocka_unit_test(test_internal_before_upgrade_500),
      cmocka_unit_test(test_primary_idgen_fallback_absorbed),
      cmocka_unit_test(test_token_sources),
      cmocka_unit_test(test_subprotocol_selection),
      cmocka_unit_test(test_frame_protocol_1002),
      cmocka_unit_test(test_utf8_1007),
      cmocka_unit_test(test_binary_1003_and_too_big_1009),
      cmocka_unit_test(test_first_message_auth_1008),
      cmocka_unit_test(test_resource_after_upgrade_1013),
      cmocka_unit_test(test_internal_after_upgrade_1011),
      cmocka_unit_test(test_first_message_auth_ok_attr_1011),
      cmocka_unit_test(test_outcome_check_can_fail),
      cmocka_unit_test(test_client_close_echo),
      cmocka_unit_test(test_eof_without_close),
      cmocka_unit_test(test_ping_pong_and_messages),
      cmocka_unit_test(test_message_decisions),
      cmocka_unit_test(test_outcome_json),
      cmocka_unit_test(test_api_errors),
      cmocka_unit_test(test_static_response),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
