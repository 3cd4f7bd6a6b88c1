#include "countalloc.h"

#include <stdlib.h>
#include <string.h>

/* Each block carries its size in front (aligned like malloc's result). */
typedef union hdr {
  size_t size;
  max_align_t align_;
} hdr;

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
  h->size = n;
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
  c->live_blocks--;
  c->live_bytes -= h->size;
  in_free(c, h);
}

static void *ca_realloc(void *p, size_t n, void *ud) {
  ws_countalloc *c = ud;
  hdr *h, *q;
  size_t old;
  if (!p) return ca_malloc(n, ud);
  h = (hdr *)p - 1;
  old = h->size;
  if (n > SIZE_MAX - sizeof(hdr) || !(q = in_realloc(c, h, sizeof(hdr) + n))) {
    c->failed_allocs++;
    return NULL;
  }
  q->size = n;
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
