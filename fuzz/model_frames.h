/* An independent model of what the server must do with the client's bytes
 * after an accepted 101 upgrade, for the fuzz oracles (issues 8 and 9): RFC
 * 6455 5 framing, 5.4 fragmentation, 5.5 control frames, 7.4 close codes and
 * 8.1 UTF-8, with the check order and close policy wsgate documents
 * (core/frames.h, README's diagnosis table).  It is written from those
 * texts, not from core/frames.c, and kept deliberately simple: one byte at a
 * time, no buffering beyond a control frame's 125 bytes, so it predicts the
 * same answer whatever the chunking (the core must too).
 *
 * It models an authenticated session (token in the upgrade request) without
 * faults: there a text message is always answered with one JSON reply and
 * never ends the session, so only the frame layer decides the outcome.  It
 * does not apply to first-message auth or to runs with a fault plan. */
#ifndef WS_FUZZ_MODEL_FRAMES_H
#define WS_FUZZ_MODEL_FRAMES_H

#include <stddef.h>
#include <stdint.h>

#include "wsgate/diag.h"

typedef struct fz_frames_prediction {
  /* FRAME_* (protocol or policy), CLOSE_CLIENT, EOF_CLEAN or FRAME_TRUNCATED;
   * WS_DIAG_NONE when the input did not end the session and there was no
   * EOF (the session is still open). */
  ws_diag diag;
  /* Code of the close frame the server sends; 0 for none. */
  int close_code;
  /* Complete text messages before the end (each gets one text reply) and
   * pings answered (each gets one pong), in the order they arrived. */
  size_t messages;
  size_t pongs;
  /* Bytes of input read when the session ended: the deciding byte is
   * in[decided_at - 1].  len when the input did not end it. */
  size_t decided_at;
} fz_frames_prediction;

/* Predicts the outcome of in[0..len), the client bytes that follow the 101,
 * with max_message_bytes as configured, then end of input if eof is set.
 * in may be NULL when len is 0.  Never fails. */
void fz_frames_model(const uint8_t *in, size_t len, size_t max_message_bytes,
                     int eof, fz_frames_prediction *out);

/* The oracle: compares the core's answer for a fault-free, authenticated
 * session over after_101[0..len) (then EOF if eof is set) with the model's.
 * core_diag is the outcome's diag (WS_DIAG_NONE when the session had not
 * ended), core_close_code the close code it sent (0 for none).  Returns 0
 * when they agree; 1 on a mismatch (verdict "wrong_outcome"), with a
 * NUL-terminated explanation naming both answers in why[0..cap) (why may be
 * NULL when cap is 0). */
int fz_frames_oracle_check(const uint8_t *after_101, size_t len,
                           size_t max_message_bytes, int eof, ws_diag core_diag,
                           int core_close_code, char *why, size_t cap);

/* The verdict name fz_frames_oracle_check's mismatches go under. */
#define FZ_FRAMES_VERDICT "wrong_outcome"

#endif
