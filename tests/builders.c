#include "builders.h"

#include <stdlib.h>
#include <string.h>

#include "rng.h"

const uint8_t tb_mask_key[4] = {0x37, 0xfa, 0x21, 0x3d};

size_t tb_request(char *out, size_t cap, const char *extra) {
  static const char head[] =
      "GET /chat HTTP/1.1\r\n"
      "Host: server.example.com\r\n"
      "Upgrade: websocket\r\n"
      "Connection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
      "Sec-WebSocket-Version: 13\r\n";
  size_t hl = sizeof(head) - 1, el = extra ? strlen(extra) : 0;
  size_t n = hl + el + 2;
  if (n <= cap) {
    memcpy(out, head, hl);
    if (el) memcpy(out + hl, extra, el);
    memcpy(out + hl + el, "\r\n", 2);
  }
  return n;
}

size_t tb_frame(uint8_t *out, size_t cap, uint8_t b0, const uint8_t *mask,
                const void *payload, size_t n) {
  uint8_t h[14];
  size_t hl = 0, i;
  const uint8_t *p = payload;
  uint8_t mbit = mask ? 0x80 : 0;
  h[hl++] = b0;
  if (n < 126) {
    h[hl++] = (uint8_t)(mbit | n);
  } else if (n < 65536) {
    h[hl++] = mbit | 126;
    h[hl++] = (uint8_t)(n >> 8);
    h[hl++] = (uint8_t)n;
  } else {
    h[hl++] = mbit | 127;
    for (i = 0; i < 8; i++) h[hl++] = (uint8_t)((uint64_t)n >> (56 - 8 * i));
  }
  if (mask) {
    memcpy(h + hl, mask, 4);
    hl += 4;
  }
  if (n > (size_t)-1 - hl) return (size_t)-1;
  if (hl + n > cap) return hl + n;
  memcpy(out, h, hl);
  for (i = 0; i < n; i++)
    out[hl + i] = mask ? (uint8_t)(p[i] ^ mask[i % 4]) : p[i];
  return hl + n;
}

size_t tb_close_payload(uint8_t out[125], int code, const char *reason) {
  size_t n = 0, rl;
  if (!code) return 0;
  out[n++] = (uint8_t)(code >> 8);
  out[n++] = (uint8_t)code;
  if (reason) {
    rl = strlen(reason);
    if (rl > 123) rl = 123;
    memcpy(out + n, reason, rl);
    n += rl;
  }
  return n;
}

static int fa_fails(tb_failalloc *f, size_t n) {
  f->calls++;
  if (n > f->largest) f->largest = n;
  if (f->fail_at == 0 ||
      (f->fail_from ? f->calls < f->fail_at : f->calls != f->fail_at))
    return 0;
  f->failed++;
  return 1;
}
static void *fa_malloc(size_t n, void *ud) {
  return fa_fails(ud, n) ? NULL : malloc(n);
}
static void *fa_calloc(size_t a, size_t b, void *ud) {
  return fa_fails(ud, b && a > (size_t)-1 / b ? (size_t)-1 : a * b)
             ? NULL
             : calloc(a, b);
}
static void *fa_realloc(void *p, size_t n, void *ud) {
  return fa_fails(ud, n) ? NULL : realloc(p, n);
}
static void fa_free(void *p, void *ud) {
  (void)ud;
  free(p);
}

ws_allocator tb_failalloc_allocator(tb_failalloc *f) {
  ws_allocator a = {fa_malloc, fa_free, fa_calloc, fa_realloc, f};
  return a;
}

static void drain(ws_session *s, tb_sink sink, void *ud) {
  const uint8_t *d;
  size_t n;
  while ((n = ws_session_send(s, &d)) > 0)
    if (sink) sink(ud, d, n);
}

long tb_session_feed(ws_session *s, const uint8_t *in, size_t len, size_t chunk,
                     uint64_t chunk_seed, int eof, tb_sink sink, void *ud) {
  size_t off = 0;
  while (off < len) {
    size_t n = len - off;
    long rc;
    if (chunk == TB_RANDOM_CHUNKS)
      n = 1 + (size_t)(ws_splitmix64(&chunk_seed) % 97);
    else if (chunk)
      n = chunk;
    if (n > len - off) n = len - off;
    rc = ws_session_recv(s, in + off, n);
    if (rc == WS_ERR_ENDED) break;
    if (rc != (long)n) return rc;
    drain(s, sink, ud);
    off += n;
  }
  if (eof) ws_session_eof(s);
  drain(s, sink, ud);
  return 0;
}
