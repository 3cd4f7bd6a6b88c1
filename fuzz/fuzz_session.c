/* fuzz_session: a whole client byte stream, every stage, with faults.
 *
 * Input: the common header (fuzz/common.h: config, fault plan, chunk sizes,
 * reentrancy), then one mode byte and the body:
 *   mode bit 0 = 0, a raw head: the body up to and including its first
 *     CRLFCRLF is the request head as the client writes it, where
 *     "@@TOKEN(<claims>)@@" becomes a token of <claims> signed with the
 *     test HS256 key; the rest are frames;
 *   mode bit 0 = 1, a built head: one byte of head choices (bits 0-1 token
 *     source: none, Authorization, Sec-WebSocket-Protocol, access_token;
 *     bit 2 an Origin of the policy config; bit 3 a subprotocol offer;
 *     bit 4 the token in a first auth message instead), one length byte L,
 *     L bytes of a token spec for the forge (fuzz/forge.h: any key, header,
 *     claims, tampering), then the frames; the fault-free run's answer to
 *     the token is judged by the acceptance oracle and the JWT model, and
 *     when the token was accepted in the request, the frames by the frame
 *     model (fuzz/model_frames.h);
 *   mode bit 1: frames structured ([first byte | length | payload]...,
 *     fz_frames_encode) rather than raw bytes.
 * So the fuzzer reaches raw request heads as fast as fuzz_handshake does,
 * and the frame loop behind real, accepted tokens as fast as fuzz_frames. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builders.h"
#include "common.h"
#include "config.h"
#include "forge.h"
#include "model_frames.h"

const char fz_target_name[] = "fuzz_session";

static const uint8_t *find_head_end(const uint8_t *p, size_t n) {
  size_t i;
  for (i = 0; i + 4 <= n; i++)
    if (memcmp(p + i, "\r\n\r\n", 4) == 0) return p + i + 4;
  return p + n;
}

/* The built head: a valid upgrade with the chosen token source. */
static size_t built_head(uint8_t choices, const char *tok, char *out,
                         size_t cap) {
  int at = snprintf(out, cap,
                    "GET /chat%s%s HTTP/1.1\r\nHost: chat.example\r\n"
                    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                    "Sec-WebSocket-Version: 13\r\n",
                    (choices & 3) == 3 ? "?access_token=" : "",
                    (choices & 3) == 3 ? tok : "");
  if ((choices & 3) == 1)
    at += snprintf(out + at, cap - (size_t)at, "Authorization: Bearer %s\r\n",
                   tok);
  if ((choices & 3) == 2)
    at += snprintf(out + at, cap - (size_t)at,
                   "Sec-WebSocket-Protocol: bearer, %s\r\n", tok);
  if (choices & 4)
    at += snprintf(out + at, cap - (size_t)at,
                   "Origin: https://chat.example\r\n");
  if (choices & 8)
    at += snprintf(out + at, cap - (size_t)at,
                   "Sec-WebSocket-Protocol: chat.v1\r\n");
  at += snprintf(out + at, cap - (size_t)at, "\r\n");
  return (size_t)at;
}

static size_t auth_frame(const char *tok, uint8_t *out) {
  size_t n = strlen(tok) + 32, at = 0, len;
  uint8_t *in = malloc(n + 4);
  char *msg;
  if (!in) return 0;
  msg = (char *)in + 4;
  len = (size_t)snprintf(msg, n, "{\"type\":\"auth\",\"token\":\"%s\"}", tok);
  at = tb_frame(out, len + 14, TB_FIN | TB_TEXT, tb_mask_key, msg, len);
  free(in);
  return at;
}

typedef struct oracle {
  fz_token tok;
  int presented;    /* the token went into the request or auth message */
  int frames_model; /* the frames follow an upgrade that carried tok */
  size_t frames_at; /* where they start in the stream */
  const fz_case *c;
} oracle;

static ws_verdict session_oracle(void *ud, const ws_run_result *clean,
                                 char *why, size_t cap) {
  const oracle *o = ud;
  ws_verdict v =
      o->presented ? fz_token_oracle(&o->tok, clean, why, cap) : WS_V_DIAGNOSED;
  if (ws_verdict_failing(v)) return v;
  if (o->frames_model && clean->outcome.http_status == 101 &&
      fz_frames_oracle_check(
          o->c->spec.input + o->frames_at, o->c->spec.len - o->frames_at,
          1048576, 1, clean->outcome.diag, clean->outcome.close_code, why, cap))
    return WS_V_WRONG_OUTCOME;
  return WS_V_DIAGNOSED;
}

static void oracle_free(void *ud) {
  oracle *o = ud;
  fz_token_free(&o->tok);
  free(o);
}

int fz_target_decode(const uint8_t *data, size_t size, fz_case *c) {
  size_t used = fz_case_begin(c, data, size), hl = 0, fl, at;
  const uint8_t *body, *frames;
  uint8_t mode, *head = NULL, *stream;
  size_t blen;
  oracle *o = NULL;
  if (used == 0 || used >= size) return -1;
  mode = data[used++];
  body = data + used;
  blen = size - used;
  if (!(mode & 1)) {
    const uint8_t *end = find_head_end(body, blen);
    if (!(head = fz_expand(body, (size_t)(end - body), &hl))) return -1;
    frames = end;
  } else {
    uint8_t choices = blen > 0 ? body[0] : 0;
    size_t sl = blen > 1 ? body[1] : 0, skip = blen > 1 ? 2 : blen, tl;
    const char *tok;
    if (sl > blen - skip) sl = blen - skip;
    if (!(o = calloc(1, sizeof(*o)))) return -1;
    fz_token_decode(body + skip, sl, c->h.cfg, &o->tok);
    if (!o->tok.text) {
      free(o);
      return -1;
    }
    /* The token oracle only for a session that presents the token. */
    o->presented = (choices & 16) ? fz_config(c->h.cfg)->first_message_auth
                                  : (choices & 3) != 0;
    c->oracle = session_oracle;
    c->oracle_ud = o;
    c->oracle_free = oracle_free;
    o->c = c;
    fz_token_describe(&o->tok, c->note, sizeof(c->note));
    tok = o->tok.text;
    tl = o->tok.len;
    head = malloc(tl + 512 + tl + 64);
    if (!head) {
      fz_case_free(c);
      return -1;
    }
    hl = built_head((choices & 16) ? (uint8_t)(choices & ~3u) : choices, tok,
                    (char *)head, tl + 512);
    if (choices & 16) hl += auth_frame(tok, head + hl);
    /* An authenticated session whose messages never end it: the frame
     * model's world (not first-message auth, whose first message decides). */
    o->frames_model = !(choices & 16) && (choices & 3) != 0 &&
                      !fz_config(c->h.cfg)->first_message_auth;
    o->frames_at = hl;
    frames = body + skip + sl;
  }
  fl = (size_t)(data + size - frames);
  if (!(stream = malloc(hl + 3 * fl + 8))) {
    free(head);
    fz_case_free(c);
    return -1;
  }
  memcpy(stream, head, hl);
  at = hl;
  free(head);
  if (mode & 2) {
    at += fz_frames_encode(frames, fl, stream + at);
  } else {
    memcpy(stream + at, frames, fl);
    at += fl;
  }
  fz_case_set_input(c, stream, at);
  return 0;
}
