/* One session run under a fault plan: the shared engine of `wsgate session`
 * (with --fault), `wsgate sweep` and the fuzz targets.  It builds a fault-
 * injecting environment over a base one, feeds the client bytes (whole or in
 * chunks, draining the server's bytes as it goes), ends the input, frees the
 * session and reports the outcome, what the server sent, the hits of each
 * fault kind, what was injected, and what was still allocated afterwards. */
#ifndef WS_FAULT_RUN_H
#define WS_FAULT_RUN_H

#include <stddef.h>
#include <stdint.h>

#include "inject.h"
#include "plan.h"
#include "wsgate/wsgate.h"

typedef struct ws_run_result {
  /* ws_session_new itself failed with WS_ERR_NOMEM: there is no session, so
   * the outcome is made here (HS_NOMEM, nothing sent), as a server would
   * report it. */
  int new_failed;
  int has_outcome;
  ws_outcome outcome;
  uint8_t *sent; /* what the server sent (libc; ws_run_result_clear) */
  size_t sent_len;
  int sent_truncated; /* host ran out of memory keeping it */
  size_t live_blocks, live_bytes, peak_bytes; /* after ws_session_free */
  ws_fault_plan plan;                         /* the plan the run was given */
  unsigned long hits[WS_FAULT_KINDS_];
  size_t n_injected, injected_dropped;
  /* Last, so that a run clears only the members before it (speed). */
  ws_fault_event injected[WS_FAULT_TRAIL_MAX];
} ws_run_result;

typedef struct ws_run_spec {
  const ws_config *cfg;
  const ws_keyset *keys;
  ws_env env;                /* the base environment, decorated per run */
  void (*prepare)(void *ud); /* before each run: reset the base env's state */
  void *prepare_ud;
  const uint8_t *input;
  size_t len;
  size_t chunk; /* 0: whole */
  /* When n_chunk_sizes > 0: piece k is 1 + chunk_sizes[k % n] bytes (input-
   * chosen chunking, fuzz_handshake); overrides chunk. */
  const uint8_t *chunk_sizes;
  size_t n_chunk_sizes;
  ws_fault_hit_fn on_hit; /* every hit (--list-faults), optional */
  void *on_hit_ud;
  /* Test-only hooks (the oracle tests): wrap the decorated environment
   * before the session starts, and rewrite the result afterwards. */
  void (*wrap)(void *ud, ws_env *env);
  void (*tamper)(void *ud, ws_run_result *r);
  void *hook_ud;
} ws_run_spec;

/* Runs spec's input under plan (NULL: no faults).  0, or -1 when the run
 * could not start (ws_session_new failed other than for memory; the error
 * is in *err). */
int ws_run(const ws_run_spec *spec, const ws_fault_plan *plan, ws_run_result *r,
           int *err);
void ws_run_result_clear(ws_run_result *r);

/* The outcome line of CONTRACT 2 with the injected faults, plus "live" when
 * something was left allocated.  Returns the length needed (snprintf). */
size_t ws_run_outcome_json(const ws_run_result *r, char *buf, size_t cap);

#endif
