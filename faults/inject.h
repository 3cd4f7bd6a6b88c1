/* The fault-injecting environment: a decorator around a ws_env (POLICY §7),
 * not a fork of it.  It counts every hit of every fault kind, fails the hits
 * its plan selects, and records each injection (kind, hit number, site) in a
 * trail.  Allocation hits are counted on a counting allocator underneath, so
 * live blocks after the session is freed are visible without LeakSanitizer.
 *
 * Sites (POLICY §4: "<file>:<line> <function>"): an allocation's is the
 * core's call site from ws_alloc_site() ("core/jwt.c:131 ws_jwt_verify", or
 * "core/crypto.c:335 ws_crypto_verify [OpenSSL ../crypto/evp/digest.c:120]"
 * inside a dependency); idgen, attr and random hits name the decorator's
 * call and what it was for ("faults/inject.c:90 idgen.primary:thread_id"). */
#ifndef WS_FAULT_INJECT_H
#define WS_FAULT_INJECT_H

#include "countalloc.h"
#include "plan.h"
#include "wsgate/wsgate.h"

#define WS_FAULT_TRAIL_MAX 64
#define WS_FAULT_SITE_MAX 128

typedef struct ws_fault_event {
  ws_fault_kind kind;
  int site_id; /* ws_fault_site: which place of the kind */
  int attr;    /* the ws_attr an idgen or attr hit was for, else -1 */
  unsigned long n;
  char site[WS_FAULT_SITE_MAX];
} ws_fault_event;

/* Called for every hit when set (--list-faults): failed says whether the
 * plan failed it. */
typedef void (*ws_fault_hit_fn)(void *ud, ws_fault_kind kind, unsigned long n,
                                const char *site, int failed);

typedef struct ws_fault_env {
  ws_env env;   /* give this to ws_session_new */
  ws_env inner; /* the decorated environment */
  ws_fault_plan plan;
  ws_countalloc counts;
  ws_allocator counted; /* the counting allocator, under the plan */
  size_t trail_len, trail_dropped;
  ws_fault_hit_fn on_hit; /* optional */
  void *on_hit_ud;
  unsigned attr_reads; /* bit (1u << ws_attr) for each attribute read */
  /* Last: ws_fault_env_init clears only the members before it. */
  ws_fault_event trail[WS_FAULT_TRAIL_MAX];
} ws_fault_env;

/* Wraps inner (copied); the plan is copied too.  inner->alloc becomes the
 * allocator under the counter.  The default id generators, when inner has
 * none, run on the decorated environment, so their randomness is a fault
 * site too. */
void ws_fault_env_init(ws_fault_env *f, const ws_env *inner,
                       const ws_fault_plan *plan);

/* Every injection passes through here: a place for a breakpoint. */
void ws_fault_injected(ws_fault_env *f, ws_fault_kind kind, int site_id,
                       int attr, unsigned long n, const char *site);

/* The fault site of the allocation in progress (alloc.core, alloc.cjson,
 * alloc.openssl, alloc.wslay), from ws_alloc_where_now(). */
int ws_fault_alloc_site(void);

/* Writes n trail events as a JSON array ([{"kind":..,"n":..,"site":..},...])
 * to buf; returns the length it needs (like snprintf). */
size_t ws_fault_trail_json(const ws_fault_event *ev, size_t n, char *buf,
                           size_t cap);

/* Writes s as the body of a JSON string (quotes, backslashes and control
 * bytes escaped) at buf[at], keeping within cap - 1; returns the new at,
 * counting what did not fit (like snprintf). */
size_t ws_fault_json_str(char *buf, size_t cap, size_t at, const char *s);

#endif
