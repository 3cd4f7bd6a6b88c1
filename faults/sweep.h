/* The exhaustive fault sweep (CONTRACT 5): for one input, a clean run that
 * counts the hits of each fault kind, then one run per hit failed once
 * (transient) and one per hit failed from there on (persistent), each judged
 * against the promise of CONTRACT 1 and 4. */
#ifndef WS_FAULT_SWEEP_H
#define WS_FAULT_SWEEP_H

#include <stdio.h>

#include "run.h"

typedef enum ws_verdict {
  WS_V_ABSORBED = 0,  /* client-visible result equals the clean run's */
  WS_V_DIAGNOSED,     /* ended with a diagnosis that blames the fault */
  WS_V_UNEXPLAINED,   /* no outcome, not in the table, 1011 w/o internal... */
  WS_V_MISATTRIBUTED, /* a diagnosis that blames something else */
  WS_V_LEAKED,        /* blocks still allocated after ws_session_free */
  WS_V_CRASHED,       /* the run did not return (isolated in a child) */
  WS_V_COUNT_
} ws_verdict;

const char *ws_verdict_name(ws_verdict v);

/* Every verdict but ABSORBED and DIAGNOSED breaks the promise. */
static inline int ws_verdict_failing(ws_verdict v) {
  return v != WS_V_ABSORBED && v != WS_V_DIAGNOSED;
}

/* Judges run r (with its injected faults) against the clean run.  For every
 * verdict but ABSORBED and DIAGNOSED, why gets one sentence. */
ws_verdict ws_sweep_judge(const ws_run_result *clean, const ws_run_result *r,
                          char *why, size_t cap);

/* What server bytes say to a client, with generated ids masked: the HTTP
 * head verbatim, then each frame's first byte and payload, where the values
 * of thread_id, websocket_client_id, run_id and request_id read "*".
 * Returns a malloc'd buffer and its length in *out_len; NULL when out of
 * memory. */
uint8_t *ws_sweep_visible(const uint8_t *sent, size_t len, size_t *out_len);

typedef struct ws_sweep_totals {
  unsigned long inputs, points;
  unsigned long verdicts[WS_V_COUNT_];
  unsigned long hits[WS_FAULT_KINDS_]; /* clean-run hits, summed */
  unsigned long clean_failures;        /* clean runs that broke the promise */
} ws_sweep_totals;

typedef struct ws_sweep_opts {
  ws_run_spec spec;   /* input/len are set per input */
  unsigned kinds;     /* bit (1u << kind) for each kind swept */
  int isolate;        /* fork a worker per input; a crash costs one point */
  FILE *progress;     /* one line per input, or NULL */
  FILE *failures;     /* each failing point as a JSON line, or NULL */
  const char *replay; /* "wsgate session --keys ..." prefix for replay hints */
} ws_sweep_opts;

/* Sweeps one input and adds to *t.  The per-input summary JSON line goes to
 * out (or nowhere).  Returns the number of failing points (clean-run
 * failures included), or -1 when the sweep itself could not run. */
long ws_sweep_input(const ws_sweep_opts *o, const char *name,
                    const uint8_t *data, size_t len, ws_sweep_totals *t,
                    FILE *out);

/* Number of failures in t: unexplained + misattributed + leaked + crashed +
 * clean-run failures. */
unsigned long ws_sweep_failures(const ws_sweep_totals *t);

#endif
