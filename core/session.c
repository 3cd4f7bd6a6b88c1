/* The session state machine: handshake -> (auth -> context) -> frames.
 *
 * Every path ends in ws_session_end with a diagnosis.  The session keeps the
 * last thing it writes (HTTP error or close frame) in a fixed area so that
 * even an allocation failure can be reported to the client (503 / 1013). */
#include <stdio.h>
#include <string.h>

#include "crypto.h"
#include "json.h"
#include "jwt.h"
#include "session_int.h"

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

int ws_session_new(ws_session **out, const ws_config *cfg,
                   const ws_keyset *keys, const ws_env *env) {
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
  s->mem = m;
  s->env = *env;
  s->cfg = cfg;
  s->keys = keys;
  s->state = WS_S_HEAD;
  s->stage = WS_STAGE_HANDSHAKE;
  ws_head_scan_init(&s->scan);
  *out = s;
  return WS_OK;
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
  ws_mem_leave(prev);
  ws_mem_free(&m, s);
}

/* The code answering a client's close: the same code (RFC 6455 5.5.1),
 * except 1011 and 1013, which this server sends only with its own internal
 * or resource diagnosis (CONTRACT 1): a client's 1011 is answered 1000, so a
 * 1011 from the server always names a cause. */
static int echo_code(uint16_t peer) {
  return peer == 1011 || peer == 1013 ? 1000 : (int)peer;
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
  o->stage = info->stage; /* one rule: the stage of the diagnosis row */
  if (detail && *detail)
    snprintf(o->reason, sizeof(o->reason), "%s: %s", info->code, detail);
  else
    snprintf(o->reason, sizeof(o->reason), "%s", info->code);
  if (s->state == WS_S_HEAD) {
    s->out.len = 0; /* an uncommitted 101 is never sent */
    if (info->http_status) {
      n = ws_http_error_response(d, o->reason, (char *)s->final,
                                 sizeof(s->final));
      if (n) {
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
      n = ws_frames_close((uint16_t)code, o->reason, s->final,
                          sizeof(s->final));
      if (n) {
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
  if (detail && *detail)
    snprintf(reason, sizeof(reason), "%s: %s", info->code, detail);
  else
    snprintf(reason, sizeof(reason), "%s", info->code);
  return ws_http_error_response(d, reason, buf, cap);
}

ws_diag ws_session_authenticate(ws_session *s, const char *token, size_t len) {
  ws_jwt_claims claims;
  ws_diag d;
  s->stage = WS_STAGE_AUTH;
  d = ws_jwt_verify(&s->mem, s->cfg, s->keys, s->env.now(s->env.user_data),
                    token, len, &claims);
  if (d != WS_DIAG_NONE) return d;
  s->stage = WS_STAGE_CONTEXT;
  d = ws_context_build(&s->mem, &s->env, claims.sub, claims.sub_len,
                       &s->outcome, &s->ctx);
  if (d != WS_DIAG_NONE) return d;
  s->authenticated = 1;
  return WS_DIAG_NONE;
}

/* Feeds bytes that follow the upgrade to the frame loop. */
static void feed_frames(ws_session *s, const uint8_t *in, size_t len) {
  ws_diag d;
  if (s->state != WS_S_OPEN || len == 0) return;
  d = ws_frames_recv(s->frames, in, len);
  if (d != WS_DIAG_NONE) ws_session_end(s, d, NULL);
}

/* The head is complete: validate, authenticate, upgrade.  Returns 0 when the
 * session is open, -1 when it ended. */
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
    d = ws_session_authenticate(s, hs.token.p, hs.token.n);
    if (d != WS_DIAG_NONE) goto fail;
  } else if (!s->cfg->first_message_auth) {
    s->stage = WS_STAGE_AUTH;
    d = WS_DIAG_AUTH_NO_TOKEN;
    goto fail;
  }
  h.on_text = ws_message_on_text;
  h.ud = s;
  if (ws_frames_new(&s->frames, &s->mem, s->cfg->max_message_bytes, &s->out,
                    &h) != 0) {
    s->stage = WS_STAGE_HANDSHAKE;
    d = WS_DIAG_HS_NOMEM;
    detail = "frame loop";
    goto fail;
  }
  ws_handshake_release(&s->mem, &hs);
  s->state = WS_S_OPEN;
  s->stage = WS_STAGE_FRAMES;
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
    /* An idle session should hold little: drop a buffer grown by a large
     * reply, keep a small one for the next. */
    if (s->out.cap > 4096) ws_buf_free(&s->out, &s->mem);
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

typedef struct jw {
  char *buf;
  size_t cap, len;
} jw;

static void jw_raw(jw *w, const char *s, size_t n) {
  size_t i;
  for (i = 0; i < n; i++, w->len++)
    if (w->len + 1 < w->cap) w->buf[w->len] = s[i];
}
static void jw_str(jw *w, const char *s) {
  jw_raw(w, s, strlen(s));
}
static void jw_quoted(jw *w, const char *s) {
  static const char hex[] = "0123456789abcdef";
  jw_raw(w, "\"", 1);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') {
      char e[2] = {'\\', (char)c};
      jw_raw(w, e, 2);
    } else if (c < 0x20) {
      char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
      jw_raw(w, e, 6);
    } else {
      jw_raw(w, (const char *)&c, 1);
    }
  }
  jw_raw(w, "\"", 1);
}
static void jw_int(jw *w, int v) {
  char t[16];
  if (v == 0) {
    jw_str(w, "null");
    return;
  }
  snprintf(t, sizeof(t), "%d", v);
  jw_str(w, t);
}

size_t ws_outcome_json(const ws_outcome *o, const char *extra, char *buf,
                       size_t cap) {
  jw w = {buf, cap, 0};
  const ws_diag_info *info = o ? ws_diag_get(o->diag) : NULL;
  size_t i;
  if (!info) {
    jw_str(&w, "{\"stage\":null,\"diag\":null}");
  } else {
    jw_str(&w, "{\"stage\":");
    jw_quoted(&w, ws_stage_name(o->stage));
    jw_str(&w, ",\"diag\":");
    jw_quoted(&w, info->code);
    jw_str(&w, ",\"class\":");
    jw_quoted(&w, ws_class_name(info->cls));
    jw_str(&w, ",\"http_status\":");
    jw_int(&w, o->http_status);
    jw_str(&w, ",\"close_code\":");
    jw_int(&w, o->close_code);
    jw_str(&w, ",\"reason\":");
    if (o->reason[0])
      jw_quoted(&w, o->reason);
    else
      jw_str(&w, "null");
    jw_str(&w, ",\"trail\":[");
    for (i = 0; i < o->trail_len; i++) {
      if (i) jw_str(&w, ",");
      jw_str(&w, "{\"event\":");
      jw_quoted(&w, o->trail[i].event == WS_TRAIL_IDGEN_FALLBACK
                        ? "idgen_fallback"
                        : "idgen_invalid");
      jw_str(&w, ",\"attr\":");
      jw_quoted(&w, ws_attr_name(o->trail[i].attr));
      jw_str(&w, "}");
    }
    jw_str(&w, "]");
    if (o->trail_dropped) {
      char t[48];
      snprintf(t, sizeof(t), ",\"trail_dropped\":%zu", o->trail_dropped);
      jw_str(&w, t);
    }
    if (extra && *extra) {
      jw_str(&w, ",");
      jw_str(&w, extra);
    }
    jw_str(&w, "}");
  }
  if (cap) buf[w.len < cap ? w.len : cap - 1] = '\0';
  return w.len;
}
