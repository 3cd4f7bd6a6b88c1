/* Strict base64 codecs (RFC 4648).  Decoders accept only the canonical
 * encoding: one byte string has exactly one accepted text, so a token or a
 * key cannot be smuggled in two spellings (RFC 7515 2 requires unpadded
 * base64url "with all trailing '=' characters omitted" and no whitespace). */
#include "b64.h"

#include <limits.h>

static const char b64_std[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Value of c in the alphabet, or -1.  url selects base64url. */
static int b64_val(unsigned char c, int url) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (url) {
    if (c == '-') return 62;
    if (c == '_') return 63;
  } else {
    if (c == '+') return 62;
    if (c == '/') return 63;
  }
  return -1;
}

static size_t encode(const uint8_t *in, size_t n, char *out, size_t cap,
                     const char *alpha, int pad) {
  size_t need = n / 3 * 4 + (n % 3 ? (pad ? 4 : n % 3 + 1) : 0);
  size_t i, o = 0;
  if (cap < need + 1) return 0;
  for (i = 0; i + 2 < n; i += 3) {
    uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
    out[o++] = alpha[v >> 18 & 63];
    out[o++] = alpha[v >> 12 & 63];
    out[o++] = alpha[v >> 6 & 63];
    out[o++] = alpha[v & 63];
  }
  if (n - i == 1) {
    uint32_t v = (uint32_t)in[i] << 16;
    out[o++] = alpha[v >> 18 & 63];
    out[o++] = alpha[v >> 12 & 63];
    if (pad) {
      out[o++] = '=';
      out[o++] = '=';
    }
  } else if (n - i == 2) {
    uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
    out[o++] = alpha[v >> 18 & 63];
    out[o++] = alpha[v >> 12 & 63];
    out[o++] = alpha[v >> 6 & 63];
    if (pad) out[o++] = '=';
  }
  out[o] = '\0';
  return o;
}

size_t ws_b64_encode(const uint8_t *in, size_t n, char *out, size_t cap) {
  return encode(in, n, out, cap, b64_std, 1);
}

size_t ws_b64url_encode(const uint8_t *in, size_t n, char *out, size_t cap) {
  return encode(in, n, out, cap, b64_url, 0);
}

/* Decodes n symbols (no padding) of the given alphabet. */
static long decode(const char *in, size_t n, uint8_t *out, size_t cap,
                   int url) {
  size_t i, o = 0, full = n / 4 * 4, rem = n % 4;
  size_t need = n / 4 * 3 + (rem ? rem - 1 : 0);
  if (rem == 1 || need > cap || need > (size_t)LONG_MAX) return -1;
  for (i = 0; i < full; i += 4) {
    int a = b64_val((unsigned char)in[i], url);
    int b = b64_val((unsigned char)in[i + 1], url);
    int c = b64_val((unsigned char)in[i + 2], url);
    int d = b64_val((unsigned char)in[i + 3], url);
    if ((a | b | c | d) < 0) return -1;
    out[o++] = (uint8_t)(a << 2 | b >> 4);
    out[o++] = (uint8_t)(b << 4 | c >> 2);
    out[o++] = (uint8_t)(c << 6 | d);
  }
  if (rem) {
    int a = b64_val((unsigned char)in[i], url);
    int b = b64_val((unsigned char)in[i + 1], url);
    int c = rem == 3 ? b64_val((unsigned char)in[i + 2], url) : 0;
    if ((a | b | c) < 0) return -1;
    out[o++] = (uint8_t)(a << 2 | b >> 4);
    if (rem == 2) {
      /* The low 4 bits of b are padding and must be zero (RFC 4648 3.5). */
      if (b & 15) return -1;
    } else {
      out[o++] = (uint8_t)(b << 4 | c >> 2);
      if (c & 3) return -1;
    }
  }
  return (long)o;
}

long ws_b64url_decode(const char *in, size_t n, uint8_t *out, size_t cap) {
  return decode(in, n, out, cap, 1);
}

long ws_b64_decode(const char *in, size_t n, uint8_t *out, size_t cap) {
  size_t pad = 0;
  if (n % 4 != 0) return -1;
  if (n >= 1 && in[n - 1] == '=') pad++;
  if (n >= 2 && in[n - 2] == '=') pad++;
  /* With padding stripped, what remains must be canonical unpadded base64
   * whose length implies exactly that much padding. */
  if (pad && (n - pad) % 4 != 4 - pad) return -1;
  return decode(in, n - pad, out, cap, 0);
}
