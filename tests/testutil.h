/* Shared test helpers (cmocka): a deterministic environment (fixed clock,
 * seeded randomness, counting allocator), the session runner with any
 * chunking, and the builders of builders.h on growable byte strings.  The
 * cmocka-free pieces (encoders, failing allocator, feed loop) are in
 * builders.h, which fuzz/ can link too. */
#ifndef WS_TESTUTIL_H
#define WS_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "builders.h"
#include "countalloc.h"
#include "mem.h"
#include "wsgate/wsgate.h"

/* ws_global_init once per process (idempotent here). */
void tu_global_init(void);

typedef struct tu_env {
  ws_env env;
  ws_countalloc counts;
  int64_t now;
  uint64_t rng;
} tu_env;

/* Fixed clock `now`, randomness seeded with seed, counting allocator. */
void tu_env_init(tu_env *t, int64_t now, uint64_t seed);

/* Reads a whole file into a NUL-terminated malloc'd buffer (NULL if absent). */
char *tu_read_file(const char *path, size_t *len);

/* Config from JSON text (NULL: defaults); fails the test on error. */
ws_config *tu_config(const char *json);
/* The committed test key set tests/keys/jwks.json. */
ws_keyset *tu_keys(void);

typedef struct tu_result {
  ws_outcome outcome; /* copy */
  int ended;
  uint8_t *out; /* everything the server wrote (malloc'd) */
  size_t out_len;
  size_t live_blocks; /* after ws_session_free: must be 0 */
  size_t peak_bytes;
} tu_result;

/* Runs one session over in[0..len) split in pieces of `chunk` bytes (0: whole;
 * SIZE_MAX: random sizes from chunk_seed), then EOF if eof is set. */
#define TU_RANDOM_CHUNKS TB_RANDOM_CHUNKS
void tu_run(const ws_config *cfg, const ws_keyset *ks, tu_env *t,
            const uint8_t *in, size_t len, size_t chunk, uint64_t chunk_seed,
            int eof, tu_result *r);
void tu_result_free(tu_result *r);
/* What is wrong with an ended session's outcome, or NULL when nothing is:
 * its stage must be the stage of its diagnosis's table row (the one rule
 * the session uses), its diag a table row.  tu_run applies it to every
 * session it runs. */
const char *tu_outcome_check(const ws_outcome *o);
/* Asserts r->outcome.diag is the diag named code (cmocka assertion). */
void tu_assert_diag(const tu_result *r, const char *code);

/* A growable byte string for building inputs. */
typedef struct tu_bytes {
  uint8_t *p;
  size_t n, cap;
} tu_bytes;
void tu_put(tu_bytes *b, const void *p, size_t n);
void tu_puts(tu_bytes *b, const char *s);
void tu_bytes_free(tu_bytes *b);

/* Appends a request "GET /chat HTTP/1.1" with Host, Upgrade, Connection, the
 * RFC 6455 sample key, version 13, then `extra` header lines (each ending in
 * CRLF, may be NULL) and the blank line. */
void tu_request(tu_bytes *b, const char *extra);
/* Appends a masked client frame (mask key 0x37fa213d, RFC 6455 5.7). */
void tu_frame(tu_bytes *b, int fin, int opcode, const void *payload, size_t n);
/* Appends an unmasked, final server frame. */
void tu_server_frame(tu_bytes *b, int opcode, const void *payload, size_t n);
/* Appends a masked text frame carrying s. */
void tu_text(tu_bytes *b, const char *s);
/* Appends a masked close frame with code (0: empty payload) and reason. */
void tu_close(tu_bytes *b, int code, const char *reason);

/* Parses server bytes after the HTTP response into frames: returns the
 * number of frames found; for frame i (< max) fills opcode, payload pointer
 * and length. Fails the test on malformed server output. */
typedef struct tu_sframe {
  int fin, opcode;
  const uint8_t *p;
  size_t n;
} tu_sframe;
size_t tu_server_frames(const uint8_t *out, size_t len, tu_sframe *f,
                        size_t max);

/* The tests' one failing allocator (builders.h): fail_at-th request, or
 * from it on with fail_from. */
typedef tb_failalloc tu_failalloc;
#define tu_failalloc_allocator tb_failalloc_allocator

/* A ws_mem over the counting allocator over the failing one: live blocks
 * in ca, requests and failures in fa. */
typedef struct tu_failmem {
  tu_failalloc fa;
  ws_countalloc ca;
  ws_mem m;
} tu_failmem;
void tu_failmem_init(tu_failmem *x, unsigned long fail_at, int fail_from);
#endif
