/* One session over a stream (`wsgate session`): the same fault-injecting
 * environment and outcome as ws_run (run.h), but the client's bytes are read
 * from a FILE in pieces and fed as they arrive, and the server's bytes are
 * written out as the session hands them over, so neither is ever held whole
 * in memory.  Reading stops when the session has its outcome (later bytes
 * would be discarded anyway) or when the input limit is reached. */
#ifndef WS_FAULT_STREAM_H
#define WS_FAULT_STREAM_H

#include <stdio.h>

#include "run.h"

typedef struct ws_stream_spec {
  const ws_config *cfg;
  const ws_keyset *keys;
  ws_env env;   /* the base environment, decorated by the fault plan */
  FILE *in;     /* the client's bytes */
  FILE *out;    /* the server's bytes, or NULL to discard them */
  size_t chunk; /* bytes fed per ws_session_recv; 0: 65536 */
  /* Most input bytes read (0: no limit).  Past it the input is ended as if
   * the client had stopped there, and result->input_limit is set. */
  unsigned long long max_input;
  ws_fault_hit_fn on_hit; /* every hit (--list-faults), optional */
  void *on_hit_ud;
} ws_stream_spec;

typedef struct ws_stream_result {
  unsigned long long in_bytes;  /* input bytes fed to the session */
  unsigned long long out_bytes; /* server bytes written to out */
  int input_limit;              /* the input was longer than max_input */
  int read_errno;               /* reading in failed (errno), 0 if not */
  int write_errno; /* writing out failed (errno), 0 if not; the session
                      still runs to its outcome */
  /* The outcome, hits, injected faults and live memory (sent stays NULL:
   * the bytes went to out). */
  ws_run_result run;
} ws_stream_result;

/* Runs one session over spec->in under plan (NULL: no faults).  When
 * ws_session_new itself fails for memory, the table's static HTTP response
 * for HS_NOMEM (ws_diag_http_response) is written to out and reported as
 * sent (http_status 503, reason its body), without reading any input.
 * Returns 0 with r filled (including after read or write errors, which are
 * reported in r), or -1 when the session could not start for another
 * reason (*err: the ws_error). */
int ws_stream_run(const ws_stream_spec *spec, const ws_fault_plan *plan,
                  ws_stream_result *r, int *err);

#endif
