/* Session memory: the only path from the core to an allocator.
 *
 * Every session owns one ws_mem.  All core allocations go through it, and so
 * do cJSON's and OpenSSL's while a session call runs on this thread (see
 * ws_mem_enter).  Each failed allocation bumps `failures`, which is how the
 * core attributes a failure inside a dependency (OpenSSL can report an
 * allocation failure as "signature does not verify", cJSON as a syntax
 * error): callers compare ws_mem_failures() before and after the call. */
#ifndef WS_MEM_H
#define WS_MEM_H

#include <stddef.h>
#include <stdint.h>

#include "wsgate/wsgate.h"

typedef struct ws_mem {
  ws_allocator al;        /* members never NULL after ws_mem_init */
  unsigned long failures; /* allocations that returned NULL */
  /* Where the allocation in progress was asked for (ws_alloc_site): the
   * core's call site, or the core's call into a dependency (dep names it;
   * dep_file/dep_line are OpenSSL's own site, when it gives one). */
  const char *file, *func, *dep, *dep_file;
  int line, dep_line;
} ws_mem;

/* The call site of an allocation, as the trail shows it (POLICY §4).
 * The build maps the source directory away, so files read "core/jwt.c". */
#define WS_HERE __FILE__, __LINE__, __func__

/* Copies a (may be NULL or partial) filling libc defaults. */
void ws_mem_init(ws_mem *m, const ws_allocator *a);

/* Each allocation records its call site (file, line, function) on m and
 * enters m for the duration of the call, so an allocator can ask
 * ws_alloc_site() where the block is wanted. */
void *ws_mem_malloc_at(ws_mem *m, size_t n, const char *file, int line,
                       const char *func);
void *ws_mem_calloc_at(ws_mem *m, size_t nmemb, size_t size, const char *file,
                       int line, const char *func);
void *ws_mem_realloc_at(ws_mem *m, void *p, size_t n, const char *file,
                        int line, const char *func);
/* Copies len bytes and adds a NUL; NULL on failure. */
char *ws_mem_strndup_at(ws_mem *m, const char *s, size_t len, const char *file,
                        int line, const char *func);
void ws_mem_free(ws_mem *m, void *p);

/* Asks m for n bytes on behalf of dependency dep and frees them at once: the
 * fault site of an allocation a dependency makes on libc (wslay).  0, or -1
 * when refused (counted as a failure). */
int ws_mem_probe_at(ws_mem *m, size_t n, const char *dep, const char *file,
                    int line, const char *func);

#define ws_mem_probe(m, n, dep) ws_mem_probe_at((m), (n), (dep), WS_HERE)
#define ws_mem_malloc(m, n) ws_mem_malloc_at((m), (n), WS_HERE)
#define ws_mem_calloc(m, a, b) ws_mem_calloc_at((m), (a), (b), WS_HERE)
#define ws_mem_realloc(m, p, n) ws_mem_realloc_at((m), (p), (n), WS_HERE)
#define ws_mem_strndup(m, s, n) ws_mem_strndup_at((m), (s), (n), WS_HERE)

static inline unsigned long ws_mem_failures(const ws_mem *m) {
  return m->failures;
}

/* Makes m the allocator of every cJSON/OpenSSL allocation on this thread
 * until ws_mem_leave; returns the previous one (NULL: libc).  Nests. */
ws_mem *ws_mem_enter(ws_mem *m);
void ws_mem_leave(ws_mem *prev);
/* ws_mem_enter for a call into dependency dep ("cJSON", "OpenSSL"), made at
 * the given site: its allocations are reported there.  Leave with
 * ws_mem_leave (the next core allocation records its own site). */
ws_mem *ws_mem_enter_dep_at(ws_mem *m, const char *dep, const char *file,
                            int line, const char *func);
#define ws_mem_enter_dep(m, dep) ws_mem_enter_dep_at((m), (dep), WS_HERE)
/* The allocator currently entered on this thread, or NULL. */
ws_mem *ws_mem_current(void);

/* Trampolines installed into dependencies by ws_global_init.  Each block
 * carries a small header naming the ws_mem that made it, so a block is always
 * freed by its own allocator, whichever session is entered at free time. */
void *ws_dep_malloc(size_t n);
void *ws_dep_realloc(void *p, size_t n);
void ws_dep_free(void *p);

#endif
