/* Shared by the fuzz targets (POLICY §6): one-time setup (ws_global_init,
 * the test key set and configs compiled in, so a target needs no files at
 * run time), a deterministic environment, one input header decoder used by
 * every target (config, fault plan, chunk sizes, reentrancy), and the run
 * that checks every promise and aborts with a clear message when one is
 * broken:
 *
 *   wsgate fuzz: <target>: promise broken (<verdict>): <why>
 *     outcome: <the outcome JSON of the run>
 *
 * Targets keep no state between inputs: everything an input touches is
 * made and freed inside LLVMFuzzerTestOneInput (fuzz/entry.c); what is
 * built once (the key set, configs, the snapshot of an accepted upgrade)
 * is read-only afterwards. */
#ifndef WS_FUZZ_COMMON_H
#define WS_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "judge.h"
#include "run.h"
#include "wsgate/wsgate.h"

#define FZ_NOW 1700000000
/* The ids' seed: `wsgate session --seed 24301` draws the same ids. */
#define FZ_SEED 0x5eed

enum {
  FZ_CFG_DEFAULT = 0, /* {} */
  FZ_CFG_FMA,         /* first-message auth */
  FZ_CFG_POLICY,      /* origins, subprotocols, issuer, audience, leeway 30 */
  FZ_CFG_TIGHT,       /* small limits: head, headers, token, message, depth */
  FZ_CFG_COUNT
};

/* Idempotent; aborts when the fixed setup cannot be built (not an input's
 * fault). */
void fz_init(void);
const ws_keyset *fz_keys(void);
const ws_config *fz_config(unsigned which); /* which % FZ_CFG_COUNT */
const char *fz_config_json(unsigned which); /* its JSON text */
const char *fz_keys_json(void);             /* the JWKS text */

/* ---- the deterministic environment --------------------------------------
 * Randomness is per run (a session's ids depend only on its own draws), so
 * sessions run side by side do not disturb each other. */
typedef struct fz_rng {
  uint64_t state, reset; /* reset: the state each run starts from */
} fz_rng;

/* A run spec over the deterministic environment (fixed clock FZ_NOW,
 * randomness from rng, reset to rng->reset before each run) for
 * input[0..len).  fz_spec uses a slot of its own seeded FZ_SEED. */
void fz_spec_rng(ws_run_spec *spec, fz_rng *rng, const ws_config *cfg,
                 const uint8_t *input, size_t len);
void fz_spec(ws_run_spec *spec, const ws_config *cfg, const uint8_t *input,
             size_t len);

/* ---- the input header every target starts with ---------------------------
 *   byte 0: flags: bits 0-1 config (FZ_CFG_*); bit 2 a fault plan follows;
 *           bit 3 chunk sizes follow; bit 4 also run interleaved with a
 *           companion session (reentrancy); bits 5-7 the target's own.
 *   [plan: ws_fault_plan_decode's bytes]
 *   [chunks: 1 byte n (1 + byte % 8), then n sizes, piece k = 1 + size[k%n]]
 */
#define FZ_F_PLAN 0x04u
#define FZ_F_CHUNKS 0x08u
#define FZ_F_INTERLEAVE 0x10u
#define FZ_F_BITS_SHIFT 5

typedef struct fz_header {
  unsigned cfg, bits; /* bits: flags >> 5, for the target (0..7) */
  int interleave;
  ws_fault_plan plan; /* no rules when none */
  uint8_t chunks[8];
  size_t n_chunks;
} fz_header;

/* Decodes the header from data[0..size); returns the bytes it used.  A
 * short input gives what it can (defaults for the rest). */
size_t fz_header_decode(fz_header *h, const uint8_t *data, size_t size);

/* ---- a decoded case -------------------------------------------------------
 * An oracle knows the right answer for its input: it looks at the fault-free
 * run and returns WS_V_DIAGNOSED when it agrees, or a failing verdict
 * (WS_V_WRONG_OUTCOME, WS_V_FORGED, ...) with why. */
typedef ws_verdict (*fz_oracle_fn)(void *ud, const ws_run_result *clean,
                                   char *why, size_t cap);

typedef struct fz_case {
  fz_header h;
  ws_run_spec spec; /* cfg, keys, env, input, chunking, resume */
  fz_rng rng;       /* the spec's randomness */
  uint8_t *owned;   /* buffer behind spec.input (freed by fz_case_free) */
  fz_oracle_fn oracle;
  void *oracle_ud;
  void (*oracle_free)(void *ud);
  /* When spec.resume is set: the client bytes that brought the snapshot
   * there, for a plain replay (--decode), and how its hit numbers map. */
  const uint8_t *prefix;
  size_t prefix_len;
  const long *hit_offset;      /* per kind: replay N = resumed N + offset */
  const long *site_hit_offset; /* per site */
  char note[512];              /* what the input says, in words */
  /* The input is a request head that carries no token the core accepts
   * (fuzz_handshake): its session never reaches the frame loop, so the
   * reentrancy companion is an upgrade and a close only (its head fed in
   * pieces, its token verified), without the chat messages. */
  int head_only;
  /* A target that checks one layer directly (fuzz_jwt) runs this instead of
   * fz_run_case; spec is then the same input as a whole session, for the
   * sweep and --decode. */
  void (*run)(const struct fz_case *c);
} fz_case;

/* Defined by each target file. */
extern const char fz_target_name[];
/* Decodes data into c (after fz_init).  0, or -1 when the input is not a
 * case (too short): nothing to run. */
int fz_target_decode(const uint8_t *data, size_t size, fz_case *c);

/* Fills c's header and spec from data: the common part of every decode.
 * Returns the header's length; the body follows. */
size_t fz_case_begin(fz_case *c, const uint8_t *data, size_t size);
/* Takes ownership of stream[0..len) as the session's input. */
void fz_case_set_input(fz_case *c, uint8_t *stream, size_t len);
void fz_case_free(fz_case *c);

/* Runs c and checks every promise, aborting on the first broken one:
 *  1. the fault-free run, fed in c's chunking, judged on its own (the
 *     table, no unexplained 1011, no internal without a fault, the context
 *     factory's duties, no leak) and by c's oracle;
 *  2. fed in chunks: the same bytes and outcome as fed whole;
 *  3. with a plan: the faulted run judged against the fault-free one;
 *  4. interleaved: c's session and a companion session (another user's
 *     upgrade, held in small pieces; its chat messages too unless
 *     c->head_only; its frames alone for a resumed c) fed a piece each in
 *     turn on this thread: each exactly as when run alone. */
void fz_run_case(const fz_case *c);

/* Aborts with the standard message (verdict, why, outcome of r or none). */
void fz_fail(ws_verdict v, const char *why, const ws_run_result *r);
/* For checks outside a session: aborts with what when cond is false. */
void fz_require(int cond, const char *target, const char *what);

/* ---- the token oracle ------------------------------------------------------
 * For a session that carried a token built by the forge (fuzz/forge.h):
 * which answer the core gave the token, judged by the acceptance oracle and
 * the JWT decision model (fuzz/model_jwt.h).  The core accepted the token
 * when a context was built; it refused it with its AUTH_* diagnosis; a run
 * that ended before the token was judged (a handshake or frame diagnosis,
 * a first message that is not an auth message) says nothing about it, and
 * neither does a token the wire does not carry unchanged (whitespace, '+',
 * '/', '=': fz_token_wire_safe).  The caller sets it only for a session
 * that presented t. */
struct fz_token;
ws_verdict fz_token_oracle(const struct fz_token *t, const ws_run_result *clean,
                           char *why, size_t cap);

/* ---- building inputs -------------------------------------------------------
 */

/* A compact JWS of {"alg":"HS256","kid":"hs256"} and claims[0..n), signed
 * with the test key (malloc'd, NUL-terminated; NULL when out of memory). */
char *fz_sign(const uint8_t *claims, size_t n);

/* Copies in[0..n) with each "@@TOKEN(<claims>)@@" replaced by the signed
 * token of <claims> (malloc'd; *out_len its length). */
uint8_t *fz_expand(const uint8_t *in, size_t n, size_t *out_len);

/* Structured frames: in is a list of [first byte (FIN, RSV, opcode) |
 * length byte | payload (that many bytes, or what is left)]; each becomes a
 * masked client frame (mask 37 fa 21 3d; 7- or 16-bit length).  out needs
 * 3 * n + 8 bytes at most.  Returns the bytes written; with out NULL, the
 * bytes it would write (nothing is written). */
size_t fz_frames_encode(const uint8_t *in, size_t n, uint8_t *out);

/* The upgrade request every snapshot starts from, with "Authorization:
 * Bearer <token>" (or no token line when token is NULL) and the blank
 * line; malloc'd, *len its length. */
uint8_t *fz_request(const char *token, size_t *len);

/* An open, authenticated session of config which (FZ_CFG_DEFAULT or
 * FZ_CFG_TIGHT), made once: a resume point for frame inputs.  Fills the
 * case's prefix and hit offsets. */
void fz_case_resume(fz_case *c, unsigned which);

#endif
