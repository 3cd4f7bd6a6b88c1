/* The JSON message protocol on top of the frame loop.
 *
 * A message-level problem (malformed JSON, unknown type) is answered with
 * {"type":"error","code":...} and the session stays open; only session-level
 * failures (first-message auth, resources, context) end it. */
#include <string.h>

#include "json.h"
#include "session_int.h"

static ws_diag send_scratch(ws_session *s) {
  switch (ws_frames_send_text(s->frames, s->scratch.data, s->scratch.len)) {
    case WS_FRAMES_SENT: return WS_DIAG_NONE;
    case WS_FRAMES_SEND_NOMEM: return WS_DIAG_FRAME_NOMEM;
    case WS_FRAMES_SEND_BROKEN:
    case WS_FRAMES_SEND_BAD_ARG: break;
  }
  return WS_DIAG_FRAME_INTERNAL;
}

static ws_diag reply_literal(ws_session *s, const char *json) {
  s->scratch.len = 0;
  if (ws_buf_append_str(&s->scratch, &s->mem, json)) return WS_DIAG_FRAME_NOMEM;
  return send_scratch(s);
}

static ws_diag reply_error(ws_session *s, ws_diag code) {
  s->scratch.len = 0;
  if (ws_buf_append_str(&s->scratch, &s->mem,
                        "{\"type\":\"error\",\"code\":") ||
      ws_buf_append_json_str(&s->scratch, &s->mem, ws_diag_get(code)->code,
                             strlen(ws_diag_get(code)->code)) ||
      ws_buf_append_str(&s->scratch, &s->mem, "}"))
    return WS_DIAG_FRAME_NOMEM;
  return send_scratch(s);
}

/* Appends ,"<attr>":"<value>" read through the context's accessor. */
static ws_diag put_attr(ws_session *s, ws_attr a) {
  const char *v;
  size_t n;
  ws_diag d = ws_context_read(s->ctx, &s->env, a, &v, &n);
  if (d != WS_DIAG_NONE) return d;
  if (ws_buf_append_str(&s->scratch, &s->mem, ",\"") ||
      ws_buf_append_str(&s->scratch, &s->mem, ws_attr_name(a)) ||
      ws_buf_append_str(&s->scratch, &s->mem, "\":") ||
      ws_buf_append_json_str(&s->scratch, &s->mem, v, n))
    return WS_DIAG_FRAME_NOMEM;
  return WS_DIAG_NONE;
}

static ws_diag reply_auth_ok(ws_session *s) {
  ws_diag d;
  int a;
  s->scratch.len = 0;
  if (ws_buf_append_str(&s->scratch, &s->mem, "{\"type\":\"auth_ok\""))
    return WS_DIAG_FRAME_NOMEM;
  for (a = 0; a < WS_ATTR_COUNT_; a++)
    if ((d = put_attr(s, (ws_attr)a)) != WS_DIAG_NONE) return d;
  if (ws_buf_append_str(&s->scratch, &s->mem, "}")) return WS_DIAG_FRAME_NOMEM;
  return send_scratch(s);
}

static ws_diag reply_ack(ws_session *s) {
  ws_diag d;
  s->stage = WS_STAGE_CONTEXT;
  d = ws_context_new_request_id(s->ctx, &s->env, &s->outcome);
  if (d != WS_DIAG_NONE) return d;
  s->scratch.len = 0;
  if (ws_buf_append_str(&s->scratch, &s->mem, "{\"type\":\"ack\""))
    return WS_DIAG_FRAME_NOMEM;
  if ((d = put_attr(s, WS_ATTR_REQUEST_ID)) != WS_DIAG_NONE) return d;
  s->stage = WS_STAGE_FRAMES;
  if (ws_buf_append_str(&s->scratch, &s->mem, "}")) return WS_DIAG_FRAME_NOMEM;
  return send_scratch(s);
}

static int type_is(const char *t, size_t n, const char *want) {
  return t && n == strlen(want) && memcmp(t, want, n) == 0;
}

ws_diag ws_message_on_text(void *ud, const uint8_t *msg, size_t len) {
  ws_session *s = ud;
  ws_json_limits lim;
  ws_json *root = NULL;
  ws_json_status st;
  const char *type = NULL, *tok;
  size_t tlen = 0, toklen = 0;
  ws_diag d;

  lim.max_len = s->cfg->max_message_bytes;
  lim.max_depth = s->cfg->max_json_depth;
  st = ws_json_parse(&s->mem, (const char *)msg, len, &lim, &root);
  if (st == WS_JSON_NOMEM) return WS_DIAG_FRAME_NOMEM;
  if (st == WS_JSON_OK && ws_json_is_object(root))
    type = ws_json_string(ws_json_get(root, "type"), &tlen);

  if (!s->authenticated) {
    /* First-message auth: anything but a well-formed auth message ends the
     * session with 1008 (policy violation). */
    tok = ws_json_string(ws_json_get(root, "token"), &toklen);
    if (!type_is(type, tlen, "auth") || !tok) {
      d = WS_DIAG_AUTH_FIRST_MESSAGE;
    } else {
      d = ws_session_authenticate(s, tok, toklen);
      if (d == WS_DIAG_NONE) {
        s->stage = WS_STAGE_FRAMES;
        d = reply_auth_ok(s);
      }
    }
    ws_json_free(&s->mem, root);
    return d;
  }

  if (!type && (st != WS_JSON_OK || !ws_json_is_object(root)))
    d = reply_error(s, WS_DIAG_MSG_BAD_JSON);
  else if (type_is(type, tlen, "ping"))
    d = reply_literal(s, "{\"type\":\"pong\"}");
  else if (type_is(type, tlen, "user_message"))
    d = reply_ack(s);
  else if (type_is(type, tlen, "auth"))
    d = reply_error(s, WS_DIAG_MSG_ALREADY_AUTHENTICATED);
  else
    d = reply_error(s, WS_DIAG_MSG_UNKNOWN_TYPE);
  ws_json_free(&s->mem, root);
  return d;
}
