/* The fault-injecting environment: a decorator around a ws_env (STYLE 11),
 * not a fork of it.  It counts every hit of every fault kind, fails the hits
 * its plan selects, and records each injection (kind, hit number, site) in a
 * trail.  Allocation hits are counted on a counting allocator underneath, so
 * live blocks after the session is freed are visible without LeakSanitizer.
 *
 * Sites: idgen hits are "idgen.primary:<kind>" or "idgen.fallback:<kind>",
 * attr hits "attr:<attribute>"; allocation hits are "alloc" until the core
 * passes call sites through ws_mem. */
#ifndef WS_FAULT_INJECT_H
#define WS_FAULT_INJECT_H

#include "countalloc.h"
#include "plan.h"
#include "wsgate/wsgate.h"

#define WS_FAULT_TRAIL_MAX 64

typedef struct ws_fault_event {
  ws_fault_kind kind;
  unsigned long n;
  char site[48];
} ws_fault_event;

typedef struct ws_fault_env {
  ws_env env;   /* give this to ws_session_new */
  ws_env inner; /* the decorated environment */
  ws_fault_plan plan;
  ws_countalloc counts;
  ws_allocator counted; /* the counting allocator, under the plan */
  ws_fault_event trail[WS_FAULT_TRAIL_MAX];
  size_t trail_len, trail_dropped;
} ws_fault_env;

/* Wraps inner (copied); the plan is copied too.  inner->alloc becomes the
 * allocator under the counter. */
void ws_fault_env_init(ws_fault_env *f, const ws_env *inner,
                       const ws_fault_plan *plan);

/* Every injection passes through here: a place for a breakpoint. */
void ws_fault_injected(ws_fault_env *f, ws_fault_kind kind, unsigned long n,
                       const char *site);

#endif
