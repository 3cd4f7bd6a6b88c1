/* The only core file that calls libc's allocator.
 *
 * It also holds the core's single piece of per-thread state: the ws_mem of
 * the session running on this thread, which the cJSON and OpenSSL
 * trampolines forward to.  Those libraries take one process-wide allocator
 * with no user data, so a thread-local is the narrowest scope that keeps
 * sessions independent (POLICY §7).  It is set on entry to each session call
 * and restored on exit (ws_mem_enter/ws_mem_leave). */
#include "mem.h"

#include <stdio.h>
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

static _Thread_local ws_mem *ws_mem_tls_current;

/* The raw calls: count failures, leave the recorded site alone. */
static void *raw_malloc(ws_mem *m, size_t n) {
  void *p = m->al.malloc(n ? n : 1, m->al.user_data);
  if (!p) m->failures++;
  return p;
}

static void *raw_realloc(ws_mem *m, void *p, size_t n) {
  void *q = m->al.realloc(p, n ? n : 1, m->al.user_data);
  if (!q) m->failures++;
  return q;
}

/* Records the core call site and makes m current for the call. */
static ws_mem *at(ws_mem *m, const char *file, int line, const char *func) {
  ws_mem *prev = ws_mem_tls_current;
  m->file = file;
  m->line = line;
  m->func = func;
  m->dep = NULL;
  m->dep_file = NULL;
  ws_mem_tls_current = m;
  return prev;
}

void *ws_mem_malloc_at(ws_mem *m, size_t n, const char *file, int line,
                       const char *func) {
  ws_mem *prev = at(m, file, line, func);
  void *p = raw_malloc(m, n);
  ws_mem_tls_current = prev;
  return p;
}

void *ws_mem_calloc_at(ws_mem *m, size_t nmemb, size_t size, const char *file,
                       int line, const char *func) {
  ws_mem *prev;
  void *p;
  if (size && nmemb > SIZE_MAX / size) {
    m->failures++;
    return NULL;
  }
  prev = at(m, file, line, func);
  p = m->al.calloc(nmemb ? nmemb : 1, size ? size : 1, m->al.user_data);
  if (!p) m->failures++;
  ws_mem_tls_current = prev;
  return p;
}

void *ws_mem_realloc_at(ws_mem *m, void *p, size_t n, const char *file,
                        int line, const char *func) {
  ws_mem *prev = at(m, file, line, func);
  void *q = raw_realloc(m, p, n);
  ws_mem_tls_current = prev;
  return q;
}

int ws_mem_probe_at(ws_mem *m, size_t n, const char *dep, const char *file,
                    int line, const char *func) {
  ws_mem *prev = at(m, file, line, func);
  void *p;
  m->dep = dep;
  p = raw_malloc(m, n);
  ws_mem_tls_current = prev;
  if (!p) return -1;
  m->al.free(p, m->al.user_data);
  return 0;
}

void ws_mem_free(ws_mem *m, void *p) {
  if (p) m->al.free(p, m->al.user_data);
}

char *ws_mem_strndup_at(ws_mem *m, const char *s, size_t len, const char *file,
                        int line, const char *func) {
  char *d;
  if (len == SIZE_MAX) return NULL;
  d = ws_mem_malloc_at(m, len + 1, file, line, func);
  if (!d) return NULL;
  memcpy(d, s, len);
  d[len] = '\0';
  return d;
}

/* ---- per-thread current allocator for the dependency trampolines -------- */

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

ws_mem *ws_mem_enter_dep_at(ws_mem *m, const char *dep, const char *file,
                            int line, const char *func) {
  ws_mem *prev = ws_mem_tls_current;
  if (m) {
    at(m, file, line, func);
    m->dep = dep;
  }
  ws_mem_tls_current = m;
  return prev;
}

ws_alloc_where ws_alloc_where_now(void) {
  const ws_mem *m = ws_mem_tls_current;
  ws_alloc_where w = {NULL, NULL, NULL, 0};
  if (m && m->file) {
    w.file = m->file;
    w.func = m->func;
    w.dep = m->dep;
    w.line = m->line;
  }
  return w;
}

/* Formats the site of the allocation in progress on this thread. */
size_t ws_alloc_site(char *buf, size_t cap) {
  const ws_mem *m = ws_mem_tls_current;
  int n;
  if (!buf || !cap) return 0;
  if (!m || !m->file)
    n = snprintf(buf, cap, "?");
  else if (m->dep && m->dep_file)
    n = snprintf(buf, cap, "%s:%d %s [%s %s:%d]", m->file, m->line, m->func,
                 m->dep, m->dep_file, m->dep_line);
  else if (m->dep)
    n = snprintf(buf, cap, "%s:%d %s [%s]", m->file, m->line, m->func, m->dep);
  else
    n = snprintf(buf, cap, "%s:%d %s", m->file, m->line, m->func);
  if (n < 0) {
    buf[0] = '\0';
    return 0;
  }
  return (size_t)n < cap ? (size_t)n : cap - 1;
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
  h = m ? raw_malloc(m, sizeof(dep_hdr) + n) : malloc(sizeof(dep_hdr) + n);
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
  q = h->owner ? raw_realloc(h->owner, h, sizeof(dep_hdr) + n)
               : realloc(h, sizeof(dep_hdr) + n);
  if (!q) return NULL;
  return q + 1;
}
