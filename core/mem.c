/* The only core file that calls libc's allocator.
 *
 * It also holds the core's single piece of per-thread state: the ws_mem of
 * the session running on this thread, which the cJSON and OpenSSL
 * trampolines forward to.  Those libraries take one process-wide allocator
 * with no user data, so a thread-local is the narrowest scope that keeps
 * sessions independent (STYLE 3).  It is set on entry to each session call
 * and restored on exit (ws_mem_enter/ws_mem_leave). */
#include "mem.h"

#include <stdlib.h>
#include <string.h>

static void *libc_malloc(size_t n, void *ud) {
  (void)ud;
  return malloc(n);
}
static void libc_free(void *p, void *ud) {
  (void)ud;
  free(p);
}
static void *libc_calloc(size_t a, size_t b, void *ud) {
  (void)ud;
  return calloc(a, b);
}
static void *libc_realloc(void *p, size_t n, void *ud) {
  (void)ud;
  return realloc(p, n);
}

void ws_mem_init(ws_mem *m, const ws_allocator *a) {
  memset(m, 0, sizeof(*m));
  if (a && a->malloc && a->free && a->calloc && a->realloc) {
    m->al = *a;
  } else {
    /* A partial allocator cannot be completed safely (a block from one
     * allocator freed by another), so anything short of all four is
     * replaced by libc as a whole. */
    m->al.malloc = libc_malloc;
    m->al.free = libc_free;
    m->al.calloc = libc_calloc;
    m->al.realloc = libc_realloc;
    m->al.user_data = NULL;
  }
}

void *ws_mem_malloc(ws_mem *m, size_t n) {
  void *p = m->al.malloc(n ? n : 1, m->al.user_data);
  if (!p) m->failures++;
  return p;
}

void *ws_mem_calloc(ws_mem *m, size_t nmemb, size_t size) {
  void *p;
  if (size && nmemb > SIZE_MAX / size) {
    m->failures++;
    return NULL;
  }
  p = m->al.calloc(nmemb ? nmemb : 1, size ? size : 1, m->al.user_data);
  if (!p) m->failures++;
  return p;
}

void *ws_mem_realloc(ws_mem *m, void *p, size_t n) {
  void *q = m->al.realloc(p, n ? n : 1, m->al.user_data);
  if (!q) m->failures++;
  return q;
}

void ws_mem_free(ws_mem *m, void *p) {
  if (p) m->al.free(p, m->al.user_data);
}

char *ws_mem_strndup(ws_mem *m, const char *s, size_t len) {
  char *d;
  if (len == SIZE_MAX) return NULL;
  d = ws_mem_malloc(m, len + 1);
  if (!d) return NULL;
  memcpy(d, s, len);
  d[len] = '\0';
  return d;
}

/* ---- per-thread current allocator for the dependency trampolines -------- */

static _Thread_local ws_mem *ws_mem_tls_current;

ws_mem *ws_mem_enter(ws_mem *m) {
  ws_mem *prev = ws_mem_tls_current;
  ws_mem_tls_current = m;
  return prev;
}

void ws_mem_leave(ws_mem *prev) {
  ws_mem_tls_current = prev;
}

ws_mem *ws_mem_current(void) {
  return ws_mem_tls_current;
}

/* Every dependency block starts with this header: the allocator that made it
 * (NULL: libc, when no session was entered).  The union keeps the payload
 * aligned for any type, as malloc's result must be. */
typedef union dep_hdr {
  ws_mem *owner;
  max_align_t align_;
} dep_hdr;

void *ws_dep_malloc(size_t n) {
  ws_mem *m = ws_mem_tls_current;
  dep_hdr *h;
  if (n > SIZE_MAX - sizeof(dep_hdr)) {
    if (m) m->failures++;
    return NULL;
  }
  h = m ? ws_mem_malloc(m, sizeof(dep_hdr) + n) : malloc(sizeof(dep_hdr) + n);
  if (!h) return NULL;
  h->owner = m;
  return h + 1;
}

void ws_dep_free(void *p) {
  dep_hdr *h;
  if (!p) return;
  h = (dep_hdr *)p - 1;
  if (h->owner)
    ws_mem_free(h->owner, h);
  else
    free(h);
}

void *ws_dep_realloc(void *p, size_t n) {
  dep_hdr *h, *q;
  if (!p) return ws_dep_malloc(n);
  h = (dep_hdr *)p - 1;
  if (n > SIZE_MAX - sizeof(dep_hdr)) {
    if (h->owner) h->owner->failures++;
    return NULL;
  }
  /* A block stays with the allocator that made it. */
  q = h->owner ? ws_mem_realloc(h->owner, h, sizeof(dep_hdr) + n)
               : realloc(h, sizeof(dep_hdr) + n);
  if (!q) return NULL;
  return q + 1;
}
