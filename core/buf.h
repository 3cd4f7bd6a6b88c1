/* Growable byte buffer on a ws_mem. */
#ifndef WS_BUF_H
#define WS_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "mem.h"

typedef struct ws_buf {
  uint8_t *data;
  size_t len;
  size_t cap;
} ws_buf;

/* All return 0 or -1 (allocation failed; the buffer is unchanged). */
int ws_buf_reserve(ws_buf *b, ws_mem *m, size_t extra);
int ws_buf_append(ws_buf *b, ws_mem *m, const void *p, size_t n);
int ws_buf_append_str(ws_buf *b, ws_mem *m, const char *s);
/* Appends s as a JSON string literal (quotes and escapes included), with
 * the one escaping rule of text.h (ws_json_escape). */
int ws_buf_append_json_str(ws_buf *b, ws_mem *m, const char *s, size_t n);
void ws_buf_free(ws_buf *b, ws_mem *m);

#endif
