/* Tests for core/frames.c: the frame loop on wslay's frame API (RFC 6455 5,
 * 7).  Every input is run whole, byte by byte and in random chunkings, and
 * every run must give the same diagnosis, the same messages and the same
 * server bytes, and free every block. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "countalloc.h"
#include "frames.h"
#include "testutil.h"

/* ---- allocator: counting, over the tests' failing allocator -------------- */

typedef tu_failmem mem_fixture; /* fa (requests, failures), ca (live), m */

static void mem_fixture_init(mem_fixture *x) {
  tu_failmem_init(x, 0, 0);
}

/* ---- building client frames ---------------------------------------------- */

static const uint8_t KEY[4] = {0x37, 0xfa, 0x21, 0x3d}; /* RFC 6455 5.7 */

/* Header with the minimal length encoding; declared may differ from the
 * payload that follows (truncation, huge lengths). */
static void put_header(tu_bytes *b, uint8_t b0, int masked, uint64_t declared) {
  uint8_t h[14];
  size_t hl = 0;
  int i;
  uint8_t m = masked ? 0x80 : 0;
  h[hl++] = b0;
  if (declared < 126) {
    h[hl++] = (uint8_t)(m | declared);
  } else if (declared <= 0xffff) {
    h[hl++] = m | 126;
    h[hl++] = (uint8_t)(declared >> 8);
    h[hl++] = (uint8_t)declared;
  } else {
    h[hl++] = m | 127;
    for (i = 0; i < 8; i++) h[hl++] = (uint8_t)(declared >> (56 - 8 * i));
  }
  if (masked) {
    memcpy(h + hl, KEY, 4);
    hl += 4;
  }
  tu_put(b, h, hl);
}

/* Payload bytes masked from offset off of the frame's payload. */
static void put_masked(tu_bytes *b, const void *payload, size_t n, size_t off) {
  const uint8_t *p = payload;
  size_t i;
  for (i = 0; i < n; i++) {
    uint8_t c = (uint8_t)(p[i] ^ KEY[(off + i) % 4]);
    tu_put(b, &c, 1);
  }
}

/* A whole frame: b0 is fin|rsv|opcode. */
static void put_frame_b0(tu_bytes *b, uint8_t b0, int masked,
                         const void *payload, size_t n) {
  put_header(b, b0, masked, n);
  if (masked)
    put_masked(b, payload, n, 0);
  else
    tu_put(b, payload, n);
}

static void put_frame(tu_bytes *b, int fin, int opcode, const void *payload,
                      size_t n) {
  put_frame_b0(b, (uint8_t)((fin ? 0x80 : 0) | opcode), 1, payload, n);
}

static void put_text(tu_bytes *b, const char *s) {
  put_frame(b, 1, 0x1, s, strlen(s));
}

/* A masked close frame with a 2-byte code and a reason of rn bytes. */
static void put_close(tu_bytes *b, unsigned code, const void *reason,
                      size_t rn) {
  uint8_t p[125];
  p[0] = (uint8_t)(code >> 8);
  p[1] = (uint8_t)code;
  if (rn) memcpy(p + 2, reason, rn);
  put_frame(b, 1, 0x8, p, 2 + rn);
}

/* ---- running the loop ---------------------------------------------------- */

typedef struct run_opts {
  size_t max;  /* max_message_bytes */
  int echo;    /* on_text sends the message back */
  int stop_at; /* on_text returns stop_diag on message #stop_at */
  ws_diag stop_diag;
  int no_eof;            /* do not call ws_frames_eof after the input */
  unsigned long fail_at; /* allocation to fail (counted from ws_frames_new) */
  int fail_from;
} run_opts;

typedef struct run_result {
  ws_diag diag;
  uint16_t peer_close;
  tu_bytes out;  /* server bytes */
  tu_bytes msgs; /* each message: 4-byte length, then its bytes */
  size_t n_msgs;
  size_t live_after; /* blocks left after ws_frames_free */
  int send_fail;     /* on_text's send_text returned != 0 */
} run_result;

typedef struct handler_ctx {
  const run_opts *o;
  run_result *r;
  ws_frames *f;
} handler_ctx;

static ws_diag on_text(void *ud, const uint8_t *msg, size_t len) {
  handler_ctx *h = ud;
  uint8_t l[4];
  assert_non_null(msg);
  l[0] = (uint8_t)(len >> 24);
  l[1] = (uint8_t)(len >> 16);
  l[2] = (uint8_t)(len >> 8);
  l[3] = (uint8_t)len;
  tu_put(&h->r->msgs, l, 4);
  if (len) tu_put(&h->r->msgs, msg, len);
  h->r->n_msgs++;
  if (h->o->echo && ws_frames_send_text(h->f, msg, len) != WS_FRAMES_SENT)
    h->r->send_fail = 1;
  if (h->o->stop_at && (int)h->r->n_msgs == h->o->stop_at)
    return h->o->stop_diag;
  return WS_DIAG_NONE;
}

static uint64_t rng_next(uint64_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

#define CH_WHOLE 0
#define CH_BYTE 1
#define CH_RANDOM 2

static size_t chunk_len(int mode, uint64_t *rng, size_t left) {
  size_t n;
  if (mode == CH_WHOLE) return left;
  if (mode == CH_BYTE) return 1;
  /* Mix tiny pieces (inside headers) with large ones (past wslay's buffer). */
  n = (rng_next(rng) & 3) ? 1 + rng_next(rng) % 17 : 1 + rng_next(rng) % 9000;
  return n < left ? n : left;
}

static void run(const uint8_t *in, size_t len, const run_opts *o, int mode,
                uint64_t seed, run_result *r) {
  mem_fixture x;
  ws_buf out = {0};
  ws_frames *f = NULL;
  ws_frames_handler h;
  handler_ctx hc;
  size_t pos = 0;
  uint64_t rng = seed * 0x9e3779b97f4a7c15ull + 1;
  ws_diag d = WS_DIAG_NONE;

  memset(r, 0, sizeof(*r));
  mem_fixture_init(&x);
  hc.o = o;
  hc.r = r;
  h.on_text = on_text;
  h.ud = &hc;
  assert_int_equal(ws_frames_new(&f, &x.m, o->max, &out, &h), 0);
  assert_non_null(f);
  hc.f = f;
  x.fa.fail_at = o->fail_at ? x.fa.calls + o->fail_at : 0;
  x.fa.fail_from = o->fail_from;

  while (pos < len) {
    size_t n = chunk_len(mode, &rng, len - pos);
    d = ws_frames_recv(f, in + pos, n);
    pos += n;
    if (d != WS_DIAG_NONE) break;
  }
  if (d != WS_DIAG_NONE) {
    /* Sticky: later input is ignored and the same diagnosis returned. */
    assert_int_equal(ws_frames_recv(f, in, len), d);
    assert_int_equal(ws_frames_eof(f), d);
  } else if (!o->no_eof) {
    d = ws_frames_eof(f);
  }
  r->diag = d;
  r->peer_close = ws_frames_peer_close(f);
  if (out.len) tu_put(&r->out, out.data, out.len);
  x.fa.fail_at = 0;
  ws_frames_free(f);
  ws_buf_free(&out, &x.m);
  r->live_after = x.ca.live_blocks;
}

static void result_free(run_result *r) {
  tu_bytes_free(&r->out);
  tu_bytes_free(&r->msgs);
}

static void assert_same(const run_result *a, const run_result *b) {
  assert_int_equal(a->diag, b->diag);
  assert_int_equal(a->peer_close, b->peer_close);
  assert_int_equal(a->n_msgs, b->n_msgs);
  assert_int_equal(a->out.n, b->out.n);
  if (a->out.n) assert_memory_equal(a->out.p, b->out.p, a->out.n);
  assert_int_equal(a->msgs.n, b->msgs.n);
  if (a->msgs.n) assert_memory_equal(a->msgs.p, b->msgs.p, a->msgs.n);
}

#define N_RANDOM 12

/* Runs in whole, byte by byte (inputs up to 256 KiB) and in N_RANDOM random
 * chunkings; asserts all agree, nothing leaks, and the diagnosis is want.
 * Leaves the whole-input run in *r. */
static void check(const tu_bytes *in, const run_opts *o, ws_diag want,
                  run_result *r) {
  run_result other;
  uint64_t seed;
  run(in->p, in->n, o, CH_WHOLE, 0, r);
  assert_int_equal(r->live_after, 0);
  if (r->diag != want) {
    print_error("diag %s, want %s\n",
                r->diag ? ws_diag_get(r->diag)->code : "NONE",
                want ? ws_diag_get(want)->code : "NONE");
  }
  assert_int_equal(r->diag, want);
  if (in->n <= 256 * 1024) {
    run(in->p, in->n, o, CH_BYTE, 0, &other);
    assert_int_equal(other.live_after, 0);
    assert_same(r, &other);
    result_free(&other);
  }
  for (seed = 1; seed <= N_RANDOM; seed++) {
    run(in->p, in->n, o, CH_RANDOM, seed, &other);
    assert_int_equal(other.live_after, 0);
    assert_same(r, &other);
    result_free(&other);
  }
}

static const run_opts DEFAULT_OPTS = {1024 * 1024, 0, 0, WS_DIAG_NONE, 0, 0, 0};

/* Checks with default options; frees the result. */
static void expect_diag(const tu_bytes *in, ws_diag want) {
  run_result r;
  check(in, &DEFAULT_OPTS, want, &r);
  result_free(&r);
}

/* Asserts the wire close code of d (RFC 6455 7.4.1 via the diag table). */
static void assert_close(ws_diag d, int code) {
  const ws_diag_info *i = ws_diag_get(d);
  assert_non_null(i);
  assert_int_equal(i->close_code, code);
}

static void assert_msg(const run_result *r, size_t idx, const void *p,
                       size_t n) {
  size_t off = 0, i, l;
  for (i = 0;; i++) {
    assert_true(off + 4 <= r->msgs.n);
    l = (size_t)r->msgs.p[off] << 24 | (size_t)r->msgs.p[off + 1] << 16 |
        (size_t)r->msgs.p[off + 2] << 8 | r->msgs.p[off + 3];
    if (i == idx) break;
    off += 4 + l;
  }
  assert_int_equal(l, n);
  if (n) assert_memory_equal(r->msgs.p + off + 4, p, n);
}

static void assert_out(const run_result *r, const void *p, size_t n) {
  assert_int_equal(r->out.n, n);
  if (n) assert_memory_equal(r->out.p, p, n);
}

static void raw(tu_bytes *b, const char *bytes, size_t n) {
  tu_put(b, bytes, n);
}

/* ---- RFC 6455 5.7 examples ----------------------------------------------- */

static void test_rfc_masked_hello(void **state) {
  static const char in[] = "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58";
  tu_bytes b = {0};
  run_result r;
  (void)state;
  raw(&b, in, 11);
  check(&b, &DEFAULT_OPTS, WS_DIAG_EOF_CLEAN, &r);
  assert_int_equal(r.n_msgs, 1);
  assert_msg(&r, 0, "Hello", 5);
  assert_int_equal(r.out.n, 0);
  assert_int_equal(ws_diag_get(r.diag)->cls, WS_CLASS_NONE);
  assert_close(r.diag, 0);
  result_free(&r);
  tu_bytes_free(&b);
}

static void test_rfc_unmasked_rejected(void **state) {
  tu_bytes b = {0};
  run_result r;
  (void)state;
  /* Single-frame unmasked text (the RFC's client-bound example). */
  raw(&b, "\x81\x05Hello", 7);
  check(&b, &DEFAULT_OPTS, WS_DIAG_FRAME_UNMASKED, &r);
  assert_int_equal(r.n_msgs, 0);
  assert_close(r.diag, 1002);
  result_free(&r);
  /* Fragmented unmasked "Hel" + "lo": refused at the first fragment. */
  b.n = 0;
  raw(&b, "\x01\x03Hel\x80\x02lo", 9);
  check(&b, &DEFAULT_OPTS, WS_DIAG_FRAME_UNMASKED, &r);
  assert_int_equal(r.n_msgs, 0);
  result_free(&r);
  b.n = 0;
  raw(&b, "\x01\x03Hel", 5);
  expect_diag(&b, WS_DIAG_FRAME_UNMASKED);
  /* The same fragments masked are one message. */
  b.n = 0;
  put_frame(&b, 0, 0x1, "Hel", 3);
  put_frame(&b, 1, 0x0, "lo", 2);
  check(&b, &DEFAULT_OPTS, WS_DIAG_EOF_CLEAN, &r);
  assert_int_equal(r.n_msgs, 1);
  assert_msg(&r, 0, "Hello", 5);
  result_free(&r);
  /* A masked first fragment then an unmasked continuation. */
  b.n = 0;
  put_frame(&b, 0, 0x1, "Hel", 3);
  raw(&b, "\x80\x02lo", 4);
  expect_diag(&b, WS_DIAG_FRAME_UNMASKED);
  tu_bytes_free(&b);
}

static void test_rfc_ping_pong(void **state) {
  tu_bytes b = {0};
  run_result r;
  (void)state;
  raw(&b, "\x89\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58", 11);
  check(&b, &DEFAULT_OPTS, WS_DIAG_EOF_CLEAN, &r);
  assert_out(&r, "\x8a\x05Hello", 7);
  assert_int_equal(r.n_msgs, 0);
  result_free(&r);
  /* The RFC's unmasked ping is refused from a client. */
  b.n = 0;
  raw(&b, "\x89\x05Hello", 7);
  check(&b, &DEFAULT_OPTS, WS_DIAG_FRAME_UNMASKED, &r);
  assert_int_equal(r.out.n, 0);
  result_free(&r);
  /* Masked unsolicited pong "Hello" (RFC 6455 5.7): ignored. */
  b.n = 0;
  raw(&b, "\x8a\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58", 11);
  check(&b, &DEFAULT_OPTS, WS_DIAG_EOF_CLEAN, &r);
  assert_int_equal(r.out.n, 0);
  result_free(&r);
  tu_bytes_free(&b);
}

static void test_ping_sizes(void **state) {
  tu_bytes b = {0};
  uint8_t p[125], want[127];
  run_result r;
  size_t i;
  (void)state;
  put_frame(&b, 1, 0x9, "", 0);
  check(&b, &DEFAULT_OPTS, WS_DIAG_EOF_CLEAN, &r);
  assert_out(&r, "\x8a\x00", 2);
  result_free(&r);
  for (i = 0; i < sizeof(p); i++) p[i] = (uint8_t)(i * 7 + 1);
  b.n = 0;
  put_frame(&b, 1, 0x9, p, 125);
  check(&b, &DEFAULT_OPTS, WS_DIAG_EOF_CLEAN, &r);
  want[0] = 0x8a;
  want[1] = 125;
  memcpy(want + 2, p, 125);
  assert_out(&r, want, 127);
  result_free(&r);
  tu_bytes_free(&b);
}

static uint8_t *ascii_payload(size_t n) {
  uint8_t *p = malloc(n ? n : 1);
  size_t i;
  assert_non_null(p);
  for (i = 0; i < n; i++) p[i] = (uint8_t)('a' + i % 26);
  return p;
}

static void test_rfc_256_and_64k(void **state) {
  tu_bytes b = {0};
  uint8_t *p = ascii_payload(65536);
  run_result r;
  (void)state;
  /* 256 bytes: 16-bit extended length (RFC 6455 5.7: 0x7E 0x0100). */
  put_frame(&b, 1, 0x1, p, 256);
  assert_memory_equal(b.p, "\x81\xfe\x01\x00", 4);
  check(&b, &DEFAULT_OPTS, WS_DIAG_EOF_CLEAN, &r);
  assert_int_equal(r.n_msgs, 1);
  assert_msg(&r, 0, p, 256);
  result_free(&r);
  /* 64 KiB: 64-bit extended length (0x7F 0x0000000000010000). */
  b.n = 0;
  put_frame(&b, 1, 0x1, p, 65536);
  assert_memory_equal(b.p, "\x81\xff\x00\x00\x00\x00\x00\x01\x00\x00", 10);
  check(&b, &DEFAULT_OPTS, WS_DIAG_EOF_CLEAN, &r);
  assert_int_equal(r.n_msgs, 1);
  assert_msg(&r, 0, p, 65536);
  result_free(&r);
  /* Largest 16-bit length, smallest 126 form. */
  b.n = 0;
  put_frame(&b, 1, 0x1, p, 65535);
  put_frame(&b, 1, 0x1, p, 126);
  check(&b, &DEFAULT_OPTS, WS_DIAG_EOF_CLEAN, &r);
  assert_int_equal(r.n_msgs, 2);
  assert_msg(&r, 0, p, 65535);
  assert_msg(&r, 1, p, 126);
  result_free(&r);
  /* The RFC's 256-byte binary message: binary is refused (1003). */
  b.n = 0;
  put_frame(&b, 1, 0x2, p, 256);
  check(&b, &DEFAULT_OPTS, WS_DIAG_FRAME_BINARY, &r);
  assert_close(r.diag, 1003);
  assert_int_equal(ws_diag_get(r.diag)->cls, WS_CLASS_POLICY);
  result_free(&r);
  free(p);
  tu_bytes_free(&b);
}

/* Past the 64 KiB preallocation: the buffer grows as bytes arrive. */
static void test_large_message(void **state) {
  tu_bytes b = {0};
  size_t n = 300 * 1024;
  uint8_t *p = ascii_payload(n);
  run_result r;
  (void)state;
  put_frame(&b, 0, 0x1, p, 100000);
  put_frame(&b, 1, 0x0, p + 100000, n - 100000);
  check(&b, &DEFAULT_OPTS, WS_DIAG_EOF_CLEAN, &r);
  assert_int_equal(r.n_msgs, 1);
  assert_msg(&r, 0, p, n);
  result_free(&r);
  free(p);
  tu_bytes_free(&b);
}

/* ---- POLICY §3, after the upgrade: one test per frame row --------------- */

static void test_row_rsv(void **state) {
  static const uint8_t bits[] = {0x40, 0x20, 0x10, 0x70};
  tu_bytes b = {0};
  size_t i;
  (void)state;
  for (i = 0; i < sizeof(bits); i++) {
    b.n = 0;
    put_frame_b0(&b, (uint8_t)(0x81 | bits[i]), 1, "x", 1);
    expect_diag(&b, WS_DIAG_FRAME_RSV);
    b.n = 0;
    put_frame_b0(&b, (uint8_t)(0x89 | bits[i]), 1, "", 0);
    expect_diag(&b, WS_DIAG_FRAME_RSV);
    /* On a continuation inside a message too. */
    b.n = 0;
    put_frame(&b, 0, 0x1, "a", 1);
    put_frame_b0(&b, (uint8_t)(0x80 | bits[i]), 1, "b", 1);
    expect_diag(&b, WS_DIAG_FRAME_RSV);
  }
  assert_close(WS_DIAG_FRAME_RSV, 1002);
  tu_bytes_free(&b);
}

static void test_row_opcode(void **state) {
  static const uint8_t ops[] = {0x3, 0x4, 0x5, 0x6, 0x7,
                                0xb, 0xc, 0xd, 0xe, 0xf};
  tu_bytes b = {0};
  size_t i;
  (void)state;
  for (i = 0; i < sizeof(ops); i++) {
    b.n = 0;
    put_frame(&b, 1, ops[i], "ab", 2);
    expect_diag(&b, WS_DIAG_FRAME_OPCODE);
    b.n = 0;
    put_frame(&b, 1, ops[i], "", 0);
    expect_diag(&b, WS_DIAG_FRAME_OPCODE);
  }
  /* A reserved non-control opcode without fin is still an opcode error; a
   * reserved control opcode without fin is refused by wslay first as a
   * fragmented control frame. */
  b.n = 0;
  put_frame(&b, 0, 0x3, "ab", 2);
  expect_diag(&b, WS_DIAG_FRAME_OPCODE);
  b.n = 0;
  put_frame(&b, 0, 0xb, "ab", 2);
  expect_diag(&b, WS_DIAG_FRAME_BAD_HEADER);
  assert_close(WS_DIAG_FRAME_OPCODE, 1002);
  tu_bytes_free(&b);
}

static void test_row_fragmented_control(void **state) {
  static const int ops[] = {0x8, 0x9, 0xa};
  tu_bytes b = {0};
  size_t i;
  (void)state;
  for (i = 0; i < 3; i++) {
    b.n = 0;
    put_frame(&b, 0, ops[i], "", 0);
    expect_diag(&b, WS_DIAG_FRAME_BAD_HEADER);
    /* Refused from the first two bytes: no mask key or payload needed. */
    b.n = 0;
    tu_put(&b, (uint8_t[]){(uint8_t)ops[i], 0x85}, 2);
    expect_diag(&b, WS_DIAG_FRAME_BAD_HEADER);
  }
  assert_close(WS_DIAG_FRAME_BAD_HEADER, 1002);
  tu_bytes_free(&b);
}

static void test_row_control_too_long(void **state) {
  tu_bytes b = {0};
  uint8_t *p = ascii_payload(200);
  (void)state;
  put_frame(&b, 1, 0x9, p, 126);
  expect_diag(&b, WS_DIAG_FRAME_BAD_HEADER);
  b.n = 0;
  put_frame(&b, 1, 0x8, p, 200);
  expect_diag(&b, WS_DIAG_FRAME_BAD_HEADER);
  b.n = 0;
  /* 127 form: also refused from the first two bytes. */
  raw(&b, "\x8a\xff", 2);
  expect_diag(&b, WS_DIAG_FRAME_BAD_HEADER);
  free(p);
  tu_bytes_free(&b);
}

static void test_row_nonminimal_length(void **state) {
  tu_bytes b = {0};
  (void)state;
  /* 5 in the 16-bit form. */
  raw(&b, "\x81\xfe\x00\x05\x37\xfa\x21\x3d", 8);
  put_masked(&b, "Hello", 5, 0);
  expect_diag(&b, WS_DIAG_FRAME_BAD_HEADER);
  /* 125 in the 16-bit form (the largest value that must be 7-bit). */
  b.n = 0;
  raw(&b, "\x81\xfe\x00\x7d", 4);
  expect_diag(&b, WS_DIAG_FRAME_BAD_HEADER);
  /* 65535 in the 64-bit form. */
  b.n = 0;
  raw(&b, "\x81\xff\x00\x00\x00\x00\x00\x00\xff\xff", 10);
  expect_diag(&b, WS_DIAG_FRAME_BAD_HEADER);
  /* Most significant bit set (RFC 6455 5.2). */
  b.n = 0;
  raw(&b, "\x81\xff\x80\x00\x00\x00\x00\x01\x00\x00", 10);
  expect_diag(&b, WS_DIAG_FRAME_BAD_HEADER);
  tu_bytes_free(&b);
}

static void test_row_continuation(void **state) {
  tu_bytes b = {0};
  run_result r;
  (void)state;
  put_frame(&b, 1, 0x0, "x", 1);
  check(&b, &DEFAULT_OPTS, WS_DIAG_FRAME_CONTINUATION, &r);
  assert_close(r.diag, 1002);
  result_free(&r);
  b.n = 0;
  put_frame(&b, 0, 0x0, "", 0);
  expect_diag(&b, WS_DIAG_FRAME_CONTINUATION);
  /* After a finished message there is nothing to continue either. */
  b.n = 0;
  put_text(&b, "done");
  put_frame(&b, 1, 0x0, "more", 4);
  check(&b, &DEFAULT_OPTS, WS_DIAG_FRAME_CONTINUATION, &r);
  assert_int_equal(r.n_msgs, 1);
  result_free(&r);
  tu_bytes_free(&b);
}

static void test_row_interleaved(void **state) {
  tu_bytes b = {0};
  run_result r;
  (void)state;
  put_frame(&b, 0, 0x1, "Hel", 3);
  put_text(&b, "other");
  check(&b, &DEFAULT_OPTS, WS_DIAG_FRAME_INTERLEAVED, &r);
  assert_int_equal(r.n_msgs, 0);
  assert_close(r.diag, 1002);
  result_free(&r);
  b.n = 0;
  put_frame(&b, 0, 0x1, "Hel", 3);
  put_frame(&b, 0, 0x1, "x", 1);
  expect_diag(&b, WS_DIAG_FRAME_INTERLEAVED);
  /* Binary inside a text message: the protocol error wins over policy. */
  b.n = 0;
  put_frame(&b, 0, 0x1, "Hel", 3);
  put_frame(&b, 1, 0x2, "x", 1);
  expect_diag(&b, WS_DIAG_FRAME_INTERLEAVED);
  tu_bytes_free(&b);
}

static void test_row_binary(void **state) {
  tu_bytes b = {0};
  run_result r;
  (void)state;
  put_frame(&b, 1, 0x2, "\x00\x01", 2);
  check(&b, &DEFAULT_OPTS, WS_DIAG_FRAME_BINARY, &r);
  assert_close(r.diag, 1003);
  result_free(&r);
  /* A fragmented binary message is refused at its first frame. */
  b.n = 0;
  put_frame(&b, 0, 0x2, "", 0);
  expect_diag(&b, WS_DIAG_FRAME_BINARY);
  tu_bytes_free(&b);
}

static void test_row_close_payload_1(void **state) {
  tu_bytes b = {0};
  run_result r;
  (void)state;
  put_frame(&b, 1, 0x8, "\x03", 1);
  check(&b, &DEFAULT_OPTS, WS_DIAG_FRAME_CLOSE_PAYLOAD, &r);
  assert_close(r.diag, 1002);
  assert_int_equal(r.peer_close, 0);
  result_free(&r);
  /* Also between the fragments of a message. */
  b.n = 0;
  put_frame(&b, 0, 0x1, "Hel", 3);
  put_frame(&b, 1, 0x8, "\x03", 1);
  expect_diag(&b, WS_DIAG_FRAME_CLOSE_PAYLOAD);
  tu_bytes_free(&b);
}

static void test_row_utf8(void **state) {
  tu_bytes b = {0};
  run_result r;
  (void)state;
  put_text(&b, "ok \xc3\xa9");
  put_text(&b, "bad \xc3\x28");
  check(&b, &DEFAULT_OPTS, WS_DIAG_FRAME_UTF8, &r);
  assert_int_equal(r.n_msgs, 1);
  assert_close(r.diag, 1007);
  result_free(&r);
  tu_bytes_free(&b);
}

static void test_row_too_big(void **state) {
  tu_bytes b = {0};
  run_opts o = DEFAULT_OPTS;
  run_result r;
  uint8_t *p = ascii_payload(11);
  (void)state;
  o.max = 10;
  put_frame(&b, 1, 0x1, p, 11);
  check(&b, &o, WS_DIAG_FRAME_TOO_BIG, &r);
  assert_close(r.diag, 1009);
  result_free(&r);
  free(p);
  tu_bytes_free(&b);
}

static void test_row_client_close(void **state) {
  tu_bytes b = {0};
  run_result r;
  (void)state;
  put_close(&b, 1001, "going away", 10);
  check(&b, &DEFAULT_OPTS, WS_DIAG_CLOSE_CLIENT, &r);
  assert_int_equal(r.peer_close, 1001);
  assert_close(r.diag, WS_CLOSE_ECHO);
  assert_int_equal(ws_diag_get(r.diag)->cls, WS_CLASS_NONE);
  result_free(&r);
  tu_bytes_free(&b);
}

static void test_row_eof(void **state) {
  tu_bytes b = {0};
  run_result r;
  (void)state;
  put_text(&b, "hi");
  check(&b, &DEFAULT_OPTS, WS_DIAG_EOF_CLEAN, &r);
  assert_close(r.diag, 0);
  assert_int_equal(ws_diag_get(r.diag)->cls, WS_CLASS_NONE);
  result_free(&r);
  b.n--;
  check(&b, &DEFAULT_OPTS, WS_DIAG_FRAME_TRUNCATED, &r);
  assert_close(r.diag, 0);
  assert_int_equal(ws_diag_get(r.diag)->cls, WS_CLASS_PROTOCOL);
  assert_int_equal(r.n_msgs, 0);
  result_free(&r);
  tu_bytes_free(&b);
}

/* ---- fragmentation and UTF-8 --------------------------------------------- */

static void test_ping_between_fragments(void **state) {
  tu_bytes b = {0};
  run_result r;
  (void)state;
  put_frame(&b, 0, 0x1, "Hel", 3);
  put_frame(&b, 1, 0x9, "ab", 2);
  put_frame(&b, 1, 0xa, "zz", 2);
  put_frame(&b, 0, 0x0, "", 0);
  put_frame(&b, 1, 0x9, "", 0);
  put_frame(&b, 1, 0x0, "lo", 2);
  check(&b, &DEFAULT_OPTS, WS_DIAG_EOF_CLEAN, &r);
  assert_int_equal(r.n_msgs, 1);
  assert_msg(&r, 0, "Hello", 5);
  assert_out(&r,
             "\x8a\x02"
             "ab"
             "\x8a\x00",
             6);
  result_free(&r);
  /* A close between fragments ends the session before the message. */
  b.n = 0;
  put_frame(&b, 0, 0x1, "Hel", 3);
  put_close(&b, 1000, "", 0);
  put_frame(&b, 1, 0x0, "lo", 2);
  check(&b, &DEFAULT_OPTS, WS_DIAG_CLOSE_CLIENT, &r);
  assert_int_equal(r.n_msgs, 0);
  assert_int_equal(r.peer_close, 1000);
  result_free(&r);
  tu_bytes_free(&b);
}

/* s split into two fragments at every position; with and without a ping in
 * between. */
static void split_everywhere(const char *s, size_t n, ws_diag want) {
  tu_bytes b = {0};
  run_result r;
  size_t k;
  int ping;
  for (ping = 0; ping < 2; ping++) {
    for (k = 0; k <= n; k++) {
      b.n = 0;
      put_frame(&b, 0, 0x1, s, k);
      if (ping) put_frame(&b, 1, 0x9, "p", 1);
      put_frame(&b, 1, 0x0, s + k, n - k);
      check(&b, &DEFAULT_OPTS, want, &r);
      if (want == WS_DIAG_EOF_CLEAN) {
        assert_int_equal(r.n_msgs, 1);
        assert_msg(&r, 0, s, n);
      } else {
        assert_int_equal(r.n_msgs, 0);
      }
      result_free(&r);
    }
  }
  tu_bytes_free(&b);
}

static void test_utf8_split_valid(void **state) {
  /* 1-, 2-, 3- and 4-byte characters, boundaries of each range. */
  static const char s[] =
      "a\xc2\x80\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf"
      "\xee\x80\x80\xef\xbf\xbf\xf0\x90\x80\x80"
      "\xf4\x8f\xbf\xbfz";
  (void)state;
  split_everywhere(s, sizeof(s) - 1, WS_DIAG_EOF_CLEAN);
}

static void test_utf8_split_invalid(void **state) {
  static const struct {
    const char *s;
    size_t n;
  } bad[] = {
      {"ab\x80", 3},           /* lone continuation */
      {"\xc0\xaf", 2},         /* overlong 2-byte */
      {"\xc1\xbf", 2},         /* overlong 2-byte */
      {"\xe0\x80\xaf", 3},     /* overlong 3-byte */
      {"\xed\xa0\x80", 3},     /* surrogate U+D800 */
      {"\xed\xbf\xbf", 3},     /* surrogate U+DFFF */
      {"\xf0\x80\x80\xaf", 4}, /* overlong 4-byte */
      {"\xf4\x90\x80\x80", 4}, /* above U+10FFFF */
      {"\xf5\x80\x80\x80", 4}, /* invalid lead */
      {"\xff", 1},             /* invalid byte */
      {"x\xe2\x82", 3},        /* message ends inside a character */
      {"\xe2\x82"
       "abc",
       5}, /* truncated then ASCII */
      {"\xf0\x9f\x98"
       "\xf0\x9f\x98\x80",
       7}, /* truncated then a new lead */
  };
  size_t i;
  (void)state;
  for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    split_everywhere(bad[i].s, bad[i].n, WS_DIAG_FRAME_UTF8);
}

/* RFC 6455 8.1: fail as soon as the bytes cannot be UTF-8, not at the end. */
static void test_utf8_fail_fast(void **state) {
  tu_bytes b = {0};
  run_result r;
  run_opts o = DEFAULT_OPTS;
  (void)state;
  o.no_eof = 1;
  /* First fragment bad; the message never finishes. */
  put_frame(&b, 0, 0x1, "ok\xc0", 3);
  check(&b, &o, WS_DIAG_FRAME_UTF8, &r);
  result_free(&r);
  /* Bad byte at the start of a frame whose payload is still incomplete. */
  b.n = 0;
  put_header(&b, 0x81, 1, 100);
  put_masked(&b, "\xed\xa0", 2, 0);
  check(&b, &o, WS_DIAG_FRAME_UTF8, &r);
  result_free(&r);
  /* A valid prefix cut inside a character is no error yet. */
  b.n = 0;
  put_header(&b, 0x81, 1, 100);
  put_masked(&b, "ok\xf0\x9f", 4, 0);
  check(&b, &o, WS_DIAG_NONE, &r);
  result_free(&r);
  tu_bytes_free(&b);
}

static void test_utf8_four_byte_across_frames(void **state) {
  tu_bytes b = {0};
  run_result r;
  run_opts o = DEFAULT_OPTS;
  (void)state;
  put_frame(&b, 0, 0x1, "\xf0", 1);
  put_frame(&b, 0, 0x0, "\x9f", 1);
  put_frame(&b, 1, 0x9, "!", 1);
  put_frame(&b, 0, 0x0, "\x98", 1);
  put_frame(&b, 1, 0x0, "\x80", 1);
  check(&b, &DEFAULT_OPTS, WS_DIAG_EOF_CLEAN, &r);
  assert_int_equal(r.n_msgs, 1);
  assert_msg(&r, 0, "\xf0\x9f\x98\x80", 4);
  assert_out(&r, "\x8a\x01!", 3);
  result_free(&r);
  /* Ending the message after three of the four bytes is invalid... */
  b.n = 0;
  put_frame(&b, 0, 0x1, "\xf0", 1);
  put_frame(&b, 0, 0x0, "\x9f", 1);
  put_frame(&b, 1, 0x0, "\x98", 1);
  expect_diag(&b, WS_DIAG_FRAME_UTF8);
  /* ...while input ending there is a truncated message, not bad UTF-8. */
  b.n = 0;
  put_frame(&b, 0, 0x1, "\xf0", 1);
  put_frame(&b, 0, 0x0, "\x9f", 1);
  put_frame(&b, 0, 0x0, "\x98", 1);
  o.no_eof = 1;
  check(&b, &o, WS_DIAG_NONE, &r);
  result_free(&r);
  expect_diag(&b, WS_DIAG_FRAME_TRUNCATED);
  tu_bytes_free(&b);
}

/* ---- max_message_bytes --------------------------------------------------- */

static void test_limit_single_frame(void **state) {
  tu_bytes b = {0};
  run_opts o = DEFAULT_OPTS;
  run_result r;
  uint8_t *p = ascii_payload(1001);
  (void)state;
  o.max = 1000;
  put_frame(&b, 1, 0x1, p, 1000);
  check(&b, &o, WS_DIAG_EOF_CLEAN, &r);
  assert_msg(&r, 0, p, 1000);
  result_free(&r);
  b.n = 0;
  put_frame(&b, 1, 0x1, p, 1001);
  check(&b, &o, WS_DIAG_FRAME_TOO_BIG, &r);
  assert_int_equal(r.n_msgs, 0);
  result_free(&r);
  /* Limit 0: only empty messages. */
  o.max = 0;
  b.n = 0;
  put_frame(&b, 1, 0x1, "", 0);
  check(&b, &o, WS_DIAG_EOF_CLEAN, &r);
  assert_int_equal(r.n_msgs, 1);
  assert_msg(&r, 0, "", 0);
  result_free(&r);
  b.n = 0;
  put_frame(&b, 1, 0x1, "x", 1);
  check(&b, &o, WS_DIAG_FRAME_TOO_BIG, &r);
  result_free(&r);
  /* Control frames do not count against the message limit. */
  b.n = 0;
  put_frame(&b, 1, 0x9, p, 100);
  check(&b, &o, WS_DIAG_EOF_CLEAN, &r);
  result_free(&r);
  free(p);
  tu_bytes_free(&b);
}

static void test_limit_fragmented(void **state) {
  tu_bytes b = {0};
  run_opts o = DEFAULT_OPTS;
  run_result r;
  (void)state;
  o.max = 10;
  put_frame(&b, 0, 0x1, "12345", 5);
  put_frame(&b, 1, 0x0, "67890", 5);
  check(&b, &o, WS_DIAG_EOF_CLEAN, &r);
  assert_msg(&r, 0, "1234567890", 10);
  result_free(&r);
  b.n = 0;
  put_frame(&b, 0, 0x1, "12345", 5);
  put_frame(&b, 1, 0x0, "678901", 6);
  check(&b, &o, WS_DIAG_FRAME_TOO_BIG, &r);
  assert_int_equal(r.n_msgs, 0);
  result_free(&r);
  /* At the limit, an empty continuation is fine; one more byte is not. */
  b.n = 0;
  put_frame(&b, 0, 0x1, "1234567890", 10);
  put_frame(&b, 1, 0x0, "", 0);
  check(&b, &o, WS_DIAG_EOF_CLEAN, &r);
  assert_int_equal(r.n_msgs, 1);
  result_free(&r);
  b.n = 0;
  put_frame(&b, 0, 0x1, "1234567890", 10);
  put_frame(&b, 0, 0x0, "", 0);
  put_frame(&b, 1, 0x0, "1", 1);
  check(&b, &o, WS_DIAG_FRAME_TOO_BIG, &r);
  result_free(&r);
  /* The limit is per message: two full messages are fine. */
  b.n = 0;
  put_text(&b, "1234567890");
  put_frame(&b, 0, 0x1, "12345", 5);
  put_frame(&b, 1, 0x0, "67890", 5);
  check(&b, &o, WS_DIAG_EOF_CLEAN, &r);
  assert_int_equal(r.n_msgs, 2);
  result_free(&r);
  tu_bytes_free(&b);
}

/* A header announcing 2^62 bytes is refused from its header alone, without
 * buffering anything. */
static void test_limit_huge_header(void **state) {
  tu_bytes b = {0};
  run_opts o = DEFAULT_OPTS;
  run_result r;
  mem_fixture x;
  ws_buf out = {0};
  ws_frames *f;
  ws_frames_handler h = {on_text, NULL};
  (void)state;
  o.no_eof = 1;
  put_header(&b, 0x81, 1, (uint64_t)1 << 62);
  put_masked(&b, "a", 1, 0);
  check(&b, &o, WS_DIAG_FRAME_TOO_BIG, &r);
  result_free(&r);
  /* Header alone: refused at once, with no payload byte and no EOF. */
  b.n--;
  check(&b, &o, WS_DIAG_FRAME_TOO_BIG, &r);
  result_free(&r);
  /* One byte short of the header: not yet judged; truncated at EOF. */
  b.n--;
  check(&b, &o, WS_DIAG_NONE, &r);
  result_free(&r);
  expect_diag(&b, WS_DIAG_FRAME_TRUNCATED);
  /* With no practical limit, a header alone must not make the loop
   * allocate the announced size: at most the 64 KiB preallocation. */
  mem_fixture_init(&x);
  assert_int_equal(ws_frames_new(&f, &x.m, SIZE_MAX, &out, &h), 0);
  b.n = 0;
  put_header(&b, 0x81, 1, (uint64_t)1 << 40);
  put_masked(&b, "abc", 3, 0);
  assert_int_equal(ws_frames_recv(f, b.p, b.n), WS_DIAG_NONE);
  assert_true(x.fa.largest <= 64 * 1024 + 64); /* + countalloc's header */
  /* The loop's struct, the preallocation and, for a moment, the wslay
   * probe's block (the probe comes after the header made the reservation). */
  assert_true(x.ca.peak_bytes <=
              ws_frames_footprint() + 64 * 1024 + ws_frames_libc_bytes() + 64);
  assert_int_equal(ws_frames_eof(f), WS_DIAG_FRAME_TRUNCATED);
  ws_frames_free(f);
  assert_int_equal(x.ca.live_blocks, 0);
  tu_bytes_free(&b);
}

/* ---- header-only checks, at the header's last byte ------------------- */

/* A header-only diagnosis: the frames before it (prefix), the header bytes,
 * and at how many of them the diagnosis is due (the header's end, or the
 * earlier byte that already decides it). */
typedef struct hdr_case {
  const char *name;
  size_t max;
  int prefix; /* 0 none, 1 an open text message "Hel", 2 open "12345" */
  const char *hdr;
  size_t hdr_len;
  size_t at;
  ws_diag want;
} hdr_case;

#define MK "\x37\xfa\x21\x3d" /* the mask key */
static const hdr_case HDR_CASES[] = {
    {"fragmented ping", 0, 0, "\x09\x80" MK, 6, 2, WS_DIAG_FRAME_BAD_HEADER},
    {"fragmented close", 0, 0, "\x08\x82" MK, 6, 2, WS_DIAG_FRAME_BAD_HEADER},
    {"fragmented reserved control", 0, 0, "\x0b\x80" MK, 6, 2,
     WS_DIAG_FRAME_BAD_HEADER},
    {"ping of 126", 0, 0, "\x89\xfe\x00\x7e" MK, 8, 2,
     WS_DIAG_FRAME_BAD_HEADER},
    {"close, 64-bit length", 0, 0,
     "\x88\xff\x00\x00\x00\x00\x00\x01\x00\x00" MK, 14, 2,
     WS_DIAG_FRAME_BAD_HEADER},
    {"5 in 16 bits", 0, 0, "\x81\xfe\x00\x05" MK, 8, 4,
     WS_DIAG_FRAME_BAD_HEADER},
    {"65535 in 64 bits", 0, 0, "\x81\xff\x00\x00\x00\x00\x00\x00\xff\xff" MK,
     14, 10, WS_DIAG_FRAME_BAD_HEADER},
    {"64-bit MSB set", 0, 0, "\x81\xff\x80\x00\x00\x00\x00\x01\x00\x00" MK, 14,
     10, WS_DIAG_FRAME_BAD_HEADER},
    {"unmasked", 0, 0, "\x81\x05", 2, 2, WS_DIAG_FRAME_UNMASKED},
    {"unmasked, 16 bits", 0, 0, "\x81\x7e\x00\xc8", 4, 4,
     WS_DIAG_FRAME_UNMASKED},
    {"unmasked, 64 bits", 0, 0, "\x81\x7f\x00\x00\x00\x00\x00\x01\x00\x00", 10,
     10, WS_DIAG_FRAME_UNMASKED},
    {"rsv1", 0, 0, "\xc1\x85" MK, 6, 6, WS_DIAG_FRAME_RSV},
    {"rsv3 ping", 0, 0, "\x99\x80" MK, 6, 6, WS_DIAG_FRAME_RSV},
    {"opcode 3", 0, 0, "\x83\x85" MK, 6, 6, WS_DIAG_FRAME_OPCODE},
    {"opcode 0xb", 0, 0, "\x8b\x80" MK, 6, 6, WS_DIAG_FRAME_OPCODE},
    {"continuation", 0, 0, "\x80\x85" MK, 6, 6, WS_DIAG_FRAME_CONTINUATION},
    {"interleaved", 0, 1, "\x81\x85" MK, 6, 6, WS_DIAG_FRAME_INTERLEAVED},
    {"binary", 0, 0, "\x82\x85" MK, 6, 6, WS_DIAG_FRAME_BINARY},
    {"binary, 16 bits", 0, 0, "\x02\xfe\x01\x00" MK, 8, 8,
     WS_DIAG_FRAME_BINARY},
    {"close of 1", 0, 0, "\x88\x81" MK, 6, 6, WS_DIAG_FRAME_CLOSE_PAYLOAD},
    {"close of 1 in a message", 0, 1, "\x88\x81" MK, 6, 6,
     WS_DIAG_FRAME_CLOSE_PAYLOAD},
    {"11 over 10", 10, 0, "\x81\x8b" MK, 6, 6, WS_DIAG_FRAME_TOO_BIG},
    {"5 + 6 over 10", 10, 2, "\x80\x86" MK, 6, 6, WS_DIAG_FRAME_TOO_BIG},
    {"2^62", 0, 0, "\x81\xff\x40\x00\x00\x00\x00\x00\x00\x00" MK, 14, 14,
     WS_DIAG_FRAME_TOO_BIG},
    {"65536 over 65535, 64 bits", 65535, 0,
     "\x01\xff\x00\x00\x00\x00\x00\x01\x00\x00" MK, 14, 14,
     WS_DIAG_FRAME_TOO_BIG},
};
#undef MK

static void hdr_case_input(const hdr_case *c, size_t hdr_bytes, tu_bytes *b) {
  b->n = 0;
  if (c->prefix == 1) put_frame(b, 0, 0x1, "Hel", 3);
  if (c->prefix == 2) put_frame(b, 0, 0x1, "12345", 5);
  tu_put(b, c->hdr, hdr_bytes);
}

/* Each header-only diagnosis is given with the header alone, with no payload
 * byte and no EOF, whole, byte by byte and in random chunkings; one byte
 * before the deciding byte it is not given yet (and EOF there is
 * FRAME_TRUNCATED). */
static void test_header_only_at_once(void **state) {
  tu_bytes b = {0};
  run_opts o = DEFAULT_OPTS;
  run_result r;
  size_t i;
  (void)state;
  o.no_eof = 1;
  for (i = 0; i < sizeof(HDR_CASES) / sizeof(HDR_CASES[0]); i++) {
    const hdr_case *c = &HDR_CASES[i];
    print_message("%s\n", c->name);
    o.max = c->max ? c->max : DEFAULT_OPTS.max;
    hdr_case_input(c, c->hdr_len, &b);
    check(&b, &o, c->want, &r);
    assert_int_equal(r.n_msgs, 0);
    assert_int_equal(r.out.n, 0);
    result_free(&r);
    hdr_case_input(c, c->at, &b);
    check(&b, &o, c->want, &r);
    result_free(&r);
    hdr_case_input(c, c->at - 1, &b);
    check(&b, &o, WS_DIAG_NONE, &r);
    result_free(&r);
    o.no_eof = 0;
    check(&b, &o, WS_DIAG_FRAME_TRUNCATED, &r);
    result_free(&r);
    o.no_eof = 1;
  }
  tu_bytes_free(&b);
}

/* A valid header alone is taken: no diagnosis, and the frame's first payload
 * byte is still due (truncated at EOF).  An empty frame is complete with its
 * header. */
static void test_header_only_valid(void **state) {
  tu_bytes b = {0};
  run_opts o = DEFAULT_OPTS;
  run_result r;
  (void)state;
  o.no_eof = 1;
  o.max = 10;
  put_header(&b, 0x81, 1, 10); /* exactly at the limit */
  check(&b, &o, WS_DIAG_NONE, &r);
  result_free(&r);
  o.no_eof = 0;
  check(&b, &o, WS_DIAG_FRAME_TRUNCATED, &r);
  result_free(&r);
  b.n = 0;
  put_header(&b, 0x89, 1, 0); /* empty ping: answered from the header */
  check(&b, &o, WS_DIAG_EOF_CLEAN, &r);
  assert_out(&r, "\x8a\x00", 2);
  result_free(&r);
  tu_bytes_free(&b);
}

/* ---- end of input -------------------------------------------------------- */

static void test_eof(void **state) {
  tu_bytes b = {0};
  run_result r;
  uint8_t *p = ascii_payload(300);
  (void)state;
  /* Nothing at all. */
  expect_diag(&b, WS_DIAG_EOF_CLEAN);
  /* One header byte. */
  raw(&b, "\x81", 1);
  expect_diag(&b, WS_DIAG_FRAME_TRUNCATED);
  /* Inside the extended length. */
  b.n = 0;
  raw(&b, "\x81\xfe\x01", 3);
  expect_diag(&b, WS_DIAG_FRAME_TRUNCATED);
  /* Inside the mask key. */
  b.n = 0;
  raw(&b, "\x81\x85\x37\xfa", 4);
  expect_diag(&b, WS_DIAG_FRAME_TRUNCATED);
  /* Header complete, no payload yet. */
  b.n = 0;
  put_header(&b, 0x81, 1, 5);
  expect_diag(&b, WS_DIAG_FRAME_TRUNCATED);
  /* Partial payload, short and extended lengths. */
  b.n = 0;
  put_header(&b, 0x81, 1, 5);
  put_masked(&b, "Hel", 3, 0);
  expect_diag(&b, WS_DIAG_FRAME_TRUNCATED);
  b.n = 0;
  put_frame(&b, 1, 0x1, p, 300);
  b.n -= 1;
  expect_diag(&b, WS_DIAG_FRAME_TRUNCATED);
  /* Partial control frame after a complete message. */
  b.n = 0;
  put_text(&b, "hi");
  put_header(&b, 0x89, 1, 2);
  put_masked(&b, "p", 1, 0);
  check(&b, &DEFAULT_OPTS, WS_DIAG_FRAME_TRUNCATED, &r);
  assert_int_equal(r.n_msgs, 1);
  assert_int_equal(r.out.n, 0);
  result_free(&r);
  /* Complete frames, but a fragmented message waits for its end. */
  b.n = 0;
  put_frame(&b, 0, 0x1, "Hel", 3);
  expect_diag(&b, WS_DIAG_FRAME_TRUNCATED);
  b.n = 0;
  put_frame(&b, 0, 0x1, "Hel", 3);
  put_frame(&b, 1, 0x9, "x", 1);
  check(&b, &DEFAULT_OPTS, WS_DIAG_FRAME_TRUNCATED, &r);
  assert_out(&r, "\x8a\x01x", 3);
  result_free(&r);
  /* Frame boundaries after control frames and empty frames. */
  b.n = 0;
  put_frame(&b, 1, 0x9, "x", 1);
  put_frame(&b, 1, 0xa, "", 0);
  put_frame(&b, 1, 0x1, "", 0);
  put_frame(&b, 0, 0x1, "a", 1);
  put_frame(&b, 1, 0x0, "", 0);
  check(&b, &DEFAULT_OPTS, WS_DIAG_EOF_CLEAN, &r);
  assert_int_equal(r.n_msgs, 2);
  assert_msg(&r, 0, "", 0);
  assert_msg(&r, 1, "a", 1);
  result_free(&r);
  free(p);
  tu_bytes_free(&b);
}

/* ---- close frames (RFC 6455 5.5.1, 7.4) ---------------------------------- */

static void test_close_codes(void **state) {
  static const struct {
    unsigned code;
    int valid;
  } t[] = {
      {0, 0},    {999, 0},  {1000, 1}, {1001, 1},  {1002, 1}, {1003, 1},
      {1004, 0}, {1005, 0}, {1006, 0}, {1007, 1},  {1011, 1}, {1014, 1},
      {1015, 0}, {1016, 0}, {2000, 0}, {2999, 0},  {3000, 1}, {3999, 1},
      {4000, 1}, {4999, 1}, {5000, 0}, {65535, 0},
  };
  tu_bytes b = {0};
  run_result r;
  size_t i;
  (void)state;
  for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
    b.n = 0;
    put_close(&b, t[i].code, "", 0);
    check(&b, &DEFAULT_OPTS,
          t[i].valid ? WS_DIAG_CLOSE_CLIENT : WS_DIAG_FRAME_CLOSE_CODE, &r);
    assert_int_equal(r.peer_close, t[i].valid ? t[i].code : 0);
    assert_close(r.diag, t[i].valid ? WS_CLOSE_ECHO : 1002);
    result_free(&r);
  }
  tu_bytes_free(&b);
}

static void test_close_empty(void **state) {
  tu_bytes b = {0};
  run_result r;
  (void)state;
  put_frame(&b, 1, 0x8, "", 0);
  check(&b, &DEFAULT_OPTS, WS_DIAG_CLOSE_CLIENT, &r);
  assert_int_equal(r.peer_close, 1000);
  assert_int_equal(r.out.n, 0); /* the session sends the close, not the loop */
  result_free(&r);
  tu_bytes_free(&b);
}

static void test_close_reason(void **state) {
  tu_bytes b = {0};
  run_result r;
  char reason[123];
  (void)state;
  put_close(&b, 1000, "bye \xe2\x82\xac", 7);
  check(&b, &DEFAULT_OPTS, WS_DIAG_CLOSE_CLIENT, &r);
  assert_int_equal(r.peer_close, 1000);
  result_free(&r);
  /* Longest reason: 123 bytes. */
  memset(reason, 'r', sizeof(reason));
  b.n = 0;
  put_close(&b, 4000, reason, 123);
  check(&b, &DEFAULT_OPTS, WS_DIAG_CLOSE_CLIENT, &r);
  assert_int_equal(r.peer_close, 4000);
  result_free(&r);
  b.n = 0;
  put_close(&b, 1000, "bye \xff", 5);
  check(&b, &DEFAULT_OPTS, WS_DIAG_FRAME_CLOSE_UTF8, &r);
  assert_close(r.diag, 1007);
  assert_int_equal(r.peer_close, 0);
  result_free(&r);
  /* Reason ending inside a character. */
  b.n = 0;
  put_close(&b, 1000, "x\xe2\x82", 3);
  expect_diag(&b, WS_DIAG_FRAME_CLOSE_UTF8);
  /* Surrogate in the reason. */
  b.n = 0;
  put_close(&b, 1000, "\xed\xa0\x80", 3);
  expect_diag(&b, WS_DIAG_FRAME_CLOSE_UTF8);
  /* Bad code and bad reason: the code is judged first. */
  b.n = 0;
  put_close(&b, 1005, "\xff", 1);
  expect_diag(&b, WS_DIAG_FRAME_CLOSE_CODE);
  tu_bytes_free(&b);
}

/* Bytes after the ending frame are ignored, whatever they are. */
static void test_after_end_ignored(void **state) {
  tu_bytes b = {0};
  run_result r;
  (void)state;
  put_close(&b, 1000, "", 0);
  raw(&b, "\x81\x05Hello\xff\xff\xff", 10);
  check(&b, &DEFAULT_OPTS, WS_DIAG_CLOSE_CLIENT, &r);
  assert_int_equal(r.n_msgs, 0);
  result_free(&r);
  b.n = 0;
  put_frame(&b, 1, 0x3, "", 0);
  put_frame(&b, 1, 0x9, "late", 4);
  check(&b, &DEFAULT_OPTS, WS_DIAG_FRAME_OPCODE, &r);
  assert_int_equal(r.out.n, 0);
  result_free(&r);
  tu_bytes_free(&b);
}

/* ---- the handler --------------------------------------------------------- */

static void test_handler_ends_session(void **state) {
  tu_bytes b = {0};
  run_opts o = DEFAULT_OPTS;
  run_result r;
  (void)state;
  o.stop_at = 2;
  o.stop_diag = WS_DIAG_AUTH_FIRST_MESSAGE;
  put_text(&b, "one");
  put_text(&b, "two");
  put_text(&b, "three");
  put_frame(&b, 1, 0x9, "p", 1);
  check(&b, &o, WS_DIAG_AUTH_FIRST_MESSAGE, &r);
  assert_int_equal(r.n_msgs, 2);
  assert_msg(&r, 1, "two", 3);
  assert_int_equal(r.out.n, 0);
  result_free(&r);
  tu_bytes_free(&b);
}

/* on_text may send; its frames and pongs go out in input order. */
static void test_handler_echo_order(void **state) {
  tu_bytes b = {0};
  run_opts o = DEFAULT_OPTS;
  run_result r;
  (void)state;
  o.echo = 1;
  put_text(&b, "one");
  put_frame(&b, 1, 0x9, "p", 1);
  put_frame(&b, 0, 0x1, "t", 1);
  put_frame(&b, 1, 0x9, "q", 1);
  put_frame(&b, 1, 0x0, "wo", 2);
  check(&b, &o, WS_DIAG_EOF_CLEAN, &r);
  assert_int_equal(r.send_fail, 0);
  assert_out(&r, "\x81\x03one\x8a\x01p\x8a\x01q\x81\x03two", 16);
  result_free(&r);
  tu_bytes_free(&b);
}

static ws_diag reenter(void *ud, const uint8_t *msg, size_t len) {
  ws_frames **f = ud;
  (void)msg;
  (void)len;
  assert_int_equal(ws_frames_recv(*f, (const uint8_t *)"\x88\x80", 2),
                   WS_DIAG_FRAME_INTERNAL);
  return WS_DIAG_NONE;
}

/* A nested ws_frames_recv from on_text is refused and changes nothing. */
static void test_handler_reentry(void **state) {
  mem_fixture x;
  ws_buf out = {0};
  ws_frames *f = NULL;
  ws_frames_handler h = {reenter, &f};
  tu_bytes b = {0};
  (void)state;
  mem_fixture_init(&x);
  assert_int_equal(ws_frames_new(&f, &x.m, 100, &out, &h), 0);
  put_text(&b, "a");
  put_frame(&b, 1, 0x9, "p", 1);
  assert_int_equal(ws_frames_recv(f, b.p, b.n), WS_DIAG_NONE);
  assert_int_equal(out.len, 3); /* the pong after the message still came */
  assert_int_equal(ws_frames_eof(f), WS_DIAG_EOF_CLEAN);
  ws_frames_free(f);
  ws_buf_free(&out, &x.m);
  assert_int_equal(x.ca.live_blocks, 0);
  tu_bytes_free(&b);
}

/* ws_frames_new_lent keeps a control payload in the caller's room, also
 * when it arrives in pieces over several calls, and the pong is built from
 * it; the loop's own block is the room smaller.  No room: refused. */
static void test_lent_ctrl_room(void **state) {
  mem_fixture x;
  ws_buf out = {0};
  ws_frames *f = (ws_frames *)&x; /* must be reset */
  ws_frames_handler h = {on_text, NULL};
  uint8_t room[WS_FRAMES_CTRL_ROOM];
  tu_bytes b = {0};
  size_t i;
  (void)state;
  mem_fixture_init(&x);
  assert_int_equal(ws_frames_new_lent(&f, &x.m, 100, &out, &h, NULL), -1);
  assert_null(f);
  memset(room, 0, sizeof(room));
  assert_int_equal(ws_frames_new_lent(&f, &x.m, 100, &out, &h, room), 0);
  assert_int_equal(x.ca.live_blocks, 1);
  assert_int_equal(x.ca.live_bytes + WS_FRAMES_CTRL_ROOM,
                   ws_frames_footprint());
  put_frame(&b, 1, 0x9, "pay", 3);
  for (i = 0; i < b.n; i++) /* one byte per call */
    assert_int_equal(ws_frames_recv(f, b.p + i, 1), WS_DIAG_NONE);
  assert_memory_equal(room, "pay", 3);
  assert_int_equal(out.len, 5);
  assert_memory_equal(out.data, "\x8a\x03pay", 5);
  assert_int_equal(ws_frames_eof(f), WS_DIAG_EOF_CLEAN);
  ws_frames_free(f);
  ws_buf_free(&out, &x.m);
  assert_int_equal(x.ca.live_blocks, 0);
  tu_bytes_free(&b);
}

/* ---- sending ------------------------------------------------------------- */

static void test_send_text_encoding(void **state) {
  static const size_t sizes[] = {0, 1, 125, 126, 65535, 65536, 70000};
  mem_fixture x;
  ws_buf out = {0};
  ws_frames *f;
  ws_frames_handler h = {on_text, NULL};
  uint8_t *p = ascii_payload(70000);
  size_t i, off = 0;
  (void)state;
  mem_fixture_init(&x);
  assert_int_equal(ws_frames_new(&f, &x.m, 100, &out, &h), 0);
  for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
    size_t n = sizes[i], hl;
    assert_int_equal(ws_frames_send_text(f, n ? p : NULL, n), 0);
    assert_int_equal(out.data[off], 0x81); /* fin, text, RSV 0 */
    if (n < 126) {
      assert_int_equal(out.data[off + 1], n); /* unmasked, 7-bit */
      hl = 2;
    } else if (n < 65536) {
      assert_memory_equal(out.data + off + 1,
                          ((uint8_t[]){126, (uint8_t)(n >> 8), (uint8_t)n}), 3);
      hl = 4;
    } else {
      assert_memory_equal(out.data + off + 1,
                          ((uint8_t[]){127, 0, 0, 0, 0, 0, (uint8_t)(n >> 16),
                                       (uint8_t)(n >> 8), (uint8_t)n}),
                          9);
      hl = 10;
    }
    if (n) assert_memory_equal(out.data + off + hl, p, n);
    off += hl + n;
    assert_int_equal(out.len, off);
  }
  assert_int_equal(ws_frames_send_text(NULL, p, 1), WS_FRAMES_SEND_BAD_ARG);
  assert_int_equal(ws_frames_send_text(f, NULL, 1), WS_FRAMES_SEND_BAD_ARG);
  assert_int_equal(out.len, off);
  ws_frames_free(f);
  ws_buf_free(&out, &x.m);
  assert_int_equal(x.ca.live_blocks, 0);
  free(p);
}

static void test_send_text_nomem(void **state) {
  mem_fixture x;
  ws_buf out = {0};
  ws_frames *f;
  ws_frames_handler h = {on_text, NULL};
  (void)state;
  mem_fixture_init(&x);
  assert_int_equal(ws_frames_new(&f, &x.m, 100, &out, &h), 0);
  assert_int_equal(ws_frames_send_text(f, (const uint8_t *)"ab", 2), 0);
  assert_int_equal(out.len, 4);
  x.fa.fail_at = x.fa.calls + 1;
  /* Needs more room than the first allocation gave: must allocate. */
  assert_int_equal(ws_frames_send_text(
                       f,
                       (const uint8_t *)"0123456789012345678901234567890123456"
                                        "7890123456789012345678901234567890",
                       72),
                   WS_FRAMES_SEND_NOMEM);
  assert_int_equal(out.len, 4); /* nothing half-queued */
  assert_memory_equal(out.data,
                      "\x81\x02"
                      "ab",
                      4);
  /* The loop stays usable: wslay's output state was never touched. */
  assert_int_equal(ws_frames_send_text(f, (const uint8_t *)"cd", 2), 0);
  assert_memory_equal(out.data,
                      "\x81\x02"
                      "ab"
                      "\x81\x02"
                      "cd",
                      8);
  ws_frames_free(f);
  ws_buf_free(&out, &x.m);
  assert_int_equal(x.ca.live_blocks, 0);
}

static void test_close_encoding(void **state) {
  uint8_t out[200];
  char reason[201];
  size_t n;
  (void)state;
  n = ws_frames_close(1000, "bye", out, sizeof(out));
  assert_int_equal(n, 7);
  assert_memory_equal(out,
                      "\x88\x05\x03\xe8"
                      "bye",
                      7);
  n = ws_frames_close(1011, NULL, out, sizeof(out));
  assert_int_equal(n, 4);
  assert_memory_equal(out, "\x88\x02\x03\xf3", 4);
  n = ws_frames_close(4999, "", out, 127);
  assert_int_equal(n, 4);
  assert_memory_equal(out, "\x88\x02\x13\x87", 4);
  /* Cut to 123 bytes. */
  memset(reason, 'a', 200);
  reason[200] = '\0';
  n = ws_frames_close(1009, reason, out, sizeof(out));
  assert_int_equal(n, 127);
  assert_int_equal(out[1], 125);
  assert_memory_equal(out + 4, reason, 123);
  /* Exactly 123 bytes ending in a 3-byte character: kept whole. */
  memcpy(reason + 120, "\xe2\x82\xac", 4);
  n = ws_frames_close(1009, reason, out, sizeof(out));
  assert_int_equal(n, 127);
  assert_memory_equal(out + 4, reason, 123);
  /* A character straddling byte 123 is dropped whole. */
  memset(reason, 'a', 200);
  memcpy(reason + 121, "\xe2\x82\xac", 4);
  n = ws_frames_close(1009, reason, out, sizeof(out));
  assert_int_equal(n, 4 + 121);
  assert_int_equal(out[1], 2 + 121);
  reason[121] = 'a';
  memcpy(reason + 122, "\xf0\x9f\x98\x80", 5);
  n = ws_frames_close(1009, reason, out, sizeof(out));
  assert_int_equal(n, 4 + 122);
  /* Invalid UTF-8: only the valid prefix is sent. */
  n = ws_frames_close(1002,
                      "ab\xff"
                      "cd",
                      out, sizeof(out));
  assert_int_equal(n, 6);
  assert_memory_equal(out,
                      "\x88\x04\x03\xea"
                      "ab",
                      6);
  n = ws_frames_close(1002, "ab\xe2\x82", out, sizeof(out));
  assert_int_equal(n, 6);
  /* Room checks. */
  assert_int_equal(ws_frames_close(1000, "x", out, 126), 0);
  assert_int_equal(ws_frames_close(1000, "x", NULL, 200), 0);
}

/* ---- allocation failures and memory -------------------------------------- */

static void test_new_failures(void **state) {
  mem_fixture x;
  ws_buf out = {0};
  ws_frames *f = (ws_frames *)&x; /* must be reset */
  ws_frames_handler h = {on_text, NULL}, none = {NULL, NULL};
  (void)state;
  mem_fixture_init(&x);
  x.fa.fail_at = 1;
  assert_int_equal(ws_frames_new(&f, &x.m, 100, &out, &h), -1);
  assert_null(f);
  assert_int_equal(x.ca.live_blocks, 0);
  assert_int_equal(ws_mem_failures(&x.m), 1);
  x.fa.fail_at = 0;
  assert_int_equal(ws_frames_new(&f, NULL, 100, &out, &h), -1);
  assert_int_equal(ws_frames_new(&f, &x.m, 100, NULL, &h), -1);
  assert_int_equal(ws_frames_new(&f, &x.m, 100, &out, NULL), -1);
  assert_int_equal(ws_frames_new(&f, &x.m, 100, &out, &none), -1);
  assert_null(f);
  assert_int_equal(ws_frames_new(NULL, &x.m, 100, &out, &h), -1);
  assert_int_equal(x.ca.live_blocks, 0);
  ws_frames_free(NULL);
  assert_int_equal(ws_frames_recv(NULL, NULL, 0), WS_DIAG_FRAME_INTERNAL);
  assert_int_equal(ws_frames_eof(NULL), WS_DIAG_FRAME_INTERNAL);
  assert_int_equal(ws_frames_peer_close(NULL), 0);
}

static void test_recv_null_input(void **state) {
  mem_fixture x;
  ws_buf out = {0};
  ws_frames *f;
  ws_frames_handler h = {on_text, NULL};
  (void)state;
  mem_fixture_init(&x);
  assert_int_equal(ws_frames_new(&f, &x.m, 100, &out, &h), 0);
  assert_int_equal(ws_frames_recv(f, NULL, 0), WS_DIAG_NONE);
  assert_int_equal(ws_frames_eof(f), WS_DIAG_EOF_CLEAN);
  assert_int_equal(ws_frames_recv(f, NULL, 3), WS_DIAG_FRAME_INTERNAL);
  assert_int_equal(ws_frames_recv(f, (const uint8_t *)"\x88\x80", 2),
                   WS_DIAG_FRAME_INTERNAL);
  assert_int_equal(ws_frames_eof(f), WS_DIAG_FRAME_INTERNAL);
  ws_frames_free(f);
  assert_int_equal(x.ca.live_blocks, 0);
}

/* Fails each allocation after ws_frames_new in turn (once, then from there
 * on): every failure is FRAME_NOMEM, nothing leaks, and beyond the last
 * allocation the run is the clean one. */
static void test_nomem_every_point(void **state) {
  tu_bytes b = {0};
  run_opts o = DEFAULT_OPTS;
  run_result clean, r;
  uint8_t *p = ascii_payload(70000);
  unsigned long k;
  int from, nomem_seen = 0;
  (void)state;
  o.echo = 1;
  put_frame(&b, 0, 0x1, p, 3000);
  put_frame(&b, 1, 0x9, "ping", 4);
  put_frame(&b, 1, 0x0, p, 70000);
  put_text(&b, "small");
  put_frame(&b, 1, 0x9, "again", 5);
  run(b.p, b.n, &o, CH_WHOLE, 0, &clean);
  assert_int_equal(clean.diag, WS_DIAG_EOF_CLEAN);
  assert_int_equal(clean.n_msgs, 2);
  for (from = 0; from < 2; from++) {
    for (k = 1; k < 40; k++) {
      o.fail_at = k;
      o.fail_from = from;
      run(b.p, b.n, &o, CH_WHOLE, 0, &r);
      assert_int_equal(r.live_after, 0);
      if (r.diag == WS_DIAG_FRAME_NOMEM) {
        nomem_seen++;
        assert_int_equal(ws_diag_get(r.diag)->cls, WS_CLASS_RESOURCE);
        assert_close(r.diag, 1013);
      } else if (r.send_fail) {
        /* An echo from on_text failed: the loop itself went on. */
        assert_int_equal(r.diag, WS_DIAG_EOF_CLEAN);
      } else {
        assert_same(&clean, &r);
      }
      result_free(&r);
    }
  }
  assert_true(nomem_seen >= 4);
  result_free(&clean);
  free(p);
  tu_bytes_free(&b);
}

static void test_pong_nomem(void **state) {
  tu_bytes b = {0};
  run_opts o = DEFAULT_OPTS;
  run_result r;
  (void)state;
  put_frame(&b, 1, 0x9, "Hello", 5);
  o.fail_at = 1; /* the output buffer's first allocation */
  check(&b, &o, WS_DIAG_FRAME_NOMEM, &r);
  assert_int_equal(r.out.n, 0);
  result_free(&r);
  tu_bytes_free(&b);
}

/* wslay's context exists only while a frame is in progress: created when
 * bytes of a frame (or a frame to send) arrive, released at each frame
 * boundary, between fragments too, and whenever the loop ends. */
static void test_wslay_context_lazy(void **state) {
  mem_fixture x;
  ws_buf out = {0};
  ws_frames *f;
  run_result rr;
  run_opts o = DEFAULT_OPTS;
  handler_ctx hc;
  ws_frames_handler h;
  tu_bytes b = {0};
  const size_t ctx = ws_frames_libc_bytes();
  (void)state;
  memset(&rr, 0, sizeof(rr));
  hc.o = &o;
  hc.r = &rr;
  h.on_text = on_text;
  h.ud = &hc;
  assert_int_equal(ctx, 4256); /* wslay 1.1.1, LP64 */
  assert_int_equal(ws_frames_libc_held(NULL), 0);
  mem_fixture_init(&x);
  assert_int_equal(ws_frames_new(&f, &x.m, 100, &out, &h), 0);
  hc.f = f;
  assert_int_equal(ws_frames_libc_held(f), 0);
  /* Half a frame: the context holds wslay's state until the frame ends. */
  put_text(&b, "hello");
  assert_int_equal(ws_frames_recv(f, b.p, 4), WS_DIAG_NONE);
  assert_int_equal(ws_frames_libc_held(f), ctx);
  assert_int_equal(ws_frames_recv(f, b.p + 4, b.n - 4), WS_DIAG_NONE);
  assert_int_equal(ws_frames_libc_held(f), 0);
  assert_int_equal(rr.n_msgs, 1);
  /* Between two fragments: no context, the message goes on. */
  b.n = 0;
  put_frame(&b, 0, 0x1, "hel", 3);
  assert_int_equal(ws_frames_recv(f, b.p, b.n), WS_DIAG_NONE);
  assert_int_equal(ws_frames_libc_held(f), 0);
  assert_int_equal(ws_frames_eof(f), WS_DIAG_FRAME_TRUNCATED);
  b.n = 0;
  put_frame(&b, 1, 0x9, "pi", 2); /* interleaved ping: pong "pi" */
  put_frame(&b, 1, 0x0, "lo", 2);
  assert_int_equal(ws_frames_recv(f, b.p, b.n), WS_DIAG_NONE);
  assert_int_equal(ws_frames_libc_held(f), 0);
  assert_int_equal(rr.n_msgs, 2);
  assert_int_equal(rr.msgs.n, 2 * (4 + 5));
  assert_memory_equal(rr.msgs.p + 4 + 5,
                      "\x00\x00\x00\x05"
                      "hello",
                      9);
  assert_int_equal(out.len, 4);
  assert_memory_equal(out.data, "\x8a\x02pi", 4);
  assert_int_equal(ws_frames_eof(f), WS_DIAG_EOF_CLEAN);
  /* A send of the caller's own does not keep one either. */
  assert_int_equal(ws_frames_send_text(f, (const uint8_t *)"ok", 2),
                   WS_FRAMES_SENT);
  assert_int_equal(ws_frames_libc_held(f), 0);
  assert_int_equal(out.len, 8);
  assert_memory_equal(out.data + 4, "\x81\x02ok", 4);
  /* Ending inside a frame releases it too. */
  b.n = 0;
  put_frame(&b, 1, 0x1, "x\xff", 2);
  assert_int_equal(ws_frames_recv(f, b.p, b.n - 1), WS_DIAG_NONE);
  assert_int_equal(ws_frames_libc_held(f), ctx);
  assert_int_equal(ws_frames_recv(f, b.p + b.n - 1, 1), WS_DIAG_FRAME_UTF8);
  assert_int_equal(ws_frames_libc_held(f), 0);
  ws_frames_free(f);
  ws_buf_free(&out, &x.m);
  assert_int_equal(x.ca.live_blocks, 0);
  result_free(&rr);
  tu_bytes_free(&b);
}

/* Every (re)creation of wslay's context passes the "wslay" probe on the
 * loop's allocator, so a failure there is seen at each of them: FRAME_NOMEM
 * from recv, WS_FRAMES_SEND_NOMEM (loop still usable) from a send. */
static void test_wslay_context_nomem(void **state) {
  mem_fixture x;
  ws_buf out = {0};
  ws_frames *f;
  ws_frames_handler h = {on_text, NULL};
  tu_bytes b = {0};
  unsigned long before;
  (void)state;
  mem_fixture_init(&x);
  assert_int_equal(ws_frames_new(&f, &x.m, 100, &out, &h), 0);
  /* Room for every frame below, so the probe is the only allocation. */
  assert_int_equal(ws_buf_reserve(&out, &x.m, 256), 0);
  before = x.fa.calls;
  put_frame(&b, 1, 0x9, "a", 1);
  assert_int_equal(ws_frames_recv(f, b.p, b.n), WS_DIAG_NONE);
  assert_int_equal(x.fa.calls, before + 1); /* the probe, once */
  assert_int_equal(x.fa.largest >= ws_frames_libc_bytes(), 1);
  /* A second frame is a second creation, and this one fails. */
  assert_int_equal(ws_frames_send_text(f, (const uint8_t *)"ab", 2),
                   WS_FRAMES_SENT);
  assert_int_equal(x.fa.calls, before + 2);
  x.fa.fail_at = x.fa.calls + 1;
  assert_int_equal(ws_frames_send_text(f, (const uint8_t *)"cd", 2),
                   WS_FRAMES_SEND_NOMEM);
  assert_int_equal(ws_mem_failures(&x.m), 1);
  assert_int_equal(out.len, 3 + 4); /* pong "a", text "ab" */
  assert_int_equal(ws_frames_send_text(f, (const uint8_t *)"cd", 2),
                   WS_FRAMES_SENT);
  assert_memory_equal(out.data,
                      "\x8a\x01"
                      "a"
                      "\x81\x02"
                      "ab"
                      "\x81\x02"
                      "cd",
                      11);
  x.fa.fail_at = x.fa.calls + 1;
  assert_int_equal(ws_frames_recv(f, b.p, b.n), WS_DIAG_FRAME_NOMEM);
  assert_int_equal(ws_mem_failures(&x.m), 2);
  assert_int_equal(ws_frames_libc_held(f), 0);
  assert_int_equal(ws_frames_recv(f, b.p, b.n), WS_DIAG_FRAME_NOMEM);
  assert_int_equal(out.len, 11); /* no pong */
  ws_frames_free(f);
  ws_buf_free(&out, &x.m);
  assert_int_equal(x.ca.live_blocks, 0);
  tu_bytes_free(&b);
}

/* The message buffer exists only while a message is being received. */
static void test_idle_footprint(void **state) {
  mem_fixture x;
  ws_buf out = {0};
  ws_frames *f;
  run_result rr;
  run_opts o = DEFAULT_OPTS;
  handler_ctx hc;
  ws_frames_handler h;
  tu_bytes b = {0};
  uint8_t *p = ascii_payload(65536);
  size_t idle_blocks, idle_bytes;
  (void)state;
  memset(&rr, 0, sizeof(rr));
  hc.o = &o;
  hc.r = &rr;
  h.on_text = on_text;
  h.ud = &hc;
  mem_fixture_init(&x);
  assert_int_equal(ws_frames_new(&f, &x.m, 1 << 20, &out, &h), 0);
  hc.f = f;
  idle_blocks = x.ca.live_blocks;
  idle_bytes = x.ca.live_bytes;
  assert_int_equal(idle_blocks, 1);
  /* Idle, the loop is its own struct (counted with countalloc's header) and
   * holds nothing of wslay's. */
  assert_true(ws_frames_footprint() <= idle_bytes);
  assert_true(ws_frames_footprint() <= 512);
  assert_int_equal(ws_frames_libc_held(f), 0);
  put_frame(&b, 0, 0x1, p, 65536);
  assert_int_equal(ws_frames_recv(f, b.p, b.n), WS_DIAG_NONE);
  assert_int_equal(x.ca.live_blocks, idle_blocks + 1); /* mid-message */
  b.n = 0;
  put_frame(&b, 1, 0x0, "!", 1);
  put_text(&b, "small");
  assert_int_equal(ws_frames_recv(f, b.p, b.n), WS_DIAG_NONE);
  assert_int_equal(rr.n_msgs, 2);
  assert_int_equal(x.ca.live_blocks, idle_blocks);
  assert_int_equal(x.ca.live_bytes, idle_bytes);
  ws_frames_free(f);
  assert_int_equal(x.ca.live_blocks, 0);
  result_free(&rr);
  free(p);
  tu_bytes_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rfc_masked_hello),
      cmocka_unit_test(test_rfc_unmasked_rejected),
      cmocka_unit_test(test_rfc_ping_pong),
      cmocka_unit_test(test_ping_sizes),
      cmocka_unit_test(test_rfc_256_and_64k),
      cmocka_unit_test(test_large_message),
      cmocka_unit_test(test_row_rsv),
      cmocka_unit_test(test_row_opcode),
      cmocka_unit_test(test_row_fragmented_control),
      cmocka_unit_test(test_row_control_too_long),
      cmocka_unit_test(test_row_nonminimal_length),
      cmocka_unit_test(test_row_continuation),
      cmocka_unit_test(test_row_interleaved),
      cmocka_unit_test(test_row_binary),
      cmocka_unit_test(test_row_close_payload_1),
      cmocka_unit_test(test_row_utf8),
      cmocka_unit_test(test_row_too_big),
      cmocka_unit_test(test_row_client_close),
      cmocka_unit_test(test_row_eof),
      cmocka_unit_test(test_ping_between_fragments),
      cmocka_unit_test(test_utf8_split_valid),
      cmocka_unit_test(test_utf8_split_invalid),
      cmocka_unit_test(test_utf8_fail_fast),
      cmocka_unit_test(test_utf8_four_byte_across_frames),
      cmocka_unit_test(test_limit_single_frame),
      cmocka_unit_test(test_limit_fragmented),
      cmocka_unit_test(test_limit_huge_header),
      cmocka_unit_test(test_header_only_at_once),
      cmocka_unit_test(test_header_only_valid),
      cmocka_unit_test(test_eof),
      cmocka_unit_test(test_close_codes),
      cmocka_unit_test(test_close_empty),
      cmocka_unit_test(test_close_reason),
      cmocka_unit_test(test_after_end_ignored),
      cmocka_unit_test(test_handler_ends_session),
      cmocka_unit_test(test_handler_echo_order),
      cmocka_unit_test(test_handler_reentry),
      cmocka_unit_test(test_lent_ctrl_room),
      cmocka_unit_test(test_send_text_encoding),
      cmocka_unit_test(test_send_text_nomem),
      cmocka_unit_test(test_close_encoding),
      cmocka_unit_test(test_new_failures),
      cmocka_unit_test(test_recv_null_input),
      cmocka_unit_test(test_nomem_every_point),
      cmocka_unit_test(test_pong_nomem),
      cmocka_unit_test(test_wslay_context_lazy),
      cmocka_unit_test(test_wslay_context_nomem),
      cmocka_unit_test(test_idle_footprint),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
