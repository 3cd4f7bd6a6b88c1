/* The frame loop: RFC 6455 5 (framing) and 7 (closing) on wslay's frame API.
 *
 * wslay's frame layer parses headers, unmasks payloads in its own 4096-byte
 * input buffer and hands payload pieces back; it knows nothing of messages.
 * It rejects by itself (WSLAY_ERR_PROTO) a fragmented control frame, a
 * control payload over 125 bytes and an extended length that is not minimal
 * or has its top bit set (RFC 6455 5.2, 5.5) — one error code for all three,
 * so they share FRAME_BAD_HEADER.  wslay judges a header only when it hands
 * the frame over, with its first payload byte, so a small header tracker here
 * reads every header first and makes all header checks (those three
 * included) at the byte that completes them.  Everything else the RFC asks
 * of a server is checked here too: masking, RSV, opcodes, fragmentation
 * order, message size, UTF-8, close payloads.  (We use the frame API rather
 * than the event API, whose context leaks on two of its allocation-failure
 * paths.)
 *
 * Sans-IO: ws_frames_recv points wslay's recv callback at the caller's bytes
 * and runs wslay until it wants more; server frames are appended to a
 * ws_buf by the send callback.  No socket, no clock. */
#include "frames.h"

#include <string.h>
#include <wslay/wslay.h>

/* RFC 6455 5.2 opcodes. */
enum {
  OP_CONT = 0x0,
  OP_TEXT = 0x1,
  OP_BINARY = 0x2,
  OP_CLOSE = 0x8,
  OP_PING = 0x9,
  OP_PONG = 0xa
};

/* RFC 6455 5.5: control payloads are at most 125 bytes. */
#define CTRL_MAX 125
/* RFC 6455 5.5.1: a close reason is what fits after the 2-byte code. */
#define CLOSE_REASON_MAX (CTRL_MAX - 2)

/* The message buffer is reserved from the frame header so that a 64 KiB
 * message costs one allocation, but never more than this ahead of the bytes
 * actually received: a header alone must not make the server commit
 * max_message_bytes of memory. */
#define PREALLOC_MAX ((uint64_t)64 * 1024)

/* sizeof(struct wslay_frame_context) in wslay 1.1.1 on LP64 (a 4096-byte
 * input buffer plus bookkeeping).  The struct is private to wslay, so its size
 * is recorded here for ws_frames_footprint rather than computed. */
#define WSLAY_FRAME_CTX_BYTES 4256u

struct ws_frames {
  ws_mem *m;
  ws_buf *out;
  ws_frames_handler h;
  uint64_t max_message;
  wslay_frame_context_ptr wslay;

  /* The caller's bytes during one ws_frames_recv call (recv callback). */
  const uint8_t *in;
  size_t in_len;
  size_t in_pos;

  /* Stream accounting for ws_frames_eof: bytes handed to wslay vs. bytes of
   * frames fully received.  Equal exactly at a frame boundary. */
  uint64_t fed;
  uint64_t framed;

  /* The header tracker: the current frame's header bytes as they arrive,
   * then how many of its payload bytes the stream still owes.  It follows
   * the caller's bytes one step ahead of wslay (see ws_frames_recv). */
  uint8_t hdr[14];   /* 2 + 8 (64-bit length) + 4 (mask key) */
  uint8_t hdr_have;  /* header bytes seen */
  uint8_t hdr_ext;   /* 0, 2 or 8 extended length bytes (known at 2) */
  uint8_t hdr_len;   /* whole header (known at 2) */
  uint8_t in_header; /* 1: reading a header; 0: skipping its payload */
  uint64_t pay_left; /* payload bytes of this frame not yet fed */

  /* The frame being received (set when its header is complete). */
  uint64_t cur_len;  /* payload length from the header */
  uint64_t cur_left; /* payload bytes still due from wslay */
  uint64_t cur_size; /* header + payload bytes on the wire */
  uint8_t cur_opcode;
  uint8_t cur_fin;
  uint8_t in_frame;

  /* The text message being received, possibly across fragments. */
  uint8_t msg_active;
  ws_utf8 utf8;
  ws_buf msg;

  /* Payload of the control frame being received (RFC 6455 5.5): CTRL_MAX
   * bytes lent by the caller (ws_frames_new_lent), or right behind this
   * struct in the same block (ws_frames_new). */
  uint8_t ctrl_len;
  uint8_t *ctrl;

  uint8_t send_broken; /* wslay's output state can no longer be trusted */
  uint8_t in_recv;     /* inside ws_frames_recv (guards on_text reentry) */
  uint16_t peer_close;
  ws_diag ended; /* sticky once set (POLICY §7) */
};

/* A frame header as the tracker decoded it (RFC 6455 5.2). */
typedef struct frame_hdr {
  uint8_t fin, rsv, opcode, masked;
  uint64_t len;
} frame_hdr;

static int frames_wslay_get(ws_frames *f);
static void frames_wslay_idle(ws_frames *f);

/* ---- wslay callbacks ----------------------------------------------------- */

/* Gives wslay as much of the caller's input as it asks for.  0 when the
 * input is used up: wslay then returns WSLAY_ERR_WANT_READ and keeps its
 * state, which is what makes the loop indifferent to chunking. */
static ssize_t frames_recv_cb(uint8_t *buf, size_t len, int flags, void *ud) {
  ws_frames *f = ud;
  size_t n = f->in_len - f->in_pos;
  (void)flags;
  if (n > len) n = len;
  if (n == 0) return 0;
  memcpy(buf, f->in + f->in_pos, n);
  f->in_pos += n;
  f->fed += n;
  return (ssize_t)n;
}

/* Appends server bytes to the output buffer.  frames_send reserves the room
 * first, so this cannot fail in practice; if it did, wslay would see a
 * short write (WANT_WRITE) and frames_send reports it. */
static ssize_t frames_send_cb(const uint8_t *data, size_t len, int flags,
                              void *ud) {
  ws_frames *f = ud;
  (void)flags;
  if (ws_buf_append(f->out, f->m, data, len) != 0) return -1;
  return (ssize_t)len;
}

/* Server frames are never masked (RFC 6455 5.1), so wslay never asks for a
 * mask; the core has no randomness of its own to give it anyway. */
static int frames_genmask_cb(uint8_t *buf, size_t len, void *ud) {
  (void)buf;
  (void)len;
  (void)ud;
  return -1;
}

/* Wire size of a server frame header (RFC 6455 5.2: minimal length
 * encoding). */
static uint64_t header_len(uint64_t payload, int masked) {
  uint64_t n = payload < 126 ? 2 : payload <= 0xffff ? 4 : 10;
  return masked ? n + 4 : n;
}

/* ---- sending ------------------------------------------------------------- */

/* One fin, unmasked frame through wslay_frame_send.  The output room is
 * reserved before wslay is called, so an allocation failure leaves wslay's
 * output state untouched (it would otherwise keep a half-sent header and
 * prepend it to the next frame). */
static ws_frames_send_rc frames_send(ws_frames *f, uint8_t opcode,
                                     const uint8_t *p, size_t n) {
  struct wslay_frame_iocb io;
  size_t hdr = (size_t)header_len(n, 0);
  size_t before = f->out->len;
  ssize_t r;
  if (f->send_broken) return WS_FRAMES_SEND_BROKEN;
  if (n > SIZE_MAX - hdr) return WS_FRAMES_SEND_NOMEM;
  if (ws_buf_reserve(f->out, f->m, hdr + n) != 0) return WS_FRAMES_SEND_NOMEM;
  if (frames_wslay_get(f) != 0) return WS_FRAMES_SEND_NOMEM;
  memset(&io, 0, sizeof(io));
  io.fin = 1;
  io.opcode = opcode;
  io.mask = 0;
  io.payload_length = n;
  io.data = p;
  io.data_length = n;
  r = wslay_frame_send(f->wslay, &io);
  if (r < 0 || (size_t)r != n || f->out->len != before + hdr + n) {
    f->out->len = before; /* never leave half a frame queued */
    f->send_broken = 1;
    return WS_FRAMES_SEND_BROKEN;
  }
  return WS_FRAMES_SENT;
}

ws_frames_send_rc ws_frames_send_text(ws_frames *f, const uint8_t *p,
                                      size_t n) {
  ws_frames_send_rc r;
  if (!f || (!p && n)) return WS_FRAMES_SEND_BAD_ARG;
  r = frames_send(f, OP_TEXT, p, n);
  /* Outside ws_frames_recv (the caller's own message), the context a send
   * created is not kept either. */
  if (!f->in_recv) frames_wslay_idle(f);
  return r;
}

size_t ws_frames_close(uint16_t code, const char *reason, uint8_t *out,
                       size_t cap) {
  size_t rlen = 0, i;
  ws_utf8 u;
  if (!out || cap < 2 + CTRL_MAX) return 0;
  /* RFC 6455 5.5.1: the reason is UTF-8 and the whole payload fits in 125
   * bytes; keep the longest valid prefix that ends on a character. */
  if (reason) {
    ws_utf8_init(&u);
    for (i = 0; i < CLOSE_REASON_MAX && reason[i] != '\0'; i++) {
      if (ws_utf8_feed(&u, (const uint8_t *)reason + i, 1) != 0) break;
      if (ws_utf8_complete(&u)) rlen = i + 1;
    }
  }
  /* Written by hand, not through wslay: the session must be able to close
   * when the loop was never created or its allocation just failed. */
  out[0] = 0x80 | OP_CLOSE;
  out[1] = (uint8_t)(2 + rlen);
  out[2] = (uint8_t)(code >> 8);
  out[3] = (uint8_t)(code & 0xff);
  if (rlen) memcpy(out + 4, reason, rlen);
  return 4 + rlen;
}

/* ---- receiving ----------------------------------------------------------- */

/* RFC 6455 7.4.1 / 7.4.2 and the IANA registry: codes a peer may put on the
 * wire.  1004 is reserved, 1005/1006/1015 must never be sent, 0-999 and
 * 5000+ are not used, 1016-2999 are reserved for future RFCs. */
static int close_code_valid(uint16_t code) {
  if (code >= 1000 && code <= 1003) return 1;
  if (code >= 1007 && code <= 1014) return 1;
  return code >= 3000 && code <= 4999;
}

/* Called once per frame, when the tracker has its whole header (before wslay
 * has seen any payload byte): every check that needs only the header
 * (RFC 6455 5.1-5.5) except those ws_frames_recv's tracker made already. */
static ws_diag frame_start(ws_frames *f, const frame_hdr *io) {
  f->in_frame = 1;
  f->cur_opcode = io->opcode;
  f->cur_fin = io->fin;
  f->cur_len = f->cur_left = io->len;
  f->cur_size = f->hdr_len + io->len;

  /* RFC 6455 5.1: a server must fail the connection on an unmasked frame. */
  if (!io->masked) return WS_DIAG_FRAME_UNMASKED;
  /* RFC 6455 5.2: no extension is negotiated, so RSV1-3 must be 0. */
  if (io->rsv) return WS_DIAG_FRAME_RSV;

  switch (io->opcode) {
    case OP_CONT:
      /* RFC 6455 5.4: a continuation needs a message to continue. */
      if (!f->msg_active) return WS_DIAG_FRAME_CONTINUATION;
      break;
    case OP_TEXT:
    case OP_BINARY:
      /* RFC 6455 5.4: fragments of one message are not interleaved with
       * another data message. */
      if (f->msg_active) return WS_DIAG_FRAME_INTERLEAVED;
      if (io->opcode == OP_BINARY) return WS_DIAG_FRAME_BINARY;
      f->msg_active = 1;
      ws_utf8_init(&f->utf8);
      break;
    case OP_CLOSE:
      /* RFC 6455 5.5.1: a close body, if any, starts with a 2-byte code. */
      if (io->len == 1) return WS_DIAG_FRAME_CLOSE_PAYLOAD;
      f->ctrl_len = 0;
      return WS_DIAG_NONE;
    case OP_PING:
    case OP_PONG: f->ctrl_len = 0; return WS_DIAG_NONE;
    default:
      /* RFC 6455 5.2: 0x3-0x7 and 0xB-0xF are reserved. */
      return WS_DIAG_FRAME_OPCODE;
  }

  /* Data frame of the text message.  The message so far is entirely in
   * f->msg (earlier fragments are complete), and never above the limit, so
   * the subtraction cannot wrap.  Judged on the header's length the moment
   * the header is complete, before any payload byte: a 2^62-byte header is
   * refused at once. */
  if (io->len > f->max_message - f->msg.len) return WS_DIAG_FRAME_TOO_BIG;
  if (io->len > 0) {
    uint64_t want = io->len;
    if (want > PREALLOC_MAX) want = PREALLOC_MAX;
    if (ws_buf_reserve(&f->msg, f->m, (size_t)want) != 0)
      return WS_DIAG_FRAME_NOMEM;
  }
  return WS_DIAG_NONE;
}

/* A piece of the current frame's (already unmasked) payload. */
static ws_diag frame_data(ws_frames *f, const uint8_t *p, size_t n) {
  if (n == 0) return WS_DIAG_NONE;
  if (f->cur_opcode == OP_TEXT || f->cur_opcode == OP_CONT) {
    /* RFC 6455 8.1: fail as soon as the bytes are known not to be UTF-8,
     * not at the end of the message; the state carries over fragments. */
    if (ws_utf8_feed(&f->utf8, p, n) != 0) return WS_DIAG_FRAME_UTF8;
    if (ws_buf_append(&f->msg, f->m, p, n) != 0) return WS_DIAG_FRAME_NOMEM;
    return WS_DIAG_NONE;
  }
  /* Control frame: wslay has already refused payloads over 125 bytes. */
  if (n > (size_t)(CTRL_MAX - f->ctrl_len)) return WS_DIAG_FRAME_INTERNAL;
  memcpy(f->ctrl + f->ctrl_len, p, n);
  f->ctrl_len = (uint8_t)(f->ctrl_len + n);
  return WS_DIAG_NONE;
}

static ws_diag frame_close(ws_frames *f) {
  uint16_t code = 1000; /* RFC 6455 7.1.5: no code received ("1005") */
  if (f->ctrl_len >= 2) {
    code = (uint16_t)(f->ctrl[0] << 8 | f->ctrl[1]);
    if (!close_code_valid(code)) return WS_DIAG_FRAME_CLOSE_CODE;
    /* RFC 6455 5.5.1: the reason is UTF-8 (not necessarily readable). */
    if (!ws_utf8_valid(f->ctrl + 2, (size_t)f->ctrl_len - 2))
      return WS_DIAG_FRAME_CLOSE_UTF8;
  }
  /* An empty close is answered with 1000: 1005 must not go on the wire
   * (RFC 6455 7.4.1), and the client asked for nothing else. */
  f->peer_close = code;
  return WS_DIAG_CLOSE_CLIENT;
}

/* The current frame is complete. */
static ws_diag frame_end(ws_frames *f) {
  ws_diag d = WS_DIAG_NONE;
  ws_frames_send_rc r;
  f->in_frame = 0;
  f->framed += f->cur_size;
  switch (f->cur_opcode) {
    case OP_TEXT:
    case OP_CONT:
      if (!f->cur_fin) return WS_DIAG_NONE;
      /* A message may not end inside a character (RFC 6455 8.1). */
      if (!ws_utf8_complete(&f->utf8)) return WS_DIAG_FRAME_UTF8;
      f->msg_active = 0;
      d = f->h.on_text(f->h.ud, f->msg.data ? f->msg.data : (const uint8_t *)"",
                       f->msg.len);
      /* Nothing is held between messages: the idle session stays small. */
      ws_buf_free(&f->msg, f->m);
      return d;
    case OP_PING:
      /* RFC 6455 5.5.3: a pong carries the ping's payload. */
      r = frames_send(f, OP_PONG, f->ctrl, f->ctrl_len);
      if (r == WS_FRAMES_SEND_NOMEM) return WS_DIAG_FRAME_NOMEM;
      if (r != WS_FRAMES_SENT) return WS_DIAG_FRAME_INTERNAL;
      return WS_DIAG_NONE;
    case OP_PONG:
      /* RFC 6455 5.5.3: an unsolicited pong needs no answer. */
      return WS_DIAG_NONE;
    case OP_CLOSE: return frame_close(f);
    default:
      return WS_DIAG_FRAME_INTERNAL; /* frame_start refused every other one */
  }
}

/* A piece of the current frame from wslay.  The tracker started the frame
 * from the same header bytes; wslay must agree with it. */
static ws_diag frame_piece(ws_frames *f, const struct wslay_frame_iocb *io) {
  ws_diag d;
  if (!f->in_frame || io->opcode != f->cur_opcode || io->fin != f->cur_fin ||
      io->payload_length != f->cur_len || io->data_length > f->cur_left)
    return WS_DIAG_FRAME_INTERNAL;
  f->cur_left -= io->data_length;
  d = frame_data(f, io->data, io->data_length);
  if (d != WS_DIAG_NONE) return d;
  return f->cur_left == 0 ? frame_end(f) : WS_DIAG_NONE;
}

/* Runs wslay over p[0..n) until it wants more bytes; each frame piece it
 * hands over goes to frame_piece. */
static ws_diag wslay_run(ws_frames *f, const uint8_t *p, size_t n) {
  ws_diag d = WS_DIAG_NONE;
  f->in = p;
  f->in_len = n;
  f->in_pos = 0;
  for (;;) {
    struct wslay_frame_iocb io;
    size_t pos = f->in_pos;
    ssize_t r;
    memset(&io, 0, sizeof(io));
    r = wslay_frame_recv(f->wslay, &io);
    if (r == WSLAY_ERR_WANT_READ) {
      /* wslay asks for bytes only when its buffer cannot make progress, so
       * this normally means the input is used up.  If it took some bytes and
       * still wants more, ask again; if it took none while some are left,
       * it is stuck and only an internal error describes that. */
      if (f->in_pos == f->in_len) break;
      if (f->in_pos == pos) {
        d = WS_DIAG_FRAME_INTERNAL;
        break;
      }
      continue;
    }
    if (r == WSLAY_ERR_PROTO) {
      /* The tracker refuses every header wslay refuses, first; kept so a
       * disagreement is still the row wslay means. */
      d = WS_DIAG_FRAME_BAD_HEADER;
      break;
    }
    if (r < 0) {
      d = WS_DIAG_FRAME_INTERNAL;
      break;
    }
    d = frame_piece(f, &io);
    if (d != WS_DIAG_NONE) break;
  }
  f->in = NULL;
  f->in_len = f->in_pos = 0;
  return d;
}

/* ---- the header tracker --------------------------------------------------
 *
 * wslay hands a frame over only with its header and, for a non-empty
 * payload, at least one payload byte, so judging headers on wslay's pieces
 * would leave a header alone unjudged until the next byte.  The tracker reads
 * the same bytes first: it collects each header, and decides at the byte that
 * completes each part of it - the first two bytes (a fragmented control frame
 * or a control length over 125: RFC 6455 5.5), the extended length (not
 * minimal, or its top bit set: 5.2), the whole header (frame_start) - before
 * wslay is given those bytes.  Then it counts the payload through to the
 * next header.  These are the same FRAME_BAD_HEADER cases wslay refuses, at
 * the same bytes, so the documented order is unchanged. */

static void hdr_reset(ws_frames *f) {
  f->in_header = 1;
  f->hdr_have = 0;
  f->hdr_ext = 0;
  f->hdr_len = 2;
}

/* The decision at hdr_have bytes of header, if that is a decision point. */
static ws_diag hdr_decide(ws_frames *f) {
  const uint8_t *h = f->hdr;
  frame_hdr fh;
  uint8_t len7 = h[1] & 0x7f;
  int i;
  fh.fin = h[0] >> 7;
  fh.rsv = (h[0] >> 4) & 7;
  fh.opcode = h[0] & 0x0f;
  fh.masked = h[1] >> 7;
  if (f->hdr_have == 2) {
    /* RFC 6455 5.5: opcodes 0x8-0xF are control frames: never fragmented,
     * payload at most 125 (so never an extended length). */
    if ((fh.opcode & 0x8) && (!fh.fin || len7 > CTRL_MAX))
      return WS_DIAG_FRAME_BAD_HEADER;
    f->hdr_ext = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
    f->hdr_len = (uint8_t)(2 + f->hdr_ext + (fh.masked ? 4 : 0));
  }
  fh.len = len7;
  if (f->hdr_ext && f->hdr_have >= 2 + f->hdr_ext) {
    fh.len = 0;
    for (i = 0; i < f->hdr_ext; i++) fh.len = fh.len << 8 | h[2 + i];
    /* RFC 6455 5.2: the minimal number of bytes must be used, and the
     * 64-bit form's most significant bit must be 0. */
    if (f->hdr_have == 2 + f->hdr_ext &&
        (f->hdr_ext == 2 ? fh.len < 126
                         : fh.len <= 0xffff || fh.len >> 63 != 0))
      return WS_DIAG_FRAME_BAD_HEADER;
  }
  if (f->hdr_have < f->hdr_len) return WS_DIAG_NONE;
  f->in_header = 0;
  f->pay_left = fh.len;
  return frame_start(f, &fh);
}

/* Takes header bytes from p[0..n) up to the end of the header, deciding at
 * each point on the way; returns how many were taken (all of them belong to
 * the header).  *d is the first decision that ends the session. */
static size_t hdr_take(ws_frames *f, const uint8_t *p, size_t n, ws_diag *d) {
  size_t taken = 0;
  *d = WS_DIAG_NONE;
  while (taken < n && f->in_header) {
    /* The next decision point: byte 2, the end of the extended length, the
     * end of the header. */
    size_t next = f->hdr_have < 2                ? 2
                  : f->hdr_have < 2 + f->hdr_ext ? 2u + f->hdr_ext
                                                 : f->hdr_len;
    size_t k = next - f->hdr_have;
    if (k > n - taken) k = n - taken;
    memcpy(f->hdr + f->hdr_have, p + taken, k);
    f->hdr_have = (uint8_t)(f->hdr_have + k);
    taken += k;
    if (f->hdr_have == next) {
      *d = hdr_decide(f);
      if (*d != WS_DIAG_NONE) break;
    }
  }
  return taken;
}

ws_diag ws_frames_recv(ws_frames *f, const uint8_t *in, size_t len) {
  ws_diag d = WS_DIAG_NONE;
  size_t pos = 0, n;
  if (!f) return WS_DIAG_FRAME_INTERNAL;
  if (f->ended != WS_DIAG_NONE) return f->ended;
  /* on_text runs inside this loop, between two wslay_frame_recv calls; a
   * nested call would replace the input window under wslay's feet.  Refused
   * without touching the loop's state. */
  if (f->in_recv) return WS_DIAG_FRAME_INTERNAL;
  if (!in && len) {
    d = WS_DIAG_FRAME_INTERNAL;
    goto out;
  }
  f->in_recv = 1;
  /* The input goes to wslay in pieces that end where a header does, so the
   * tracker can judge a header (and frame_start record the frame) before
   * wslay sees it, with every earlier frame already through wslay. */
  while (pos < len) {
    if (f->in_header) {
      n = hdr_take(f, in + pos, len - pos, &d);
      if (d != WS_DIAG_NONE) break;
      if (!f->in_header && f->pay_left == 0) hdr_reset(f);
    } else {
      n = len - pos;
      if (n > f->pay_left) n = (size_t)f->pay_left;
      f->pay_left -= n;
      if (f->pay_left == 0) hdr_reset(f);
    }
    if (frames_wslay_get(f) != 0) {
      d = WS_DIAG_FRAME_NOMEM;
      break;
    }
    d = wslay_run(f, in + pos, n);
    pos += n;
    if (d != WS_DIAG_NONE) break;
  }
  f->in_recv = 0;
out:
  f->ended = d;
  frames_wslay_idle(f);
  return d;
}

uint16_t ws_frames_peer_close(const ws_frames *f) {
  return f ? f->peer_close : 0;
}

ws_diag ws_frames_eof(const ws_frames *f) {
  if (!f) return WS_DIAG_FRAME_INTERNAL;
  if (f->ended != WS_DIAG_NONE) return f->ended;
  /* Every byte wslay took belongs to a complete frame, and no fragmented
   * message waits for its final frame (RFC 6455 5.4). */
  if (f->fed == f->framed && !f->msg_active) return WS_DIAG_EOF_CLEAN;
  return WS_DIAG_FRAME_TRUNCATED;
}

/* ---- lifetime ------------------------------------------------------------ */

/* wslay_frame_context_init takes no allocator: it calls libc malloc (and
 * wslay_frame_context_free libc free) directly, so wslay's context is the one
 * block of the session that does not go through ws_mem.  The boundary call is
 * made a fault site instead: first the session's allocator is asked for a
 * block of the context's size (and given it straight back), so an allocator
 * with a budget, or a fault plan, decides whether this session may have its
 * frame context; a refusal is the same outcome as libc failing inside wslay.
 * Interposing malloc instead is not possible for a shared library without
 * replacing malloc for the whole process (-Wl,--wrap does not reach into
 * libwslay.so), and wslay's frame API allocates nothing else (only at init).
 *
 * The context is created when wslay is first needed (bytes to parse or a
 * frame to send) and released again at every frame boundary, so an idle
 * session holds none of its 4 KiB.  That is safe because of what wslay 1.1.1's
 * frame layer keeps between two frames (lib/wslay_frame.c): after the last
 * payload byte of a frame it is back in its initial input state (RECV_HEADER1,
 * two bytes wanted), after a whole frame is sent in its initial output state
 * (PREP_HEADER), and its input buffer holds only bytes it was given - and
 * ws_frames_recv gives it the bytes of one frame at most, never past a
 * frame's end.  So when every byte fed is part of a complete frame
 * (fed == framed), nothing is buffered and a fresh context is
 * indistinguishable from the old one.  Every (re)creation goes through the
 * probe, so fault injection sees each one. */
static int frames_wslay_get(ws_frames *f) {
  struct wslay_frame_callbacks cb;
  if (f->wslay) return 0;
  if (ws_mem_probe(f->m, WSLAY_FRAME_CTX_BYTES, "wslay") != 0) return -1;
  memset(&cb, 0, sizeof(cb));
  cb.send_callback = frames_send_cb;
  cb.recv_callback = frames_recv_cb;
  cb.genmask_callback = frames_genmask_cb;
  if (wslay_frame_context_init(&f->wslay, &cb, f) != 0) {
    f->wslay = NULL;
    return -1;
  }
  return 0;
}

/* Releases wslay's context when it holds nothing of the stream: at a frame
 * boundary (every byte fed belongs to a complete frame), or once the loop has
 * ended (nothing more is parsed).  A broken output state is remembered in
 * send_broken, not in the context, so it survives the release. */
static void frames_wslay_idle(ws_frames *f) {
  if (!f->wslay) return;
  if (f->ended == WS_DIAG_NONE && f->fed != f->framed) return;
  wslay_frame_context_free(f->wslay);
  f->wslay = NULL;
}

_Static_assert(WS_FRAMES_CTRL_ROOM == CTRL_MAX,
               "the lent room holds a payload");

static int frames_make(ws_frames **out_f, ws_mem *m, size_t max_message_bytes,
                       ws_buf *out, const ws_frames_handler *h,
                       uint8_t *ctrl_room) {
  ws_frames *f = NULL;
  int rc = -1;
  if (out_f) *out_f = NULL;
  if (!out_f || !m || !out || !h || !h->on_text) goto out;
  f = ws_mem_calloc(m, 1, sizeof(*f) + (ctrl_room ? 0 : CTRL_MAX));
  if (!f) goto out;
  f->ctrl = ctrl_room ? ctrl_room : (uint8_t *)(f + 1);
  f->m = m;
  f->out = out;
  f->h = *h;
  f->max_message = max_message_bytes;
  hdr_reset(f);
  *out_f = f;
  rc = 0;
out:
  return rc;
}

int ws_frames_new(ws_frames **out_f, ws_mem *m, size_t max_message_bytes,
                  ws_buf *out, const ws_frames_handler *h) {
  return frames_make(out_f, m, max_message_bytes, out, h, NULL);
}

int ws_frames_new_lent(ws_frames **out_f, ws_mem *m, size_t max_message_bytes,
                       ws_buf *out, const ws_frames_handler *h,
                       uint8_t *ctrl_room) {
  if (!ctrl_room) {
    if (out_f) *out_f = NULL;
    return -1;
  }
  return frames_make(out_f, m, max_message_bytes, out, h, ctrl_room);
}

void ws_frames_free(ws_frames *f) {
  if (!f) return;
  ws_buf_free(&f->msg, f->m);
  if (f->wslay) wslay_frame_context_free(f->wslay);
  ws_mem_free(f->m, f);
}

size_t ws_frames_footprint(void) {
  return sizeof(struct ws_frames) + CTRL_MAX;
}

size_t ws_frames_libc_bytes(void) {
  return WSLAY_FRAME_CTX_BYTES;
}

size_t ws_frames_libc_held(const ws_frames *f) {
  return f && f->wslay ? WSLAY_FRAME_CTX_BYTES : 0;
}
