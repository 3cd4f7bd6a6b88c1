/* The JSON message protocol on top of the frame loop, as decisions.
 *
 * The message layer never acts on the session: it reads one text message and
 * says what should happen (ws_message_decide), and it writes the reply the
 * session asks for (ws_message_reply).  The session (session.c) owns the
 * state, authenticates, makes request ids and queues the reply.
 *
 * Messages: {"type":"auth","token":T} while first-message auth is pending;
 * then {"type":"ping"} -> {"type":"pong"}, {"type":"user_message",...} ->
 * {"type":"ack","request_id":...}; malformed JSON, an unknown type or a
 * second auth -> {"type":"error","code":...}, and the session stays open. */
#ifndef WS_MESSAGE_H
#define WS_MESSAGE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "config.h"
#include "context.h"
#include "json.h"
#include "mem.h"
#include "wsgate/wsgate.h"

typedef enum ws_msg_action {
  WS_MSG_END = 0, /* end the session with diag */
  WS_MSG_AUTH,    /* authenticate with token; on success reply auth_ok */
  WS_MSG_PONG,    /* reply {"type":"pong"} */
  WS_MSG_ACK,     /* give the context a fresh request id, reply ack */
  WS_MSG_ERROR    /* message-level diag (class message): reply error */
} ws_msg_action;

typedef struct ws_msg {
  ws_msg_action action;
  ws_diag diag;      /* WS_MSG_END: the ending diag; WS_MSG_ERROR: MSG_* */
  const char *token; /* WS_MSG_AUTH: the token (inside root) */
  size_t token_len;
  ws_json *root; /* the parsed message; released by ws_message_done */
} ws_msg;

/* Parses msg[0..len) on m within cfg's limits and decides.  await_auth: the
 * session waits for its first-message auth, so anything but a well-formed
 * auth message is WS_MSG_END with AUTH_FIRST_MESSAGE.  An allocation failure
 * while parsing is WS_MSG_END with FRAME_NOMEM (never MSG_BAD_JSON).  Always
 * call ws_message_done afterwards. */
void ws_message_decide(ws_mem *m, const ws_config *cfg, int await_auth,
                       const uint8_t *msg, size_t len, ws_msg *out);
void ws_message_done(ws_mem *m, ws_msg *msg);

/* Writes the reply for msg (not WS_MSG_END) into out, replacing its content;
 * attributes (auth_ok: all of them, ack: request_id) are read through env's
 * reader.  Returns WS_DIAG_NONE, FRAME_NOMEM, or the CTX_ATTR_<NAME> of an
 * attribute that could not be read. */
ws_diag ws_message_reply(ws_buf *out, ws_mem *m, const ws_msg *msg,
                         const ws_context *ctx, const ws_env *env);

#endif
