/* The session state machine: HEAD -> (AWAIT_AUTH_MESSAGE ->) OPEN -> ENDED
 * (session_int.h).  This file is the only one that changes the state; the
 * message layer (message.c) only decides what a message asks for.
 *
 * Every path ends in ws_session_end with a diagnosis.  The session keeps
 * room for the last thing it writes (HTTP error or close frame) from the
 * start, so that even an allocation failure can be reported to the client
 * (503 / 1013); see session_int.h. */
#include <string.h>

#include "clone.h"
#include "crypto.h"
#include "json.h"
#include "jwt.h"
#include "message.h"
#include "session_int.h"
#include "text.h"

const char *ws_strerror(int err) {
  switch (err) {
    case WS_OK: return "ok";
    case WS_ERR_ARG: return "invalid argument";
    case WS_ERR_NOMEM: return "out of memory";
    case WS_ERR_PARSE: return "malformed document";
    case WS_ERR_ENDED: return "session already ended";
    case WS_ERR_CRYPTO: return "OpenSSL failure";
    case WS_ERR_STATE: return "call out of order";
  }
  return "unknown error";
}

int ws_global_init(void) {
  int rc = ws_crypto_global_init();
  if (rc != WS_OK) return rc;
  ws_json_global_init();
  return WS_OK;
}

/* A new session in HEAD; with_http_room 0 for one that starts past the
 * upgrade (ws_session_clone_open), which never writes an HTTP response. */
static int session_alloc(ws_session **out, const ws_config *cfg,
                         const ws_keyset *keys, const ws_env *env,
                         int with_http_room) {
  ws_mem m;
  ws_session *s;
  if (!out) return WS_ERR_ARG;
  *out = NULL;
  if (!cfg || !keys || !env || !env->now || !env->random) return WS_ERR_ARG;
  /* Without the trampolines, dependency allocations would bypass the
   * session: no accounting, no attribution. */
  if (!ws_crypto_ready()) return WS_ERR_STATE;
  ws_mem_init(&m, &env->alloc);
  if (!(s = ws_mem_calloc(&m, 1, sizeof(*s)))) return WS_ERR_NOMEM;
  if (with_http_room && !(s->http_room = ws_mem_malloc(&m, WS_HTTP_ROOM))) {
    ws_mem_free(&m, s);
    return WS_ERR_NOMEM;
  }
  s->mem = m;
  s->env = *env;
  s->cfg = cfg;
  s->keys = keys;
  s->state = WS_S_HEAD;
  ws_head_scan_init(&s->scan);
  *out = s;
  return WS_OK;
}

int ws_session_new(ws_session **out, const ws_config *cfg,
                   const ws_keyset *keys, const ws_env *env) {
  return session_alloc(out, cfg, keys, env, 1);
}

_Static_assert(WS_CLOSE_ROOM >= 2 + 125, "a close frame fits its room");

/* The upgrade is committed: no HTTP response can follow. */
static void drop_http_room(ws_session *s) {
  ws_mem_free(&s->mem, s->http_room);
  s->http_room = NULL;
}

void ws_session_free(ws_session *s) {
  ws_mem m;
  ws_mem *prev;
  if (!s) return;
  m = s->mem;
  prev = ws_mem_enter(&s->mem);
  if (s->frames) ws_frames_free(s->frames);
  ws_context_free(&s->mem, s->ctx);
  ws_buf_free(&s->head, &s->mem);
  ws_buf_free(&s->out, &s->mem);
  ws_buf_free(&s->scratch, &s->mem);
  ws_mem_free(&s->mem, s->http_room);
  ws_mem_leave(prev);
  ws_mem_free(&m, s);
}

/* The code answering a client's close: the same code (RFC 6455 5.5.1),
 * except 1011 and 1013, which this server sends only with its own internal
 * or resource diagnosis (a 1011 is only ever sent with a diagnosis of class
 * internal): a client's 1011 is answered 1000, so a 1011 from the server
 * always names a cause. */
static int echo_code(uint16_t peer) {
  return peer == 1011 || peer == 1013 ? 1000 : (int)peer;
}

/* The reason sent and recorded: the code, then ": detail" when given, cut to
 * fit cap. */
static void format_reason(char *buf, size_t cap, const ws_diag_info *info,
                          const char *detail) {
  ws_text t;
  ws_text_init(&t, buf, cap);
  ws_text_puts(&t, info->code);
  if (detail && *detail) {
    ws_text_puts(&t, ": ");
    ws_text_puts(&t, detail);
  }
  ws_text_cstr(&t);
}

void ws_session_end(ws_session *s, ws_diag d, const char *detail) {
  const ws_diag_info *info = ws_diag_get(d);
  ws_outcome *o = &s->outcome;
  size_t n;
  if (s->state == WS_S_ENDED) return;
  if (!info) { /* a bug in the core: still diagnosed, never silent */
    d = s->state == WS_S_HEAD ? WS_DIAG_AUTH_INTERNAL : WS_DIAG_FRAME_INTERNAL;
    info = ws_diag_get(d);
    detail = "no diagnosis given";
  }
  o->diag = d;
  o->stage = info->stage; /* one rule: the table row says where it ended */
  format_reason(o->reason, sizeof(o->reason), info, detail);
  if (s->state == WS_S_HEAD) {
    s->out.len = 0; /* an uncommitted 101 is never sent */
    if (info->http_status && s->http_room) {
      n = ws_http_error_response(d, o->reason, (char *)s->http_room,
                                 WS_HTTP_ROOM);
      if (n) {
        s->final = s->http_room;
        s->final_len = n;
        o->http_status = info->http_status;
        s->reason_sent = 1;
      }
    }
  } else {
    int code = info->close_code == WS_CLOSE_ECHO
                   ? echo_code(ws_frames_peer_close(s->frames))
                   : info->close_code;
    o->http_status = 101;
    if (code) {
      /* A close reason is at most 123 bytes (RFC 6455 5.5: control payload
       * <= 125); our reasons are ASCII, so cutting is safe. */
      if (strlen(o->reason) > 123) o->reason[123] = '\0';
      n = ws_frames_close((uint16_t)code, o->reason, s->close_room,
                          sizeof(s->close_room));
      if (n) {
        s->final = s->close_room;
        s->final_len = n;
        o->close_code = code;
        s->reason_sent = 1;
      }
    }
  }
  if (!s->reason_sent) o->reason[0] = '\0';
  s->state = WS_S_ENDED;
}

size_t ws_diag_http_response(ws_diag d, const char *detail, char *buf,
                             size_t cap) {
  const ws_diag_info *info = ws_diag_get(d);
  char reason[sizeof(((ws_outcome *)0)->reason)];
  if (!info || !info->http_status || !buf) return 0;
  format_reason(reason, sizeof(reason), info, detail);
  return ws_http_error_response(d, reason, buf, cap);
}

/* Verifies the token and builds the context.  WS_DIAG_NONE or the
 * diagnosis; the caller moves the state. */
static ws_diag authenticate(ws_session *s, const char *token, size_t len) {
  ws_jwt_claims claims;
  ws_diag d;
  d = ws_jwt_verify(&s->mem, s->cfg, s->keys, s->env.now(s->env.user_data),
                    token, len, &claims);
  if (d != WS_DIAG_NONE) return d;
  return ws_context_build(&s->mem, &s->env, claims.sub, claims.sub_len,
                          &s->outcome, &s->ctx);
}

/* Queues the reply in s->scratch as one text frame. */
static ws_diag queue_reply(ws_session *s) {
  switch (ws_frames_send_text(s->frames, s->scratch.data, s->scratch.len)) {
    case WS_FRAMES_SENT: return WS_DIAG_NONE;
    case WS_FRAMES_SEND_NOMEM: return WS_DIAG_FRAME_NOMEM;
    case WS_FRAMES_SEND_BROKEN:
    case WS_FRAMES_SEND_BAD_ARG: break;
  }
  return WS_DIAG_FRAME_INTERNAL;
}

/* The frame loop's text handler: the message layer decides, the session
 * acts on the decision.  The reply is queued from inside the handler, which
 * frames.h allows: ws_frames_send_text only appends a frame to the output
 * buffer (after the pongs of earlier pings, before those of later ones, so
 * the bytes do not depend on chunking) and a nested receive is refused. */
static ws_diag on_text(void *ud, const uint8_t *p, size_t n) {
  ws_session *s = ud;
  ws_msg msg;
  ws_diag d = WS_DIAG_NONE;
  ws_message_decide(&s->mem, s->cfg, s->state == WS_S_AWAIT_AUTH_MESSAGE, p, n,
                    &msg);
  switch (msg.action) {
    case WS_MSG_END: d = msg.diag; break;
    case WS_MSG_AUTH:
      d = authenticate(s, msg.token, msg.token_len);
      if (d == WS_DIAG_NONE) s->state = WS_S_OPEN;
      break;
    case WS_MSG_ACK:
      d = ws_context_new_request_id(s->ctx, &s->env, &s->outcome);
      break;
    case WS_MSG_PONG:
    case WS_MSG_ERROR: break;
  }
  if (d == WS_DIAG_NONE)
    d = ws_message_reply(&s->scratch, &s->mem, &msg, s->ctx, &s->env);
  if (d == WS_DIAG_NONE) d = queue_reply(s);
  /* The reply is on out now: an idle session keeps no scratch buffer. */
  ws_buf_free(&s->scratch, &s->mem);
  ws_message_done(&s->mem, &msg);
  return d;
}

/* Feeds bytes that follow the upgrade to the frame loop. */
static void feed_frames(ws_session *s, const uint8_t *in, size_t len) {
  ws_diag d;
  if (s->state == WS_S_HEAD || s->state == WS_S_ENDED || len == 0) return;
  d = ws_frames_recv(s->frames, in, len);
  if (d != WS_DIAG_NONE) ws_session_end(s, d, NULL);
}

/* The head is complete: validate, authenticate, upgrade.  Returns 0 when the
 * session is upgraded (OPEN, or AWAIT_AUTH_MESSAGE without a token), -1 when
 * it ended. */
static int process_head(ws_session *s, const char *head, size_t len) {
  ws_handshake hs;
  const char *detail = NULL;
  ws_frames_handler h;
  ws_diag d;

  memset(&hs, 0, sizeof(hs));
  d = ws_handshake_parse(&s->mem, s->cfg, head, len, &hs, &detail);
  if (d != WS_DIAG_NONE) goto fail;
  /* The 101 is built first but sent only if everything below succeeds. */
  if ((d = ws_handshake_accept(&s->mem, &hs, &s->out)) != WS_DIAG_NONE)
    goto fail;
  if (hs.token_source != WS_TOKEN_NONE) {
    d = authenticate(s, hs.token.p, hs.token.n);
    if (d != WS_DIAG_NONE) goto fail;
  } else if (!s->cfg->first_message_auth) {
    d = WS_DIAG_AUTH_NO_TOKEN;
    goto fail;
  }
  h.on_text = on_text;
  h.ud = s;
  if (ws_frames_new_lent(&s->frames, &s->mem, s->cfg->max_message_bytes,
                         &s->out, &h, s->close_room) != 0) {
    d = WS_DIAG_HS_NOMEM;
    detail = "frame loop";
    goto fail;
  }
  ws_handshake_release(&s->mem, &hs);
  drop_http_room(s);
  s->state = s->ctx ? WS_S_OPEN : WS_S_AWAIT_AUTH_MESSAGE;
  return 0;
fail:
  ws_handshake_release(&s->mem, &hs);
  ws_session_end(s, d, detail);
  return -1;
}

static void feed_head(ws_session *s, const uint8_t *in, size_t len) {
  size_t head_len = 0, max = s->cfg->max_head_bytes, take;
  ws_diag d = WS_DIAG_NONE;
  ws_head_status st;

  if (s->head.len == 0) {
    /* Zero-copy path: the whole head usually arrives in one read. */
    st = ws_head_scan(&s->scan, in, len, max, &head_len, &d);
    if (st == WS_HEAD_ERROR) {
      ws_session_end(s, d, NULL);
      return;
    }
    if (st == WS_HEAD_DONE) {
      if (process_head(s, (const char *)in, head_len) == 0)
        feed_frames(s, in + head_len, len - head_len);
      return;
    }
    if (ws_buf_append(&s->head, &s->mem, in, len) != 0)
      ws_session_end(s, WS_DIAG_HS_NOMEM, "request head buffer");
    return;
  }
  /* Keep at most one byte past the limit: enough to tell 431. */
  take = len;
  if (s->head.len + take > max + 1) take = max + 1 - s->head.len;
  if (ws_buf_append(&s->head, &s->mem, in, take) != 0) {
    ws_session_end(s, WS_DIAG_HS_NOMEM, "request head buffer");
    return;
  }
  st = ws_head_scan(&s->scan, s->head.data, s->head.len, max, &head_len, &d);
  if (st == WS_HEAD_ERROR) {
    ws_session_end(s, d, NULL);
  } else if (st == WS_HEAD_DONE) {
    size_t extra = s->head.len - head_len;
    if (process_head(s, (const char *)s->head.data, head_len) == 0) {
      /* Frames pipelined behind the head: first what the head buffer holds
       * past its end, then the rest of this input. */
      feed_frames(s, s->head.data + head_len, extra);
      feed_frames(s, in + take, len - take);
    }
    ws_buf_free(&s->head, &s->mem);
  }
}

long ws_session_recv(ws_session *s, const uint8_t *in, size_t len) {
  ws_mem *prev;
  if (!s || (!in && len)) return WS_ERR_ARG;
  if (s->state == WS_S_ENDED) return WS_ERR_ENDED;
  if (len == 0) return 0;
  prev = ws_mem_enter(&s->mem);
  if (s->state == WS_S_HEAD)
    feed_head(s, in, len);
  else
    feed_frames(s, in, len);
  ws_mem_leave(prev);
  return (long)len;
}

int ws_session_eof(ws_session *s) {
  ws_mem *prev;
  if (!s) return WS_ERR_ARG;
  if (s->state == WS_S_ENDED) return WS_ERR_ENDED;
  prev = ws_mem_enter(&s->mem);
  if (s->state == WS_S_HEAD)
    ws_session_end(s, WS_DIAG_HS_INCOMPLETE, NULL);
  else
    ws_session_end(s, ws_frames_eof(s->frames), NULL);
  ws_mem_leave(prev);
  return WS_OK;
}

size_t ws_session_send(ws_session *s, const uint8_t **data) {
  if (!data) return 0;
  *data = NULL;
  if (!s) return 0;
  if (s->out_handed) {
    s->out_handed = 0;
    s->out.len = 0;
    /* An idle session holds no output buffer: the next reply allocates
     * one again (its size is the reply's, so nothing is kept in reserve). */
    ws_buf_free(&s->out, &s->mem);
  }
  if (s->out.len) {
    s->out_handed = 1;
    *data = s->out.data;
    return s->out.len;
  }
  if (s->state == WS_S_ENDED && s->final_len && !s->final_handed) {
    s->final_handed = 1;
    *data = s->final;
    return s->final_len;
  }
  return 0;
}

const ws_outcome *ws_session_outcome(const ws_session *s) {
  return s && s->state == WS_S_ENDED ? &s->outcome : NULL;
}

const ws_context *ws_session_context(const ws_session *s) {
  return s ? s->ctx : NULL;
}

/* ---- outcome as JSON --------------------------------------------------------
 */

static void put_quoted(ws_text *t, const char *s) {
  if (s)
    ws_text_json_str(t, s, strlen(s));
  else
    ws_text_puts(t, "null");
}

/* 0 is JSON null: "no status", "no close code". */
static void put_int_or_null(ws_text *t, int v) {
  if (v == 0)
    ws_text_puts(t, "null");
  else
    ws_text_int(t, v);
}

size_t ws_outcome_json(const ws_outcome *o, const char *extra, char *buf,
                       size_t cap) {
  ws_text w;
  const ws_diag_info *info = o ? ws_diag_get(o->diag) : NULL;
  size_t i;
  ws_text_init(&w, buf, cap);
  if (!info) {
    ws_text_puts(&w, "{\"stage\":null,\"diag\":null}");
    return ws_text_cstr(&w);
  }
  ws_text_puts(&w, "{\"stage\":");
  put_quoted(&w, ws_stage_name(o->stage));
  ws_text_puts(&w, ",\"diag\":");
  put_quoted(&w, info->code);
  ws_text_puts(&w, ",\"class\":");
  put_quoted(&w, ws_class_name(info->cls));
  ws_text_puts(&w, ",\"http_status\":");
  put_int_or_null(&w, o->http_status);
  ws_text_puts(&w, ",\"close_code\":");
  put_int_or_null(&w, o->close_code);
  ws_text_puts(&w, ",\"reason\":");
  if (o->reason[0])
    put_quoted(&w, o->reason);
  else
    ws_text_puts(&w, "null");
  ws_text_puts(&w, ",\"trail\":[");
  for (i = 0; i < o->trail_len; i++) {
    if (i) ws_text_puts(&w, ",");
    ws_text_puts(&w, "{\"event\":");
    put_quoted(&w, o->trail[i].event == WS_TRAIL_IDGEN_FALLBACK
                       ? "idgen_fallback"
                       : "idgen_invalid");
    ws_text_puts(&w, ",\"attr\":");
    put_quoted(&w, ws_attr_name(o->trail[i].attr));
    ws_text_puts(&w, "}");
  }
  ws_text_puts(&w, "]");
  if (o->trail_dropped) {
    ws_text_puts(&w, ",\"trail_dropped\":");
    ws_text_int(&w, (long long)o->trail_dropped);
  }
  if (extra && *extra) {
    ws_text_puts(&w, ",");
    ws_text_puts(&w, extra);
  }
  ws_text_puts(&w, "}");
  return ws_text_cstr(&w);
}

/* ---- a copy of an open session (clone.h: for the fuzz harness) ---------- */

int ws_session_clone_open(ws_session **out, const ws_session *src,
                          const ws_env *env) {
  ws_session *s = NULL;
  ws_frames_handler h;
  ws_mem *prev;
  int rc;
  if (!out) return WS_ERR_ARG;
  *out = NULL;
  if (!src || !env) return WS_ERR_ARG;
  if (src->state != WS_S_OPEN || !src->ctx || !src->frames || src->out.len ||
      src->head.len)
    return WS_ERR_STATE;
  if (ws_frames_eof(src->frames) != WS_DIAG_EOF_CLEAN) return WS_ERR_STATE;
  if ((rc = session_alloc(&s, src->cfg, src->keys, env, 0)) != WS_OK) return rc;
  prev = ws_mem_enter(&s->mem);
  rc = WS_ERR_NOMEM;
  if (!(s->ctx = ws_context_clone(&s->mem, src->ctx))) goto fail;
  h.on_text = on_text;
  h.ud = s;
  if (ws_frames_new_lent(&s->frames, &s->mem, s->cfg->max_message_bytes,
                         &s->out, &h, s->close_room) != 0)
    goto fail;
  s->outcome = src->outcome;
  s->state = WS_S_OPEN;
  ws_mem_leave(prev);
  *out = s;
  return WS_OK;
fail:
  ws_mem_leave(prev);
  ws_session_free(s);
  return rc;
}

/* ---- serving: deadlines and shutdown ----------------------------------------
 *
 * The core keeps no clock of its own: a server owns the deadlines
 * and tells the session when one has passed.  Which diagnosis that is depends
 * only on where the session stands. */

int ws_session_upgraded(const ws_session *s) {
  if (!s) return 0;
  if (s->state == WS_S_OPEN || s->state == WS_S_AWAIT_AUTH_MESSAGE) return 1;
  return s->state == WS_S_ENDED && s->outcome.http_status == 101;
}

int ws_session_timeout(ws_session *s) {
  ws_mem *prev;
  ws_diag d;
  if (!s) return WS_ERR_ARG;
  if (s->state == WS_S_ENDED) return WS_ERR_ENDED;
  prev = ws_mem_enter(&s->mem);
  if (s->state == WS_S_HEAD) {
    d = WS_DIAG_HS_TIMEOUT;
  } else if (s->state == WS_S_AWAIT_AUTH_MESSAGE) {
    /* Upgraded without a token: first-message auth is still waiting. */
    d = WS_DIAG_AUTH_TIMEOUT;
  } else {
    d = WS_DIAG_IDLE_TIMEOUT;
  }
  ws_session_end(s, d, NULL);
  ws_mem_leave(prev);
  return WS_OK;
}

int ws_session_shutdown(ws_session *s) {
  ws_mem *prev;
  if (!s) return WS_ERR_ARG;
  if (s->state == WS_S_ENDED) return WS_ERR_ENDED;
  prev = ws_mem_enter(&s->mem);
  ws_session_end(s, WS_DIAG_SERVER_SHUTDOWN, NULL);
  ws_mem_leave(prev);
  return WS_OK;
}
