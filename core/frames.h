/* The frame loop on wslay's frame API (RFC 6455 5). frames.c is the only
 * core file that includes wslay.
 *
 * Server side: client frames must be masked, server frames are not.  Text
 * messages are reassembled across fragments, checked as UTF-8 as bytes
 * arrive, and bounded by max_message_bytes (checked from the frame header,
 * as soon as it is complete, before any payload byte).  Control frames may
 * interleave with fragments; ping gets a pong with the same payload, pong is
 * ignored, close is validated (RFC 6455 5.5.1, 7.4) and reported.
 *
 * Checks made on a frame's header, in this order, each at the byte that
 * completes what it needs (never later than the header's last byte, with or
 * without payload bytes after it, however the input is split):
 *   FRAME_BAD_HEADER   (fragmented control frame or control payload over
 *                       125: at the header's second byte; extended length
 *                       not minimal or MSB set: at its last length byte)
 *   then, when the whole header (mask key included) is in:
 *   FRAME_UNMASKED, FRAME_RSV, FRAME_OPCODE,
 *   FRAME_CONTINUATION / FRAME_INTERLEAVED, FRAME_BINARY, FRAME_CLOSE_PAYLOAD,
 *   FRAME_TOO_BIG (bytes of the message so far + this frame's length).
 * Opcodes 0x8-0xF count as control frames (RFC 6455 5.5), reserved ones too.
 * Payload checks follow: FRAME_UTF8 at the first byte that cannot continue
 * valid UTF-8 (the state carries across fragments; a message ending inside a
 * character fails at its final frame's end); a close frame's code
 * (FRAME_CLOSE_CODE) and then its reason (FRAME_CLOSE_UTF8) when the close
 * frame is complete.
 * Every diagnosis depends only on the bytes fed so far, never on how they
 * were split between calls.
 *
 * Memory: between frames the loop holds only its own struct.  wslay's frame
 * context (about 4.2 KiB, allocated by wslay with libc malloc) exists only
 * while a frame is partly received or being sent: it is created when wslay is
 * needed and released at the next frame boundary (or when the loop ends).
 * While a text message is being received (possibly across fragments, and
 * across frame boundaries) the message buffer is held on m, released after
 * each message.  Server frames are appended to the caller's ws_buf on m. */
#ifndef WS_FRAMES_H
#define WS_FRAMES_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "mem.h"
#include "utf8.h"
#include "wsgate/diag.h"

typedef struct ws_frames_handler {
  /* Called with each complete text message (valid UTF-8, within the limit).
   * msg is never NULL (len may be 0) and is valid only during the call.  It
   * may call ws_frames_send_text on the same loop; a nested ws_frames_recv
   * returns FRAME_INTERNAL and changes nothing.
   * Returns WS_DIAG_NONE to go on, or a diagnosis that ends the session. */
  ws_diag (*on_text)(void *ud, const uint8_t *msg, size_t len);
  void *ud;
} ws_frames_handler;

typedef struct ws_frames ws_frames; /* body in frames.c */

/* Creates the loop. Server bytes (pongs, text) are appended to *out on m;
 * m and out must outlive the loop; *h is copied (h->on_text required).
 * Returns 0, or -1 when the loop's struct cannot be allocated or an argument
 * is NULL; *out_f is NULL on failure.  wslay's context is not created here
 * but each time wslay is needed again after a frame boundary (see Memory
 * above); each creation first passes the "wslay" fault site on m
 * (ws_mem_probe), then wslay allocates with libc malloc, outside m.  A
 * failure there is FRAME_NOMEM from ws_frames_recv, or WS_FRAMES_SEND_NOMEM
 * from ws_frames_send_text, and does not count in ws_mem_failures(m) when
 * libc itself failed. */
int ws_frames_new(ws_frames **out_f, ws_mem *m, size_t max_message_bytes,
                  ws_buf *out, const ws_frames_handler *h);

/* The bytes a control frame's payload needs (RFC 6455 5.5). */
#define WS_FRAMES_CTRL_ROOM 125

/* As ws_frames_new, but the payload of the control frame being received is
 * kept in ctrl_room (WS_FRAMES_CTRL_ROOM bytes, the caller's, outliving the
 * loop) instead of a room of the loop's own.  The loop keeps a control
 * frame's payload there from its first byte to the frame's end (across calls
 * when it arrives in pieces) and touches it only inside ws_frames_recv; a
 * caller that feeds the loop no more bytes (it returned a diagnosis, or the
 * caller ends the session for a reason of its own) may use the room for
 * something else: the session writes its close frame there, once, when it
 * ends.  -1 also when ctrl_room is NULL. */
int ws_frames_new_lent(ws_frames **out_f, ws_mem *m, size_t max_message_bytes,
                       ws_buf *out, const ws_frames_handler *h,
                       uint8_t *ctrl_room);
/* Frees the loop, its wslay context and any partial message.  NULL is a
 * no-op. */
void ws_frames_free(ws_frames *f);

/* Feeds client bytes (any chunking; in may be NULL when len is 0).  Returns
 * WS_DIAG_NONE when all were taken and the session goes on; otherwise the
 * diagnosis that ends it: FRAME_* (protocol, size, NOMEM, INTERNAL),
 * CLOSE_CLIENT (a valid close arrived; see ws_frames_peer_close), or whatever
 * on_text returned.  Bytes after the ending frame are ignored, and once the
 * loop has ended every later call returns the same diagnosis without reading
 * in.  FRAME_INTERNAL also for f NULL or in NULL with len > 0. */
ws_diag ws_frames_recv(ws_frames *f, const uint8_t *in, size_t len);

/* After CLOSE_CLIENT: the code the client sent (1000 when its close had no
 * payload) — the code the server echoes.  0 before a valid close. */
uint16_t ws_frames_peer_close(const ws_frames *f);

/* At end of input: EOF_CLEAN at a frame boundary with no fragmented message
 * pending, FRAME_TRUNCATED otherwise (inside a frame header or payload, or
 * between the fragments of a message).  When the loop has already ended,
 * returns that diagnosis. */
ws_diag ws_frames_eof(const ws_frames *f);

/* What ws_frames_send_text did. */
typedef enum ws_frames_send_rc {
  WS_FRAMES_SENT = 0,         /* the frame is queued on out */
  WS_FRAMES_SEND_NOMEM = -1,  /* an allocation failed: out unchanged, the
                                 loop stays usable (diagnose FRAME_NOMEM) */
  WS_FRAMES_SEND_BROKEN = -2, /* wslay failed unexpectedly: out unchanged,
                                 every later send on this loop says so too
                                 (diagnose FRAME_INTERNAL) */
  WS_FRAMES_SEND_BAD_ARG = -3 /* f NULL, or p NULL with n > 0: nothing done */
} ws_frames_send_rc;

/* Queues one unfragmented, unmasked text frame (RFC 6455 5.1: server frames
 * are never masked) at the end of *out.  p may be NULL when n is 0. */
ws_frames_send_rc ws_frames_send_text(ws_frames *f, const uint8_t *p, size_t n);

/* Encodes a server close frame (code + reason, reason cut to its longest
 * valid UTF-8 prefix of at most 123 bytes) into out without allocating;
 * returns its length (4 + reason bytes), or 0 when out is NULL or
 * cap < 2 + 125.  reason may be NULL (no reason).  Usable with no loop. */
size_t ws_frames_close(uint16_t code, const char *reason, uint8_t *out,
                       size_t cap);

/* Bytes the loop holds for an idle session (for the memory benchmark): its
 * own block as ws_frames_new makes it (the struct and its control-payload
 * room; ws_frames_new_lent's is WS_FRAMES_CTRL_ROOM smaller); no wslay
 * context and no message buffer is held between messages. */
size_t ws_frames_footprint(void);
/* The size of wslay's frame context (4256 bytes for wslay 1.1.1 on LP64),
 * held with libc, outside the session's allocator (so the counting allocator
 * cannot see it), only while a frame is in progress. */
size_t ws_frames_libc_bytes(void);
/* What f holds with libc right now: ws_frames_libc_bytes() while wslay's
 * context exists, 0 between frames (and for NULL). */
size_t ws_frames_libc_held(const ws_frames *f);

#endif
