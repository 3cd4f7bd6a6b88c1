#include "text.h"

#include <string.h>

size_t ws_json_escape(unsigned char c, char out[WS_JSON_ESCAPE_MAX]) {
  static const char hex[] = "0123456789abcdef";
  if (c == '"' || c == '\\') {
    out[0] = '\\';
    out[1] = (char)c;
    return 2;
  }
  if (c < 0x20 || c == 0x7f) {
    out[0] = '\\';
    out[1] = 'u';
    out[2] = '0';
    out[3] = '0';
    out[4] = hex[c >> 4];
    out[5] = hex[c & 15];
    return 6;
  }
  out[0] = (char)c;
  return 1;
}

void ws_text_init(ws_text *t, char *buf, size_t cap) {
  t->buf = buf;
  t->cap = buf ? cap : 0;
  t->len = 0;
}

void ws_text_put(ws_text *t, const char *s, size_t n) {
  size_t room = t->len < t->cap ? t->cap - t->len : 0;
  if (n == 0) return;
  if (room) memcpy(t->buf + t->len, s, n < room ? n : room);
  /* Saturate rather than wrap: a length that cannot be represented can
   * never fit anyway. */
  t->len = n > (size_t)-1 - t->len ? (size_t)-1 : t->len + n;
}

void ws_text_puts(ws_text *t, const char *s) {
  if (s) ws_text_put(t, s, strlen(s));
}

void ws_text_int(ws_text *t, long long v) {
  char d[24];
  size_t i = sizeof(d);
  /* Through unsigned so that LLONG_MIN has a magnitude. */
  unsigned long long u =
      v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
  do {
    d[--i] = (char)('0' + u % 10);
    u /= 10;
  } while (u);
  if (v < 0) d[--i] = '-';
  ws_text_put(t, d + i, sizeof(d) - i);
}

void ws_text_json_str(ws_text *t, const char *s, size_t n) {
  char e[WS_JSON_ESCAPE_MAX];
  size_t i;
  ws_text_put(t, "\"", 1);
  for (i = 0; i < n; i++)
    ws_text_put(t, e, ws_json_escape((unsigned char)s[i], e));
  ws_text_put(t, "\"", 1);
}

int ws_text_fits(const ws_text *t) {
  return t->len <= t->cap;
}

size_t ws_text_cstr(ws_text *t) {
  if (t->cap) t->buf[t->len < t->cap ? t->len : t->cap - 1] = '\0';
  return t->len;
}
