/* Incremental UTF-8 validation (RFC 3629 4).
 *
 * State packs what the next byte must be: the number of continuation bytes
 * still due, and the allowed range of the *next* one (narrowed after E0, ED,
 * F0 and F4 to exclude overlongs, surrogates and values above U+10FFFF).
 * Rejecting at the first bad byte is what RFC 6455 8.1 asks of an endpoint
 * ("fail the connection" as soon as invalid data is seen). */
#include "utf8.h"

#include <string.h>

#define ST_INVALID 0xffffffffu
#define ST(need, lo, hi) \
  ((uint32_t)(need) | (uint32_t)(lo) << 8 | (uint32_t)(hi) << 16)

static uint32_t lead(uint8_t c) {
  if (c < 0x80) return 0;
  if (c < 0xc2) return ST_INVALID; /* continuation or overlong 2-byte lead */
  if (c < 0xe0) return ST(1, 0x80, 0xbf);
  if (c == 0xe0) return ST(2, 0xa0, 0xbf);
  if (c == 0xed) return ST(2, 0x80, 0x9f);
  if (c < 0xf0) return ST(2, 0x80, 0xbf);
  if (c == 0xf0) return ST(3, 0x90, 0xbf);
  if (c < 0xf4) return ST(3, 0x80, 0xbf);
  if (c == 0xf4) return ST(3, 0x80, 0x8f);
  return ST_INVALID;
}

int ws_utf8_feed(ws_utf8 *u, const uint8_t *p, size_t n) {
  uint32_t st = u->state;
  size_t i = 0;
  if (st == ST_INVALID) return -1;
  while (i < n) {
    if (st == 0) {
      /* ASCII fast path, eight bytes at a time. */
      while (i + 8 <= n) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        if (w & 0x8080808080808080ull) break;
        i += 8;
      }
      while (i < n && p[i] < 0x80) i++;
      if (i == n) break;
      st = lead(p[i++]);
      if (st == ST_INVALID) break;
    } else {
      uint8_t c = p[i++];
      uint32_t need = st & 0xff, lo = st >> 8 & 0xff, hi = st >> 16 & 0xff;
      if (c < lo || c > hi) {
        st = ST_INVALID;
        break;
      }
      st = need == 1 ? 0 : ST(need - 1, 0x80, 0xbf);
    }
  }
  u->state = st;
  return st == ST_INVALID ? -1 : 0;
}

int ws_utf8_valid(const uint8_t *p, size_t n) {
  ws_utf8 u;
  ws_utf8_init(&u);
  return ws_utf8_feed(&u, p, n) == 0 && ws_utf8_complete(&u);
}
