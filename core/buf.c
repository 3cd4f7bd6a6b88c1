#include "buf.h"

#include <string.h>

#include "text.h"

int ws_buf_reserve(ws_buf *b, ws_mem *m, size_t extra) {
  size_t want, cap;
  uint8_t *p;
  if (extra > SIZE_MAX - b->len) return -1;
  want = b->len + extra;
  if (want <= b->cap) return 0;
  cap = b->cap ? b->cap : 64;
  while (cap < want) cap = cap > SIZE_MAX / 2 ? want : cap * 2;
  p = ws_mem_realloc(m, b->data, cap);
  if (!p) return -1;
  b->data = p;
  b->cap = cap;
  return 0;
}

int ws_buf_append(ws_buf *b, ws_mem *m, const void *p, size_t n) {
  if (n == 0) return 0;
  if (ws_buf_reserve(b, m, n) != 0) return -1;
  memcpy(b->data + b->len, p, n);
  b->len += n;
  return 0;
}

int ws_buf_append_str(ws_buf *b, ws_mem *m, const char *s) {
  return ws_buf_append(b, m, s, strlen(s));
}

int ws_buf_append_json_str(ws_buf *b, ws_mem *m, const char *s, size_t n) {
  size_t i;
  /* Worst case every byte is escaped: reserve once, write in place. */
  if (n > (SIZE_MAX - 2) / WS_JSON_ESCAPE_MAX ||
      ws_buf_reserve(b, m, n * WS_JSON_ESCAPE_MAX + 2) != 0)
    return -1;
  b->data[b->len++] = '"';
  for (i = 0; i < n; i++)
    b->len += ws_json_escape((unsigned char)s[i], (char *)b->data + b->len);
  b->data[b->len++] = '"';
  return 0;
}

void ws_buf_free(ws_buf *b, ws_mem *m) {
  ws_mem_free(m, b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}
