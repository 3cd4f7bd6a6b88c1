/* Incremental UTF-8 validation (RFC 3629), fed in arbitrary pieces.
 * Rejects overlongs, surrogates and code points above U+10FFFF as soon as the
 * offending byte arrives (RFC 6455 8.1: fail fast). */
#ifndef WS_UTF8_H
#define WS_UTF8_H

#include <stddef.h>
#include <stdint.h>

typedef struct ws_utf8 {
  uint32_t state; /* 0: at a character boundary */
} ws_utf8;

static inline void ws_utf8_init(ws_utf8 *u) {
  u->state = 0;
}
/* Returns 0 while the bytes so far are a valid prefix, -1 once invalid
 * (sticky). */
int ws_utf8_feed(ws_utf8 *u, const uint8_t *p, size_t n);
/* 1 when the input so far ends at a character boundary. */
static inline int ws_utf8_complete(const ws_utf8 *u) {
  return u->state == 0;
}
/* Whole-buffer check: 1 valid, 0 not. */
int ws_utf8_valid(const uint8_t *p, size_t n);

#endif
