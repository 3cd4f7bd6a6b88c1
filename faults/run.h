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

#define WS_RUN_LIVE_MAX 8

typedef struct ws_run_result {
  /* ws_session_new itself failed with WS_ERR_NOMEM: there is no session, so
   * the outcome is made here (HS_NOMEM, nothing sent), as a server would
   * report it. */
  int new_failed;
  int has_outcome;
  ws_outcome outcome;
  uint8_t *sent; /* what the server sent (libc; ws_run_result_clear) */
  size_t sent_len, sent_cap; /* sent_cap: its allocated size */
  int sent_truncated;        /* host ran out of memory keeping it */
  size_t live_blocks, live_bytes, peak_bytes; /* after ws_session_free */
  /* Where the live blocks were allocated ("core/jwt.c:131 ws_jwt_verify
   * [cJSON] (40 bytes)"), the first WS_RUN_LIVE_MAX of them. */
  size_t n_live_sites;
  char live_sites[WS_RUN_LIVE_MAX][WS_FAULT_SITE_MAX + 24];
  /* The plan after the run: its rules with rule_fired[] (a rule that never
   * fired is worth a warning), hits per kind and site. */
  ws_fault_plan plan;
  unsigned long hits[WS_FAULT_KINDS_];
  unsigned long site_hits[WS_FAULT_SITES_];
  unsigned attr_reads; /* bit per ws_attr read through the reader */
  /* The user execution context as it was when the session was freed (ids
   * NUL-terminated; user_id not kept).  default_idgen: the environment used
   * the default generators, whose formats the judge knows. */
  int has_context, default_idgen;
  int resumed; /* the session was a copy (spec.resume): built elsewhere */
  char ids[WS_ATTR_COUNT_][WS_ID_MAX + 1];
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
  /* When hold_at > 0 (and no chunk_sizes): a piece never crosses byte
   * hold_at, and from there pieces are hold_chunk bytes (0: chunk).  In a
   * ws_run_multi the session also waits there until every other session
   * of the run is past its upgrade or done: the reentrancy companion of a
   * whole session then starts its frames when the input's start, so both
   * hold frame state across the same calls. */
  size_t hold_at, hold_chunk;
  ws_fault_hit_fn on_hit; /* every hit (--list-faults), optional */
  void *on_hit_ud;
  /* Start from a copy of this session instead of a new one: a session
   * past its upgrade (ws_session_clone_open), so the input is frames only
   * (the fuzz targets' snapshot of an accepted, authenticated upgrade). */
  const ws_session *resume;
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

/* For runners of their own (faults/stream.c): after the end of input and
 * before ws_session_free, keep the outcome and the context's ids; after
 * it, keep what the fault environment saw (live blocks and their sites,
 * the plan with what fired, hits, attribute reads, injections). */
void ws_run_keep_session(ws_run_result *r, const ws_session *s);
void ws_run_keep_faults(ws_run_result *r, const ws_fault_env *fe);

/* The reentrancy oracle's runner: runs n specs (n <= WS_RUN_MULTI_MAX) as n
 * sessions at once on this thread, feeding a piece of each in turn (each in
 * its own chunking), each under its own plan (plans may be NULL), so that
 * state shared between sessions changes what one of them does.  Each spec
 * needs its own environment state (user_data): nothing may be shared.
 * results[i] is what ws_run would give for spec i alone.  0, or -1 when a
 * session could not start. */
#define WS_RUN_MULTI_MAX 4
int ws_run_multi(const ws_run_spec *specs, const ws_fault_plan *const *plans,
                 size_t n, ws_run_result *results);

/* The outcome line of POLICY §2 with the injected faults, plus "live" when
 * something was left allocated.  Returns the length needed (snprintf). */
size_t ws_run_outcome_json(const ws_run_result *r, char *buf, size_t cap);

#endif
