/*
 * wsgate — the diagnosis table.
 *
 * Every session ends in exactly one outcome and every outcome carries one of
 * these codes.  This list is the single source of truth: `wsgate diags`
 * prints it, the README table is tested against it, and the only function
 * that ends a session takes a ws_diag, never a bare status or close code.
 *
 * Columns: X(ID, STAGE, CLASS, HTTP_STATUS, CLOSE_CODE, DESCRIPTION)
 *   STAGE       the stage that owns the diagnosis (WS_STAGE_*)
 *   CLASS       none|protocol|auth|policy|resource|internal|message
 *               (WS_CLASS_*); message rows never end a session (below)
 *   HTTP_STATUS status written when the diagnosis ends the session before the
 *               upgrade (0: never ends a session there)
 *   CLOSE_CODE  close code sent when it ends the session after the upgrade
 *               (0: no close frame is sent; WS_CLOSE_ECHO: the client's code)
 * Rows with stage WS_STAGE_FRAMES and class WS_CLASS_MESSAGE are message-level:
 * they answer one message with {"type":"error","code":ID} and the session stays
 * open.
 */
#ifndef WSGATE_DIAG_H
#define WSGATE_DIAG_H

#include "wsgate/attr.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ws_stage {
  WS_STAGE_HANDSHAKE = 0,
  WS_STAGE_AUTH,
  WS_STAGE_CONTEXT,
  WS_STAGE_FRAMES
} ws_stage;

typedef enum ws_class {
  WS_CLASS_NONE = 0,
  WS_CLASS_PROTOCOL,
  WS_CLASS_AUTH,
  WS_CLASS_POLICY,
  WS_CLASS_RESOURCE,
  WS_CLASS_INTERNAL,
  WS_CLASS_MESSAGE
} ws_class;

/* Close code placeholder: echo the valid code the client sent (1000 if none).
 */
#define WS_CLOSE_ECHO 1

/* One CTX_ATTR_<ATTR> row per attribute of wsgate/attr.h. */
#define WS_DIAG_ATTR_ROW_(X, attr, name, kind, prefix) \
  X(CTX_ATTR_##attr, CONTEXT, INTERNAL, 500, 1011,     \
    "context attribute " name " could not be read or is invalid")

/* clang-format off */
#define WS_DIAG_LIST(X) \
  X(HS_METHOD,          HANDSHAKE, PROTOCOL, 405, 0,    "request method is not GET (RFC 6455 4.1); response carries Allow: GET") \
  X(HS_REQUEST_LINE,    HANDSHAKE, PROTOCOL, 400, 0,    "malformed request line (RFC 9112 3)") \
  X(HS_TARGET,          HANDSHAKE, PROTOCOL, 400, 0,    "request target is neither origin-form nor absolute-form (RFC 9112 3.2), or its authority, path or query is malformed") \
  X(HS_HTTP_VERSION,    HANDSHAKE, PROTOCOL, 400, 0,    "HTTP version is not 1.1 or later (RFC 6455 4.2.1)") \
  X(HS_HEADER_SYNTAX,   HANDSHAKE, PROTOCOL, 400, 0,    "malformed header field line (RFC 9112 5)") \
  X(HS_BAD_BYTE,        HANDSHAKE, PROTOCOL, 400, 0,    "NUL, bare CR, bare LF or another control byte in the request head") \
  X(HS_OBS_FOLD,        HANDSHAKE, PROTOCOL, 400, 0,    "obsolete line folding in a header field (RFC 9112 5.2)") \
  X(HS_DUPLICATE_HEADER,HANDSHAKE, PROTOCOL, 400, 0,    "a header field that must appear once appears twice (Host, Sec-WebSocket-Key, ...)") \
  X(HS_TOO_MANY_HEADERS,HANDSHAKE, POLICY,   431, 0,    "more header fields than the configured limit") \
  X(HS_HEAD_TOO_LARGE,  HANDSHAKE, POLICY,   431, 0,    "request head larger than max_head_bytes") \
  X(HS_HOST,            HANDSHAKE, PROTOCOL, 400, 0,    "Host header field missing or not a valid host[:port] (RFC 6455 4.1, RFC 9112 3.2)") \
  X(HS_UPGRADE,         HANDSHAKE, PROTOCOL, 400, 0,    "Upgrade does not list websocket") \
  X(HS_CONNECTION,      HANDSHAKE, PROTOCOL, 400, 0,    "Connection does not list upgrade") \
  X(HS_KEY_MISSING,     HANDSHAKE, PROTOCOL, 400, 0,    "Sec-WebSocket-Key missing") \
  X(HS_KEY_INVALID,     HANDSHAKE, PROTOCOL, 400, 0,    "Sec-WebSocket-Key is not base64 of exactly 16 bytes (RFC 6455 4.2.1)") \
  X(HS_WS_VERSION,      HANDSHAKE, PROTOCOL, 426, 0,    "Sec-WebSocket-Version missing or not 13; response carries Sec-WebSocket-Version: 13") \
  X(HS_BODY,            HANDSHAKE, PROTOCOL, 400, 0,    "upgrade request announces a body (Content-Length > 0 or Transfer-Encoding)") \
  X(HS_PROTOCOL_SYNTAX, HANDSHAKE, PROTOCOL, 400, 0,    "malformed Sec-WebSocket-Protocol token list") \
  X(HS_ORIGIN,          HANDSHAKE, POLICY,   403, 0,    "Origin missing or not in the configured allow-list") \
  X(HS_INCOMPLETE,      HANDSHAKE, PROTOCOL, 0,   0,    "input ended before the request head was complete; nothing was sent") \
  X(HS_NOMEM,           HANDSHAKE, RESOURCE, 503, 0,    "allocation failed while reading the request head or building the 101") \
  X(HS_INTERNAL,        HANDSHAKE, INTERNAL, 500, 1011, "SHA-1 for Sec-WebSocket-Accept failed for a reason other than memory") \
  X(HS_TIMEOUT,         HANDSHAKE, POLICY,   408, 0,    "request head not complete before the server's handshake deadline (slowloris)") \
  X(HS_CONN_LIMIT,      HANDSHAKE, RESOURCE, 503, 0,    "server at its open-connection cap; refused before a session was made") \
  X(AUTH_NO_TOKEN,      AUTH,      AUTH,     401, 0,    "no token in the request and first-message auth disabled") \
  X(AUTH_TOKEN_TOO_LONG,AUTH,      AUTH,     401, 1008, "token longer than max_token_bytes") \
  X(AUTH_MALFORMED,     AUTH,      AUTH,     401, 1008, "token is not three dot-separated JWS segments (RFC 7515 7.1)") \
  X(AUTH_BASE64,        AUTH,      AUTH,     401, 1008, "a token segment is not canonical unpadded base64url (RFC 7515 2)") \
  X(AUTH_HEADER_JSON,   AUTH,      AUTH,     401, 1008, "JOSE header is not a JSON object within limits, or has duplicate members") \
  X(AUTH_CLAIMS_JSON,   AUTH,      AUTH,     401, 1008, "claims are not a JSON object within limits, or have duplicate members") \
  X(AUTH_ALG_NONE,      AUTH,      AUTH,     401, 1008, "alg is none (unsecured JWS is never accepted)") \
  X(AUTH_ALG_UNKNOWN,   AUTH,      AUTH,     401, 1008, "alg missing, not a string, or not a supported algorithm") \
  X(AUTH_CRIT,          AUTH,      AUTH,     401, 1008, "crit is malformed or names an extension this server does not understand (RFC 7515 4.1.11)") \
  X(AUTH_B64_FALSE,     AUTH,      AUTH,     401, 1008, "b64 false (RFC 7797 unencoded payload) is not supported") \
  X(AUTH_KEY_UNKNOWN,   AUTH,      AUTH,     401, 1008, "no key in the key set matches the token's kid and alg") \
  X(AUTH_ALG_KEY_MISMATCH,AUTH,    AUTH,     401, 1008, "the token's alg is not allowed for the key named by kid") \
  X(AUTH_SIG_ENCODING,  AUTH,      AUTH,     401, 1008, "signature has the wrong length or encoding for its alg") \
  X(AUTH_SIG_RANGE,     AUTH,      AUTH,     401, 1008, "ECDSA r or s is zero or not below the group order") \
  X(AUTH_SIG_INVALID,   AUTH,      AUTH,     401, 1008, "signature does not verify") \
  X(AUTH_EXP_MISSING,   AUTH,      AUTH,     401, 1008, "exp claim missing") \
  X(AUTH_EXP_MALFORMED, AUTH,      AUTH,     401, 1008, "exp claim is not a finite NumericDate") \
  X(AUTH_EXPIRED,       AUTH,      AUTH,     401, 1008, "exp is in the past (beyond leeway_s)") \
  X(AUTH_NBF_MALFORMED, AUTH,      AUTH,     401, 1008, "nbf claim present but not a finite NumericDate") \
  X(AUTH_NOT_YET_VALID, AUTH,      AUTH,     401, 1008, "nbf is in the future (beyond leeway_s)") \
  X(AUTH_IAT_MALFORMED, AUTH,      AUTH,     401, 1008, "iat claim present but not a finite NumericDate") \
  X(AUTH_ISS,           AUTH,      AUTH,     401, 1008, "iss missing or not the configured issuer") \
  X(AUTH_AUD,           AUTH,      AUTH,     401, 1008, "aud missing or does not contain the configured audience") \
  X(AUTH_SUB,           AUTH,      AUTH,     401, 1008, "sub missing, not a string, empty, too long or not printable") \
  X(AUTH_FIRST_MESSAGE, AUTH,      AUTH,     0,   1008, "first message is not a valid {\"type\":\"auth\",\"token\":...} message") \
  X(AUTH_NOMEM,         AUTH,      RESOURCE, 503, 1013, "allocation failed while verifying the token (OpenSSL, cJSON or core)") \
  X(AUTH_INTERNAL,      AUTH,      INTERNAL, 500, 1011, "OpenSSL reported an error that is neither a bad signature nor out-of-memory") \
  X(AUTH_TIMEOUT,       AUTH,      POLICY,   0,   1008, "first-message auth: no auth message before the server's auth deadline") \
  X(CTX_IDGEN_EXHAUSTED,CONTEXT,   RESOURCE, 503, 1013, "primary and fallback id generators both failed") \
  WS_ATTR_ROWS_(WS_DIAG_ATTR_ROW_, X) /* CTX_ATTR_<ATTR>, one per attribute */ \
  X(CTX_NOMEM,          CONTEXT,   RESOURCE, 503, 1013, "allocation failed while building the user execution context") \
  X(FRAME_UNMASKED,     FRAMES,    PROTOCOL, 0,   1002, "client frame not masked (RFC 6455 5.1)") \
  X(FRAME_RSV,          FRAMES,    PROTOCOL, 0,   1002, "RSV bit set without a negotiated extension (RFC 6455 5.2)") \
  X(FRAME_OPCODE,       FRAMES,    PROTOCOL, 0,   1002, "reserved opcode (RFC 6455 5.2)") \
  X(FRAME_BAD_HEADER,   FRAMES,    PROTOCOL, 0,   1002, "fragmented control frame, control payload over 125 bytes, or length not minimally encoded (RFC 6455 5.2, 5.5)") \
  X(FRAME_CONTINUATION, FRAMES,    PROTOCOL, 0,   1002, "continuation frame with no message to continue (RFC 6455 5.4)") \
  X(FRAME_INTERLEAVED,  FRAMES,    PROTOCOL, 0,   1002, "new data frame inside a fragmented message (RFC 6455 5.4)") \
  X(FRAME_CLOSE_PAYLOAD,FRAMES,    PROTOCOL, 0,   1002, "close frame with a 1-byte payload (RFC 6455 5.5.1)") \
  X(FRAME_CLOSE_CODE,   FRAMES,    PROTOCOL, 0,   1002, "close code invalid on the wire (RFC 6455 7.4)") \
  X(FRAME_UTF8,         FRAMES,    PROTOCOL, 0,   1007, "text message is not valid UTF-8 (RFC 6455 8.1)") \
  X(FRAME_CLOSE_UTF8,   FRAMES,    PROTOCOL, 0,   1007, "close reason is not valid UTF-8 (RFC 6455 5.5.1)") \
  X(FRAME_BINARY,       FRAMES,    POLICY,   0,   1003, "binary message; the message protocol is JSON text only") \
  X(FRAME_TOO_BIG,      FRAMES,    POLICY,   0,   1009, "message larger than max_message_bytes") \
  X(FRAME_TRUNCATED,    FRAMES,    PROTOCOL, 0,   0,    "input ended inside a frame or fragmented message; no close frame sent") \
  X(FRAME_NOMEM,        FRAMES,    RESOURCE, 0,   1013, "allocation failed in the frame loop or message handling") \
  X(FRAME_INTERNAL,     FRAMES,    INTERNAL, 0,   1011, "the frame library returned an error the core does not expect") \
  X(CLOSE_CLIENT,       FRAMES,    NONE,     0,   WS_CLOSE_ECHO, "client closed with a valid code; the server echoed it") \
  X(EOF_CLEAN,          FRAMES,    NONE,     0,   0,    "input ended at a frame boundary without a close handshake") \
  X(IDLE_TIMEOUT,       FRAMES,    POLICY,   0,   1001, "no client bytes before the server's idle deadline; 1001: the server leaves the connection") \
  X(SERVER_SHUTDOWN,    FRAMES,    NONE,     503, 1001, "server shutting down (SIGINT/SIGTERM): 1001 going away after the upgrade, 503 before it") \
  X(MSG_BAD_JSON,       FRAMES,    MESSAGE,  0,   0,    "message is not a JSON object within limits; answered with an error message") \
  X(MSG_UNKNOWN_TYPE,   FRAMES,    MESSAGE,  0,   0,    "message type missing or unknown; answered with an error message") \
  X(MSG_ALREADY_AUTHENTICATED, FRAMES, MESSAGE, 0, 0,   "auth message on an authenticated session; answered with an error message")
/* clang-format on */

typedef enum ws_diag {
  WS_DIAG_NONE = 0, /* no outcome yet */
#define WS_DIAG_ENUM_(id, st, cl, http, close, desc) WS_DIAG_##id,
  WS_DIAG_LIST(WS_DIAG_ENUM_)
#undef WS_DIAG_ENUM_
      WS_DIAG_COUNT_
} ws_diag;

typedef struct ws_diag_info {
  ws_diag diag;
  const char *code; /* e.g. "AUTH_EXPIRED" */
  ws_stage stage;
  ws_class cls;
  int http_status;         /* 0: not applicable */
  int close_code;          /* 0: not applicable; WS_CLOSE_ECHO: client's code */
  const char *description; /* one line */
} ws_diag_info;

/* Returns the row for d, or NULL when d is WS_DIAG_NONE or out of range. */
const ws_diag_info *ws_diag_get(ws_diag d);
/* Looks a code up by name; returns NULL when there is no such row. */
const ws_diag_info *ws_diag_find(const char *code);
/* Number of rows (WS_DIAG_COUNT_ - 1); rows are ws_diag_get(1..count). */
int ws_diag_count(void);
const char *ws_stage_name(ws_stage st);
const char *ws_class_name(ws_class cl);

#ifdef __cplusplus
}
#endif
#endif
