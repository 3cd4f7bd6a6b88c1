/* The judge: is a run's outcome the promise kept (POLICY §1 and §4)?
 *
 * Used by the sweep, the fuzz targets and the tests.  It knows the table
 * and the fault layer, not the input: oracles that know the right answer
 * for an input (the fuzz targets' token forge and frame model) add their
 * own verdicts (wrong_outcome, forged) on top of these.  Everything is
 * compared as enums and numbers, never as names. */
#ifndef WS_FAULT_JUDGE_H
#define WS_FAULT_JUDGE_H

#include <stddef.h>
#include <stdint.h>

#include "run.h"

/* X(ID, NAME, FAILING) */
#define WS_VERDICT_LIST(X)                                                     \
  X(ABSORBED, "absorbed", 0)           /* client saw what the clean run saw */ \
  X(DIAGNOSED, "diagnosed", 0)         /* a diagnosis that blames the fault */ \
  X(UNEXPLAINED, "unexplained", 1)     /* outside the table, 1011 w/o cause */ \
  X(MISATTRIBUTED, "misattributed", 1) /* a diagnosis blaming another cause */ \
  X(LEAKED, "leaked", 1)               /* blocks live after ws_session_free */ \
  X(CRASHED, "crashed", 1)             /* the run did not come back */         \
  X(INTERNAL, "internal", 1)           /* class internal with no fault */      \
  X(OBLIGATION, "obligation", 1)       /* context factory skipped a duty */    \
  X(WRONG_OUTCOME, "wrong_outcome", 1) /* an oracle knows the right answer */  \
  X(FORGED, "forged", 1)               /* a token accepted that was not signed \
                                          as it is */                          \
  X(UNSTABLE, "unstable", 1) /* depends on chunking, interleaving or luck */

typedef enum ws_verdict {
#define WS_VERDICT_ENUM_(id, name, failing) WS_V_##id,
  WS_VERDICT_LIST(WS_VERDICT_ENUM_)
#undef WS_VERDICT_ENUM_
      WS_V_COUNT_
} ws_verdict;

const char *ws_verdict_name(ws_verdict v);
/* 1 for every verdict that breaks the promise. */
int ws_verdict_failing(ws_verdict v);

/* Judges run r against the clean (fault-free) run of the same input, or on
 * its own when clean is NULL (r is then the clean run).  Checks, in order:
 * an outcome exists; its diagnosis is a session-ending row of the table
 * and its stage, status, close code and reason are that row's; no 1011
 * without class internal; nothing live after free (leaked); with no fault
 * injected, no class internal (internal); the context factory's duties
 * (every attribute read back through the reader when a context was built;
 * ids from the generator that the trail names); then, against clean, an
 * injected fault is absorbed (same diagnosis and client-visible bytes, and
 * a trail entry for every absorbed idgen, random or attr fault) or blamed
 * (alloc/random: class resource; idgen: CTX_IDGEN_EXHAUSTED; attr: the
 * CTX_ATTR_ row of that attribute).  For a failing verdict, why gets one
 * sentence (for a leak, the allocation sites of the live blocks). */
ws_verdict ws_judge(const ws_run_result *clean, const ws_run_result *r,
                    char *why, size_t cap);

/* Whether two runs of the same input look the same to the client: the same
 * diagnosis, status, close code and, with generated ids masked, the same
 * bytes (exact = 1: the bytes unmasked).  For chunking and interleaving. */
int ws_judge_same(const ws_run_result *a, const ws_run_result *b, int exact);

/* What server bytes say to a client, with generated ids masked: the HTTP
 * head verbatim, then each frame's first byte and payload, where the values
 * of the generated ids read "*".  Returns a malloc'd buffer and its length
 * in *out_len; NULL when out of memory. */
uint8_t *ws_judge_visible(const uint8_t *sent, size_t len, size_t *out_len);

#endif
