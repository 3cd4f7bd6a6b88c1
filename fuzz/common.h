/* Shared by the fuzz targets (CONTRACT 6): one-time setup (ws_global_init,
 * the test key set and configs compiled in, so a target needs no files at
 * run time), a deterministic environment, signing claims with the test
 * HS256 key so deep stages are reachable, and the promise check that aborts
 * with a clear message when it is broken.
 *
 * Targets keep no state between inputs: everything an input touches is
 * made and freed inside LLVMFuzzerTestOneInput. */
#ifndef WS_FUZZ_COMMON_H
#define WS_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "run.h"
#include "sweep.h"
#include "wsgate/wsgate.h"

#define FZ_NOW 1700000000

enum {
  FZ_CFG_DEFAULT = 0, /* {} */
  FZ_CFG_FMA,         /* first-message auth */
  FZ_CFG_POLICY,      /* origins, subprotocols, issuer, audience */
  FZ_CFG_TIGHT,       /* small limits: head, headers, token, message, depth */
  FZ_CFG_COUNT
};

/* Idempotent; aborts when the fixed setup cannot be built (not an input's
 * fault). */
void fz_init(void);
const ws_keyset *fz_keys(void);
const ws_config *fz_config(unsigned which); /* which % FZ_CFG_COUNT */

/* A run spec over the deterministic environment (fixed clock FZ_NOW, ids
 * seeded the same for every run) for input[0..len). */
void fz_spec(ws_run_spec *spec, const ws_config *cfg, const uint8_t *input,
             size_t len);

/* A compact JWS of {"alg":"HS256","kid":"hs256"} and claims[0..n), signed
 * with the test key (malloc'd, NUL-terminated; NULL when out of memory). */
char *fz_sign(const uint8_t *claims, size_t n);

/* Copies in[0..n) with each "@@TOKEN(<claims>)@@" replaced by the signed
 * token of <claims> (malloc'd; *out_len its length). */
uint8_t *fz_expand(const uint8_t *in, size_t n, size_t *out_len);

/* The promise (CONTRACT 1, 4) for run r, judged against clean (NULL when no
 * fault was planned): an outcome in the table, no 1011 without an internal
 * diag, nothing live after free, and any injected fault absorbed or blamed.
 * Aborts with "wsgate fuzz: <target>: <why>" otherwise.  With
 * WSGATE_FUZZ_VERBOSE set, every judged run's outcome goes to stderr. */
void fz_check(const char *target, const ws_run_result *clean,
              const ws_run_result *r);

/* Runs spec without faults and checks it; then, when plan has rules, with
 * the plan, judged against the fault-free run.  Aborts on a broken promise. */
void fz_run_judged(const char *target, const ws_run_spec *spec,
                   const ws_fault_plan *plan);

/* A leak or failure check outside a session (e.g. the JWT layer on its own
 * ws_mem): aborts with the message when cond is false. */
void fz_require(int cond, const char *target, const char *what);

#endif
