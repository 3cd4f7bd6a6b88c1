/*
 * wsgate — a reentrant, sans-IO WebSocket session core.
 *
 * A session takes the bytes a client writes to its TCP connection
 * (ws_session_recv), hands out the bytes the server writes back
 * (ws_session_send), and ends in exactly one diagnosed outcome
 * (ws_session_outcome).  It never touches a socket, a clock or a random
 * source of its own: everything from outside comes through ws_env.
 *
 * Threads: sessions are independent.  Sessions on different threads may share
 * one ws_config and one ws_keyset (both are read-only once built).  One
 * session must not be used by two threads at once.
 *
 * Errors: functions return WS_OK (0) or a negative ws_error; results go to
 * out-parameters, which are reset on entry and set only on success.
 */
#ifndef WSGATE_H
#define WSGATE_H

#include <stddef.h>
#include <stdint.h>

#include "wsgate/diag.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ws_error {
  WS_OK = 0,
  WS_ERR_ARG = -1,    /* NULL or out-of-range argument */
  WS_ERR_NOMEM = -2,  /* the allocator returned NULL */
  WS_ERR_PARSE = -3,  /* bad JWKS or config document (message in errbuf) */
  WS_ERR_ENDED = -4,  /* the session has its outcome; no more input taken */
  WS_ERR_CRYPTO = -5, /* OpenSSL failed in ws_global_init or key loading */
  WS_ERR_STATE = -6   /* called out of order (e.g. ws_global_init not done) */
} ws_error;

const char *ws_strerror(int err);

/* ---- allocator (like nghttp2_mem): NULL members mean libc ---------------- */

typedef struct ws_allocator {
  void *(*malloc)(size_t size, void *user_data);
  void (*free)(void *ptr, void *user_data);
  void *(*calloc)(size_t nmemb, size_t size, void *user_data);
  void *(*realloc)(void *ptr, size_t size, void *user_data);
  void *user_data;
} ws_allocator;

/* Called from inside an allocator callback: writes where the core asked for
 * the allocation in progress on this thread, as "<file>:<line> <function>"
 * (a call into a dependency adds " [cJSON]", " [OpenSSL <file>:<line>]" or
 * " [wslay]"), or "?" outside a session call.  Returns the length written
 * (truncated to cap - 1).  This is how a fault injector names its sites. */
size_t ws_alloc_site(char *buf, size_t cap);

/* The same site in parts, unformatted (cheap enough for every allocation):
 * the core's file, line and function, and the dependency the allocation is
 * made in ("cJSON", "OpenSSL", "wslay"; NULL for the core's own).  All NULL
 * and 0 outside a session call.  The strings are static. */
typedef struct ws_alloc_where {
  const char *file, *func, *dep;
  int line;
} ws_alloc_where;
ws_alloc_where ws_alloc_where_now(void);

/* ---- the user execution context ------------------------------------------ */

/* The attributes, from the list in wsgate/attr.h: WS_ATTR_USER_ID (0),
 * WS_ATTR_THREAD_ID, WS_ATTR_WEBSOCKET_CLIENT_ID, WS_ATTR_RUN_ID,
 * WS_ATTR_REQUEST_ID. */
typedef enum ws_attr {
#define WS_ATTR_ENUM_(attr, name, kind, prefix) WS_ATTR_##attr,
  WS_ATTR_LIST(WS_ATTR_ENUM_)
#undef WS_ATTR_ENUM_
      WS_ATTR_COUNT_
} ws_attr;

/* Ids the id generators make (user_id comes from the token's sub), each
 * equal to its attribute: WS_ID_THREAD = WS_ATTR_THREAD_ID,
 * WS_ID_WEBSOCKET_CLIENT, WS_ID_RUN, WS_ID_REQUEST. */
typedef enum ws_id_kind {
#define WS_ID_ENUM_(attr, name, kind, prefix) WS_ID_##kind = WS_ATTR_##attr,
  WS_ID_LIST(WS_ID_ENUM_)
#undef WS_ID_ENUM_
} ws_id_kind;

#define WS_ID_MAX 64 /* longest id, excluding the NUL */

typedef struct ws_context ws_context; /* body private */

/* Name of an attribute ("user_id", ...), or NULL when out of range. */
const char *ws_attr_name(ws_attr attr);

/* The default attribute reader: reads the field from the context.
 * Returns 0 and points *value and *len at the stored bytes (owned by ctx), or
 * -1 when the attribute is unset. */
int ws_context_attr_default(const ws_context *ctx, ws_attr attr,
                            const char **value, size_t *len);

struct ws_env;
/* Default id generators; they only use env->random and env->now.
 * Primary: "<kind>_<unix seconds>_<16 hex>", fallback: an RFC 4122 v4 UUID.
 * Both write a NUL-terminated id of at most WS_ID_MAX bytes into buf
 * (cap >= WS_ID_MAX + 1) and return 0, or -1 when the randomness source
 * failed. */
int ws_idgen_primary_default(const struct ws_env *env, ws_id_kind kind,
                             char *buf, size_t cap);
int ws_idgen_fallback_default(const struct ws_env *env, ws_id_kind kind,
                              char *buf, size_t cap);

/* ---- the environment: everything a session gets from outside ------------- */

typedef struct ws_env {
  ws_allocator alloc;
  /* Wall clock, Unix seconds.  Required when a token is verified. */
  int64_t (*now)(void *user_data);
  /* Fills buf with len random bytes; 0 on success, -1 on failure.  Required
   * by the default id generators. */
  int (*random)(void *user_data, uint8_t *buf, size_t len);
  /* Id generators (NULL: the defaults above).  Return 0 and a NUL-terminated
   * id in buf, or -1.  A failing or invalid primary id is replaced by the
   * fallback's (recorded in the outcome's trail); both failing ends the
   * session with CTX_IDGEN_EXHAUSTED. */
  int (*idgen)(const struct ws_env *env, ws_id_kind kind, char *buf,
               size_t cap);
  int (*idgen_fallback)(const struct ws_env *env, ws_id_kind kind, char *buf,
                        size_t cap);
  /* Attribute reader (NULL: ws_context_attr_default).  Every read of a
   * context attribute goes through it; -1 ends the session with the
   * CTX_ATTR_<NAME> diagnosis of that attribute. */
  int (*attr_read)(const struct ws_env *env, const ws_context *ctx,
                   ws_attr attr, const char **value, size_t *len);
  void *user_data; /* passed to now, random, and reachable from the others */
} ws_env;

/* ---- process-wide setup ----------------------------------------------------
 */

/* Installs the cJSON and OpenSSL allocation trampolines (which forward to the
 * allocator of the session running on the calling thread) and warms OpenSSL
 * up (fetches SHA-1/256/384/512 and HMAC, runs one verify of each algorithm),
 * so that no allocation inside a session is a first-use setup.  Call once,
 * before any other OpenSSL or cJSON use and before any session.  Returns
 * WS_OK, or WS_ERR_CRYPTO when OpenSSL had already allocated (hooks refused).
 */
int ws_global_init(void);

/* ---- configuration ----------------------------------------------------------
 */

typedef struct ws_config ws_config; /* read-only once built */

/* Parses a config JSON object (keys: issuer, audience, leeway_s,
 * max_message_bytes, max_head_bytes, max_headers, max_token_bytes,
 * max_json_depth, origins, subprotocols, first_message_auth).  json may be
 * NULL for all defaults.  Free with ws_config_free.
 * Errors (*out stays NULL):
 *  - WS_ERR_ARG: out is NULL;
 *  - WS_ERR_PARSE, with "config: <key>: <why>" in errbuf (if given): the
 *    document is not JSON, has a duplicate key, is larger than 1 MiB or
 *    nested deeper than 8, or is not an object; an unknown key; issuer or
 *    audience not a non-empty string; a number that is not an integer in
 *    its range (leeway_s 0..86400, max_message_bytes 1..2^30,
 *    max_head_bytes 64..2^20, max_headers 4..1024, max_token_bytes
 *    16..2^20, max_json_depth 1..64); origins or subprotocols not an array
 *    of at most 256 non-empty strings of at most 1024 bytes (subprotocols:
 *    HTTP tokens); first_message_auth not a boolean;
 *  - WS_ERR_NOMEM: out of memory. */
int ws_config_new(ws_config **out, const char *json, size_t len, char *errbuf,
                  size_t errlen);
void ws_config_free(ws_config *cfg);

/* ---- key set (JWKS, RFC 7517) ---------------------------------------------
 */

typedef struct ws_keyset ws_keyset; /* read-only once loaded */

/* Loads a JWKS document: {"keys":[...]} with kty oct, RSA (>= 2048 bits),
 * EC (P-256) or OKP (Ed25519); kid, alg, use honoured.  Each key becomes an
 * OpenSSL key once, here, and is verified against once (warm-up).
 * A key that is not for verifying with what wsgate implements (use other
 * than "sig", key_ops without "verify", an unsupported kty or crv, an alg
 * wsgate does not verify, including one spelled in the wrong case) is
 * skipped (RFC 7517 5).
 * Errors (nothing is loaded, *out stays NULL):
 *  - WS_ERR_ARG: out or json NULL;
 *  - WS_ERR_PARSE, with a message in errbuf: not JSON or nested deeper than
 *    16; not an object with a "keys" array; no usable key (the array is
 *    empty, or every key was skipped: the message says why the first was);
 *    a key that is used but malformed or unsafe (the message names the key
 *    by index and kid, and the member: private material, missing or
 *    non-canonical members, a key OpenSSL refuses (RSA below 2048 bits, a
 *    point not on the curve, ...), an alg that does not fit the key, an HMAC
 *    key shorter than the hash, a duplicate kid);
 *  - WS_ERR_NOMEM: out of memory;
 *  - WS_ERR_CRYPTO: OpenSSL failed the test verification of a key (message
 *    in errbuf). */
int ws_keyset_load(ws_keyset **out, const char *json, size_t len, char *errbuf,
                   size_t errlen);
/* Told about each skipped key: msg names the key (index, kid) and why, e.g.
 * "jwks: key 0 (kid \"a\") skipped: crv \"P-384\": not a supported EC curve
 * (P-256 only)".  msg is valid during the call only. */
typedef void (*ws_keyset_warn_fn)(void *user_data, const char *msg);
/* ws_keyset_load, and warn (when not NULL) is called for each skipped key,
 * whether or not the load succeeds. */
int ws_keyset_load_warn(ws_keyset **out, const char *json, size_t len,
                        char *errbuf, size_t errlen, ws_keyset_warn_fn warn,
                        void *user_data);
/* An empty key set (every token is then AUTH_KEY_UNKNOWN). */
int ws_keyset_empty(ws_keyset **out);
size_t ws_keyset_size(const ws_keyset *ks);
void ws_keyset_free(ws_keyset *ks);

/* ---- session ------------------------------------------------------------- */

typedef struct ws_session ws_session;

/* Creates a session.  cfg and keys must outlive it; env is copied.
 * Errors: WS_ERR_ARG (NULL cfg/keys/env, or env->now/random missing),
 * WS_ERR_NOMEM, WS_ERR_STATE (ws_global_init not called). */
int ws_session_new(ws_session **out, const ws_config *cfg,
                   const ws_keyset *keys, const ws_env *env);

/* Feeds client bytes.  Returns the number of bytes consumed (always len while
 * the session runs; bytes after the outcome are discarded), or WS_ERR_ENDED
 * when the session already had its outcome before this call, or WS_ERR_ARG. */
long ws_session_recv(ws_session *s, const uint8_t *in, size_t len);

/* Tells the session the client's input ended (TCP FIN).  Ends it with
 * HS_INCOMPLETE, FRAME_TRUNCATED or EOF_CLEAN unless it already ended.
 * Returns WS_OK or WS_ERR_ENDED. */
int ws_session_eof(ws_session *s);

/* Hands out pending server bytes: sets *data to them and returns their
 * length (0 when none).  The bytes count as sent; *data stays valid until the
 * next call on s. */
size_t ws_session_send(ws_session *s, const uint8_t **data);

typedef enum ws_trail_event {
  WS_TRAIL_IDGEN_FALLBACK = 1, /* primary generator failed, fallback used */
  WS_TRAIL_IDGEN_INVALID /* primary returned an invalid id, fallback used */
} ws_trail_event;

/* Stored in a byte each (every session carries WS_TRAIL_MAX of them). */
typedef struct ws_trail_entry {
  uint8_t event; /* a ws_trail_event */
  uint8_t attr;  /* a ws_attr: which id */
} ws_trail_entry;

#define WS_TRAIL_MAX 16

typedef struct ws_outcome {
  ws_stage stage;   /* the stage of diag's table row (ws_diag_get) */
  ws_diag diag;     /* never WS_DIAG_NONE once ended */
  int http_status;  /* status of the HTTP response written, 0 if none */
  int close_code;   /* code of the close frame sent, 0 if none */
  char reason[128]; /* close reason or HTTP body text; starts with the code */
  size_t trail_len;
  ws_trail_entry trail[WS_TRAIL_MAX]; /* absorbed failures, in order */
  size_t trail_dropped;               /* entries beyond WS_TRAIL_MAX */
} ws_outcome;

/* The outcome, or NULL while the session runs.  Owned by s. */
const ws_outcome *ws_session_outcome(const ws_session *s);

/* Returns the session's user execution context, or NULL before it exists. */
const ws_context *ws_session_context(const ws_session *s);

/* Writes the outcome as one line of JSON (no trailing newline, no faults
 * member: the caller may append members before the closing brace by passing
 * extra, e.g. "\"faults\":[]").  Returns the length it needs (excluding NUL),
 * like snprintf. */
size_t ws_outcome_json(const ws_outcome *o, const char *extra, char *buf,
                       size_t cap);

void ws_session_free(ws_session *s);

/* The HTTP response the table prescribes for diagnosis d when there is no
 * session to write it (ws_session_new itself failed, or the server refuses
 * the connection before making one): status line, the headers the status
 * needs (Retry-After for 503, ...), Connection: close, and a text body that
 * is the code, then ": detail" when detail is given.  Writes it into buf
 * without allocating and returns its length, or 0 when d has no HTTP status
 * in the table or cap is too small (nothing usable is written then). */
size_t ws_diag_http_response(ws_diag d, const char *detail, char *buf,
                             size_t cap);

/* ---- serving: deadlines and shutdown --------------------------------------
 * For a server that drives sessions over sockets (wsgate serve).  The core
 * has no clock: the server keeps the deadlines and reports them here. */

/* 1 when the session has committed its 101 (it is open, or it ended after
 * the upgrade), 0 otherwise (also for NULL). */
int ws_session_upgraded(const ws_session *s);

/* A deadline of the server passed.  Ends the session with the timeout of the
 * state it is in: HS_TIMEOUT (408) while the request head is incomplete,
 * AUTH_TIMEOUT (close 1008) when it is open but first-message auth has not
 * happened, IDLE_TIMEOUT (close 1001) when it is open and authenticated.
 * The response is then handed out by ws_session_send.  Returns WS_OK,
 * WS_ERR_ENDED when the session had already ended, WS_ERR_ARG for NULL. */
int ws_session_timeout(ws_session *s);

/* The server is going away: ends the session with SERVER_SHUTDOWN (503
 * before the upgrade, close 1001 after it).  Returns like
 * ws_session_timeout. */
int ws_session_shutdown(ws_session *s);

#ifdef __cplusplus
}
#endif
#endif
