/* Private body of ws_session (session.c). */
#ifndef WS_SESSION_INT_H
#define WS_SESSION_INT_H

#include "buf.h"
#include "config.h"
#include "context.h"
#include "frames.h"
#include "handshake.h"
#include "keys.h"
#include "mem.h"
#include "wsgate/wsgate.h"

/* The session's state, named by what it waits for next; session.c is the
 * only writer.  HEAD: the request head; AWAIT_AUTH_MESSAGE: upgraded without
 * a token (first-message auth), the first message must authenticate; OPEN:
 * authenticated, messages; ENDED: the outcome is set, nothing more is read.
 * Before the upgrade (HEAD) an ending writes an HTTP response, after it a
 * close frame.  The outcome's stage is not state: it is the stage of the
 * diagnosis's table row. */
typedef enum ws_sstate {
  WS_S_HEAD = 0,
  WS_S_AWAIT_AUTH_MESSAGE,
  WS_S_OPEN,
  WS_S_ENDED
} ws_sstate;

/* Room for the last thing a session writes, made before it is needed so
 * that a resource failure can still be told to the client (writing it never
 * allocates).  Before the upgrade that is an HTTP error response: a block of
 * WS_HTTP_ROOM bytes allocated with the session and freed at the upgrade, so
 * an open session does not carry it.  After the upgrade it is a close frame
 * (2-byte header, 2-byte code, at most 123 bytes of reason: RFC 6455 5.5),
 * which fits in the session itself.  Until the session ends, the frame loop
 * borrows the close room for the payload of the control frame it is
 * receiving (ws_frames_new_lent): the session writes its close frame only
 * when it ends, and then feeds the loop nothing more. */
#define WS_HTTP_ROOM 640
#define WS_CLOSE_ROOM 128

struct ws_session {
  ws_mem mem;
  ws_env env;
  const ws_config *cfg;
  const ws_keyset *keys;
  ws_sstate state;

  ws_buf head; /* request head bytes, freed after the upgrade */
  ws_head_scanner scan;

  ws_frames *frames;
  ws_context *ctx;

  ws_buf out;         /* pending server bytes */
  ws_buf scratch;     /* reply being built (ws_message_reply), freed after it */
  int out_handed;     /* out was handed to the caller by the last send */
  uint8_t *http_room; /* WS_HTTP_ROOM bytes, HEAD only */
  uint8_t close_room[WS_CLOSE_ROOM]; /* the close frame */
  const uint8_t *final;              /* the one written: in either room */
  size_t final_len;
  int final_handed;

  ws_outcome outcome;
  int reason_sent; /* outcome.reason went on the wire */
};

/* Ends the session with d (the only way to end one: every outcome
 * comes from the diagnosis table): writes the
 * HTTP error response or close frame the diag table prescribes into the
 * room kept for it and records the outcome.  detail (may be NULL) is
 * appended to the reason after the code. */
void ws_session_end(ws_session *s, ws_diag d, const char *detail);

#endif
