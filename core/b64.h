/* Strict base64 (RFC 4648 4) and base64url (RFC 4648 5). */
#ifndef WS_B64_H
#define WS_B64_H

#include <stddef.h>
#include <stdint.h>

/* Standard alphabet with '=' padding. Writes 4*ceil(n/3) chars + NUL;
 * returns the length, or 0 when cap is too small. */
size_t ws_b64_encode(const uint8_t *in, size_t n, char *out, size_t cap);

/* Decodes canonical padded standard base64 (length multiple of 4, padding
 * only at the end, unused bits zero).  Returns the decoded length, or -1 on
 * any deviation or when cap is too small. */
long ws_b64_decode(const char *in, size_t n, uint8_t *out, size_t cap);

/* Decodes canonical unpadded base64url (RFC 7515 2: no '=', no '+' '/', no
 * whitespace, length % 4 != 1, unused trailing bits zero).  Returns the
 * decoded length, or -1. out needs ws_b64url_decoded_max(n) bytes. */
long ws_b64url_decode(const char *in, size_t n, uint8_t *out, size_t cap);
static inline size_t ws_b64url_decoded_max(size_t n) {
  return n / 4 * 3 + 2;
}

/* Unpadded base64url; returns length or 0 when cap is too small. */
size_t ws_b64url_encode(const uint8_t *in, size_t n, char *out, size_t cap);

#endif
