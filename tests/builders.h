/* Builders and runners shared by tests/ and fuzz/: no cmocka, no exit, and
 * the encoders never allocate (they write into the caller's buffer and
 * return the length they need, like snprintf, writing nothing when it does
 * not fit).
 *
 *   tb_request   an upgrade request head
 *   tb_frame     one client (masked) or server (unmasked) frame
 *   tb_close_payload  a close frame's payload (code + reason)
 *   tb_failalloc the one failing allocator (the N-th call, or from N on)
 *   tb_session_feed   feeds bytes to a session in pieces, draining its output
 */
#ifndef WS_TB_BUILDERS_H
#define WS_TB_BUILDERS_H

#include <stddef.h>
#include <stdint.h>

#include "wsgate/wsgate.h"

/* The RFC 6455 5.7 sample mask key, which the tests' client frames use. */
extern const uint8_t tb_mask_key[4];

/* "GET /chat HTTP/1.1" with Host, Upgrade, Connection, the RFC 6455 sample
 * key and version 13, then `extra` header lines (each ending in CRLF; may
 * be NULL) and the blank line.  Returns its length. */
size_t tb_request(char *out, size_t cap, const char *extra);

/* One frame: first byte b0 (FIN, RSV, opcode), the shortest length
 * encoding, mask (4 bytes) applied to the payload when mask is not NULL
 * (a client frame), none when it is (a server frame).  Returns its length;
 * out is written only when the frame fits in cap. */
size_t tb_frame(uint8_t *out, size_t cap, uint8_t b0, const uint8_t *mask,
                const void *payload, size_t n);
#define TB_FIN 0x80
#define TB_TEXT 0x1
#define TB_BINARY 0x2
#define TB_CLOSE 0x8
#define TB_PING 0x9
#define TB_PONG 0xa

/* A close payload: nothing when code is 0, else the code and the reason
 * (may be NULL).  out must hold 125 bytes; the reason is cut to fit.
 * Returns its length. */
size_t tb_close_payload(uint8_t out[125], int code, const char *reason);

/* An allocator over libc that fails the fail_at-th allocation request
 * (malloc, calloc or realloc; 1-based; 0: never), or with fail_from set
 * that one and every later one.  Counts requests, failures and the largest
 * size asked for. */
typedef struct tb_failalloc {
  unsigned long calls;
  unsigned long fail_at;
  unsigned long failed;
  int fail_from;
  size_t largest;
} tb_failalloc;
ws_allocator tb_failalloc_allocator(tb_failalloc *f);

/* Receives the server's bytes as a session hands them out. */
typedef void (*tb_sink)(void *ud, const uint8_t *p, size_t n);

/* Chunk sizes for tb_session_feed: 0 whole, TB_RANDOM_CHUNKS pieces of
 * 1..97 bytes from a splitmix64 stream seeded with chunk_seed, else pieces
 * of that size. */
#define TB_RANDOM_CHUNKS ((size_t)-1)

/* Feeds in[0..len) to s in pieces, handing every server byte to sink (may
 * be NULL) after each piece, then ends the input when eof is set and drains
 * again.  Stops feeding when the session reports it ended.  Returns 0, or
 * the ws_session_recv result that was neither the piece's length nor
 * WS_ERR_ENDED (a bug the caller reports). */
long tb_session_feed(ws_session *s, const uint8_t *in, size_t len, size_t chunk,
                     uint64_t chunk_seed, int eof, tb_sink sink, void *ud);

#endif
