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
} ws_mem;

/* Copies a (may be NULL or partial) filling libc defaults. */
void ws_mem_init(ws_mem *m, const ws_allocator *a);

void *ws_mem_malloc(ws_mem *m, size_t n);
void *ws_mem_calloc(ws_mem *m, size_t nmemb, size_t size);
void *ws_mem_realloc(ws_mem *m, void *p, size_t n);
void ws_mem_free(ws_mem *m, void *p);
/* Copies len bytes and adds a NUL; NULL on failure. */
char *ws_mem_strndup(ws_mem *m, const char *s, size_t len);

static inline unsigned long ws_mem_failures(const ws_mem *m) {
  return m->failures;
}

/* Makes m the allocator of every cJSON/OpenSSL allocation on this thread
 * until ws_mem_leave; returns the previous one (NULL: libc).  Nests. */
ws_mem *ws_mem_enter(ws_mem *m);
void ws_mem_leave(ws_mem *prev);
/* The allocator currently entered on this thread, or NULL. */
ws_mem *ws_mem_current(void);

/* Trampolines installed into dependencies by ws_global_init.  Each block
 * carries a small header naming the ws_mem that made it, so a block is always
 * freed by its own allocator, whichever session is entered at free time. */
void *ws_dep_malloc(size_t n);
void *ws_dep_realloc(void *p, size_t n);
void ws_dep_free(void *p);

#endif
