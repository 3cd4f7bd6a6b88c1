/* A counting allocator decorator: wraps an inner ws_allocator (NULL: libc)
 * and keeps live blocks, live bytes and the peak, so a test or the sweep can
 * tell "every allocation was freed" without LeakSanitizer, and a benchmark
 * can read a session's memory from the allocator itself.  One instance per
 * session; not shared between threads. */
#ifndef WS_COUNTALLOC_H
#define WS_COUNTALLOC_H

#include <stddef.h>

#include "wsgate/wsgate.h"

typedef struct ws_countalloc {
  ws_allocator inner;
  size_t live_blocks;
  size_t live_bytes;
  size_t peak_bytes;
  size_t total_allocs; /* successful allocations, reallocs included */
  size_t failed_allocs;
  void *live_head; /* the live blocks, newest first (private) */
} ws_countalloc;

void ws_countalloc_init(ws_countalloc *c, const ws_allocator *inner);
/* The allocator to put in ws_env.alloc; its user_data is c. */
ws_allocator ws_countalloc_allocator(ws_countalloc *c);

/* Calls fn for every live block (newest first) with where it was allocated
 * (its last realloc) and its size; returns the number of live blocks. */
typedef void (*ws_countalloc_live_fn)(void *ud, const ws_alloc_where *where,
                                      size_t size);
size_t ws_countalloc_live(const ws_countalloc *c, ws_countalloc_live_fn fn,
                          void *ud);

#endif
