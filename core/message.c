/* The JSON message protocol on top of the frame loop (message.h): decides
 * what a message asks for and writes replies; the session acts.
 *
 * A message-level problem (malformed JSON, unknown type) is answered with
 * {"type":"error","code":...} and the session stays open; only session-level
 * failures (first-message auth, resources, context) end it. */
#include "message.h"

#include <string.h>

static int type_is(const char *t, size_t n, const char *want) {
  return t && n == strlen(want) && memcmp(t, want, n) == 0;
}

void ws_message_decide(ws_mem *m, const ws_config *cfg, int await_auth,
                       const uint8_t *msg, size_t len, ws_msg *out) {
  ws_json_limits lim;
  ws_json_status st;
  const char *type = NULL, *tok;
  size_t tlen = 0, toklen = 0;

  memset(out, 0, sizeof(*out));
  lim.max_len = cfg->max_message_bytes;
  lim.max_depth = cfg->max_json_depth;
  st = ws_json_parse(m, (const char *)msg, len, &lim, &out->root);
  if (st == WS_JSON_NOMEM) {
    out->diag = WS_DIAG_FRAME_NOMEM;
    return;
  }
  if (st == WS_JSON_OK && ws_json_is_object(out->root))
    type = ws_json_string(ws_json_get(out->root, "type"), &tlen);

  if (await_auth) {
    /* First-message auth: anything but a well-formed auth message ends the
     * session with 1008 (policy violation). */
    tok = ws_json_string(ws_json_get(out->root, "token"), &toklen);
    if (!type_is(type, tlen, "auth") || !tok) {
      out->diag = WS_DIAG_AUTH_FIRST_MESSAGE;
    } else {
      out->action = WS_MSG_AUTH;
      out->token = tok;
      out->token_len = toklen;
    }
    return;
  }

  out->action = WS_MSG_ERROR;
  if (!type && (st != WS_JSON_OK || !ws_json_is_object(out->root)))
    out->diag = WS_DIAG_MSG_BAD_JSON;
  else if (type_is(type, tlen, "ping"))
    out->action = WS_MSG_PONG;
  else if (type_is(type, tlen, "user_message"))
    out->action = WS_MSG_ACK;
  else if (type_is(type, tlen, "auth"))
    out->diag = WS_DIAG_MSG_ALREADY_AUTHENTICATED;
  else
    out->diag = WS_DIAG_MSG_UNKNOWN_TYPE;
}

void ws_message_done(ws_mem *m, ws_msg *msg) {
  ws_json_free(m, msg->root);
  memset(msg, 0, sizeof(*msg));
}

/* Appends ,"<attr>":"<value>" read through the context's accessor. */
static ws_diag put_attr(ws_buf *out, ws_mem *m, const ws_context *ctx,
                        const ws_env *env, ws_attr a) {
  const char *v;
  size_t n;
  ws_diag d = ws_context_read(ctx, env, a, &v, &n);
  if (d != WS_DIAG_NONE) return d;
  if (ws_buf_append_str(out, m, ",\"") ||
      ws_buf_append_str(out, m, ws_attr_name(a)) ||
      ws_buf_append_str(out, m, "\":") || ws_buf_append_json_str(out, m, v, n))
    return WS_DIAG_FRAME_NOMEM;
  return WS_DIAG_NONE;
}

ws_diag ws_message_reply(ws_buf *out, ws_mem *m, const ws_msg *msg,
                         const ws_context *ctx, const ws_env *env) {
  const char *code;
  ws_diag d;
  int a;
  out->len = 0;
  switch (msg->action) {
    case WS_MSG_PONG:
      if (ws_buf_append_str(out, m, "{\"type\":\"pong\"}"))
        return WS_DIAG_FRAME_NOMEM;
      return WS_DIAG_NONE;
    case WS_MSG_ERROR:
      code = ws_diag_get(msg->diag)->code;
      if (ws_buf_append_str(out, m, "{\"type\":\"error\",\"code\":") ||
          ws_buf_append_json_str(out, m, code, strlen(code)) ||
          ws_buf_append_str(out, m, "}"))
        return WS_DIAG_FRAME_NOMEM;
      return WS_DIAG_NONE;
    case WS_MSG_AUTH:
      if (ws_buf_append_str(out, m, "{\"type\":\"auth_ok\""))
        return WS_DIAG_FRAME_NOMEM;
      for (a = 0; a < WS_ATTR_COUNT_; a++)
        if ((d = put_attr(out, m, ctx, env, (ws_attr)a)) != WS_DIAG_NONE)
          return d;
      break;
    case WS_MSG_ACK:
      if (ws_buf_append_str(out, m, "{\"type\":\"ack\""))
        return WS_DIAG_FRAME_NOMEM;
      if ((d = put_attr(out, m, ctx, env, WS_ATTR_REQUEST_ID)) != WS_DIAG_NONE)
        return d;
      break;
    case WS_MSG_END: return WS_DIAG_FRAME_INTERNAL; /* nothing to reply */
  }
  if (ws_buf_append_str(out, m, "}")) return WS_DIAG_FRAME_NOMEM;
  return WS_DIAG_NONE;
}
