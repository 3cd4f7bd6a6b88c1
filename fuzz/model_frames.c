/* The frame model (model_frames.h): a byte-at-a-time reading of RFC 6455
 * 5.2 (base framing), 5.4 (fragmentation), 5.5 (control frames), 7.4 (close
 * codes) and RFC 3629 (UTF-8), with wsgate's documented order of checks:
 *
 *   at a header's 2nd byte:      control frame (opcode 8-F) with FIN clear
 *                                or a 7-bit length over 125   -> BAD_HEADER
 *   at the extended length's end: not the shortest form, or
 *                                the 64-bit form's top bit set -> BAD_HEADER
 *   at the header's end:         not masked, RSV, reserved opcode,
 *                                continuation with no message / new data
 *                                frame inside one, binary, close of 1 byte,
 *                                message so far + length > limit
 *   each text payload byte:      UTF-8 prefix impossible -> FRAME_UTF8
 *   at a frame's end:            final text frame ending inside a character
 *                                -> FRAME_UTF8; close code, then close
 *                                reason; ping answered
 *   at EOF:                      inside a frame or a fragmented message ->
 *                                FRAME_TRUNCATED, else EOF_CLEAN
 *
 * Close codes the server sends (README's table): 1002 for protocol errors,
 * 1007 for UTF-8, 1003 binary, 1009 too big; a valid client close is echoed,
 * except that 1011 and 1013 are answered 1000 and an empty close is answered
 * 1000. */
#include "model_frames.h"

#include <stdio.h>
#include <string.h>

/* ---- UTF-8 (RFC 3629 3-4) -----------------------------------------------
 *
 * The pending bytes of the current character are kept (at most 3).  A
 * prefix is possible when some completion of it is a valid scalar value:
 * with the lead byte fixing the length and every missing continuation free
 * to be anything in 80..BF, the prefix covers one contiguous interval of
 * code points, and it is valid exactly when that interval meets the values
 * the length may encode (no overlong forms, at most U+10FFFF) outside the
 * surrogates D800..DFFF. */

typedef struct u8_model {
  uint8_t pend[4];
  int npend; /* bytes of the unfinished character */
} u8_model;

/* Length announced by a lead byte, 0 when it cannot start a character. */
static int u8_seq_len(uint8_t b) {
  if ((b & 0x80) == 0x00) return 1;
  if ((b & 0xe0) == 0xc0) return 2;
  if ((b & 0xf0) == 0xe0) return 3;
  if ((b & 0xf8) == 0xf0) return 4;
  return 0;
}

/* 1 when b[0..n) (n >= 1) can still become a valid character. */
static int u8_prefix_possible(const uint8_t *b, int n) {
  static const uint32_t least[5] = {0, 0, 0x80, 0x800, 0x10000};
  static const uint32_t most[5] = {0, 0x7f, 0x7ff, 0xffff, 0x10ffff};
  static const uint8_t lead_bits[5] = {0, 7, 5, 4, 3};
  int len = u8_seq_len(b[0]), i;
  uint32_t lo, hi;
  if (len == 0 || n > len) return 0;
  lo = b[0] & ((1u << lead_bits[len]) - 1);
  for (i = 1; i < n; i++) {
    if ((b[i] & 0xc0) != 0x80) return 0;
    lo = lo << 6 | (b[i] & 0x3f);
  }
  hi = lo;
  for (; i < len; i++) {
    lo = lo << 6;
    hi = hi << 6 | 0x3f;
  }
  if (lo < least[len]) lo = least[len];
  if (hi > most[len]) hi = most[len];
  if (lo > hi) return 0;
  /* What is left must not lie wholly inside the surrogates. */
  return !(lo >= 0xd800 && hi <= 0xdfff);
}

/* 0 while the bytes so far are a possible prefix, -1 at the first that is
 * not. */
static int u8_push(u8_model *u, uint8_t b) {
  u->pend[u->npend++] = b;
  if (!u8_prefix_possible(u->pend, u->npend)) return -1;
  if (u->npend == u8_seq_len(u->pend[0])) u->npend = 0;
  return 0;
}

static int u8_whole(const uint8_t *p, size_t n) {
  u8_model u = {{0}, 0};
  size_t i;
  for (i = 0; i < n; i++)
    if (u8_push(&u, p[i]) != 0) return 0;
  return u.npend == 0;
}

/* ---- the stream ---------------------------------------------------------- */

typedef struct model {
  uint64_t max;
  /* Header being read. */
  uint8_t h[14];
  size_t hn;    /* header bytes read */
  size_t hneed; /* header length, known after 2 bytes */
  /* Frame whose payload is being read. */
  int in_payload;
  int fin, opcode;
  uint8_t key[4];
  uint64_t plen, pgot;
  uint8_t ctl[125]; /* a control frame's payload */
  /* The fragmented text message, if one is open. */
  int msg_open;
  uint64_t msg_announced;
  u8_model u8;
  fz_frames_prediction *out;
} model;

static int is_control(int opcode) {
  return (opcode & 0x8) != 0;
}

static int known_opcode(int opcode) {
  return opcode == 0x0 || opcode == 0x1 || opcode == 0x2 || opcode == 0x8 ||
         opcode == 0x9 || opcode == 0xa;
}

/* RFC 6455 7.4 as README's table puts it: invalid on the wire are 0-999,
 * 1004-1006, 1015-2999 and 5000 and up. */
static int close_code_ok(unsigned c) {
  if (c < 1000 || c >= 5000) return 0;
  if (c >= 1004 && c <= 1006) return 0;
  if (c >= 1015 && c <= 2999) return 0;
  return 1;
}

static int close_code_for(ws_diag d) {
  switch (d) {
    case WS_DIAG_FRAME_UTF8:
    case WS_DIAG_FRAME_CLOSE_UTF8: return 1007;
    case WS_DIAG_FRAME_BINARY: return 1003;
    case WS_DIAG_FRAME_TOO_BIG: return 1009;
    case WS_DIAG_FRAME_TRUNCATED:
    case WS_DIAG_EOF_CLEAN:
    case WS_DIAG_NONE: return 0;
    default: return 1002; /* every other frame row is a protocol error */
  }
}

static ws_diag end(model *m, ws_diag d) {
  m->out->diag = d;
  m->out->close_code = close_code_for(d);
  return d;
}

/* The client's close frame (payload in m->ctl) is complete. */
static ws_diag close_done(model *m) {
  unsigned code;
  if (m->plen == 0) {
    end(m, WS_DIAG_CLOSE_CLIENT);
    m->out->close_code = 1000;
    return WS_DIAG_CLOSE_CLIENT;
  }
  code = (unsigned)m->ctl[0] << 8 | m->ctl[1];
  if (!close_code_ok(code)) return end(m, WS_DIAG_FRAME_CLOSE_CODE);
  if (!u8_whole(m->ctl + 2, (size_t)m->plen - 2))
    return end(m, WS_DIAG_FRAME_CLOSE_UTF8);
  end(m, WS_DIAG_CLOSE_CLIENT);
  m->out->close_code = (code == 1011 || code == 1013) ? 1000 : (int)code;
  return WS_DIAG_CLOSE_CLIENT;
}

/* The current frame's last payload byte (or its header, if empty) is in. */
static ws_diag frame_done(model *m) {
  m->in_payload = 0;
  m->hn = 0;
  switch (m->opcode) {
    case 0x8: return close_done(m);
    case 0x9: m->out->pongs++; return WS_DIAG_NONE;
    case 0xa: return WS_DIAG_NONE;
    default: /* text or continuation */
      if (!m->fin) return WS_DIAG_NONE;
      if (m->u8.npend != 0) return end(m, WS_DIAG_FRAME_UTF8);
      m->msg_open = 0;
      m->out->messages++;
      return WS_DIAG_NONE;
  }
}

/* The whole header is in h[0..hn). */
static ws_diag header_done(model *m, uint64_t len) {
  int rsv = (m->h[0] >> 4) & 7, masked = m->h[1] >> 7;
  m->fin = m->h[0] >> 7;
  m->opcode = m->h[0] & 0xf;
  if (!masked) return end(m, WS_DIAG_FRAME_UNMASKED);
  if (rsv) return end(m, WS_DIAG_FRAME_RSV);
  if (!known_opcode(m->opcode)) return end(m, WS_DIAG_FRAME_OPCODE);
  if (m->opcode == 0x0 && !m->msg_open)
    return end(m, WS_DIAG_FRAME_CONTINUATION);
  if ((m->opcode == 0x1 || m->opcode == 0x2) && m->msg_open)
    return end(m, WS_DIAG_FRAME_INTERLEAVED);
  if (m->opcode == 0x2) return end(m, WS_DIAG_FRAME_BINARY);
  if (m->opcode == 0x8 && len == 1) return end(m, WS_DIAG_FRAME_CLOSE_PAYLOAD);
  if (m->opcode == 0x1) {
    m->msg_open = 1;
    m->msg_announced = 0;
    m->u8.npend = 0;
  }
  if (!is_control(m->opcode)) {
    if (len > m->max - m->msg_announced) return end(m, WS_DIAG_FRAME_TOO_BIG);
    m->msg_announced += len;
  }
  memcpy(m->key, m->h + m->hneed - 4, 4);
  m->plen = len;
  m->pgot = 0;
  m->in_payload = 1;
  return len == 0 ? frame_done(m) : WS_DIAG_NONE;
}

static uint64_t ext_len(const model *m) {
  uint64_t v = 0;
  size_t i, n = (m->h[1] & 0x7f) == 126 ? 2 : 8;
  for (i = 0; i < n; i++) v = v << 8 | m->h[2 + i];
  return v;
}

static ws_diag header_byte(model *m, uint8_t b) {
  int len7;
  m->h[m->hn++] = b;
  if (m->hn < 2) return WS_DIAG_NONE;
  len7 = m->h[1] & 0x7f;
  if (m->hn == 2) {
    if (is_control(m->h[0] & 0xf) && (!(m->h[0] >> 7) || len7 > 125))
      return end(m, WS_DIAG_FRAME_BAD_HEADER);
    m->hneed = 2 +
               (len7 == 126   ? 2
                : len7 == 127 ? 8
                              : 0) +
               ((m->h[1] >> 7) ? 4 : 0);
  }
  if (len7 == 126 && m->hn == 4 && ext_len(m) < 126)
    return end(m, WS_DIAG_FRAME_BAD_HEADER);
  if (len7 == 127 && m->hn == 10 &&
      (ext_len(m) < 65536 || (ext_len(m) >> 63) != 0))
    return end(m, WS_DIAG_FRAME_BAD_HEADER);
  if (m->hn < m->hneed) return WS_DIAG_NONE;
  return header_done(m, len7 < 126 ? (uint64_t)len7 : ext_len(m));
}

static ws_diag payload_byte(model *m, uint8_t b) {
  uint8_t c = b ^ m->key[m->pgot % 4];
  if (is_control(m->opcode))
    m->ctl[m->pgot] = c;
  else if (u8_push(&m->u8, c) != 0)
    return end(m, WS_DIAG_FRAME_UTF8);
  m->pgot++;
  return m->pgot == m->plen ? frame_done(m) : WS_DIAG_NONE;
}

void fz_frames_model(const uint8_t *in, size_t len, size_t max_message_bytes,
                     int eof, fz_frames_prediction *out) {
  model m;
  size_t i;
  memset(&m, 0, sizeof(m));
  memset(out, 0, sizeof(*out));
  m.max = max_message_bytes;
  m.out = out;
  for (i = 0; i < len; i++) {
    ws_diag d = m.in_payload ? payload_byte(&m, in[i]) : header_byte(&m, in[i]);
    if (d != WS_DIAG_NONE) {
      out->decided_at = i + 1;
      return;
    }
  }
  out->decided_at = len;
  if (!eof) return;
  if (m.hn > 0 || m.in_payload || m.msg_open)
    end(&m, WS_DIAG_FRAME_TRUNCATED);
  else
    end(&m, WS_DIAG_EOF_CLEAN);
}

static const char *diag_name(ws_diag d) {
  const ws_diag_info *i = ws_diag_get(d);
  if (d == WS_DIAG_NONE) return "(open)";
  return i ? i->code : "(not in the table)";
}

int fz_frames_oracle_check(const uint8_t *after_101, size_t len,
                           size_t max_message_bytes, int eof, ws_diag core_diag,
                           int core_close_code, char *why, size_t cap) {
  fz_frames_prediction p;
  fz_frames_model(after_101, len, max_message_bytes, eof, &p);
  if (why && cap) why[0] = '\0';
  if (p.diag == core_diag && p.close_code == core_close_code) return 0;
  if (why && cap)
    snprintf(why, cap,
             FZ_FRAMES_VERDICT
             ": core %s close %d, model %s close %d (decided at byte %zu "
             "of %zu after the 101)",
             diag_name(core_diag), core_close_code, diag_name(p.diag),
             p.close_code, p.decided_at, len);
  return 1;
}
