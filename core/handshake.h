/* HTTP/1.1 upgrade handshake (RFC 6455 4.2, RFC 9112), zero-copy.
 *
 * Two steps.  ws_head_scan() is fed the request head as it arrives and finds
 * its end, failing fast on bytes that can never be valid (NUL, bare CR, bare
 * LF, other controls) and on a head over the limit, so a bad client is
 * answered without waiting for more input.  ws_handshake_parse() then parses
 * the complete head: every ws_str it yields points into the caller's head
 * buffer, which must outlive the ws_handshake. */
#ifndef WS_HANDSHAKE_H
#define WS_HANDSHAKE_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "mem.h"
#include "wsgate/diag.h"

typedef struct ws_str {
  const char *p;
  size_t n;
} ws_str;

/* Scanner state (a C name cannot be both a type and the function below). */
typedef struct ws_head_scanner {
  size_t pos; /* bytes scanned so far */
  int state;  /* private */
} ws_head_scanner;

typedef enum ws_head_status {
  WS_HEAD_MORE = 0,  /* need more bytes */
  WS_HEAD_DONE = 1,  /* head complete: *head_len set (ends after CRLFCRLF) */
  WS_HEAD_ERROR = -1 /* *diag set: HS_BAD_BYTE or HS_HEAD_TOO_LARGE */
} ws_head_status;

static inline void ws_head_scan_init(ws_head_scanner *s) {
  s->pos = 0;
  s->state = 0;
}
/* buf[0..len) is everything received so far (len only grows between calls;
 * the bytes already scanned must not change); scanning resumes at s->pos.
 * Returns WS_HEAD_MORE (need more bytes), WS_HEAD_DONE with *head_len set
 * (the head is buf[0..*head_len), ending in CRLFCRLF; bytes after it are not
 * looked at), or WS_HEAD_ERROR with *diag set to HS_BAD_BYTE (NUL, other
 * controls except HTAB, DEL, a CR not followed by LF, an LF not preceded by
 * CR) or HS_HEAD_TOO_LARGE (max_head bytes scanned and the head is not
 * complete: a head of exactly max_head bytes is accepted).  The answer does
 * not depend on how the input was split across calls; once DONE or ERROR it
 * is repeated on every later call.  *head_len and *diag are reset on entry. */
ws_head_status ws_head_scan(ws_head_scanner *s, const uint8_t *buf, size_t len,
                            size_t max_head, size_t *head_len, ws_diag *diag);

typedef enum ws_token_source {
  WS_TOKEN_NONE = 0,
  WS_TOKEN_AUTHORIZATION, /* Authorization: Bearer <t> */
  WS_TOKEN_PROTOCOL,      /* Sec-WebSocket-Protocol: bearer, <t> */
  WS_TOKEN_QUERY          /* ?access_token=<t> (percent-decoded) */
} ws_token_source;

typedef struct ws_handshake {
  ws_str method, target, path, query; /* query: after '?', empty if none */
  /* authority of an absolute-form target ("ws://host:port/path"), empty for
   * origin-form; path is then what follows it ("/" when nothing does) */
  ws_str authority;
  int http_minor;     /* 1 for HTTP/1.1 */
  ws_str host;        /* the target's authority if any, else the Host value */
  ws_str key;         /* Sec-WebSocket-Key, validated */
  ws_str origin;      /* empty when absent */
  ws_str subprotocol; /* selected, or empty: points into the head */
  ws_token_source token_source;
  ws_str token;    /* points into the head, or into token_buf */
  char *token_buf; /* percent-decoded query token (owned, on m) */
  size_t n_headers;
} ws_handshake;

/* Parses and validates the complete head (as found by ws_head_scan: len is
 * *head_len, the head ends in CRLFCRLF) against cfg.  Returns WS_DIAG_NONE
 * and fills *hs, or the HS_* diagnosis of the first check that failed, in
 * this order:
 *
 *  1. request line `method SP request-target SP HTTP-version CRLF`, single
 *     SPs (RFC 9112 3): HS_REQUEST_LINE (also for a head starting with CRLF
 *     and a version not of the form HTTP/D.D);
 *  2. HTTP/1.x with x >= 1: HS_HTTP_VERSION;
 *  3. method exactly "GET" (case-sensitive, RFC 9110 9.1): HS_METHOD;
 *  4. target (RFC 9112 3.2): origin-form (RFC 9112 3.2.1) starting with
 *     '/', or absolute-form (3.2.2) "ws://", "wss://", "http://" or
 *     "https://" (scheme case-insensitive), an authority valid as in 6, then
 *     an optional path and query; path and query hold only RFC 3986 pchar /
 *     '/' / '?' bytes, valid %XX, no '#': HS_TARGET;
 *  5. each header line, in order: a line starting with SP/HTAB:
 *     HS_OBS_FOLD; not `token ":" OWS *(VCHAR / SP / HTAB / obs-text) OWS`
 *     (whitespace before the colon included): HS_HEADER_SYNTAX (a control
 *     byte, reachable only when the head did not come from ws_head_scan:
 *     HS_BAD_BYTE); more than cfg->max_headers lines: HS_TOO_MANY_HEADERS;
 *     a second Host, Sec-WebSocket-Key, Sec-WebSocket-Version,
 *     Authorization, Origin or Content-Length: HS_DUPLICATE_HEADER;
 *  6. Host missing, or its value not uri-host [":" port] (RFC 9112 3.2,
 *     RFC 3986 3.2.2: reg-name, IPv4 or [IP-literal]; no userinfo, no
 *     whitespace, port digits only and at most 65535; an empty value is
 *     refused too, a WebSocket URI always has a host): HS_HOST;
 *  7. Upgrade lists no "websocket": HS_UPGRADE;
 *  8. Connection lists no "upgrade": HS_CONNECTION;
 *  9. Sec-WebSocket-Key missing: HS_KEY_MISSING; not canonical padded
 *     base64 of 16 bytes: HS_KEY_INVALID;
 * 10. Sec-WebSocket-Version missing or not "13": HS_WS_VERSION;
 * 11. Content-Length other than 0, or any Transfer-Encoding: HS_BODY;
 * 12. cfg->origins_set and Origin missing or not in cfg->origins (ASCII
 *     case-insensitive): HS_ORIGIN;
 * 13. Sec-WebSocket-Protocol not a list of tokens: HS_PROTOCOL_SYNTAX;
 * 14. token extraction, first source found wins (POLICY §3):
 *     `Authorization: Bearer <t>` (scheme case-insensitive, <t> trimmed of
 *     SP/HTAB, may be empty; another scheme is not a source); then the first
 *     Sec-WebSocket-Protocol pair `bearer, <t>` ("bearer" exact, the element
 *     right after it); then the first query parameter named exactly
 *     `access_token`, decoded as application/x-www-form-urlencoded (%XX, '+'
 *     is SP; RFC 6750 2.3) into hs->token_buf: HS_NOMEM when that buffer
 *     cannot be allocated (the parser's only allocation).
 *
 * Subprotocol: "bearer" when the token came from the pair; otherwise the
 * first client offer that is in cfg->subprotocols (case-sensitive), never
 * "bearer" or the element after it, never one the client did not offer.
 * Sec-WebSocket-Extensions is ignored.
 *
 * Header names are case-insensitive; Connection, Upgrade and
 * Sec-WebSocket-Protocol may repeat and are read as one comma-joined list
 * (empty list elements ignored, RFC 9110 5.6.1).  Every ws_str points into
 * head (which must outlive hs) except token when it came from the query
 * (then it points into hs->token_buf, owned by hs, freed by
 * ws_handshake_release).  A token longer than cfg->max_token_bytes is still
 * returned (auth diagnoses it).  *hs is zeroed on entry and filled only on
 * success.  On failure, *detail may point to a static text naming what was
 * wrong (the header name for HS_DUPLICATE_HEADER and HS_BODY); else NULL. */
ws_diag ws_handshake_parse(ws_mem *m, const ws_config *cfg, const char *head,
                           size_t len, ws_handshake *hs, const char **detail);
/* Frees hs->token_buf (if any) and zeroes *hs.  hs may be NULL. */
void ws_handshake_release(ws_mem *m, ws_handshake *hs);

/* Builds the 101 response (RFC 6455 4.2.2) and appends it to out (on m):
 *   HTTP/1.1 101 Switching Protocols\r\n
 *   Upgrade: websocket\r\n
 *   Connection: Upgrade\r\n
 *   Sec-WebSocket-Accept: <base64(SHA-1(key + GUID))>\r\n
 *   [Sec-WebSocket-Protocol: <hs->subprotocol>\r\n]
 *   \r\n
 * never Sec-WebSocket-Extensions (none is supported).  Returns WS_DIAG_NONE,
 * HS_NOMEM when an allocation failed (in SHA-1 or the append), or
 * HS_INTERNAL when SHA-1 failed otherwise.  On failure out is
 * unchanged (one reservation, then appends that cannot fail). */
struct ws_buf;
ws_diag ws_handshake_accept(ws_mem *m, const ws_handshake *hs,
                            struct ws_buf *out);

/* Computes Sec-WebSocket-Accept for key[0..klen) (the key as sent, not
 * decoded) into out: 28 base64 characters and a NUL.  Returns 0, or -1 when
 * klen > 128 or SHA-1 failed; then out is "" and *nomem (nomem may be NULL)
 * is 1 when the failure was an allocation failure, else 0. */
int ws_accept_key(ws_mem *m, const char *key, size_t klen, char out[29],
                  int *nomem);

/* Writes the complete HTTP error response for diagnosis d with body `reason`
 * (NULL: empty) into out[0..cap) without allocating:
 *   HTTP/1.1 <status> <reason phrase>\r\n
 *   Content-Type: text/plain; charset=utf-8\r\n
 *   Content-Length: <strlen(reason)>\r\n
 *   Connection: close\r\n
 *   <per status, below>
 *   \r\n
 *   <reason>
 * status from the diag table (ws_diag_get(d)->http_status); per status:
 * 405 Allow: GET; 426 Upgrade: websocket and Sec-WebSocket-Version: 13;
 * 401 WWW-Authenticate: Bearer (AUTH_NO_TOKEN, RFC 6750 3) or
 * WWW-Authenticate: Bearer error="invalid_token" (every other 401, RFC 6750
 * 3.1); 503 Retry-After: 1.  Returns the length (no NUL is written), or 0
 * when cap is too small, out is NULL, d has no HTTP status, or the status is
 * not one of 400 401 403 405 426 431 500 503. */
size_t ws_http_error_response(ws_diag d, const char *reason, char *out,
                              size_t cap);

#endif
