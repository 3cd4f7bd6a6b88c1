#include "countalloc.h"

#include <stdlib.h>
#include <string.h>

/* Each block carries its size and where it was asked for in front (aligned
 * like malloc's result), and live blocks are chained, so that a leak can be
 * told by its allocation sites without LeakSanitizer. */
typedef union hdr {
  struct {
    size_t size;
    ws_alloc_where where;
    union hdr *prev, *next;
  } b;
  max_align_t align_;
} hdr;

static void link_block(ws_countalloc *c, hdr *h) {
  h->b.prev = NULL;
  h->b.next = c->live_head;
  if (h->b.next) h->b.next->b.prev = h;
  c->live_head = h;
}

static void unlink_block(ws_countalloc *c, hdr *h) {
  if (h->b.prev)
    h->b.prev->b.next = h->b.next;
  else
    c->live_head = h->b.next;
  if (h->b.next) h->b.next->b.prev = h->b.prev;
}

static void *in_malloc(ws_countalloc *c, size_t n) {
  return c->inner.malloc ? c->inner.malloc(n, c->inner.user_data) : malloc(n);
}
static void in_free(ws_countalloc *c, void *p) {
  if (c->inner.free)
    c->inner.free(p, c->inner.user_data);
  else
    free(p);
}
static void *in_realloc(ws_countalloc *c, void *p, size_t n) {
  return c->inner.realloc ? c->inner.realloc(p, n, c->inner.user_data)
                          : realloc(p, n);
}

static void grow(ws_countalloc *c, size_t n) {
  c->live_bytes += n;
  if (c->live_bytes > c->peak_bytes) c->peak_bytes = c->live_bytes;
  c->total_allocs++;
}

static void *ca_malloc(size_t n, void *ud) {
  ws_countalloc *c = ud;
  hdr *h;
  if (n > SIZE_MAX - sizeof(hdr) || !(h = in_malloc(c, sizeof(hdr) + n))) {
    c->failed_allocs++;
    return NULL;
  }
  h->b.size = n;
  h->b.where = ws_alloc_where_now();
  link_block(c, h);
  c->live_blocks++;
  grow(c, n);
  return h + 1;
}

static void *ca_calloc(size_t a, size_t b, void *ud) {
  void *p;
  if (b && a > SIZE_MAX / b) {
    ((ws_countalloc *)ud)->failed_allocs++;
    return NULL;
  }
  if ((p = ca_malloc(a * b, ud))) memset(p, 0, a * b);
  return p;
}

static void ca_free(void *p, void *ud) {
  ws_countalloc *c = ud;
  hdr *h;
  if (!p) return;
  h = (hdr *)p - 1;
  unlink_block(c, h);
  c->live_blocks--;
  c->live_bytes -= h->b.size;
  in_free(c, h);
}

static void *ca_realloc(void *p, size_t n, void *ud) {
  ws_countalloc *c = ud;
  hdr *h, *q;
  size_t old;
  if (!p) return ca_malloc(n, ud);
  h = (hdr *)p - 1;
  old = h->b.size;
  /* Unlinked first: the block may move, and its neighbours point at it. */
  unlink_block(c, h);
  if (n > SIZE_MAX - sizeof(hdr) || !(q = in_realloc(c, h, sizeof(hdr) + n))) {
    link_block(c, h);
    c->failed_allocs++;
    return NULL;
  }
  link_block(c, q);
  q->b.size = n;
  q->b.where = ws_alloc_where_now();
  c->live_bytes -= old;
  grow(c, n);
  return q + 1;
}

void ws_countalloc_init(ws_countalloc *c, const ws_allocator *inner) {
  memset(c, 0, sizeof(*c));
  if (inner) c->inner = *inner;
}

ws_allocator ws_countalloc_allocator(ws_countalloc *c) {
  ws_allocator a;
  a.malloc = ca_malloc;
  a.free = ca_free;
  a.calloc = ca_calloc;
  a.realloc = ca_realloc;
  a.user_data = c;
  return a;
}

size_t ws_countalloc_live(const ws_countalloc *c, ws_countalloc_live_fn fn,
                          void *ud) {
  const hdr *h;
  size_t n = 0;
  for (h = c->live_head; h; h = h->b.next, n++)
    if (fn) fn(ud, &h->b.where, h->b.size);
  return n;
}
