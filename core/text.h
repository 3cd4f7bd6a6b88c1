/* The one bounded text writer: HTTP responses, JSON lines, reasons.
 *
 * A ws_text writes into a caller's fixed buffer and never allocates.  It
 * counts every byte it was asked to write, also those that did not fit, so
 * the caller learns the size it needs the way snprintf reports it:
 *   - as a C string: ws_text_cstr NUL-terminates (cutting at cap - 1) and
 *     returns the full length; the text is whole when it is < cap;
 *   - as bytes (no NUL): the text is whole when ws_text_fits, i.e. the
 *     length is <= cap.
 *
 * JSON strings have one escaping rule (ws_json_escape, used here and by
 * ws_buf_append_json_str): '"' and '\' get a backslash, every byte below
 * 0x20 and DEL (0x7f) becomes \u00XX (lower-case hex), every other byte,
 * including UTF-8 sequences, is copied as it is.  The input is not checked
 * for valid UTF-8; the callers' strings are (or are ASCII). */
#ifndef WS_TEXT_H
#define WS_TEXT_H

#include <stddef.h>

typedef struct ws_text {
  char *buf;  /* may be NULL when cap is 0 */
  size_t cap; /* bytes of buf */
  size_t len; /* bytes asked for so far (may exceed cap) */
} ws_text;

/* Longest escape of one byte (\u00XX). */
#define WS_JSON_ESCAPE_MAX 6

/* Writes the JSON escape of byte c (1, 2 or 6 bytes) to out and returns its
 * length. */
size_t ws_json_escape(unsigned char c, char out[WS_JSON_ESCAPE_MAX]);

void ws_text_init(ws_text *t, char *buf, size_t cap);
/* Appends s[0..n) (s may be NULL when n is 0). */
void ws_text_put(ws_text *t, const char *s, size_t n);
/* Appends the NUL-terminated s (NULL appends nothing). */
void ws_text_puts(ws_text *t, const char *s);
/* Appends the decimal digits of v (a minus sign first when negative). */
void ws_text_int(ws_text *t, long long v);
/* Appends s[0..n) as a JSON string literal, quotes included. */
void ws_text_json_str(ws_text *t, const char *s, size_t n);
/* 1 when every byte asked for is in buf (as bytes, no NUL needed). */
int ws_text_fits(const ws_text *t);
/* NUL-terminates (at len, or at cap - 1 when it did not fit; nothing when
 * cap is 0) and returns len, excluding the NUL. */
size_t ws_text_cstr(ws_text *t);

#endif
