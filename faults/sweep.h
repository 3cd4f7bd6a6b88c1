/* The exhaustive fault sweep (POLICY §5): for one input, a clean run that
 * counts the hits of each fault kind, then one run per hit failed once
 * (transient) and one per hit failed from there on (persistent), each judged
 * against the promise of POLICY §1 and §4. */
#ifndef WS_FAULT_SWEEP_H
#define WS_FAULT_SWEEP_H

#include <stdio.h>

#include "judge.h"
#include "run.h"

typedef struct ws_sweep_totals {
  unsigned long inputs, points;
  unsigned long verdicts[WS_V_COUNT_];
  unsigned long hits[WS_FAULT_KINDS_]; /* clean-run hits, summed */
  /* The "SITE@*" points per kind (one per site the clean run hit), summed:
   * points = 2 * hits + site points, per chunking. */
  unsigned long site_points[WS_FAULT_KINDS_];
  unsigned long clean_failures; /* clean runs that broke the promise */
  unsigned long unfired; /* points whose fault never fired (also unstable) */
} ws_sweep_totals;

typedef struct ws_sweep_opts {
  ws_run_spec spec;   /* input/len are set per input */
  unsigned kinds;     /* bit (1u << kind) for each kind swept */
  int isolate;        /* fork a worker per input; a crash costs one point */
  FILE *progress;     /* one line per input, or NULL */
  FILE *failures;     /* each failing point as a JSON line, or NULL */
  const char *replay; /* "wsgate session --keys ..." prefix for replay hints */
  /* Besides spec.chunk, each input is swept again fed in pieces of each of
   * these sizes (e.g. 1 and a prime), after checking that its clean run
   * looks exactly as fed whole. */
  size_t chunks[4];
  size_t n_chunks;
} ws_sweep_opts;

/* Sweeps one input and adds to *t.  The per-input summary JSON line goes to
 * out (or nowhere).  Returns the number of failing points (clean-run
 * failures included), or -1 when the sweep itself could not run. */
long ws_sweep_input(const ws_sweep_opts *o, const char *name,
                    const uint8_t *data, size_t len, ws_sweep_totals *t,
                    FILE *out);

/* Number of failures in t: every failing verdict plus the clean-run
 * failures. */
unsigned long ws_sweep_failures(const ws_sweep_totals *t);

#endif
