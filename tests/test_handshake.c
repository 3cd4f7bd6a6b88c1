/* Tests for the upgrade handshake (core/handshake.c): the head scanner, the
 * parser's checks and their order, token sources, subprotocol selection, the
 * 101 response and the HTTP error responses of POLICY §3. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "config.h"
#include "handshake.h"
#include "testutil.h"

/* ---- helpers ---- */

/* A ws_mem that fails every allocation from the fail_from-th on (0: never),
 * under the counting allocator (the tests' one failing allocator). */
typedef tu_failmem tmem;

static void tmem_init(tmem *t, size_t fail_from) {
  tu_failmem_init(t, (unsigned long)fail_from, 1);
}

#define RL "GET /chat HTTP/1.1\r\n"
#define L_HOST "Host: server.example.com\r\n"
#define L_UPG "Upgrade: websocket\r\n"
#define L_CONN "Connection: Upgrade\r\n"
#define SAMPLE_KEY "dGhlIHNhbXBsZSBub25jZQ=="
#define L_KEY "Sec-WebSocket-Key: " SAMPLE_KEY "\r\n"
#define L_VER "Sec-WebSocket-Version: 13\r\n"
#define BASE L_HOST L_UPG L_CONN L_KEY L_VER
#define VALID RL BASE "\r\n"
#define SAMPLE_ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

static ws_config *g_cfg; /* defaults */

static ws_diag scan_whole(const char *req, size_t len, size_t max,
                          ws_head_status *st, size_t *head_len) {
  ws_head_scanner s;
  ws_diag d;
  ws_head_scan_init(&s);
  *st = ws_head_scan(&s, (const uint8_t *)req, len, max, head_len, &d);
  return d;
}

/* Scans req whole and byte by byte (asserting both agree and that "more" is
 * only answered while the head is incomplete), then parses it.  Returns the
 * scanner's or the parser's diagnosis.  *hs is left for the caller to
 * release (on tm->m). */
static ws_diag run_len(const ws_config *cfg, tmem *tm, const char *req,
                       size_t len, ws_handshake *hs, const char **detail) {
  ws_head_status st, st1 = WS_HEAD_MORE;
  ws_head_scanner s;
  size_t hl, hl1 = 0, i;
  ws_diag d, d1 = WS_DIAG_NONE;

  d = scan_whole(req, len, cfg->max_head_bytes, &st, &hl);
  ws_head_scan_init(&s);
  for (i = 1; i <= len && st1 == WS_HEAD_MORE; i++) {
    st1 = ws_head_scan(&s, (const uint8_t *)req, i, cfg->max_head_bytes, &hl1,
                       &d1);
    if (st1 == WS_HEAD_MORE) assert_int_equal(d1, WS_DIAG_NONE);
  }
  assert_int_equal(st1, st);
  assert_int_equal(d1, d);
  assert_int_equal(hl1, hl);
  memset(hs, 0, sizeof(*hs));
  if (detail) *detail = NULL;
  if (st == WS_HEAD_ERROR) return d;
  assert_int_equal(st, WS_HEAD_DONE); /* every request here is complete */
  return ws_handshake_parse(&tm->m, cfg, req, hl, hs, detail);
}

/* Runs req against cfg, asserts the diagnosis and, on failure, that nothing
 * is left allocated and *hs is zero. */
static void expect_cfg(const ws_config *cfg, const char *req, ws_diag want) {
  tmem tm;
  ws_handshake hs, zero;
  ws_diag d;
  tmem_init(&tm, 0);
  d = run_len(cfg, &tm, req, strlen(req), &hs, NULL);
  if (d != want)
    fail_msg("request %s: got %s, want %s", req,
             ws_diag_get(d) ? ws_diag_get(d)->code : "NONE",
             ws_diag_get(want) ? ws_diag_get(want)->code : "NONE");
  if (d != WS_DIAG_NONE) {
    memset(&zero, 0, sizeof(zero));
    assert_memory_equal(&hs, &zero, sizeof(hs));
  }
  ws_handshake_release(&tm.m, &hs);
  assert_int_equal(tm.ca.live_blocks, 0);
}

static void expect(const char *req, ws_diag want) {
  expect_cfg(g_cfg, req, want);
}

/* Parses a request that must succeed. */
static void parse_ok(const ws_config *cfg, tmem *tm, const char *req,
                     ws_handshake *hs) {
  ws_diag d = run_len(cfg, tm, req, strlen(req), hs, NULL);
  if (d != WS_DIAG_NONE)
    fail_msg("request %s: got %s", req, ws_diag_get(d)->code);
}

static int str_is(ws_str s, const char *want) {
  return s.n == strlen(want) && (s.n == 0 || memcmp(s.p, want, s.n) == 0);
}
#define assert_str(s, want)                                   \
  do {                                                        \
    if (!str_is((s), (want)))                                 \
      fail_msg("%s is \"%.*s\", want \"%s\"", #s, (int)(s).n, \
               (s).p ? (s).p : "", (want));                   \
  } while (0)

/* True when s lies within [base, base + n). */
static int inside(ws_str s, const char *base, size_t n) {
  return s.p >= base && s.p + s.n <= base + n;
}

/* Asserts the error response for d: exact status line, the header line
 * `hdr` in the header section (if given), Connection: close, and a body that
 * is exactly the diag code. */
static void expect_response(ws_diag d, const char *status_line,
                            const char *hdr) {
  char out[1024];
  const ws_diag_info *info = ws_diag_get(d);
  char *end;
  size_t n;
  assert_non_null(info);
  n = ws_http_error_response(d, info->code, out, sizeof(out) - 1);
  assert_true(n > 0);
  out[n] = '\0';
  assert_memory_equal(out, status_line, strlen(status_line));
  end = strstr(out, "\r\n\r\n");
  assert_non_null(end);
  assert_string_equal(end + 4, info->code);
  end[2] = '\0'; /* keep only the header lines, each ending in CRLF */
  assert_non_null(strstr(out, "\r\nConnection: close\r\n"));
  assert_non_null(
      strstr(out, "\r\nContent-Type: text/plain; charset=utf-8\r\n"));
  if (hdr) {
    char want[256];
    snprintf(want, sizeof(want), "\r\n%s\r\n", hdr);
    if (!strstr(out, want)) fail_msg("no \"%s\" in:\n%s", hdr, out);
  }
}

static int setup(void **state) {
  (void)state;
  tu_global_init();
  g_cfg = tu_config(NULL);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  ws_config_free(g_cfg);
  return 0;
}

/* ---- the 101 ---- */

static void test_accept_vector(void **state) {
  ws_mem m;
  char out[29];
  int nomem = -1;
  (void)state;
  ws_mem_init(&m, NULL);
  /* RFC 6455 1.3 */
  assert_int_equal(ws_accept_key(&m, SAMPLE_KEY, 24, out, &nomem), 0);
  assert_string_equal(out, SAMPLE_ACCEPT);
  assert_int_equal(nomem, 0);
  /* Over the length bound: refused, not an allocation failure. */
  {
    char big[200];
    memset(big, 'A', sizeof(big));
    assert_int_equal(ws_accept_key(&m, big, sizeof(big), out, &nomem), -1);
    assert_int_equal(nomem, 0);
    assert_string_equal(out, "");
  }
}

static void test_accept_response(void **state) {
  tmem tm;
  ws_handshake hs;
  ws_buf b = {0};
  ws_config *cfg = tu_config("{\"subprotocols\":[\"chat\"]}");
  static const char want[] =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
      "Connection: Upgrade\r\nSec-WebSocket-Accept: " SAMPLE_ACCEPT "\r\n\r\n";
  static const char want_proto[] =
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
      "Connection: Upgrade\r\nSec-WebSocket-Accept: " SAMPLE_ACCEPT
      "\r\n"
      "Sec-WebSocket-Protocol: chat\r\n\r\n";
  (void)state;
  tmem_init(&tm, 0);
  /* Extensions are offered but never answered. */
  parse_ok(cfg, &tm,
           RL BASE "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n", &hs);
  assert_int_equal(ws_handshake_accept(&tm.m, &hs, &b), WS_DIAG_NONE);
  assert_int_equal(b.len, sizeof(want) - 1);
  assert_memory_equal(b.data, want, b.len);
  ws_handshake_release(&tm.m, &hs);
  ws_buf_free(&b, &tm.m);

  parse_ok(cfg, &tm, RL BASE "Sec-WebSocket-Protocol: chat\r\n\r\n", &hs);
  assert_int_equal(ws_handshake_accept(&tm.m, &hs, &b), WS_DIAG_NONE);
  assert_int_equal(b.len, sizeof(want_proto) - 1);
  assert_memory_equal(b.data, want_proto, b.len);
  ws_handshake_release(&tm.m, &hs);
  ws_buf_free(&b, &tm.m);
  assert_int_equal(tm.ca.live_blocks, 0);
  ws_config_free(cfg);
}

/* Every allocation the 101 makes (SHA-1 inside OpenSSL, the buffer) fails in
 * turn: HS_NOMEM, out untouched, nothing leaked. */
static void test_accept_nomem(void **state) {
  size_t k;
  int failed = 0;
  (void)state;
  for (k = 1; k < 100; k++) {
    tmem ok, tm;
    ws_handshake hs;
    ws_buf b = {0};
    ws_diag d;
    ws_mem *prev;
    tmem_init(&ok, 0);
    parse_ok(g_cfg, &ok, VALID, &hs);
    tmem_init(&tm, k);
    prev = ws_mem_enter(&tm.m); /* as the session does */
    d = ws_handshake_accept(&tm.m, &hs, &b);
    ws_mem_leave(prev);
    if (d == WS_DIAG_NONE) {
      assert_int_equal(b.len, 129);
      ws_buf_free(&b, &tm.m);
      assert_int_equal(tm.ca.live_blocks, 0);
      break;
    }
    failed++;
    assert_int_equal(d, WS_DIAG_HS_NOMEM);
    assert_int_equal(b.len, 0);
    ws_buf_free(&b, &tm.m);
    assert_int_equal(tm.ca.live_blocks, 0);
  }
  assert_true(failed >= 1); /* the buffer allocation at least */
  assert_true(k < 100);
}

/* ---- POLICY §3 rows, before the upgrade ---- */

static void test_row_valid(void **state) {
  tmem tm;
  ws_handshake hs;
  const char *req = "GET /chat?room=1 HTTP/1.1\r\n" BASE "\r\n";
  (void)state;
  tmem_init(&tm, 0);
  parse_ok(g_cfg, &tm, req, &hs);
  assert_str(hs.method, "GET");
  assert_str(hs.target, "/chat?room=1");
  assert_str(hs.path, "/chat");
  assert_str(hs.query, "room=1");
  assert_int_equal(hs.http_minor, 1);
  assert_str(hs.host, "server.example.com");
  assert_str(hs.key, SAMPLE_KEY);
  assert_int_equal(hs.origin.n, 0);
  assert_int_equal(hs.subprotocol.n, 0);
  assert_int_equal(hs.token_source, WS_TOKEN_NONE);
  assert_null(hs.token_buf);
  assert_int_equal(hs.n_headers, 5);
  /* zero-copy: everything points into the head */
  assert_true(inside(hs.method, req, strlen(req)));
  assert_true(inside(hs.path, req, strlen(req)));
  assert_true(inside(hs.key, req, strlen(req)));
  assert_true(inside(hs.host, req, strlen(req)));
  /* and no allocation was needed */
  assert_int_equal(tm.ca.total_allocs, 0);
  ws_handshake_release(&tm.m, &hs);
}

static void test_row_method(void **state) {
  (void)state;
  expect("POST /chat HTTP/1.1\r\n" BASE "\r\n", WS_DIAG_HS_METHOD);
  expect("get /chat HTTP/1.1\r\n" BASE "\r\n", WS_DIAG_HS_METHOD);
  expect("HEAD /chat HTTP/1.1\r\n" BASE "\r\n", WS_DIAG_HS_METHOD);
  expect_response(WS_DIAG_HS_METHOD, "HTTP/1.1 405 Method Not Allowed\r\n",
                  "Allow: GET");
}

static void test_row_http_version(void **state) {
  tmem tm;
  ws_handshake hs;
  (void)state;
  expect("GET /chat HTTP/1.0\r\n" BASE "\r\n", WS_DIAG_HS_HTTP_VERSION);
  expect("GET /chat HTTP/0.9\r\n" BASE "\r\n", WS_DIAG_HS_HTTP_VERSION);
  expect("GET /chat HTTP/2.0\r\n" BASE "\r\n", WS_DIAG_HS_HTTP_VERSION);
  expect_response(WS_DIAG_HS_HTTP_VERSION, "HTTP/1.1 400 Bad Request\r\n",
                  NULL);
  /* "1.1 or higher" */
  tmem_init(&tm, 0);
  parse_ok(g_cfg, &tm, "GET /chat HTTP/1.2\r\n" BASE "\r\n", &hs);
  assert_int_equal(hs.http_minor, 2);
  ws_handshake_release(&tm.m, &hs);
}

static void test_row_request_line(void **state) {
  (void)state;
  expect("\r\nGET /chat HTTP/1.1\r\n" BASE "\r\n", WS_DIAG_HS_REQUEST_LINE);
  expect("GET  /chat HTTP/1.1\r\n" BASE "\r\n", WS_DIAG_HS_REQUEST_LINE);
  expect("GET /chat  HTTP/1.1\r\n" BASE "\r\n", WS_DIAG_HS_REQUEST_LINE);
  expect("GET /chat\r\n" BASE "\r\n", WS_DIAG_HS_REQUEST_LINE);
  expect("GET /chat HTTP/1.1 \r\n" BASE "\r\n", WS_DIAG_HS_REQUEST_LINE);
  expect("GET /chat http/1.1\r\n" BASE "\r\n", WS_DIAG_HS_REQUEST_LINE);
  expect("GET /chat HTTP/1.10\r\n" BASE "\r\n", WS_DIAG_HS_REQUEST_LINE);
  expect("GET /chat HTTP/1\r\n" BASE "\r\n", WS_DIAG_HS_REQUEST_LINE);
  expect("GET\t/chat HTTP/1.1\r\n" BASE "\r\n", WS_DIAG_HS_REQUEST_LINE);
  expect(" GET /chat HTTP/1.1\r\n" BASE "\r\n", WS_DIAG_HS_REQUEST_LINE);
  expect("\r\n\r\n", WS_DIAG_HS_REQUEST_LINE);
  expect_response(WS_DIAG_HS_REQUEST_LINE, "HTTP/1.1 400 Bad Request\r\n",
                  NULL);
}

/* Absolute-form (RFC 9112 3.2.2; RFC 6455 4.2.1): accepted, its authority
 * checked like Host and used as the host, the rest read as origin-form. */
static void test_absolute_form(void **state) {
  static const struct {
    const char *target, *authority, *path, *query;
  } ok[] = {
      {"http://server.example.com/chat", "server.example.com", "/chat", ""},
      {"ws://server.example.com:8080/chat?room=1", "server.example.com:8080",
       "/chat", "room=1"},
      {"WSS://a", "a", "/", ""},
      {"https://[::1]:443?x=1", "[::1]:443", "/", "x=1"},
      {"ws://10.0.0.1/a%2Fb", "10.0.0.1", "/a%2Fb", ""},
  };
  static const char *const bad[] = {
      "http://user@server.example.com/chat", /* userinfo */
      "http://user:pw@host/",
      "ws:///chat",          /* empty host */
      "ws://host:80x/chat",  /* port not a number */
      "ws://host:123456/",   /* port too long */
      "ws://host:65536/",    /* port out of range */
      "ws://host/chat#frag", /* fragment */
      "ws://ho%zzst/",       /* bad pct-encoding */
      "ws://[::1/",          /* unclosed IP-literal */
      "ws://host/a|b",       /* not a pchar */
      "ftp://host/chat",     /* not a WebSocket scheme */
      "ws:/host/chat",
  };
  tmem tm;
  ws_handshake hs;
  char req[512];
  size_t i;
  (void)state;
  for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
    snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\n" BASE "\r\n", ok[i].target);
    tmem_init(&tm, 0);
    parse_ok(g_cfg, &tm, req, &hs);
    assert_str(hs.target, ok[i].target);
    assert_str(hs.authority, ok[i].authority);
    assert_str(hs.host, ok[i].authority); /* the target's, not Host's */
    assert_str(hs.path, ok[i].path);
    assert_str(hs.query, ok[i].query);
    ws_handshake_release(&tm.m, &hs);
  }
  for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\n" BASE "\r\n", bad[i]);
    expect(req, WS_DIAG_HS_TARGET);
  }
  /* Host is still required and checked (RFC 9112 3.2). */
  expect("GET ws://a/chat HTTP/1.1\r\n" L_UPG L_CONN L_KEY L_VER "\r\n",
         WS_DIAG_HS_HOST);
  expect("GET ws://a/chat HTTP/1.1\r\nHost: a b\r\n" L_UPG L_CONN L_KEY L_VER
         "\r\n",
         WS_DIAG_HS_HOST);
  /* The query token is found after an authority too. */
  tmem_init(&tm, 0);
  parse_ok(g_cfg, &tm,
           "GET ws://a/chat?access_token=abc HTTP/1.1\r\n" BASE "\r\n", &hs);
  assert_int_equal(hs.token_source, WS_TOKEN_QUERY);
  assert_string_equal(hs.token.p, "abc");
  ws_handshake_release(&tm.m, &hs);
}

static void test_row_target(void **state) {
  (void)state;
  expect("GET * HTTP/1.1\r\n" BASE "\r\n", WS_DIAG_HS_TARGET);
  expect("GET server.example.com/chat HTTP/1.1\r\n" BASE "\r\n",
         WS_DIAG_HS_TARGET);
  expect("GET /chat#frag HTTP/1.1\r\n" BASE "\r\n", WS_DIAG_HS_TARGET);
  expect("GET /chat?a=%zz HTTP/1.1\r\n" BASE "\r\n", WS_DIAG_HS_TARGET);
  expect("GET /chat%4 HTTP/1.1\r\n" BASE "\r\n", WS_DIAG_HS_TARGET);
  expect("GET /chat% HTTP/1.1\r\n" BASE "\r\n", WS_DIAG_HS_TARGET);
  expect("GET /caf\xc3\xa9 HTTP/1.1\r\n" BASE "\r\n", WS_DIAG_HS_TARGET);
  expect("GET /a|b HTTP/1.1\r\n" BASE "\r\n", WS_DIAG_HS_TARGET);
  expect_response(WS_DIAG_HS_TARGET, "HTTP/1.1 400 Bad Request\r\n", NULL);
  /* valid percent-encoding and sub-delims are fine */
  expect("GET /a%2Fb/c:d@e;f=g?x=%41&y=/?z HTTP/1.1\r\n" BASE "\r\n",
         WS_DIAG_NONE);
}

static void test_row_header_syntax(void **state) {
  (void)state;
  /* RFC 9112 5.1: no whitespace between field name and colon */
  expect(RL "Host : server.example.com\r\n" L_UPG L_CONN L_KEY L_VER "\r\n",
         WS_DIAG_HS_HEADER_SYNTAX);
  expect(RL BASE "X-A\t: 1\r\n\r\n", WS_DIAG_HS_HEADER_SYNTAX);
  expect(RL BASE ": empty-name\r\n\r\n", WS_DIAG_HS_HEADER_SYNTAX);
  expect(RL BASE "X(A): 1\r\n\r\n", WS_DIAG_HS_HEADER_SYNTAX);
  expect(RL BASE "NoColon\r\n\r\n", WS_DIAG_HS_HEADER_SYNTAX);
  expect_response(WS_DIAG_HS_HEADER_SYNTAX, "HTTP/1.1 400 Bad Request\r\n",
                  NULL);
  /* values: HTAB, obs-text, an empty value are fine */
  expect(RL BASE "X-A:\tv\x80\xff v\t\r\nX-Empty:\r\n\r\n", WS_DIAG_NONE);
}

static void test_row_bad_bytes(void **state) {
  static const char nul[] = RL "X-A: a\0b\r\n" BASE "\r\n";
  static const char nul_line[] = "GET /ch\0at HTTP/1.1\r\n" BASE "\r\n";
  tmem tm;
  ws_handshake hs;
  (void)state;
  tmem_init(&tm, 0);
  assert_int_equal(run_len(g_cfg, &tm, nul, sizeof(nul) - 1, &hs, NULL),
                   WS_DIAG_HS_BAD_BYTE);
  assert_int_equal(
      run_len(g_cfg, &tm, nul_line, sizeof(nul_line) - 1, &hs, NULL),
      WS_DIAG_HS_BAD_BYTE);
  expect(RL "X-A: a\rb\r\n" BASE "\r\n", WS_DIAG_HS_BAD_BYTE); /* bare CR */
  expect(RL "X-A: a\r\r\n" BASE "\r\n", WS_DIAG_HS_BAD_BYTE);  /* CR CR LF */
  expect(RL BASE "\r\r\n", WS_DIAG_HS_BAD_BYTE);               /* at the end */
  expect(RL "X-A: a\nb\r\n" BASE "\r\n", WS_DIAG_HS_BAD_BYTE); /* bare LF */
  expect("GET /chat HTTP/1.1\n" BASE "\r\n", WS_DIAG_HS_BAD_BYTE);
  expect(RL BASE "\n", WS_DIAG_HS_BAD_BYTE); /* LF-only end */
  expect(RL
         "X-A: a\x01"
         "b\r\n" BASE "\r\n",
         WS_DIAG_HS_BAD_BYTE);
  expect(RL "X-A: a\x1f\r\n" BASE "\r\n", WS_DIAG_HS_BAD_BYTE);
  expect(RL "X-A: a\x7f\r\n" BASE "\r\n", WS_DIAG_HS_BAD_BYTE);
  expect_response(WS_DIAG_HS_BAD_BYTE, "HTTP/1.1 400 Bad Request\r\n", NULL);
}

static void test_row_obs_fold(void **state) {
  (void)state;
  expect(RL BASE "X-A: a\r\n b\r\n\r\n", WS_DIAG_HS_OBS_FOLD);
  expect(RL BASE "X-A: a\r\n\tb\r\n\r\n", WS_DIAG_HS_OBS_FOLD);
  /* whitespace between the request line and the first field */
  expect(RL " Host: server.example.com\r\n" L_UPG L_CONN L_KEY L_VER "\r\n",
         WS_DIAG_HS_OBS_FOLD);
  expect_response(WS_DIAG_HS_OBS_FOLD, "HTTP/1.1 400 Bad Request\r\n", NULL);
}

static void test_row_duplicate(void **state) {
  static const struct {
    const char *line, *name;
  } dup[] = {
      {"Sec-WebSocket-Key: " SAMPLE_KEY "\r\n", "Sec-WebSocket-Key"},
      {"sec-websocket-key: AAAAAAAAAAAAAAAAAAAAAA==\r\n", "Sec-WebSocket-Key"},
      {"HOST: other.example.com\r\n", "Host"},
      {"Sec-WebSocket-Version: 13\r\n", "Sec-WebSocket-Version"},
  };
  static const struct {
    const char *line, *name;
  } dup2[] = {
      {"Authorization: Bearer a\r\n", "Authorization"},
      {"Origin: https://a.example\r\n", "Origin"},
      {"Content-Length: 0\r\n", "Content-Length"},
  };
  size_t i;
  (void)state;
  for (i = 0; i < sizeof(dup) / sizeof(dup[0]); i++) {
    char req[512];
    tmem tm;
    ws_handshake hs;
    const char *detail = (const char *)1;
    snprintf(req, sizeof(req), RL BASE "%s\r\n", dup[i].line);
    tmem_init(&tm, 0);
    assert_int_equal(run_len(g_cfg, &tm, req, strlen(req), &hs, &detail),
                     WS_DIAG_HS_DUPLICATE_HEADER);
    assert_non_null(detail);
    assert_string_equal(detail, dup[i].name);
  }
  for (i = 0; i < sizeof(dup2) / sizeof(dup2[0]); i++) {
    char req[512];
    tmem tm;
    ws_handshake hs;
    const char *detail = NULL;
    snprintf(req, sizeof(req), RL BASE "%s%s\r\n", dup2[i].line, dup2[i].line);
    tmem_init(&tm, 0);
    assert_int_equal(run_len(g_cfg, &tm, req, strlen(req), &hs, &detail),
                     WS_DIAG_HS_DUPLICATE_HEADER);
    assert_non_null(detail);
    assert_string_equal(detail, dup2[i].name);
    /* once is fine */
    snprintf(req, sizeof(req), RL BASE "%s\r\n", dup2[i].line);
    assert_int_equal(run_len(g_cfg, &tm, req, strlen(req), &hs, &detail),
                     WS_DIAG_NONE);
    assert_null(detail);
    ws_handshake_release(&tm.m, &hs);
  }
  expect_response(WS_DIAG_HS_DUPLICATE_HEADER, "HTTP/1.1 400 Bad Request\r\n",
                  NULL);
}

static void test_row_host(void **state) {
  /* RFC 9112 3.2: Host = uri-host [ ":" port ]; anything else is a 400. */
  static const char *const bad[] = {
      "",                   /* empty: a WebSocket URI has a host */
      "server example.com", /* whitespace */
      "user@server.example.com",
      "user:pw@host:80", /* userinfo */
      "host:http",       /* port not a number */
      "host:8o",
      "host:-1",
      "host:65536",
      "host:000080", /* 6 digits */
      "host:80:81",
      ":80", /* no host */
      "ho%zzst",
      "ho%4", /* bad pct-encoding */
      "[::1",
      "[]",
      "[::1]x",
      "[::1]:x",
      "host/path",
      "host?q",
      "host#f",
      "h\"st",
  };
  static const char *const good[] = {
      "server.example.com",
      "server.example.com:8080",
      "a",
      "10.0.0.1:1",
      "[::1]",
      "[::1]:443",
      "[v1.x]",
      "host:", /* empty port: allowed by RFC 3986 3.2.3 */
      "host:65535",
      "ex%41mple.com",
      "a-b_c~d!$&'()*+,;=",
  };
  char req[512];
  size_t i;
  (void)state;
  expect(RL L_UPG L_CONN L_KEY L_VER "\r\n", WS_DIAG_HS_HOST);
  for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    snprintf(req, sizeof(req),
             RL "Host: %s\r\n" L_UPG L_CONN L_KEY L_VER "\r\n", bad[i]);
    expect(req, WS_DIAG_HS_HOST);
  }
  for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
    snprintf(req, sizeof(req),
             RL "Host: %s\r\n" L_UPG L_CONN L_KEY L_VER "\r\n", good[i]);
    expect(req, WS_DIAG_NONE);
  }
  /* Surrounding whitespace is OWS, not part of the value (RFC 9112 5). */
  expect(RL "Host:   a:80  \r\n" L_UPG L_CONN L_KEY L_VER "\r\n", WS_DIAG_NONE);
  expect_response(WS_DIAG_HS_HOST, "HTTP/1.1 400 Bad Request\r\n", NULL);
}

static void test_row_upgrade(void **state) {
  (void)state;
  expect(RL L_HOST L_CONN L_KEY L_VER "\r\n", WS_DIAG_HS_UPGRADE);
  expect(RL L_HOST "Upgrade: websocket2\r\n" L_CONN L_KEY L_VER "\r\n",
         WS_DIAG_HS_UPGRADE);
  expect(RL L_HOST "Upgrade: h2c\r\n" L_CONN L_KEY L_VER "\r\n",
         WS_DIAG_HS_UPGRADE);
  expect(RL L_HOST "Upgrade: websocket/13\r\n" L_CONN L_KEY L_VER "\r\n",
         WS_DIAG_HS_UPGRADE);
  expect(RL L_HOST "Upgrade:\r\n" L_CONN L_KEY L_VER "\r\n",
         WS_DIAG_HS_UPGRADE);
  expect_response(WS_DIAG_HS_UPGRADE, "HTTP/1.1 400 Bad Request\r\n", NULL);
}

static void test_row_connection(void **state) {
  (void)state;
  expect(RL L_HOST L_UPG L_KEY L_VER "\r\n", WS_DIAG_HS_CONNECTION);
  expect(RL L_HOST L_UPG "Connection: keep-alive\r\n" L_KEY L_VER "\r\n",
         WS_DIAG_HS_CONNECTION);
  expect(RL L_HOST L_UPG "Connection: upgraded\r\n" L_KEY L_VER "\r\n",
         WS_DIAG_HS_CONNECTION);
  expect(RL L_HOST L_UPG "Connection: keep-alive upgrade\r\n" L_KEY L_VER
                         "\r\n",
         WS_DIAG_HS_CONNECTION);
  expect_response(WS_DIAG_HS_CONNECTION, "HTTP/1.1 400 Bad Request\r\n", NULL);
}

static void test_lists_odd_case_and_spacing(void **state) {
  (void)state;
  expect(RL L_HOST L_UPG "Connection: keep-alive, Upgrade\r\n" L_KEY L_VER
                         "\r\n",
         WS_DIAG_NONE);
  expect(RL L_HOST
         "upgrade:\tWebSocket \r\nconnection:KEEP-ALIVE ,\tuPgRaDe  \r\n" L_KEY
             L_VER "\r\n",
         WS_DIAG_NONE);
  expect(RL L_HOST
         "UPGRADE: h2c,,  WEBSOCKET\r\nCONNECTION: ,upgrade,\r\n" L_KEY L_VER
         "\r\n",
         WS_DIAG_NONE);
  /* repeated list fields are one comma-joined list */
  expect(RL L_HOST
         "Upgrade: h2c\r\nUpgrade: websocket\r\n"
         "Connection: keep-alive\r\nConnection: Upgrade\r\n" L_KEY L_VER "\r\n",
         WS_DIAG_NONE);
}

static void test_row_key(void **state) {
  (void)state;
  expect(RL L_HOST L_UPG L_CONN L_VER "\r\n", WS_DIAG_HS_KEY_MISSING);
  expect_response(WS_DIAG_HS_KEY_MISSING, "HTTP/1.1 400 Bad Request\r\n", NULL);
  /* 15 bytes, 17 bytes */
  expect(RL L_HOST L_UPG L_CONN
         "Sec-WebSocket-Key: AAECAwQFBgcICQoLDA0O\r\n" L_VER "\r\n",
         WS_DIAG_HS_KEY_INVALID);
  expect(RL L_HOST L_UPG L_CONN
         "Sec-WebSocket-Key: AAECAwQFBgcICQoLDA0ODxA=\r\n" L_VER "\r\n",
         WS_DIAG_HS_KEY_INVALID);
  /* non-canonical: unused bits set, padding missing, url alphabet, junk */
  expect(RL L_HOST L_UPG L_CONN
         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZR==\r\n" L_VER "\r\n",
         WS_DIAG_HS_KEY_INVALID);
  expect(RL L_HOST L_UPG L_CONN
         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ\r\n" L_VER "\r\n",
         WS_DIAG_HS_KEY_INVALID);
  expect(RL L_HOST L_UPG L_CONN
         "Sec-WebSocket-Key: -_-_-_-_-_-_-_-_-_-_-w==\r\n" L_VER "\r\n",
         WS_DIAG_HS_KEY_INVALID);
  expect(RL L_HOST L_UPG L_CONN
         "Sec-WebSocket-Key: dGhlIHNhbXBsZSB ub25jZQ=\r\n" L_VER "\r\n",
         WS_DIAG_HS_KEY_INVALID);
  expect(RL L_HOST L_UPG L_CONN "Sec-WebSocket-Key:\r\n" L_VER "\r\n",
         WS_DIAG_HS_KEY_INVALID);
  expect_response(WS_DIAG_HS_KEY_INVALID, "HTTP/1.1 400 Bad Request\r\n", NULL);
  /* 16 bytes with OWS around it: fine */
  expect(RL L_HOST L_UPG L_CONN "Sec-WebSocket-Key: \t" SAMPLE_KEY
                                " \t\r\n" L_VER "\r\n",
         WS_DIAG_NONE);
}

static void test_row_ws_version(void **state) {
  (void)state;
  expect(RL L_HOST L_UPG L_CONN L_KEY "\r\n", WS_DIAG_HS_WS_VERSION);
  expect(RL L_HOST L_UPG L_CONN L_KEY "Sec-WebSocket-Version: 8\r\n\r\n",
         WS_DIAG_HS_WS_VERSION);
  expect(RL L_HOST L_UPG L_CONN L_KEY "Sec-WebSocket-Version: 013\r\n\r\n",
         WS_DIAG_HS_WS_VERSION);
  expect(RL L_HOST L_UPG L_CONN L_KEY "Sec-WebSocket-Version: 13, 8\r\n\r\n",
         WS_DIAG_HS_WS_VERSION);
  expect(RL L_HOST L_UPG L_CONN L_KEY "Sec-WebSocket-Version:\r\n\r\n",
         WS_DIAG_HS_WS_VERSION);
  expect(RL L_HOST L_UPG L_CONN L_KEY "Sec-WebSocket-Version:  13 \r\n\r\n",
         WS_DIAG_NONE);
  expect_response(WS_DIAG_HS_WS_VERSION, "HTTP/1.1 426 Upgrade Required\r\n",
                  "Sec-WebSocket-Version: 13");
  expect_response(WS_DIAG_HS_WS_VERSION, "HTTP/1.1 426 Upgrade Required\r\n",
                  "Upgrade: websocket");
}

static void test_row_body(void **state) {
  const char *detail = NULL;
  tmem tm;
  ws_handshake hs;
  static const char te[] = RL BASE "Transfer-Encoding: chunked\r\n\r\n";
  (void)state;
  expect(RL BASE "Content-Length: 5\r\n\r\n", WS_DIAG_HS_BODY);
  expect(RL BASE "Content-Length: x\r\n\r\n", WS_DIAG_HS_BODY);
  expect(RL BASE "Content-Length:\r\n\r\n", WS_DIAG_HS_BODY);
  expect(RL BASE "Content-Length: 0\r\n\r\n", WS_DIAG_NONE);
  tmem_init(&tm, 0);
  assert_int_equal(run_len(g_cfg, &tm, te, strlen(te), &hs, &detail),
                   WS_DIAG_HS_BODY);
  assert_string_equal(detail, "Transfer-Encoding");
  expect_response(WS_DIAG_HS_BODY, "HTTP/1.1 400 Bad Request\r\n", NULL);
}

static void test_row_head_too_large(void **state) {
  char req[8300];
  size_t n;
  (void)state;
  /* the default limit is 8192 bytes */
  assert_int_equal(g_cfg->max_head_bytes, 8192);
  n = (size_t)snprintf(req, sizeof(req), RL BASE "X-Pad: ");
  memset(req + n, 'a', 8200 - n);
  memcpy(req + 8200, "\r\n\r\n", 5);
  expect(req, WS_DIAG_HS_HEAD_TOO_LARGE);
  expect_response(WS_DIAG_HS_HEAD_TOO_LARGE,
                  "HTTP/1.1 431 Request Header Fields Too Large\r\n", NULL);
}

static void test_row_origin(void **state) {
  ws_config *cfg = tu_config(
      "{\"origins\":[\"https://example.com\",\"https://b.example\"]}");
  tmem tm;
  ws_handshake hs;
  (void)state;
  expect_cfg(cfg, VALID, WS_DIAG_HS_ORIGIN);
  expect_cfg(cfg, RL BASE "Origin: https://evil.example\r\n\r\n",
             WS_DIAG_HS_ORIGIN);
  expect_cfg(cfg, RL BASE "Origin: https://example.com.evil\r\n\r\n",
             WS_DIAG_HS_ORIGIN);
  expect_cfg(cfg, RL BASE "Origin: null\r\n\r\n", WS_DIAG_HS_ORIGIN);
  expect_cfg(cfg, RL BASE "Origin: https://b.example\r\n\r\n", WS_DIAG_NONE);
  tmem_init(&tm, 0);
  parse_ok(cfg, &tm, RL BASE "Origin: HTTPS://EXAMPLE.COM\r\n\r\n", &hs);
  assert_str(hs.origin, "HTTPS://EXAMPLE.COM");
  ws_handshake_release(&tm.m, &hs);
  /* with no allow-list, any or no Origin passes */
  expect(VALID, WS_DIAG_NONE);
  expect(RL BASE "Origin: https://evil.example\r\n\r\n", WS_DIAG_NONE);
  expect_response(WS_DIAG_HS_ORIGIN, "HTTP/1.1 403 Forbidden\r\n", NULL);
  ws_config_free(cfg);
}

static void test_row_nomem(void **state) {
  static const char req[] =
      "GET /chat?access_token=abc HTTP/1.1\r\n" BASE "\r\n";
  tmem tm;
  ws_handshake hs;
  (void)state;
  tmem_init(&tm, 1);
  assert_int_equal(run_len(g_cfg, &tm, req, strlen(req), &hs, NULL),
                   WS_DIAG_HS_NOMEM);
  assert_null(hs.token_buf);
  assert_int_equal(tm.ca.live_blocks, 0);
  assert_int_equal(tm.ca.failed_allocs, 1);
  expect_response(WS_DIAG_HS_NOMEM, "HTTP/1.1 503 Service Unavailable\r\n",
                  "Retry-After: 1");
}

/* The auth/context rows are decided elsewhere, but their HTTP responses are
 * written here. */
static void test_row_auth_responses(void **state) {
  char out[512];
  size_t n;
  (void)state;
  expect_response(WS_DIAG_AUTH_NO_TOKEN, "HTTP/1.1 401 Unauthorized\r\n",
                  "WWW-Authenticate: Bearer");
  n = ws_http_error_response(WS_DIAG_AUTH_NO_TOKEN, "x", out, sizeof(out) - 1);
  out[n] = '\0';
  assert_null(strstr(out, "error="));
  expect_response(WS_DIAG_AUTH_EXPIRED, "HTTP/1.1 401 Unauthorized\r\n",
                  "WWW-Authenticate: Bearer error=\"invalid_token\"");
  expect_response(WS_DIAG_AUTH_SIG_INVALID, "HTTP/1.1 401 Unauthorized\r\n",
                  "WWW-Authenticate: Bearer error=\"invalid_token\"");
  expect_response(WS_DIAG_AUTH_NOMEM, "HTTP/1.1 503 Service Unavailable\r\n",
                  "Retry-After: 1");
  expect_response(WS_DIAG_CTX_IDGEN_EXHAUSTED,
                  "HTTP/1.1 503 Service Unavailable\r\n", "Retry-After: 1");
  expect_response(WS_DIAG_CTX_ATTR_USER_ID,
                  "HTTP/1.1 500 Internal Server Error\r\n", NULL);
  expect_response(WS_DIAG_HS_TOO_MANY_HEADERS,
                  "HTTP/1.1 431 Request Header Fields Too Large\r\n", NULL);
}

/* ---- error response bytes ---- */

static void test_error_response_exact(void **state) {
  static const char want[] =
      "HTTP/1.1 405 Method Not Allowed\r\n"
      "Content-Type: text/plain; charset=utf-8\r\n"
      "Content-Length: 9\r\n"
      "Connection: close\r\n"
      "Allow: GET\r\n"
      "\r\n"
      "HS_METHOD";
  static const char want_empty[] =
      "HTTP/1.1 400 Bad Request\r\n"
      "Content-Type: text/plain; charset=utf-8\r\n"
      "Content-Length: 0\r\n"
      "Connection: close\r\n"
      "\r\n";
  char out[300];
  size_t n, cap;
  (void)state;
  n = ws_http_error_response(WS_DIAG_HS_METHOD, "HS_METHOD", out, sizeof(out));
  assert_int_equal(n, sizeof(want) - 1);
  assert_memory_equal(out, want, n);
  /* exactly enough room works; any less gives 0 and no write past cap */
  for (cap = 0; cap <= n; cap++) {
    memset(out, '#', sizeof(out));
    assert_int_equal(
        ws_http_error_response(WS_DIAG_HS_METHOD, "HS_METHOD", out, cap),
        cap == n ? n : 0);
    assert_int_equal(out[cap], '#');
  }
  n = ws_http_error_response(WS_DIAG_HS_HOST, NULL, out, sizeof(out));
  assert_int_equal(n, sizeof(want_empty) - 1);
  assert_memory_equal(out, want_empty, n);
  /* diagnoses that never end a session with HTTP */
  assert_int_equal(
      ws_http_error_response(WS_DIAG_FRAME_UTF8, "x", out, sizeof(out)), 0);
  assert_int_equal(ws_http_error_response(WS_DIAG_NONE, "x", out, sizeof(out)),
                   0);
  assert_int_equal(
      ws_http_error_response(WS_DIAG_HS_INCOMPLETE, "x", out, sizeof(out)), 0);
}

/* ---- scanner ---- */

typedef struct scan_res {
  ws_head_status st;
  size_t head_len;
  ws_diag d;
} scan_res;

/* Feeds in[0..n) in pieces whose ends are cuts[] (ascending, last == n). */
static scan_res scan_cuts(const char *in, size_t max, const size_t *cuts,
                          size_t ncuts) {
  ws_head_scanner s;
  scan_res r = {WS_HEAD_MORE, 0, WS_DIAG_NONE};
  size_t i;
  ws_head_scan_init(&s);
  for (i = 0; i < ncuts; i++) {
    r.st =
        ws_head_scan(&s, (const uint8_t *)in, cuts[i], max, &r.head_len, &r.d);
    if (r.st != WS_HEAD_MORE) break;
    assert_int_equal(r.d, WS_DIAG_NONE);
    assert_int_equal(r.head_len, 0);
  }
  return r;
}

static void check_split_invariance(const char *in, size_t n, size_t max,
                                   scan_res want) {
  size_t cuts[2], i;
  scan_res r;
  /* whole */
  cuts[0] = n;
  r = scan_cuts(in, max, cuts, 1);
  assert_int_equal(r.st, want.st);
  assert_int_equal(r.head_len, want.head_len);
  assert_int_equal(r.d, want.d);
  /* byte by byte */
  {
    size_t *all = malloc((n + 1) * sizeof(size_t));
    assert_non_null(all);
    for (i = 0; i < n; i++) all[i] = i + 1;
    r = scan_cuts(in, max, all, n);
    free(all);
  }
  assert_int_equal(r.st, want.st);
  assert_int_equal(r.head_len, want.head_len);
  assert_int_equal(r.d, want.d);
  /* every two-piece split */
  for (i = 0; i <= n; i++) {
    cuts[0] = i;
    cuts[1] = n;
    r = scan_cuts(in, max, cuts, 2);
    assert_int_equal(r.st, want.st);
    assert_int_equal(r.head_len, want.head_len);
    assert_int_equal(r.d, want.d);
  }
}

static void test_scan_split_invariance(void **state) {
  static const char valid_pipelined[] = VALID
      "\x81\x85\x37\xfa\x21\x3d"
      "\r\n\r\n";
  static const char nul[] = RL "X: \0\r\n\r\n";
  static const struct {
    const char *in;
    size_t n, max;
    scan_res want;
  } cases[] = {
      {VALID,
       sizeof(VALID) - 1,
       8192,
       {WS_HEAD_DONE, sizeof(VALID) - 1, WS_DIAG_NONE}},
      {valid_pipelined,
       sizeof(valid_pipelined) - 1,
       8192,
       {WS_HEAD_DONE, sizeof(VALID) - 1, WS_DIAG_NONE}},
      {RL BASE, sizeof(RL BASE) - 1, 8192, {WS_HEAD_MORE, 0, WS_DIAG_NONE}},
      {RL BASE "\r",
       sizeof(RL BASE "\r") - 1,
       8192,
       {WS_HEAD_MORE, 0, WS_DIAG_NONE}},
      {nul, sizeof(nul) - 1, 8192, {WS_HEAD_ERROR, 0, WS_DIAG_HS_BAD_BYTE}},
      {RL "X: a\rb\r\n\r\n",
       sizeof(RL "X: a\rb\r\n\r\n") - 1,
       8192,
       {WS_HEAD_ERROR, 0, WS_DIAG_HS_BAD_BYTE}},
      {RL "X: a\n\r\n",
       sizeof(RL "X: a\n\r\n") - 1,
       8192,
       {WS_HEAD_ERROR, 0, WS_DIAG_HS_BAD_BYTE}},
      {RL "\r\r\n",
       sizeof(RL "\r\r\n") - 1,
       8192,
       {WS_HEAD_ERROR, 0, WS_DIAG_HS_BAD_BYTE}},
      {RL "\r\n\r\n",
       sizeof(RL "\r\n\r\n") - 1,
       8192,
       {WS_HEAD_DONE, sizeof(RL "\r\n") - 1, WS_DIAG_NONE}},
      /* too large wins when the bad byte lies past the limit */
      {VALID "\0",
       sizeof(VALID),
       20,
       {WS_HEAD_ERROR, 0, WS_DIAG_HS_HEAD_TOO_LARGE}},
      /* and a bad byte within the limit wins over too large */
      {"GET\0/", 5, 4, {WS_HEAD_ERROR, 0, WS_DIAG_HS_BAD_BYTE}},
  };
  size_t i;
  (void)state;
  for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    check_split_invariance(cases[i].in, cases[i].n, cases[i].max,
                           cases[i].want);
}

static void test_scan_more_is_not_malformed(void **state) {
  ws_head_scanner s;
  size_t hl = 99;
  ws_diag d = WS_DIAG_HS_HOST;
  static const char a[] = "GET / HTTP/1.1\r";
  static const char b[] = "GET / HTTP/1.1\rX";
  (void)state;
  ws_head_scan_init(&s);
  assert_int_equal(
      ws_head_scan(&s, (const uint8_t *)a, sizeof(a) - 1, 8192, &hl, &d),
      WS_HEAD_MORE);
  assert_int_equal(d, WS_DIAG_NONE);
  assert_int_equal(hl, 0);
  assert_int_equal(s.pos, sizeof(a) - 1);
  /* the same prefix, continued with a byte that makes the CR bare */
  assert_int_equal(
      ws_head_scan(&s, (const uint8_t *)b, sizeof(b) - 1, 8192, &hl, &d),
      WS_HEAD_ERROR);
  assert_int_equal(d, WS_DIAG_HS_BAD_BYTE);
  /* sticky */
  d = WS_DIAG_NONE;
  assert_int_equal(
      ws_head_scan(&s, (const uint8_t *)b, sizeof(b) - 1, 8192, &hl, &d),
      WS_HEAD_ERROR);
  assert_int_equal(d, WS_DIAG_HS_BAD_BYTE);
  /* DONE is sticky too */
  ws_head_scan_init(&s);
  assert_int_equal(ws_head_scan(&s, (const uint8_t *)VALID, sizeof(VALID) - 1,
                                8192, &hl, &d),
                   WS_HEAD_DONE);
  hl = 0;
  assert_int_equal(ws_head_scan(&s, (const uint8_t *)VALID, sizeof(VALID) - 1,
                                8192, &hl, &d),
                   WS_HEAD_DONE);
  assert_int_equal(hl, sizeof(VALID) - 1);
  assert_int_equal(d, WS_DIAG_NONE);
}

/* Random corruptions of a valid head (deterministic seed): the scanner's
 * answer does not depend on the split, and a head it accepted never gets
 * HS_BAD_BYTE from the parser (the two agree on what a bad byte is). */
static void test_scan_random_corruptions(void **state) {
  static const char alphabet[] = "\r\n\0\t :,;/=%?#aZ\x7f\x01\x80";
  uint64_t seed = 0x243f6a8885a308d3ull;
  size_t iter;
  (void)state;
  for (iter = 0; iter < 500; iter++) {
    char req[sizeof(VALID)];
    size_t n = sizeof(VALID) - 1, k, flips;
    scan_res want;
    memcpy(req, VALID, sizeof(VALID));
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    flips = 1 + (size_t)(seed >> 60) % 3;
    for (k = 0; k < flips; k++) {
      seed = seed * 6364136223846793005ull + 1442695040888963407ull;
      req[(seed >> 33) % n] = alphabet[(seed >> 20) % (sizeof(alphabet) - 1)];
    }
    {
      size_t cut = n;
      want = scan_cuts(req, 8192, &cut, 1);
    }
    check_split_invariance(req, n, 8192, want);
    if (want.st == WS_HEAD_DONE) {
      tmem tm;
      ws_handshake hs;
      ws_diag d;
      tmem_init(&tm, 0);
      d = ws_handshake_parse(&tm.m, g_cfg, req, want.head_len, &hs, NULL);
      assert_int_not_equal(d, WS_DIAG_HS_BAD_BYTE);
      ws_handshake_release(&tm.m, &hs);
      assert_int_equal(tm.ca.live_blocks, 0);
    } else if (want.st == WS_HEAD_ERROR) {
      assert_int_equal(want.d, WS_DIAG_HS_BAD_BYTE);
    }
  }
}

/* Builds a valid request of exactly n bytes (n >= 200) into buf. */
static void sized_request(char *buf, size_t n) {
  size_t k = (size_t)snprintf(buf, n, RL BASE "X-Pad: ");
  assert_true(k + 4 < n);
  memset(buf + k, 'p', n - 4 - k);
  memcpy(buf + n - 4, "\r\n\r\n", 4);
  buf[n] = '\0';
}

static void test_scan_head_limit(void **state) {
  char req[600];
  ws_config *cfg = tu_config("{\"max_head_bytes\":512}");
  ws_head_scanner s;
  size_t hl, i;
  ws_diag d;
  (void)state;
  sized_request(req, 512);
  check_split_invariance(req, 512, 512,
                         (scan_res){WS_HEAD_DONE, 512, WS_DIAG_NONE});
  expect_cfg(cfg, req, WS_DIAG_NONE);
  sized_request(req, 513);
  check_split_invariance(
      req, 513, 512, (scan_res){WS_HEAD_ERROR, 0, WS_DIAG_HS_HEAD_TOO_LARGE});
  expect_cfg(cfg, req, WS_DIAG_HS_HEAD_TOO_LARGE);
  /* fail fast: answered once 512 bytes are in, without waiting for more */
  ws_head_scan_init(&s);
  for (i = 1; i < 512; i++)
    assert_int_equal(ws_head_scan(&s, (const uint8_t *)req, i, 512, &hl, &d),
                     WS_HEAD_MORE);
  assert_int_equal(ws_head_scan(&s, (const uint8_t *)req, 512, 512, &hl, &d),
                   WS_HEAD_ERROR);
  assert_int_equal(d, WS_DIAG_HS_HEAD_TOO_LARGE);
  ws_config_free(cfg);
}

static void test_max_headers(void **state) {
  ws_config *cfg = tu_config("{\"max_headers\":8}");
  char req[1024];
  tmem tm;
  ws_handshake hs;
  (void)state;
  /* 5 base headers + 3 = 8: at the limit */
  snprintf(req, sizeof(req), RL BASE "A: 1\r\nB: 2\r\nC: 3\r\n\r\n");
  tmem_init(&tm, 0);
  parse_ok(cfg, &tm, req, &hs);
  assert_int_equal(hs.n_headers, 8);
  ws_handshake_release(&tm.m, &hs);
  snprintf(req, sizeof(req), RL BASE "A: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n");
  expect_cfg(cfg, req, WS_DIAG_HS_TOO_MANY_HEADERS);
  ws_config_free(cfg);
}

/* ---- token sources ---- */

typedef struct tok_case {
  const char *req;
  ws_token_source src;
  const char *token;
  const char *subprotocol;
} tok_case;

static void check_tokens(const ws_config *cfg, const tok_case *c, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) {
    tmem tm;
    ws_handshake hs;
    size_t len = strlen(c[i].req);
    tmem_init(&tm, 0);
    parse_ok(cfg, &tm, c[i].req, &hs);
    if (hs.token_source != c[i].src)
      fail_msg("case %zu: source %d, want %d", i, (int)hs.token_source,
               (int)c[i].src);
    if (c[i].token) {
      assert_str(hs.token, c[i].token);
    } else {
      assert_int_equal(hs.token.n, 0);
    }
    assert_str(hs.subprotocol, c[i].subprotocol);
    if (hs.subprotocol.n) assert_true(inside(hs.subprotocol, c[i].req, len));
    if (hs.token_source == WS_TOKEN_QUERY) {
      assert_non_null(hs.token_buf);
      assert_ptr_equal(hs.token.p, hs.token_buf);
      assert_int_equal(hs.token_buf[hs.token.n], '\0');
      assert_int_equal(tm.ca.live_blocks, 1);
    } else {
      assert_null(hs.token_buf);
      assert_int_equal(tm.ca.total_allocs, 0);
      if (hs.token_source != WS_TOKEN_NONE)
        assert_true(inside(hs.token, c[i].req, len));
    }
    ws_handshake_release(&tm.m, &hs);
    assert_null(hs.token_buf);
    assert_int_equal(tm.ca.live_blocks, 0);
  }
}

#define Q(target) "GET " target " HTTP/1.1\r\n" BASE
static void test_token_sources(void **state) {
  static const tok_case c[] = {
      {RL BASE "\r\n", WS_TOKEN_NONE, NULL, ""},
      {RL BASE "Authorization: Bearer abc.def.ghi\r\n\r\n",
       WS_TOKEN_AUTHORIZATION, "abc.def.ghi", ""},
      {RL BASE "authorization: bEaReR    abc.def  \r\n\r\n",
       WS_TOKEN_AUTHORIZATION, "abc.def", ""},
      {RL BASE "Authorization: Bearer\t \tabc\r\n\r\n", WS_TOKEN_AUTHORIZATION,
       "abc", ""},
      /* "Bearer" with no token: an empty token, which auth rejects */
      {RL BASE "Authorization: Bearer\r\n\r\n", WS_TOKEN_AUTHORIZATION, "", ""},
      {RL BASE "Authorization: Bearer   \r\n\r\n", WS_TOKEN_AUTHORIZATION, "",
       ""},
      /* other schemes are not token sources */
      {RL BASE "Authorization: Basic dXNlcjpwYXNz\r\n\r\n", WS_TOKEN_NONE, NULL,
       ""},
      {RL BASE "Authorization: Bearerabc\r\n\r\n", WS_TOKEN_NONE, NULL, ""},
      {RL BASE "Sec-WebSocket-Protocol: bearer, abc.def\r\n\r\n",
       WS_TOKEN_PROTOCOL, "abc.def", "bearer"},
      {RL BASE
       "Sec-WebSocket-Protocol: bearer\r\nSec-WebSocket-Protocol: abc\r\n\r\n",
       WS_TOKEN_PROTOCOL, "abc", "bearer"},
      /* "bearer" last, with no token after it: no pair */
      {RL BASE "Sec-WebSocket-Protocol: x, bearer\r\n\r\n", WS_TOKEN_NONE, NULL,
       ""},
      {Q("/chat?access_token=abc.def") "\r\n", WS_TOKEN_QUERY, "abc.def", ""},
      {Q("/chat?a=1&access_token=ab%2Ecd+e%41&b=2") "\r\n", WS_TOKEN_QUERY,
       "ab.cd eA", ""},
      {Q("/chat?access_token=&access_token=x") "\r\n", WS_TOKEN_QUERY, "", ""},
      {Q("/chat?access_token") "\r\n", WS_TOKEN_QUERY, "", ""},
      {Q("/chat?access_token=1&access_token=2") "\r\n", WS_TOKEN_QUERY, "1",
       ""},
      {Q("/chat?xaccess_token=1&access_token2=2&Access_token=3") "\r\n",
       WS_TOKEN_NONE, NULL, ""},
      {Q("/access_token=1") "\r\n", WS_TOKEN_NONE, NULL, ""},
      /* precedence: Authorization, then the protocol pair, then the query */
      {Q("/chat?access_token=q") "Authorization: Bearer a\r\n"
                                 "Sec-WebSocket-Protocol: bearer, p\r\n\r\n",
       WS_TOKEN_AUTHORIZATION, "a", ""},
      {Q("/chat?access_token=q") "Sec-WebSocket-Protocol: bearer, p\r\n"
                                 "Authorization: Bearer a\r\n\r\n",
       WS_TOKEN_AUTHORIZATION, "a", ""},
      {Q("/chat?access_token=q") "Sec-WebSocket-Protocol: bearer, p\r\n\r\n",
       WS_TOKEN_PROTOCOL, "p", "bearer"},
      {Q("/chat?access_token=q") "Authorization: Basic Zm9v\r\n\r\n",
       WS_TOKEN_QUERY, "q", ""},
      {Q("/chat?access_token=q") "Authorization: Basic Zm9v\r\n"
                                 "Sec-WebSocket-Protocol: bearer, p\r\n\r\n",
       WS_TOKEN_PROTOCOL, "p", "bearer"},
  };
  (void)state;
  check_tokens(g_cfg, c, sizeof(c) / sizeof(c[0]));
}

static void test_token_query_nomem_then_ok(void **state) {
  static const char req[] =
      "GET /chat?access_token=a%2Bb HTTP/1.1\r\n" BASE "\r\n";
  tmem tm;
  ws_handshake hs;
  (void)state;
  tmem_init(&tm, 1);
  assert_int_equal(
      ws_handshake_parse(&tm.m, g_cfg, req, strlen(req), &hs, NULL),
      WS_DIAG_HS_NOMEM);
  assert_int_equal(hs.token_source, WS_TOKEN_NONE);
  assert_int_equal(tm.ca.live_blocks, 0);
  tmem_init(&tm, 2); /* the one allocation succeeds */
  assert_int_equal(
      ws_handshake_parse(&tm.m, g_cfg, req, strlen(req), &hs, NULL),
      WS_DIAG_NONE);
  assert_str(hs.token, "a+b");
  assert_int_equal(tm.ca.total_allocs, 1);
  ws_handshake_release(&tm.m, &hs);
  assert_int_equal(tm.ca.live_blocks, 0);
  ws_handshake_release(&tm.m, NULL); /* harmless */
}

/* ---- subprotocols ---- */

static void test_subprotocol_selection(void **state) {
  ws_config *cfg = tu_config("{\"subprotocols\":[\"chat\",\"superchat\"]}");
  static const tok_case c[] = {
      {RL BASE "Sec-WebSocket-Protocol: superchat, chat\r\n\r\n", WS_TOKEN_NONE,
       NULL, "superchat"},
      {RL BASE "Sec-WebSocket-Protocol: foo,chat\r\n\r\n", WS_TOKEN_NONE, NULL,
       "chat"},
      {RL BASE
       "Sec-WebSocket-Protocol: foo\r\nSec-WebSocket-Protocol: chat\r\n\r\n",
       WS_TOKEN_NONE, NULL, "chat"},
      {RL BASE "Sec-WebSocket-Protocol: chat,,superchat\r\n\r\n", WS_TOKEN_NONE,
       NULL, "chat"},
      /* case-sensitive (RFC 6455 4.1), never one not offered */
      {RL BASE "Sec-WebSocket-Protocol: Chat, SUPERCHAT\r\n\r\n", WS_TOKEN_NONE,
       NULL, ""},
      {RL BASE "Sec-WebSocket-Protocol: foo\r\n\r\n", WS_TOKEN_NONE, NULL, ""},
      {RL BASE "\r\n", WS_TOKEN_NONE, NULL, ""},
      /* the token pair selects "bearer", never the token, even when its text
       * names a supported subprotocol */
      {RL BASE "Sec-WebSocket-Protocol: bearer, chat\r\n\r\n",
       WS_TOKEN_PROTOCOL, "chat", "bearer"},
      {RL BASE "Sec-WebSocket-Protocol: chat, bearer, tok\r\n\r\n",
       WS_TOKEN_PROTOCOL, "tok", "bearer"},
      /* token from Authorization: the pair is not a source, so neither
       * "bearer" nor the element after it is selected */
      {RL BASE "Authorization: Bearer t\r\n"
               "Sec-WebSocket-Protocol: bearer, chat, superchat\r\n\r\n",
       WS_TOKEN_AUTHORIZATION, "t", "superchat"},
      {RL BASE "Authorization: Bearer t\r\nSec-WebSocket-Protocol: bearer, "
               "chat\r\n\r\n",
       WS_TOKEN_AUTHORIZATION, "t", ""},
      /* "Bearer" is not "bearer" (case-sensitive) */
      {RL BASE "Sec-WebSocket-Protocol: Bearer, chat\r\n\r\n", WS_TOKEN_NONE,
       NULL, "chat"},
  };
  (void)state;
  check_tokens(cfg, c, sizeof(c) / sizeof(c[0]));
  /* with no configured subprotocols, only "bearer" can be selected */
  {
    static const tok_case d[] = {
        {RL BASE "Sec-WebSocket-Protocol: chat\r\n\r\n", WS_TOKEN_NONE, NULL,
         ""},
        {RL BASE "Sec-WebSocket-Protocol: bearer, x\r\n\r\n", WS_TOKEN_PROTOCOL,
         "x", "bearer"},
    };
    check_tokens(g_cfg, d, sizeof(d) / sizeof(d[0]));
  }
  ws_config_free(cfg);
}

static void test_protocol_syntax(void **state) {
  (void)state;
  expect(RL BASE "Sec-WebSocket-Protocol: chat, a b\r\n\r\n",
         WS_DIAG_HS_PROTOCOL_SYNTAX);
  expect(RL BASE "Sec-WebSocket-Protocol: chat;v=1\r\n\r\n",
         WS_DIAG_HS_PROTOCOL_SYNTAX);
  expect(RL BASE "Sec-WebSocket-Protocol: \"chat\"\r\n\r\n",
         WS_DIAG_HS_PROTOCOL_SYNTAX);
  expect(RL BASE "Sec-WebSocket-Protocol:\r\n\r\n", WS_DIAG_HS_PROTOCOL_SYNTAX);
  expect(RL BASE "Sec-WebSocket-Protocol: , ,\r\n\r\n",
         WS_DIAG_HS_PROTOCOL_SYNTAX);
  expect(RL BASE
         "Sec-WebSocket-Protocol: chat\r\nSec-WebSocket-Protocol: x/y\r\n\r\n",
         WS_DIAG_HS_PROTOCOL_SYNTAX);
  expect_response(WS_DIAG_HS_PROTOCOL_SYNTAX, "HTTP/1.1 400 Bad Request\r\n",
                  NULL);
}

/* ---- check order ---- */

static void test_check_order(void **state) {
  ws_config *cfg = tu_config("{\"origins\":[\"https://example.com\"]}");
  (void)state;
  /* request line before everything: the version before the method, the
   * method before the target */
  expect("POST /chat HTTP/1.0\r\n" BASE "\r\n", WS_DIAG_HS_HTTP_VERSION);
  expect("POST * HTTP/1.1\r\n" BASE "\r\n", WS_DIAG_HS_METHOD);
  expect("GET * HTTP/1.1\r\nHost : x\r\n\r\n", WS_DIAG_HS_TARGET);
  /* header lines in order, before the cross-header checks */
  expect(RL L_KEY L_KEY "Host : x\r\n\r\n", WS_DIAG_HS_DUPLICATE_HEADER);
  expect(RL "Host : x\r\n" L_KEY L_KEY "\r\n", WS_DIAG_HS_HEADER_SYNTAX);
  expect(RL "X: 1\r\n y\r\n" L_KEY L_KEY "\r\n", WS_DIAG_HS_OBS_FOLD);
  expect(RL L_KEY "\r\n", WS_DIAG_HS_HOST);
  expect(RL L_HOST L_KEY "\r\n", WS_DIAG_HS_UPGRADE);
  expect(RL L_HOST L_UPG "\r\n", WS_DIAG_HS_CONNECTION);
  expect(RL L_HOST L_UPG L_CONN "Content-Length: 3\r\n\r\n",
         WS_DIAG_HS_KEY_MISSING);
  expect(RL L_HOST L_UPG L_CONN
         "Sec-WebSocket-Key: x\r\nContent-Length: 3\r\n\r\n",
         WS_DIAG_HS_KEY_INVALID);
  expect(RL L_HOST L_UPG L_CONN L_KEY
         "Sec-WebSocket-Version: 8\r\nContent-Length: 3\r\n\r\n",
         WS_DIAG_HS_WS_VERSION);
  expect_cfg(cfg, RL BASE "Content-Length: 3\r\n\r\n", WS_DIAG_HS_BODY);
  expect_cfg(cfg, RL BASE "Sec-WebSocket-Protocol: a b\r\n\r\n",
             WS_DIAG_HS_ORIGIN);
  expect_cfg(
      cfg,
      RL BASE
      "Origin: https://example.com\r\nSec-WebSocket-Protocol: a b\r\n\r\n",
      WS_DIAG_HS_PROTOCOL_SYNTAX);
  ws_config_free(cfg);
}

/* ws_handshake_parse called on bytes that did not come from the scanner:
 * still a diagnosis, never a read past len. */
static void test_parse_unscanned(void **state) {
  tmem tm;
  ws_handshake hs;
  static const char no_end[] = RL BASE;
  static const char ctl[] = RL "X: a\x01\r\n" BASE "\r\n";
  static const char bare_cr[] = RL "X: a\rb\r\n" BASE "\r\n";
  (void)state;
  tmem_init(&tm, 0);
  assert_int_equal(
      ws_handshake_parse(&tm.m, g_cfg, no_end, strlen(no_end), &hs, NULL),
      WS_DIAG_HS_HEADER_SYNTAX);
  assert_int_equal(
      ws_handshake_parse(&tm.m, g_cfg, ctl, strlen(ctl), &hs, NULL),
      WS_DIAG_HS_BAD_BYTE);
  assert_int_equal(
      ws_handshake_parse(&tm.m, g_cfg, bare_cr, strlen(bare_cr), &hs, NULL),
      WS_DIAG_HS_BAD_BYTE);
  assert_int_equal(ws_handshake_parse(&tm.m, g_cfg, RL, 5, &hs, NULL),
                   WS_DIAG_HS_REQUEST_LINE);
  assert_int_equal(ws_handshake_parse(&tm.m, g_cfg, "", 0, &hs, NULL),
                   WS_DIAG_HS_REQUEST_LINE);
  /* every prefix of a valid head: a diagnosis, no overread (ASan) */
  {
    size_t n, len = sizeof(VALID) - 1;
    for (n = 0; n < len; n++) {
      char *copy = malloc(n ? n : 1);
      assert_non_null(copy);
      memcpy(copy, VALID, n);
      assert_int_not_equal(ws_handshake_parse(&tm.m, g_cfg, copy, n, &hs, NULL),
                           WS_DIAG_NONE);
      free(copy);
    }
  }
  assert_int_equal(tm.ca.live_blocks, 0);
}

/* A SHA-1 failure that is not out-of-memory cannot be provoked through
 * OpenSSL after the warm-up; its response is still fixed by the table. */
static void test_internal_response_500(void **st) {
  char out[512];
  size_t n;
  (void)st;
  n = ws_http_error_response(WS_DIAG_HS_INTERNAL, "HS_INTERNAL", out,
                             sizeof(out));
  assert_true(n > 0);
  assert_memory_equal(out, "HTTP/1.1 500 Internal Server Error\r\n", 36);
  assert_memory_equal(out + n - 11, "HS_INTERNAL", 11);
  assert_int_equal(ws_diag_get(WS_DIAG_HS_INTERNAL)->cls, WS_CLASS_INTERNAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_accept_vector),
      cmocka_unit_test(test_accept_response),
      cmocka_unit_test(test_accept_nomem),
      cmocka_unit_test(test_row_valid),
      cmocka_unit_test(test_row_method),
      cmocka_unit_test(test_row_http_version),
      cmocka_unit_test(test_row_request_line),
      cmocka_unit_test(test_row_target),
      cmocka_unit_test(test_absolute_form),
      cmocka_unit_test(test_row_header_syntax),
      cmocka_unit_test(test_row_bad_bytes),
      cmocka_unit_test(test_row_obs_fold),
      cmocka_unit_test(test_row_duplicate),
      cmocka_unit_test(test_row_host),
      cmocka_unit_test(test_row_upgrade),
      cmocka_unit_test(test_row_connection),
      cmocka_unit_test(test_lists_odd_case_and_spacing),
      cmocka_unit_test(test_row_key),
      cmocka_unit_test(test_row_ws_version),
      cmocka_unit_test(test_row_body),
      cmocka_unit_test(test_row_head_too_large),
      cmocka_unit_test(test_row_origin),
      cmocka_unit_test(test_row_nomem),
      cmocka_unit_test(test_row_auth_responses),
      cmocka_unit_test(test_error_response_exact),
      cmocka_unit_test(test_scan_split_invariance),
      cmocka_unit_test(test_scan_more_is_not_malformed),
      cmocka_unit_test(test_scan_random_corruptions),
      cmocka_unit_test(test_scan_head_limit),
      cmocka_unit_test(test_max_headers),
      cmocka_unit_test(test_token_sources),
      cmocka_unit_test(test_token_query_nomem_then_ok),
      cmocka_unit_test(test_subprotocol_selection),
      cmocka_unit_test(test_protocol_syntax),
      cmocka_unit_test(test_check_order),
      cmocka_unit_test(test_parse_unscanned),
      cmocka_unit_test(test_internal_response_500),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
