/* The token forge (see forge.h): keys, deterministic signing with a memo
 * cache, the spec decoder and token builder, and the independent strict
 * checker for raw tokens.  Signs with OpenSSL directly, outside any
 * session; the JSON it writes comes from the option tables below. */
#include "forge.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h" /* FZ_NOW */
#include "forge_int.h"
#include "fuzz_keys.h" /* generated: fz_key_<name>, fz_pem_<name> */
#include "model_jwt.h"

/* ---- option tables (forge_int.h) ---------------------------------------- */

const fz_alg_opt fz_alg_opts[FZ_ALG_CHOICES] = {
    {FZ_A_OWN, WS_ALG_NONE_, NULL, 0, "own"},
    {FZ_A_NAMED, WS_ALG_HS256, "\"HS256\"", 0, "HS256"},
    {FZ_A_NAMED, WS_ALG_HS384, "\"HS384\"", 0, "HS384"},
    {FZ_A_NAMED, WS_ALG_HS512, "\"HS512\"", 0, "HS512"},
    {FZ_A_NAMED, WS_ALG_RS256, "\"RS256\"", 0, "RS256"},
    {FZ_A_NAMED, WS_ALG_PS256, "\"PS256\"", 0, "PS256"},
    {FZ_A_NAMED, WS_ALG_ES256, "\"ES256\"", 0, "ES256"},
    {FZ_A_NAMED, WS_ALG_EDDSA, "\"EdDSA\"", 0, "EdDSA"},
    {FZ_A_NONE, WS_ALG_NONE_, "\"none\"", 0, "none"},
    {FZ_A_UNKNOWN, WS_ALG_NONE_, "\"None\"", 0, "None"},
    {FZ_A_UNKNOWN, WS_ALG_NONE_, "\"hs256\"", 0, "hs256(case)"},
    {FZ_A_UNKNOWN, WS_ALG_NONE_, "\"RS384\"", 0, "RS384"},
    {FZ_A_UNKNOWN, WS_ALG_NONE_, "\"ES512\"", 0, "ES512"},
    {FZ_A_UNKNOWN, WS_ALG_NONE_, "\"\"", 0, "empty"},
    {FZ_A_MISSING, WS_ALG_NONE_, NULL, 0, "missing"},
    {FZ_A_UNKNOWN, WS_ALG_NONE_, "256", 0, "number"},
    {FZ_A_UNKNOWN, WS_ALG_NONE_, "null", 0, "null"},
    {FZ_A_UNKNOWN, WS_ALG_NONE_, "[\"HS256\"]", 1, "array"},
    /* JSON escapes decode before the name is compared: this is EdDSA. */
    {FZ_A_NAMED, WS_ALG_EDDSA, "\"Ed\\u0044SA\"", 0, "EdDSA(escaped)"},
    {FZ_A_UNKNOWN, WS_ALG_NONE_, "\"HS256 \"", 0, "HS256+space"},
};

const fz_kid_opt fz_kid_opts[FZ_KID_CHOICES] = {
    {FZ_K_OWN, 0, NULL, 0, "own"},
    {FZ_K_ABSENT, 0, NULL, 0, "absent"},
    {FZ_K_SET, FZ_KEY_HS256, "\"hs256\"", 0, "hs256"},
    {FZ_K_SET, FZ_KEY_HS384, "\"hs384\"", 0, "hs384"},
    {FZ_K_SET, FZ_KEY_HS512, "\"hs512\"", 0, "hs512"},
    {FZ_K_SET, FZ_KEY_RS256, "\"rs256\"", 0, "rs256"},
    {FZ_K_SET, FZ_KEY_PS256, "\"ps256\"", 0, "ps256"},
    {FZ_K_SET, FZ_KEY_ES256, "\"es256\"", 0, "es256"},
    {FZ_K_SET, FZ_KEY_ED25519, "\"ed25519\"", 0, "ed25519"},
    {FZ_K_STRING, 0, "\"nokey\"", 0, "unknown"},
    {FZ_K_NONSTRING, 0, "7", 0, "number"},
    {FZ_K_NONSTRING, 0, "null", 0, "null"},
    {FZ_K_STRING, 0, "\"\"", 0, "empty"},
    {FZ_K_STRING, 0, "\"HS256\"", 0, "HS256(case)"},
    {FZ_K_NONSTRING, 0, "[\"hs256\"]", 1, "array"},
};

const fz_hdr_opt fz_hdr_opts[FZ_HDR_CHOICES] = {
    {FZ_H_PLAIN, "", 0, "-"},
    {FZ_H_PLAIN, ",\"typ\":\"JWT\"", 0, "typ"},
    {FZ_H_CRIT, ",\"crit\":[\"exp\"]", 1, "crit"},
    {FZ_H_B64_FALSE, ",\"b64\":false,\"crit\":[\"b64\"]", 1, "b64false+crit"},
    {FZ_H_PLAIN, ",\"b64\":true", 0, "b64true"},
    {FZ_H_DUP, ",\"typ\":\"JWT\",\"typ\":\"JWT\"", 0, "dup_typ"},
    {FZ_H_DUP_ALG, "", 0, "dup_alg"},
    {FZ_H_CRIT, ",\"crit\":[]", 1, "crit_empty"},
    {FZ_H_PLAIN, ",\"jwk\":{\"kty\":\"oct\",\"k\":\"AAAA\"}", 1, "jwk"},
    {FZ_H_B64_FALSE, ",\"b64\":\"false\"", 0, "b64string"},
    {FZ_H_PLAIN, ",\"zip\":\"DEF\"", 0, "zip"},
    {FZ_H_PLAIN, ",\"x5u\":\"https://evil.example/k\"", 0, "x5u"},
};

#define I64_MAX_BELOW "9223372036854774784" /* 2^63 - 1024, a double */

const fz_date_opt fz_exp_opts[FZ_EXP_CHOICES] = {
    {FZ_V_INT, FZ_B_NOW, 3600, NULL, 0, "now+3600"},
    {FZ_V_MISSING, FZ_B_ABS, 0, NULL, 0, "missing"},
    {FZ_V_INT, FZ_B_NOW_MINUS_L, -1, NULL, 0, "now-L-1"},
    {FZ_V_INT, FZ_B_NOW_MINUS_L, 0, NULL, 0, "now-L"},
    {FZ_V_INT, FZ_B_NOW_MINUS_L, 1, NULL, 0, "now-L+1"},
    {FZ_V_INT, FZ_B_NOW, 0, NULL, 0, "now"},
    {FZ_V_INT, FZ_B_NOW_PLUS_L, -1, NULL, 0, "now+L-1"},
    {FZ_V_INT, FZ_B_NOW_PLUS_L, 0, NULL, 0, "now+L"},
    {FZ_V_INT, FZ_B_NOW_PLUS_L, 1, NULL, 0, "now+L+1"},
    {FZ_V_FRAC, FZ_B_NOW_MINUS_L, 0, NULL, 0, "now-L+0.5"},
    {FZ_V_FRAC, FZ_B_NOW_MINUS_L, -1, NULL, 0, "now-L-0.5"},
    {FZ_V_BAD, FZ_B_ABS, 0, "\"2000000000\"", 0, "string"},
    {FZ_V_BAD, FZ_B_ABS, 0, "1e300", 0, "1e300"},
    {FZ_V_BAD, FZ_B_ABS, 0, "1e400", 0, "1e400(inf)"},
    {FZ_V_INT, FZ_B_ABS, -1, NULL, 0, "-1"},
    {FZ_V_BAD, FZ_B_ABS, 0, "null", 0, "null"},
    {FZ_V_TEXT, FZ_B_ABS, 0, I64_MAX_BELOW, INT64_C(9223372036854774784),
     "2^63-1024"},
    {FZ_V_BAD, FZ_B_ABS, 0, "9223372036854775807", 0, "2^63-1(=2^63)"},
    {FZ_V_TEXT, FZ_B_ABS, 0, "-9223372036854775808", INT64_MIN, "-2^63"},
    {FZ_V_TEXT, FZ_B_ABS, 0, "1.7e9", 1700000000, "1.7e9"},
    {FZ_V_BAD, FZ_B_ABS, 0, "true", 0, "true"},
    {FZ_V_TEXT, FZ_B_ABS, 0, "-0.5", 0, "-0.5"},
};

const fz_date_opt fz_nbf_opts[FZ_NBF_CHOICES] = {
    {FZ_V_MISSING, FZ_B_ABS, 0, NULL, 0, "missing"},
    {FZ_V_INT, FZ_B_NOW_PLUS_L, -1, NULL, 0, "now+L-1"},
    {FZ_V_INT, FZ_B_NOW_PLUS_L, 0, NULL, 0, "now+L"},
    {FZ_V_INT, FZ_B_NOW_PLUS_L, 1, NULL, 0, "now+L+1"},
    {FZ_V_INT, FZ_B_NOW, 0, NULL, 0, "now"},
    {FZ_V_FRAC, FZ_B_NOW_PLUS_L, 0, NULL, 0, "now+L+0.5"},
    {FZ_V_FRAC, FZ_B_NOW_PLUS_L, -1, NULL, 0, "now+L-0.5"},
    {FZ_V_BAD, FZ_B_ABS, 0, "\"now\"", 0, "string"},
    {FZ_V_BAD, FZ_B_ABS, 0, "1e300", 0, "1e300"},
    {FZ_V_INT, FZ_B_ABS, -5, NULL, 0, "-5"},
    {FZ_V_BAD, FZ_B_ABS, 0, "null", 0, "null"},
    {FZ_V_INT, FZ_B_NOW_MINUS_L, -1, NULL, 0, "now-L-1"},
    {FZ_V_BAD, FZ_B_ABS, 0, "9223372036854775807", 0, "2^63-1(=2^63)"},
    {FZ_V_TEXT, FZ_B_ABS, 0, I64_MAX_BELOW, INT64_C(9223372036854774784),
     "2^63-1024"},
};

const fz_date_opt fz_iat_opts[FZ_IAT_CHOICES] = {
    {FZ_V_MISSING, FZ_B_ABS, 0, NULL, 0, "missing"},
    {FZ_V_INT, FZ_B_NOW, 0, NULL, 0, "now"},
    {FZ_V_BAD, FZ_B_ABS, 0, "\"yesterday\"", 0, "string"},
    {FZ_V_FRAC, FZ_B_NOW, 0, NULL, 0, "now+0.5"},
    {FZ_V_BAD, FZ_B_ABS, 0, "1e300", 0, "1e300"},
    {FZ_V_INT, FZ_B_ABS, -1, NULL, 0, "-1"},
    {FZ_V_INT, FZ_B_NOW, 1000000, NULL, 0, "future"},
    {FZ_V_BAD, FZ_B_ABS, 0, "false", 0, "false"},
    {FZ_V_BAD, FZ_B_ABS, 0, "1e400", 0, "1e400(inf)"},
};

const fz_iss_opt fz_iss_opts[FZ_ISS_CHOICES] = {
    {"\"https://issuer.example\"", "https://issuer.example", 0, "right"},
    {NULL, NULL, 0, "missing"},
    {"\"https://issuer.example/\"", "https://issuer.example/", 0, "slash"},
    {"\"https://Issuer.example\"", "https://Issuer.example", 0, "case"},
    {"1", NULL, 0, "number"},
    {"null", NULL, 0, "null"},
    {"\"https:\\/\\/issuer.example\"", "https://issuer.example", 0, "escaped"},
    {"\"\"", "", 0, "empty"},
    {"\"https://issuer.example\\u0000\"", NULL, 1, "nul"},
};

const fz_aud_opt fz_aud_opts[FZ_AUD_CHOICES] = {
    {FZ_AUD_STRING, "\"wsgate\"", {"wsgate"}, 1, 0, "string"},
    {FZ_AUD_MISSING, NULL, {NULL}, 0, 0, "missing"},
    {FZ_AUD_ARRAY, "[\"x\",\"wsgate\"]", {"x", "wsgate"}, 2, 1, "[x,it]"},
    {FZ_AUD_ARRAY, "[\"x\"]", {"x"}, 1, 1, "[x]"},
    {FZ_AUD_ARRAY, "[\"wsgate\",1]", {"wsgate", NULL}, 2, 1, "[it,1]"},
    {FZ_AUD_ARRAY, "[]", {NULL}, 0, 1, "[]"},
    {FZ_AUD_STRING, "\"WSGATE\"", {"WSGATE"}, 1, 0, "case"},
    {FZ_AUD_OTHER, "5", {NULL}, 0, 0, "number"},
    {FZ_AUD_OTHER, "null", {NULL}, 0, 0, "null"},
    {FZ_AUD_ARRAY, "[\"wsgate\"]", {"wsgate"}, 1, 1, "[it]"},
    {FZ_AUD_ARRAY, "[1,\"wsgate\"]", {NULL, "wsgate"}, 2, 1, "[1,it]"},
    {FZ_AUD_STRING, "\"wsgate \"", {"wsgate "}, 1, 0, "space"},
    {FZ_AUD_OTHER, "{\"wsgate\":1}", {NULL}, 0, 1, "object"},
};

/* "é" (U+00E9, 2 bytes in UTF-8) 127 times and "a": 255 bytes. */
const fz_sub_opt fz_sub_opts[FZ_SUB_CHOICES] = {
    {FZ_SUB_FIXED, "\"alice\"", "alice", 5, NULL, 0, NULL, 0, "alice"},
    {FZ_SUB_FIXED, "\"\"", "", 0, NULL, 0, NULL, 0, "empty"},
    {FZ_SUB_MISSING, NULL, NULL, 0, NULL, 0, NULL, 0, "missing"},
    {FZ_SUB_NONSTRING, "42", NULL, 0, NULL, 0, NULL, 0, "number"},
    {FZ_SUB_FIXED, "\"a\\u0001b\"", "a\001b", 3, NULL, 0, NULL, 0, "C0"},
    {FZ_SUB_FIXED, "\"a\\u007fb\"", "a\177b", 3, NULL, 0, NULL, 0, "DEL"},
    {FZ_SUB_FIXED, "\"a\\u0085b\"", "a\302\205b", 4, NULL, 0, NULL, 0,
     "C1(U+0085)"},
    {FZ_SUB_REPEAT, NULL, NULL, 0, "u", 255, NULL, 0, "255B"},
    {FZ_SUB_REPEAT, NULL, NULL, 0, "u", 256, NULL, 0, "256B"},
    {FZ_SUB_TAIL, NULL, NULL, 0, NULL, 0, NULL, 0, "tail"},
    {FZ_SUB_NONSTRING, "null", NULL, 0, NULL, 0, NULL, 0, "null"},
    {FZ_SUB_REPEAT, NULL, NULL, 0, "\303\251", 127, "a", 0, "255B-utf8"},
    {FZ_SUB_FIXED, "\"a\\u00a0b\"", "a\302\240b", 4, NULL, 0, NULL, 0,
     "U+00A0"},
    {FZ_SUB_FIXED, "\"a\\u009fb\"", "a\302\237b", 4, NULL, 0, NULL, 0,
     "C1(U+009F)"},
    {FZ_SUB_FIXED, "\"\\ud83d\\ude00\"", "\360\237\230\200", 4, NULL, 0, NULL,
     0, "surrogate-pair"},
    {FZ_SUB_JSON_BAD, "\"\\ud800\"", NULL, 0, NULL, 0, NULL, 0,
     "lone-surrogate"},
    {FZ_SUB_NONSTRING, "[\"alice\"]", NULL, 0, NULL, 0, NULL, 1, "array"},
};

const fz_clx_opt fz_clx_opts[FZ_CLX_CHOICES] = {
    {FZ_CLX_PLAIN, "", 0, "-"},
    {FZ_CLX_BAD, ",\"jti\":\"a\",\"jti\":\"a\"", 0, "dup_jti"},
    {FZ_CLX_PLAIN, ",\"jti\":\"x1\"", 0, "jti"},
    {FZ_CLX_DEEP, ",\"x\":{\"y\":{\"z\":1}}", 3, "depth3"},
    {FZ_CLX_DEEP, ",\"x\":{\"y\":{\"z\":[1]}}", 4, "depth4"},
    {FZ_CLX_WRAP_ARRAY, "", 0, "in_array"},
    {FZ_CLX_TRAILING, "", 0, "trailing"},
    {FZ_CLX_SPACE, "", 0, "space"},
    /* RFC 8259 7: control characters must be escaped in strings. */
    {FZ_CLX_BAD, ",\"jti\":\"a\001b\"", 0, "raw_control"},
};

int64_t fz_date_value(const fz_date_opt *o, int64_t now, int64_t leeway) {
  int64_t base = 0;
  switch (o->base) {
    case FZ_B_ABS: base = 0; break;
    case FZ_B_NOW: base = now; break;
    case FZ_B_NOW_MINUS_L: base = now - leeway; break;
    case FZ_B_NOW_PLUS_L: base = now + leeway; break;
  }
  return base + o->off;
}

/* JWS alg names (RFC 7518 3.1, RFC 8037 3.1), the forge's own table. */
static const char *const alg_names[WS_ALG_COUNT_] = {
    "?", "HS256", "HS384", "HS512", "RS256", "PS256", "ES256", "EdDSA"};

static const char *alg_text(ws_alg a) {
  return (int)a > 0 && (int)a < (int)WS_ALG_COUNT_ ? alg_names[a] : "?";
}

static const char *const tamper_names[FZ_TAMPER_COUNT] = {
    "none",         "flip_bit",   "truncate",  "extend",    "b64_pad",
    "b64_std",      "b64_trail",  "b64_space", "swap",      "r_zero",
    "s_zero",       "r_order",    "s_order",   "r_order-1", "s_prime",
    "payload_flip", "ec_infinity"};

const char *fz_tamper_name(unsigned op) {
  return op < FZ_TAMPER_COUNT ? tamper_names[op] : "?";
}

/* ---- small helpers ------------------------------------------------------- */

_Noreturn static void die(const char *what) {
  fprintf(stderr, "wsgate fuzz: forge setup: %s\n", what);
  abort();
}

/* A growable byte string; ok drops to 0 on out-of-memory. */
typedef struct sbuf {
  char *p;
  size_t n, cap;
  int ok;
} sbuf;

static void sb_put(sbuf *b, const void *s, size_t n) {
  if (!b->ok || (!n && b->p)) return;
  if (b->n + n + 1 > b->cap) {
    size_t cap = (b->n + n + 1) * 2;
    char *q = realloc(b->p, cap);
    if (!q) {
      b->ok = 0;
      return;
    }
    b->p = q;
    b->cap = cap;
  }
  if (n) memcpy(b->p + b->n, s, n);
  b->n += n;
  b->p[b->n] = '\0';
}

static void sb_puts(sbuf *b, const char *s) {
  sb_put(b, s, strlen(s));
}

static void sb_free(sbuf *b) {
  free(b->p);
  b->p = NULL;
  b->n = b->cap = 0;
}

/* ---- base64url, written independently of core/b64.c --------------------- */

static const char b64u_alpha[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t fz_b64url_encode(const uint8_t *in, size_t n, char *out, size_t cap) {
  size_t i, o = 0;
  uint32_t acc = 0;
  int bits = 0;
  if (cap < (n * 4 + 2) / 3 + 1) return 0;
  for (i = 0; i < n; i++) {
    acc = acc << 8 | in[i];
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out[o++] = b64u_alpha[(acc >> bits) & 63];
    }
  }
  if (bits > 0) out[o++] = b64u_alpha[(acc << (6 - bits)) & 63];
  out[o] = '\0';
  return o;
}

static int b64u_val(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  return c == '-' ? 62 : c == '_' ? 63 : -1;
}

/* Canonical: alphabet only, no padding, n % 4 != 1, zero unused bits. */
long fz_b64url_decode(const char *in, size_t n, uint8_t *out, size_t cap) {
  size_t i, o = 0;
  uint32_t acc = 0;
  int bits = 0;
  if (n % 4 == 1 || n / 4 * 3 + 2 > cap + 2) return -1;
  for (i = 0; i < n; i++) {
    int v = b64u_val((unsigned char)in[i]);
    if (v < 0) return -1;
    acc = acc << 6 | (uint32_t)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (o >= cap) return -1;
      out[o++] = (uint8_t)(acc >> bits);
    }
  }
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) return -1;
  return (long)o;
}

/* ---- keys ---------------------------------------------------------------- */

typedef enum { KIND_HMAC, KIND_RSA, KIND_EC, KIND_ED } key_kind;

typedef struct fkey {
  const char *name;
  int in_set;
  ws_alg alg;
  key_kind kind;
  const char *material; /* base64url secret or PEM */
  uint8_t secret[64];
  size_t secret_len;
  EVP_PKEY *pk;
  uint8_t *pub_der; /* SubjectPublicKeyInfo (algorithm confusion) */
  size_t pub_der_len;
  uint8_t rsa_n[512];
  size_t rsa_n_len;
  uint8_t ec_d[32];
} fkey;

static fkey keys[FZ_KEY_COUNT] = {
    {.name = "hs256",
     .in_set = 1,
     .alg = WS_ALG_HS256,
     .kind = KIND_HMAC,
     .material = fz_key_hs256},
    {.name = "hs384",
     .in_set = 1,
     .alg = WS_ALG_HS384,
     .kind = KIND_HMAC,
     .material = fz_key_hs384},
    {.name = "hs512",
     .in_set = 1,
     .alg = WS_ALG_HS512,
     .kind = KIND_HMAC,
     .material = fz_key_hs512},
    {.name = "rs256",
     .in_set = 1,
     .alg = WS_ALG_RS256,
     .kind = KIND_RSA,
     .material = fz_pem_rs256},
    {.name = "ps256",
     .in_set = 1,
     .alg = WS_ALG_PS256,
     .kind = KIND_RSA,
     .material = fz_pem_ps256},
    {.name = "es256",
     .in_set = 1,
     .alg = WS_ALG_ES256,
     .kind = KIND_EC,
     .material = fz_pem_es256},
    {.name = "ed25519",
     .in_set = 1,
     .alg = WS_ALG_EDDSA,
     .kind = KIND_ED,
     .material = fz_pem_ed25519},
    {.name = "foreign-hs256",
     .in_set = 0,
     .alg = WS_ALG_HS256,
     .kind = KIND_HMAC,
     .material = fz_key_foreign_hs256},
    {.name = "foreign-es256",
     .in_set = 0,
     .alg = WS_ALG_ES256,
     .kind = KIND_EC,
     .material = fz_pem_foreign_es256},
};

static int ready;
static EC_GROUP *p256;

const char *fz_key_name(int key) {
  return key >= 0 && key < FZ_KEY_COUNT ? keys[key].name : "?";
}
ws_alg fz_key_alg(int key) {
  return key >= 0 && key < FZ_KEY_COUNT ? keys[key].alg : WS_ALG_NONE_;
}
int fz_key_in_set(int key) {
  return key >= 0 && key < FZ_KEY_COUNT && keys[key].in_set;
}
const uint8_t *fz_key_rsa_n(int key, size_t *len) {
  if (key < 0 || key >= FZ_KEY_COUNT || keys[key].kind != KIND_RSA) {
    *len = 0;
    return NULL;
  }
  *len = keys[key].rsa_n_len;
  return keys[key].rsa_n;
}

static void load_key(fkey *k) {
  BIGNUM *bn = NULL;
  unsigned char *der = NULL;
  int n;
  if (k->kind == KIND_HMAC) {
    size_t len = strlen(k->material);
    while (len &&
           (k->material[len - 1] == '\n' || k->material[len - 1] == '\r'))
      len--;
    long m = fz_b64url_decode(k->material, len, k->secret, sizeof(k->secret));
    if (m < 32) die(k->name);
    k->secret_len = (size_t)m;
    return;
  }
  {
    BIO *bio = BIO_new_mem_buf(k->material, -1);
    k->pk = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
  }
  if (!k->pk) die(k->name);
  if ((n = i2d_PUBKEY(k->pk, &der)) <= 0) die(k->name);
  if (!(k->pub_der = malloc((size_t)n))) die("out of memory");
  memcpy(k->pub_der, der, (size_t)n);
  k->pub_der_len = (size_t)n;
  OPENSSL_free(der);
  if (k->kind == KIND_RSA) {
    if (EVP_PKEY_get_bn_param(k->pk, OSSL_PKEY_PARAM_RSA_N, &bn) != 1)
      die(k->name);
    k->rsa_n_len = (size_t)BN_num_bytes(bn);
    if (k->rsa_n_len > sizeof(k->rsa_n) ||
        BN_bn2binpad(bn, k->rsa_n, (int)k->rsa_n_len) < 0)
      die(k->name);
  } else if (k->kind == KIND_EC) {
    if (EVP_PKEY_get_bn_param(k->pk, OSSL_PKEY_PARAM_PRIV_KEY, &bn) != 1 ||
        BN_bn2binpad(bn, k->ec_d, 32) != 32)
      die(k->name);
  }
  BN_clear_free(bn);
}

void fz_forge_init(void) {
  int i;
  if (ready) return;
  if (ws_global_init() != WS_OK) die("ws_global_init");
  if (!(p256 = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1))) die("P-256");
  for (i = 0; i < FZ_KEY_COUNT; i++) load_key(&keys[i]);
  ready = 1;
}

/* ---- deterministic signing ----------------------------------------------- */

static int sha256(const void *a, size_t an, const void *b, size_t bn,
                  uint8_t out[32]) {
  EVP_MD_CTX *c = EVP_MD_CTX_new();
  unsigned int len = 0;
  int ok = c && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1 &&
           EVP_DigestUpdate(c, a, an) == 1 &&
           (!bn || EVP_DigestUpdate(c, b, bn) == 1) &&
           EVP_DigestFinal_ex(c, out, &len) == 1 && len == 32;
  EVP_MD_CTX_free(c);
  return ok ? 0 : -1;
}

static size_t hmac(const char *md, const uint8_t *key, size_t klen,
                   const uint8_t *a, size_t an, uint8_t *out, size_t cap) {
  size_t n = 0;
  if (!EVP_Q_mac(NULL, "HMAC", NULL, md, NULL, key, klen, a, an, out, cap, &n))
    return 0;
  return n;
}

/* HMAC-SHA-256 over up to four pieces (RFC 6979's K/V updates). */
static int hmac4(const uint8_t k[32], const uint8_t *a, size_t an,
                 const uint8_t *b, size_t bn, const uint8_t *c, size_t cn,
                 const uint8_t *d, size_t dn, uint8_t out[32]) {
  uint8_t buf[32 + 1 + 32 + 32];
  size_t at = 0;
  if (an + bn + cn + dn > sizeof(buf)) return -1;
  memcpy(buf + at, a, an), at += an;
  if (bn) memcpy(buf + at, b, bn), at += bn;
  if (cn) memcpy(buf + at, c, cn), at += cn;
  if (dn) memcpy(buf + at, d, dn), at += dn;
  return hmac("SHA256", k, 32, buf, at, out, 32) == 32 ? 0 : -1;
}

int fz_ecdsa_p256_rfc6979(const uint8_t d[32], const uint8_t *msg, size_t mlen,
                          uint8_t rs[64]) {
  uint8_t h1[32], h1q[32], V[32], K[32];
  static const uint8_t zero = 0, one = 1;
  BN_CTX *ctx = BN_CTX_new();
  BIGNUM *n, *e, *x, *k, *r, *s, *t;
  EC_POINT *R = NULL;
  int rc = -1, tries;
  if (!ctx) return -1;
  if (!p256 && !(p256 = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1)))
    goto out;
  BN_CTX_start(ctx);
  n = BN_CTX_get(ctx);
  e = BN_CTX_get(ctx);
  x = BN_CTX_get(ctx);
  k = BN_CTX_get(ctx);
  r = BN_CTX_get(ctx);
  s = BN_CTX_get(ctx);
  t = BN_CTX_get(ctx);
  if (!t || !EC_GROUP_get_order(p256, n, ctx) || !(R = EC_POINT_new(p256)))
    goto end;
  /* RFC 6979 3.2 with qlen = hlen = 256: bits2int is the identity. */
  if (sha256(msg, mlen, NULL, 0, h1) != 0 || !BN_bin2bn(h1, 32, e) ||
      !BN_bin2bn(d, 32, x))
    goto end;
  /* bits2octets(h1) = int2octets(h1 mod q). */
  if (!BN_nnmod(t, e, n, ctx) || BN_bn2binpad(t, h1q, 32) != 32) goto end;
  memset(V, 0x01, 32);
  memset(K, 0x00, 32);
  if (hmac4(K, V, 32, &zero, 1, d, 32, h1q, 32, K) ||
      hmac4(K, V, 32, NULL, 0, NULL, 0, NULL, 0, V) ||
      hmac4(K, V, 32, &one, 1, d, 32, h1q, 32, K) ||
      hmac4(K, V, 32, NULL, 0, NULL, 0, NULL, 0, V))
    goto end;
  for (tries = 0; tries < 64; tries++) {
    if (hmac4(K, V, 32, NULL, 0, NULL, 0, NULL, 0, V) || !BN_bin2bn(V, 32, k))
      goto end;
    if (!BN_is_zero(k) && BN_cmp(k, n) < 0) {
      /* r = x(kG) mod n; s = k^-1 (e + r x) mod n (FIPS 186-4 6.4.1). */
      if (!EC_POINT_mul(p256, R, k, NULL, NULL, ctx) ||
          !EC_POINT_get_affine_coordinates(p256, R, r, NULL, ctx) ||
          !BN_nnmod(r, r, n, ctx) || !BN_mod_mul(t, r, x, n, ctx) ||
          !BN_mod_add(t, t, e, n, ctx) || !BN_mod_inverse(s, k, n, ctx) ||
          !BN_mod_mul(s, s, t, n, ctx))
        goto end;
      if (!BN_is_zero(r) && !BN_is_zero(s)) {
        if (BN_bn2binpad(r, rs, 32) != 32 || BN_bn2binpad(s, rs + 32, 32) != 32)
          goto end;
        rc = 0;
        goto end;
      }
    }
    if (hmac4(K, V, 32, &zero, 1, NULL, 0, NULL, 0, K) ||
        hmac4(K, V, 32, NULL, 0, NULL, 0, NULL, 0, V))
      goto end;
  }
end:
  BN_CTX_end(ctx);
out:
  EC_POINT_free(R);
  BN_CTX_free(ctx);
  OPENSSL_cleanse(K, sizeof(K));
  return rc;
}

/* MGF1 with SHA-256 (RFC 8017 B.2.1): out[0..n) ^= mask. */
static int mgf1_xor(const uint8_t *seed, size_t slen, uint8_t *out, size_t n) {
  uint8_t cnt[4], h[32];
  uint32_t c;
  size_t at = 0, i;
  for (c = 0; at < n; c++) {
    cnt[0] = (uint8_t)(c >> 24);
    cnt[1] = (uint8_t)(c >> 16);
    cnt[2] = (uint8_t)(c >> 8);
    cnt[3] = (uint8_t)c;
    if (sha256(seed, slen, cnt, 4, h) != 0) return -1;
    for (i = 0; i < 32 && at < n; i++) out[at++] ^= h[i];
  }
  return 0;
}

/* RSASSA-PSS (RFC 8017 8.1.1) with a salt derived from the key and the
 * message, so that the signature is a function of them. */
static size_t sign_pss(const fkey *k, int key_index, const uint8_t *in,
                       size_t ilen, uint8_t *sig, size_t cap) {
  static const char label[] = "wsgate forge PS256 salt";
  uint8_t mhash[32], salt[32], mprime[8 + 32 + 32], H[32], em[512];
  uint8_t seed[sizeof(label) + 1];
  size_t modbits, embits, emlen, klen = k->rsa_n_len, dblen, out = cap;
  EVP_PKEY_CTX *ctx;
  int ok;
  memcpy(seed, label, sizeof(label));
  seed[sizeof(label)] = (uint8_t)key_index;
  if (sha256(in, ilen, NULL, 0, mhash) != 0 ||
      sha256(seed, sizeof(seed), in, ilen, salt) != 0)
    return 0;
  modbits = (size_t)EVP_PKEY_get_bits(k->pk);
  embits = modbits - 1;
  emlen = (embits + 7) / 8;
  if (emlen < 32 + 32 + 2 || klen > sizeof(em) || emlen > klen || cap < klen)
    return 0;
  memset(mprime, 0, 8);
  memcpy(mprime + 8, mhash, 32);
  memcpy(mprime + 40, salt, 32);
  if (sha256(mprime, sizeof(mprime), NULL, 0, H) != 0) return 0;
  /* EM (left-padded to the modulus length) = maskedDB || H || 0xbc. */
  memset(em, 0, klen);
  {
    uint8_t *e = em + (klen - emlen);
    dblen = emlen - 32 - 1;
    e[dblen - 32 - 1] = 0x01;
    memcpy(e + dblen - 32, salt, 32);
    if (mgf1_xor(H, 32, e, dblen) != 0) return 0;
    e[0] &= (uint8_t)(0xFF >> (8 * emlen - embits));
    memcpy(e + dblen, H, 32);
    e[emlen - 1] = 0xbc;
  }
  ctx = EVP_PKEY_CTX_new(k->pk, NULL);
  ok = ctx && EVP_PKEY_sign_init(ctx) == 1 &&
       EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_NO_PADDING) == 1 &&
       EVP_PKEY_sign(ctx, sig, &out, em, klen) == 1 && out == klen;
  EVP_PKEY_CTX_free(ctx);
  return ok ? out : 0;
}

static size_t sign_evp(const fkey *k, const EVP_MD *md, const uint8_t *in,
                       size_t ilen, uint8_t *sig, size_t cap) {
  EVP_MD_CTX *c = EVP_MD_CTX_new();
  size_t out = cap;
  int ok = c && EVP_DigestSignInit(c, NULL, md, NULL, k->pk) == 1 &&
           EVP_DigestSign(c, sig, &out, in, ilen) == 1;
  EVP_MD_CTX_free(c);
  return ok ? out : 0;
}

static const char *hmac_md(ws_alg alg) {
  switch (alg) {
    case WS_ALG_HS256: return "SHA256";
    case WS_ALG_HS384: return "SHA384";
    case WS_ALG_HS512: return "SHA512";
    default: return NULL;
  }
}

/* Whether the key can sign alg natively (not by algorithm confusion). */
static int alg_suits(const fkey *k, ws_alg alg) {
  switch (alg) {
    case WS_ALG_HS256:
    case WS_ALG_HS384:
    case WS_ALG_HS512: return k->kind == KIND_HMAC;
    case WS_ALG_RS256:
    case WS_ALG_PS256: return k->kind == KIND_RSA;
    case WS_ALG_ES256: return k->kind == KIND_EC;
    case WS_ALG_EDDSA: return k->kind == KIND_ED;
    default: return 0;
  }
}

static size_t sign_uncached(int key, ws_alg alg, const uint8_t *in, size_t ilen,
                            uint8_t *sig, size_t cap) {
  const fkey *k = &keys[key];
  const char *md = hmac_md(alg);
  if (md) {
    /* An asymmetric key "signs" HMAC with its public key bytes as the
     * secret: what an algorithm-confusion attacker would send. */
    return k->kind == KIND_HMAC
               ? hmac(md, k->secret, k->secret_len, in, ilen, sig, cap)
               : hmac(md, k->pub_der, k->pub_der_len, in, ilen, sig, cap);
  }
  if (!alg_suits(k, alg)) return 0;
  switch (alg) {
    case WS_ALG_RS256: return sign_evp(k, EVP_sha256(), in, ilen, sig, cap);
    case WS_ALG_PS256: return sign_pss(k, key, in, ilen, sig, cap);
    case WS_ALG_ES256:
      return cap >= 64 && fz_ecdsa_p256_rfc6979(k->ec_d, in, ilen, sig) == 0
                 ? 64
                 : 0;
    case WS_ALG_EDDSA: return sign_evp(k, NULL, in, ilen, sig, cap);
    default: return 0;
  }
}

#define CACHE_SLOTS 4096
#define CACHE_SIG_MAX 512

typedef struct slot {
  uint8_t used, key, alg;
  uint8_t h[32];
  uint16_t slen;
  uint8_t sig[CACHE_SIG_MAX];
} slot;

static slot cache[CACHE_SLOTS];
static unsigned long cache_hits, cache_misses;

void fz_forge_cache_stats(unsigned long *hits, unsigned long *misses) {
  *hits = cache_hits;
  *misses = cache_misses;
}

void fz_forge_cache_clear(void) {
  memset(cache, 0, sizeof(cache));
  cache_hits = cache_misses = 0;
}

size_t fz_forge_sign(int key, ws_alg alg, const uint8_t *in, size_t ilen,
                     uint8_t *sig, size_t cap) {
  uint8_t h[32];
  slot *s;
  size_t n;
  if (key < 0 || key >= FZ_KEY_COUNT || !ready) return 0;
  if (sha256(in, ilen, NULL, 0, h) != 0) return 0;
  s = &cache[((size_t)h[0] << 8 | h[1]) % CACHE_SLOTS];
  if (s->used && s->key == key && s->alg == (uint8_t)alg &&
      memcmp(s->h, h, 32) == 0) {
    if (s->slen > cap) return 0;
    cache_hits++;
    memcpy(sig, s->sig, s->slen);
    return s->slen;
  }
  cache_misses++;
  n = sign_uncached(key, alg, in, ilen, sig, cap);
  if (n && n <= CACHE_SIG_MAX) {
    s->used = 1;
    s->key = (uint8_t)key;
    s->alg = (uint8_t)alg;
    memcpy(s->h, h, 32);
    s->slen = (uint16_t)n;
    memcpy(s->sig, sig, n);
  }
  return n;
}

int fz_forge_sig_is(int key, ws_alg alg, const uint8_t *in, size_t ilen,
                    const uint8_t *sig, size_t slen) {
  uint8_t mine[CACHE_SIG_MAX];
  size_t n = fz_forge_sign(key, alg, in, ilen, mine, sizeof(mine));
  return n != 0 && n == slen && memcmp(mine, sig, n) == 0;
}

/* ---- building a token ---------------------------------------------------- */

/* P-256 order n and field prime p, big-endian (SEC 2 2.4.2). */
static const uint8_t p256_n[32] = {
    0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xBC, 0xE6, 0xFA, 0xAD, 0xA7, 0x17,
    0x9E, 0x84, 0xF3, 0xB9, 0xCA, 0xC2, 0xFC, 0x63, 0x25, 0x51};
static const uint8_t p256_p[32] = {
    0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};

static void put_b64(sbuf *b, const uint8_t *p, size_t n) {
  char *tmp = malloc(n / 3 * 4 + 8);
  if (!tmp) {
    b->ok = 0;
    return;
  }
  sb_put(b, tmp, fz_b64url_encode(p, n, tmp, n / 3 * 4 + 8));
  free(tmp);
}

static void put_date(sbuf *b, const char *name, const fz_date_opt *o,
                     int64_t leeway) {
  char num[48];
  int64_t v;
  if (o->kind == FZ_V_MISSING) return;
  sb_puts(b, ",\"");
  sb_puts(b, name);
  sb_puts(b, "\":");
  v = fz_date_value(o, FZ_NOW, leeway);
  switch (o->kind) {
    case FZ_V_INT: snprintf(num, sizeof(num), "%" PRId64, v); break;
    case FZ_V_FRAC: snprintf(num, sizeof(num), "%" PRId64 ".5", v); break;
    default: snprintf(num, sizeof(num), "%s", o->text); break;
  }
  sb_puts(b, num);
}

/* The sub member's JSON value for STRUCTURED claims. */
static void put_sub(sbuf *b, const fz_token *t) {
  const fz_sub_opt *o = &fz_sub_opts[t->c[FZ_B_SUB]];
  size_t i;
  switch (o->kind) {
    case FZ_SUB_MISSING: return;
    case FZ_SUB_REPEAT:
      sb_puts(b, ",\"sub\":\"");
      for (i = 0; i < o->repeat_n; i++) sb_puts(b, o->repeat);
      if (o->tail_after) sb_puts(b, o->tail_after);
      sb_puts(b, "\"");
      return;
    case FZ_SUB_TAIL:
      sb_puts(b, ",\"sub\":\"");
      for (i = 0; i < t->tail_len; i++) {
        unsigned char c = t->tail[i];
        char esc[8];
        if (c == '"' || c == '\\') {
          esc[0] = '\\';
          esc[1] = (char)c;
          sb_put(b, esc, 2);
        } else if (c < 0x20) {
          snprintf(esc, sizeof(esc), "\\u%04x", c);
          sb_puts(b, esc);
        } else {
          sb_put(b, &c, 1);
        }
      }
      sb_puts(b, "\"");
      return;
    default:
      sb_puts(b, ",\"sub\":");
      sb_puts(b, o->json);
      return;
  }
}

/* The claims text (the payload before base64url). */
static void build_claims(sbuf *b, const fz_token *t, int64_t leeway) {
  const fz_clx_opt *x = &fz_clx_opts[t->c[FZ_B_CLX]];
  const fz_iss_opt *iss = &fz_iss_opts[t->c[FZ_B_ISS]];
  const fz_aud_opt *aud = &fz_aud_opts[t->c[FZ_B_AUD]];
  sbuf m = {NULL, 0, 0, 1};
  if (t->claims_raw) {
    sb_put(b, t->tail, t->tail_len);
    return;
  }
  /* Members each start with ','; the first one's is dropped. */
  put_sub(&m, t);
  put_date(&m, "exp", &fz_exp_opts[t->c[FZ_B_EXP]], leeway);
  put_date(&m, "nbf", &fz_nbf_opts[t->c[FZ_B_NBF]], leeway);
  put_date(&m, "iat", &fz_iat_opts[t->c[FZ_B_IAT]], leeway);
  if (iss->json) {
    sb_puts(&m, ",\"iss\":");
    sb_puts(&m, iss->json);
  }
  if (aud->json) {
    sb_puts(&m, ",\"aud\":");
    sb_puts(&m, aud->json);
  }
  sb_puts(&m, x->json);
  if (!m.ok) {
    b->ok = 0;
    return;
  }
  if (x->kind == FZ_CLX_WRAP_ARRAY) sb_puts(b, "[");
  if (x->kind == FZ_CLX_SPACE) sb_puts(b, " \n");
  sb_puts(b, "{");
  if (m.n) sb_put(b, m.p + 1, m.n - 1);
  sb_puts(b, "}");
  if (x->kind == FZ_CLX_WRAP_ARRAY) sb_puts(b, "]");
  if (x->kind == FZ_CLX_SPACE) sb_puts(b, "\t ");
  if (x->kind == FZ_CLX_TRAILING) sb_puts(b, "x");
  sb_free(&m);
}

static ws_alg header_alg_of(const fz_token *t) {
  const fz_alg_opt *a = &fz_alg_opts[t->c[FZ_B_ALG]];
  if (a->kind == FZ_A_OWN) return keys[t->c[FZ_B_KEY]].alg;
  return a->kind == FZ_A_NAMED ? a->alg : WS_ALG_NONE_;
}

static void build_header(sbuf *b, const fz_token *t) {
  const fz_alg_opt *a = &fz_alg_opts[t->c[FZ_B_ALG]];
  const fz_kid_opt *k = &fz_kid_opts[t->c[FZ_B_KID]];
  const fz_hdr_opt *h = &fz_hdr_opts[t->c[FZ_B_HDR]];
  const fkey *key = &keys[t->c[FZ_B_KEY]];
  sbuf alg = {NULL, 0, 0, 1}, kid = {NULL, 0, 0, 1};
  if (a->kind != FZ_A_MISSING) {
    sb_puts(&alg, "\"alg\":");
    if (a->kind == FZ_A_OWN) {
      sb_puts(&alg, "\"");
      sb_puts(&alg, alg_text(key->alg));
      sb_puts(&alg, "\"");
    } else {
      sb_puts(&alg, a->json);
    }
  }
  if (k->kind != FZ_K_ABSENT) {
    sb_puts(&kid, "\"kid\":");
    if (k->kind == FZ_K_OWN) {
      sb_puts(&kid, "\"");
      sb_puts(&kid, key->name);
      sb_puts(&kid, "\"");
    } else {
      sb_puts(&kid, k->json);
    }
  }
  if (!alg.ok || !kid.ok) b->ok = 0;
  sb_puts(b, "{");
  {
    const sbuf *first = t->kid_first ? &kid : &alg;
    const sbuf *second = t->kid_first ? &alg : &kid;
    if (first->n) sb_put(b, first->p, first->n);
    if (first->n && second->n) sb_puts(b, ",");
    if (second->n) sb_put(b, second->p, second->n);
  }
  if (h->kind == FZ_H_DUP_ALG && alg.n) {
    sb_puts(b, ",");
    sb_put(b, alg.p, alg.n);
  }
  /* Extras start with ','; with no alg and no kid, drop it. */
  if (h->json[0]) {
    if (alg.n || kid.n)
      sb_puts(b, h->json);
    else
      sb_puts(b, h->json + 1);
  }
  sb_puts(b, "}");
  sb_free(&alg);
  sb_free(&kid);
}

/* Applies the signature-level tamper op to sig (cap bytes); returns the new
 * length.  Encoding-level ops are applied when the token is written. */
static int compute_pristine(const fz_token *t);

/* 0 when the header alone makes the core stop before the signature and
 * rules out a pristine token: no supported alg, alg twice, a kid naming no
 * key of the set or a key of another alg. */
static int sig_can_matter(const fz_token *t) {
  const fz_alg_opt *a = &fz_alg_opts[t->c[FZ_B_ALG]];
  const fz_kid_opt *k = &fz_kid_opts[t->c[FZ_B_KID]];
  int kid_key = -1;
  if (a->kind == FZ_A_NONE || a->kind == FZ_A_UNKNOWN ||
      a->kind == FZ_A_MISSING)
    return 0;
  if (fz_hdr_opts[t->c[FZ_B_HDR]].kind == FZ_H_DUP_ALG) return 0;
  switch (k->kind) {
    case FZ_K_STRING:
    case FZ_K_NONSTRING: return 0;
    case FZ_K_OWN: kid_key = t->c[FZ_B_KEY]; break;
    case FZ_K_SET: kid_key = k->key; break;
    case FZ_K_ABSENT: break;
  }
  if (kid_key >= 0 &&
      (!keys[kid_key].in_set || keys[kid_key].alg != t->header_alg))
    return 0;
  return 1;
}

/* Deterministic bytes of the length key's signature for alg would have:
 * stands in for a signature that cannot matter (saves RSA's ~1 ms). */
static size_t filler_sig(int key, ws_alg alg, const uint8_t *in, size_t ilen,
                         uint8_t *sig, size_t cap) {
  size_t n, at;
  uint8_t h[32], ctr = 0;
  switch (alg) {
    case WS_ALG_HS256: n = 32; break;
    case WS_ALG_HS384: n = 48; break;
    case WS_ALG_RS256:
    case WS_ALG_PS256: n = keys[key].rsa_n_len; break;
    default: n = 64; break;
  }
  if (n > cap || sha256(in, ilen, NULL, 0, h) != 0) return 0;
  for (at = 0; at < n; at++) {
    if (at % 32 == 0 && at) {
      ctr++;
      if (sha256(h, 32, &ctr, 1, h) != 0) return 0;
    }
    sig[at] = h[at % 32];
  }
  return n;
}

/* An ES256 signature (r, s), 0 < r, s < n, whose check against the set's
 * ES256 key Q = d*G lands on the point at infinity (FIPS 186-4 6.4.2 step 5):
 * with z = SHA-256(input) mod n and w = 1/s, u1*G + u2*Q = w*(z + r*d)*G,
 * which is O when r = -z/d mod n, whatever s is.  s comes from the input
 * and arg.  OpenSSL reports this case as an error (-1), not as "does not
 * verify" (0); the core must still answer "signature invalid".  Returns 64,
 * or 0 on failure. */
static size_t ec_infinity_sig(const uint8_t *input, size_t ilen, unsigned arg,
                              uint8_t *sig, size_t cap) {
  static const char label[] = "wsgate forge infinity s";
  const fkey *k = &keys[FZ_KEY_ES256];
  uint8_t h[32], a[2 + sizeof(label)];
  BN_CTX *ctx = BN_CTX_new();
  BIGNUM *n, *z, *d, *r, *s;
  size_t rc = 0;
  if (!ctx || cap < 64) goto out;
  BN_CTX_start(ctx);
  n = BN_CTX_get(ctx);
  z = BN_CTX_get(ctx);
  d = BN_CTX_get(ctx);
  r = BN_CTX_get(ctx);
  s = BN_CTX_get(ctx);
  a[0] = (uint8_t)(arg >> 8);
  a[1] = (uint8_t)arg;
  memcpy(a + 2, label, sizeof(label));
  if (!s || !BN_bin2bn(p256_n, 32, n) || !BN_bin2bn(k->ec_d, 32, d) ||
      sha256(input, ilen, NULL, 0, h) != 0 || !BN_bin2bn(h, 32, z) ||
      !BN_nnmod(z, z, n, ctx) || !BN_mod_inverse(r, d, n, ctx) ||
      !BN_mod_mul(r, r, z, n, ctx) || !BN_mod_sub(r, n, r, n, ctx) ||
      sha256(a, sizeof(a), input, ilen, h) != 0 || !BN_bin2bn(h, 32, s) ||
      !BN_nnmod(s, s, n, ctx))
    goto end;
  /* z = 0 mod n (r = 0) or s = 0: negligible; keep both in range. */
  if ((BN_is_zero(r) && !BN_one(r)) || (BN_is_zero(s) && !BN_one(s))) goto end;
  if (BN_bn2binpad(r, sig, 32) == 32 && BN_bn2binpad(s, sig + 32, 32) == 32)
    rc = 64;
end:
  BN_CTX_end(ctx);
out:
  BN_CTX_free(ctx);
  return rc;
}

static size_t tamper_sig(fz_token *t, const uint8_t *input, size_t ilen,
                         uint8_t *sig, size_t slen, size_t cap) {
  unsigned arg = t->tamper_arg;
  switch (t->c[FZ_B_TAMPER]) {
    case FZ_T_FLIP_BIT:
      if (slen) {
        size_t bit = arg % (slen * 8);
        sig[bit / 8] ^= (uint8_t)(0x80u >> (bit % 8));
      }
      return slen;
    case FZ_T_TRUNCATE: return slen ? slen - (1 + arg % slen) : 0;
    case FZ_T_EXTEND: {
      size_t n = 1 + (arg & 63);
      if (slen + n > cap) n = cap - slen;
      memset(sig + slen, (int)(arg >> 8), n);
      return slen + n;
    }
    case FZ_T_SWAP: {
      int other = (int)(arg % FZ_KEY_COUNT);
      size_t n;
      if (other == t->c[FZ_B_KEY]) other = (other + 1) % FZ_KEY_COUNT;
      n = t->filler
              ? filler_sig(other, keys[other].alg, input, ilen, sig, cap)
              : fz_forge_sign(other, keys[other].alg, input, ilen, sig, cap);
      t->sig_key = other;
      t->sig_alg = keys[other].alg;
      return n;
    }
    case FZ_T_R_ZERO:
      if (slen >= 32) memset(sig, 0, 32);
      return slen;
    case FZ_T_S_ZERO:
      if (slen >= 64) memset(sig + 32, 0, 32);
      return slen;
    case FZ_T_R_ORDER:
      if (slen >= 32) memcpy(sig, p256_n, 32);
      return slen;
    case FZ_T_S_ORDER:
      if (slen >= 64) memcpy(sig + 32, p256_n, 32);
      return slen;
    case FZ_T_R_ORDER_M1:
      if (slen >= 32) {
        memcpy(sig, p256_n, 32);
        sig[31]--;
      }
      return slen;
    case FZ_T_S_PRIME:
      if (slen >= 64) memcpy(sig + 32, p256_p, 32);
      return slen;
    case FZ_T_EC_INFINITY: {
      size_t n = ec_infinity_sig(input, ilen, arg, sig, cap);
      t->sig_key = FZ_KEY_ES256;
      t->sig_alg = WS_ALG_ES256;
      return n ? n : slen;
    }
    default: return slen;
  }
}

/* Writes the signature segment, canonical or re-encoded as the op says. */
static void put_sig(sbuf *b, const fz_token *t, const uint8_t *sig,
                    size_t slen) {
  static const char spaces[4] = {' ', '\t', '\r', '\n'};
  size_t cap = slen / 3 * 4 + 8, n, i, pos;
  char *e = malloc(cap + 8);
  unsigned arg = t->tamper_arg;
  if (!e) {
    b->ok = 0;
    return;
  }
  n = fz_b64url_encode(sig, slen, e, cap);
  switch (t->c[FZ_B_TAMPER]) {
    case FZ_T_B64_PAD:
      /* RFC 4648 padding, or one '=' when none is due: never canonical. */
      if (n % 4 == 0)
        e[n++] = '=';
      else
        while (n % 4) e[n++] = '=';
      break;
    case FZ_T_B64_STD:
      for (i = 0, pos = n; i < n; i++) {
        if (e[i] == '-') e[i] = '+', pos = i;
        if (e[i] == '_') e[i] = '/', pos = i;
      }
      if (pos == n) { /* no '-' or '_' to respell: put a '+' in */
        if (n == 0)
          e[n++] = '+';
        else
          e[arg % n] = '+';
      }
      break;
    case FZ_T_B64_TRAIL:
      /* The last symbol's low bit is an unused bit when n % 4 is 2 or 3
       * (RFC 4648 3.5); without unused bits, insert a space instead. */
      if (n % 4 == 2 || n % 4 == 3) {
        int v = b64u_val((unsigned char)e[n - 1]);
        e[n - 1] = b64u_alpha[v ^ 1];
        break;
      }
      /* fall through */
    case FZ_T_B64_SPACE:
      pos = arg % (n + 1);
      memmove(e + pos + 1, e + pos, n - pos);
      e[pos] = spaces[(arg >> 8) & 3];
      n++;
      break;
    default: break;
  }
  sb_put(b, e, n);
  free(e);
}

size_t fz_token_decode(const uint8_t *data, size_t size, unsigned policy,
                       fz_token *t) {
  static const unsigned mods[FZ_SPEC_FIXED] = {FZ_KEY_COUNT,
                                               FZ_ALG_CHOICES,
                                               FZ_KID_CHOICES,
                                               FZ_HDR_CHOICES,
                                               FZ_TAMPER_COUNT,
                                               256,
                                               256,
                                               4,
                                               FZ_EXP_CHOICES,
                                               FZ_NBF_CHOICES,
                                               FZ_IAT_CHOICES,
                                               FZ_ISS_CHOICES,
                                               FZ_AUD_CHOICES,
                                               FZ_SUB_CHOICES,
                                               FZ_CLX_CHOICES,
                                               256};
  uint8_t raw[FZ_SPEC_FIXED];
  uint8_t sig[CACHE_SIG_MAX + 64];
  size_t used = size < FZ_SPEC_FIXED ? size : FZ_SPEC_FIXED, avail, tl, i;
  size_t slen, ilen;
  sbuf hdr = {NULL, 0, 0, 1}, cl = {NULL, 0, 0, 1}, tok = {NULL, 0, 0, 1};
  const fz_policy *pol = fz_policy_get(policy);
  const fkey *key;

  fz_forge_init();
  memset(t, 0, sizeof(*t));
  memset(raw, 0, sizeof(raw));
  if (used) memcpy(raw, data, used);
  for (i = 0; i < FZ_SPEC_FIXED; i++) t->c[i] = (uint8_t)(raw[i] % mods[i]);
  t->policy = policy % FZ_POLICY_COUNT;
  t->kid_first = (raw[FZ_B_HDR] / FZ_HDR_CHOICES) & 1;
  t->claims_raw = t->c[FZ_B_MODE] == 3;
  t->tamper_arg = (unsigned)raw[FZ_B_ARG_HI] << 8 | raw[FZ_B_ARG_LO];
  avail = size - used;
  tl = raw[FZ_B_TAIL_LEN] == 255
           ? avail
           : (raw[FZ_B_TAIL_LEN] < avail ? raw[FZ_B_TAIL_LEN] : avail);
  if (tl > FZ_TAIL_MAX) tl = FZ_TAIL_MAX;
  t->tail = tl ? data + used : NULL;
  t->tail_len = tl;
  used += tl;
  key = &keys[t->c[FZ_B_KEY]];

  /* How the forge signs: the header's alg when the key can, HMAC keyed
   * with the public key when the header names HMAC for an asymmetric key,
   * the key's own alg otherwise. */
  t->header_alg = header_alg_of(t);
  if (t->header_alg != WS_ALG_NONE_ && alg_suits(key, t->header_alg)) {
    t->sign_alg = t->header_alg;
  } else if (t->header_alg != WS_ALG_NONE_ && hmac_md(t->header_alg)) {
    t->sign_alg = t->header_alg;
    t->confused = 1;
  } else {
    t->sign_alg = key->alg;
  }
  t->sig_key = t->c[FZ_B_KEY];
  t->sig_alg = t->sign_alg;

  build_header(&hdr, t);
  build_claims(&cl, t, pol->leeway_s);
  put_b64(&tok, (const uint8_t *)hdr.p, hdr.n);
  t->hseg = tok.n;
  sb_puts(&tok, ".");
  put_b64(&tok, (const uint8_t *)cl.p, cl.n);
  t->pseg = tok.n - t->hseg - 1;
  if (!hdr.ok || !cl.ok || !tok.ok) goto oom;
  ilen = tok.n;
  t->filler = !sig_can_matter(t);
  slen = t->filler
             ? filler_sig(t->c[FZ_B_KEY], t->sign_alg, (const uint8_t *)tok.p,
                          ilen, sig, CACHE_SIG_MAX)
             : fz_forge_sign(t->c[FZ_B_KEY], t->sign_alg,
                             (const uint8_t *)tok.p, ilen, sig, CACHE_SIG_MAX);
  if (!slen) die("signing failed");
  slen = tamper_sig(t, (const uint8_t *)tok.p, ilen, sig, slen, sizeof(sig));
  if (t->c[FZ_B_TAMPER] == FZ_T_PAYLOAD_FLIP && t->pseg) {
    /* Another base64url symbol in place of one payload symbol. */
    size_t pos = t->hseg + 1 + t->tamper_arg % t->pseg;
    int v = b64u_val((unsigned char)tok.p[pos]);
    int delta = 1 + (int)((t->tamper_arg / t->pseg) % 63);
    tok.p[pos] = b64u_alpha[(v + delta) % 64];
    t->input_changed = 1;
  }
  sb_puts(&tok, ".");
  put_sig(&tok, t, sig, slen);
  if (!tok.ok) goto oom;
  t->text = tok.p;
  t->len = tok.n;
  sb_free(&hdr);
  sb_free(&cl);
  t->pristine = compute_pristine(t);
  fz_model_jwt(t, pol, FZ_NOW);
  return used;
oom:
  sb_free(&hdr);
  sb_free(&cl);
  sb_free(&tok);
  t->text = NULL;
  return used;
}

/* forge.h ACCEPTANCE ORACLE: the bytes are what the forge makes when a set
 * key signs this signing input with its own alg, named by the header, with
 * no kid or that key's kid, every segment canonical. */
static int compute_pristine(const fz_token *t) {
  const fz_kid_opt *k = &fz_kid_opts[t->c[FZ_B_KID]];
  const char *sseg = t->text + t->hseg + 1 + t->pseg + 1;
  size_t sl = t->len - t->hseg - t->pseg - 2, rl;
  uint8_t sig[CACHE_SIG_MAX + 64];
  char re[(CACHE_SIG_MAX + 64) / 3 * 4 + 8];
  long n;
  int ka, ok;
  if (t->input_changed || t->header_alg == WS_ALG_NONE_) return 0;
  if (fz_hdr_opts[t->c[FZ_B_HDR]].kind == FZ_H_DUP_ALG) return 0;
  for (ka = 0; ka < FZ_KEY_SET_COUNT && keys[ka].alg != t->header_alg; ka++) {
  }
  if (ka == FZ_KEY_SET_COUNT) return 0;
  switch (k->kind) {
    case FZ_K_ABSENT: break;
    case FZ_K_OWN:
      if (t->c[FZ_B_KEY] != ka) return 0;
      break;
    case FZ_K_SET:
      if (k->key != ka) return 0;
      break;
    default: return 0;
  }
  if (sl > sizeof(re) - 8) return 0;
  n = fz_b64url_decode(sseg, sl, sig, sizeof(sig));
  if (n < 0) return 0;
  rl = fz_b64url_encode(sig, (size_t)n, re, sizeof(re));
  if (rl != sl || memcmp(re, sseg, sl) != 0) return 0;
  ok = fz_forge_sig_is(ka, t->header_alg, (const uint8_t *)t->text,
                       t->hseg + 1 + t->pseg, sig, (size_t)n);
  return ok;
}

void fz_token_free(fz_token *t) {
  if (!t) return;
  free(t->text);
  t->text = NULL;
  t->len = 0;
}

int fz_token_wire_safe(const fz_token *t) {
  size_t i;
  if (!t || !t->text) return 0;
  for (i = 0; i < t->len; i++)
    if (t->text[i] != '.' && b64u_val((unsigned char)t->text[i]) < 0) return 0;
  return 1;
}

void fz_token_from_raw(const uint8_t *tok, size_t len, fz_token *t) {
  fz_forge_init();
  memset(t, 0, sizeof(*t));
  t->raw_token = 1;
  t->expect_known = 0;
  t->expect = WS_DIAG_NONE;
  if (!(t->text = malloc(len + 1))) return;
  if (len) memcpy(t->text, tok, len);
  t->text[len] = '\0';
  t->len = len;
  t->pristine = fz_token_independently_valid(t->text, len, NULL, 0);
}

char *fz_token_describe(const fz_token *t, char *buf, size_t cap) {
  const ws_diag_info *info = ws_diag_get(t->expect);
  const char *ex =
      t->expect == WS_DIAG_NONE ? "NONE" : (info ? info->code : "?");
  if (!cap) return buf;
  if (t->raw_token) {
    snprintf(buf, cap, "raw token (%zu bytes) pristine=%d(independent check)",
             t->len, t->pristine);
    return buf;
  }
  snprintf(buf, cap,
           "key=%s alg=%s kid=%s hdr=%s%s tamper=%s(%u) claims=%s "
           "exp=%s nbf=%s iat=%s iss=%s aud=%s sub=%s x=%s tail=%zu "
           "sign=%s%s%s policy=%u pristine=%d expect=%s%s",
           keys[t->c[FZ_B_KEY]].name, fz_alg_opts[t->c[FZ_B_ALG]].label,
           fz_kid_opts[t->c[FZ_B_KID]].label, fz_hdr_opts[t->c[FZ_B_HDR]].label,
           t->kid_first ? ",kid_first" : "", fz_tamper_name(t->c[FZ_B_TAMPER]),
           t->tamper_arg, t->claims_raw ? "raw" : "structured",
           fz_exp_opts[t->c[FZ_B_EXP]].label, fz_nbf_opts[t->c[FZ_B_NBF]].label,
           fz_iat_opts[t->c[FZ_B_IAT]].label, fz_iss_opts[t->c[FZ_B_ISS]].label,
           fz_aud_opts[t->c[FZ_B_AUD]].label, fz_sub_opts[t->c[FZ_B_SUB]].label,
           fz_clx_opts[t->c[FZ_B_CLX]].label, t->tail_len,
           alg_text(t->sign_alg), t->confused ? "(confused)" : "",
           t->filler ? "(filler)" : "", t->policy, t->pristine, ex,
           t->expect_known ? "" : "(unknown)");
  return buf;
}

/* ---- the independent strict checker -------------------------------------- */

static int why_set(char *why, size_t cap, const char *msg) {
  if (why && cap) snprintf(why, cap, "%s", msg);
  return 0;
}

/* 1 when some object in the tree has a member name twice. */
static int has_dup(const cJSON *node) {
  const cJSON *a, *b;
  for (a = node ? node->child : NULL; a; a = a->next) {
    if (has_dup(a)) return 1;
    if (cJSON_IsObject(node))
      for (b = a->next; b; b = b->next)
        if (a->string && b->string && strcmp(a->string, b->string) == 0)
          return 1;
  }
  return 0;
}

/* 1 when a JSON string in text[0..n) holds a \u0000 escape (cJSON would
 * cut the string there). */
static int has_nul_escape(const char *s, size_t n) {
  size_t i;
  int in = 0;
  for (i = 0; i < n; i++) {
    if (!in) {
      in = s[i] == '"';
    } else if (s[i] == '\\') {
      if (i + 5 < n && s[i + 1] == 'u' && memcmp(s + i + 2, "0000", 4) == 0)
        return 1;
      i++;
    } else if (s[i] == '"') {
      in = 0;
    }
  }
  return 0;
}

static int all_zero32(const uint8_t *p) {
  uint8_t acc = 0;
  int i;
  for (i = 0; i < 32; i++) acc |= p[i];
  return acc == 0;
}

/* Orders two 32-byte big-endian integers. */
static int memcmp_be(const uint8_t *a, const uint8_t *b) {
  int i;
  for (i = 0; i < 32; i++)
    if (a[i] != b[i]) return a[i] < b[i] ? -1 : 1;
  return 0;
}

/* Verifies sig over in with set key k for alg, with OpenSSL only: 1
 * verifies; 0 does not (or fails a length or range check first); below 0,
 * OpenSSL's verify reported an error (e.g. the ECDSA point at infinity). */
static int verify_direct_rc(const fkey *k, ws_alg alg, const uint8_t *in,
                            size_t ilen, const uint8_t *sig, size_t slen) {
  EVP_MD_CTX *c;
  EVP_PKEY_CTX *pctx = NULL;
  uint8_t mac[64], der[80];
  unsigned char *dp = der;
  int ok = 0;
  const char *md = hmac_md(alg);
  if (md) {
    size_t n;
    if (k->kind != KIND_HMAC) return 0;
    n = hmac(md, k->secret, k->secret_len, in, ilen, mac, sizeof(mac));
    return n != 0 && n == slen && CRYPTO_memcmp(mac, sig, n) == 0;
  }
  if (!alg_suits(k, alg)) return 0;
  if (alg == WS_ALG_RS256 || alg == WS_ALG_PS256) {
    if (slen != k->rsa_n_len) return 0;
  } else if (slen != 64) {
    return 0;
  }
  if (alg == WS_ALG_ES256) {
    /* RFC 7518 3.4 r||s, each 0 < v < n, to DER for OpenSSL. */
    ECDSA_SIG *es;
    BIGNUM *r, *s;
    int n;
    if (all_zero32(sig) || all_zero32(sig + 32) ||
        memcmp_be(sig, p256_n) >= 0 || memcmp_be(sig + 32, p256_n) >= 0)
      return 0;
    es = ECDSA_SIG_new();
    r = BN_bin2bn(sig, 32, NULL);
    s = BN_bin2bn(sig + 32, 32, NULL);
    if (!es || !r || !s || !ECDSA_SIG_set0(es, r, s)) {
      BN_free(r);
      BN_free(s);
      ECDSA_SIG_free(es);
      return 0;
    }
    n = i2d_ECDSA_SIG(es, NULL);
    if (n <= 0 || (size_t)n > sizeof(der) || i2d_ECDSA_SIG(es, &dp) != n) {
      ECDSA_SIG_free(es);
      return 0;
    }
    ECDSA_SIG_free(es);
    sig = der;
    slen = (size_t)n;
  }
  if (!(c = EVP_MD_CTX_new())) return 0;
  if (EVP_DigestVerifyInit(c, &pctx, alg == WS_ALG_EDDSA ? NULL : EVP_sha256(),
                           NULL, k->pk) == 1 &&
      (alg != WS_ALG_PS256 ||
       (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) == 1 &&
        EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) == 1)))
    ok = EVP_DigestVerify(c, sig, slen, in, ilen);
  EVP_MD_CTX_free(c);
  ERR_clear_error();
  return ok;
}

static int verify_direct(const fkey *k, ws_alg alg, const uint8_t *in,
                         size_t ilen, const uint8_t *sig, size_t slen) {
  return verify_direct_rc(k, alg, in, ilen, sig, slen) == 1;
}

int fz_forge_verify_openssl(int key, ws_alg alg, const uint8_t *in, size_t ilen,
                            const uint8_t *sig, size_t slen) {
  if (key < 0 || key >= FZ_KEY_COUNT || !ready) return 0;
  return verify_direct_rc(&keys[key], alg, in, ilen, sig, slen);
}

/* The JSON text s[0..n) parsed whole: only whitespace may follow the
 * value (cJSON alone would ignore trailing bytes). */
static cJSON *parse_whole(const char *s, size_t n) {
  const char *end = NULL;
  cJSON *j = cJSON_ParseWithLengthOpts(s, n, &end, 0);
  if (!j) return NULL;
  while (end && end < s + n &&
         (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r'))
    end++;
  if (end != s + n) {
    cJSON_Delete(j);
    return NULL;
  }
  return j;
}

/* The algorithm a case-sensitive name stands for (RFC 7518 3.1, RFC 8037
 * 3.1), or WS_ALG_NONE_: the checker's own table, not the core's. */
static ws_alg alg_named(const char *name) {
  int a;
  for (a = 1; a < (int)WS_ALG_COUNT_; a++)
    if (strcmp(name, alg_names[a]) == 0) return (ws_alg)a;
  return WS_ALG_NONE_;
}

int fz_token_independently_valid(const char *tok, size_t len, char *why,
                                 size_t cap) {
  const char *d1, *d2, *seg[3];
  size_t sl[3], i;
  uint8_t *dec[3] = {NULL, NULL, NULL};
  long dl[3];
  cJSON *hdr = NULL;
  const cJSON *alg, *kid, *v;
  ws_alg a = WS_ALG_NONE_;
  int ok = 0, k;

  fz_forge_init();
  if (!tok || !(d1 = memchr(tok, '.', len)) ||
      !(d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - tok))) ||
      memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - tok)))
    return why_set(why, cap, "not three segments");
  seg[0] = tok;
  sl[0] = (size_t)(d1 - tok);
  seg[1] = d1 + 1;
  sl[1] = (size_t)(d2 - d1 - 1);
  seg[2] = d2 + 1;
  sl[2] = len - (size_t)(d2 + 1 - tok);
  for (i = 0; i < 3; i++) {
    char *re;
    size_t rl;
    dec[i] = malloc(sl[i] / 4 * 3 + 3);
    re = malloc(sl[i] + 4);
    dl[i] = dec[i] ? fz_b64url_decode(seg[i], sl[i], dec[i], sl[i] / 4 * 3 + 3)
                   : -1;
    rl = dl[i] >= 0 && re
             ? fz_b64url_encode(dec[i], (size_t)dl[i], re, sl[i] + 4)
             : 0;
    /* Canonical: decoding and encoding again gives the same text. */
    if (dl[i] < 0 || !re || rl != sl[i] || memcmp(re, seg[i], rl) != 0) {
      free(re);
      why_set(why, cap, "segment not canonical unpadded base64url");
      goto out;
    }
    free(re);
  }
  if (has_nul_escape((const char *)dec[0], (size_t)dl[0]) ||
      !(hdr = parse_whole((const char *)dec[0], (size_t)dl[0])) ||
      !cJSON_IsObject(hdr) || has_dup(hdr)) {
    why_set(why, cap, "header not a JSON object without duplicates");
    goto out;
  }
  alg = cJSON_GetObjectItemCaseSensitive(hdr, "alg");
  if (!cJSON_IsString(alg) || !alg->valuestring ||
      (a = alg_named(alg->valuestring)) == WS_ALG_NONE_) {
    why_set(why, cap, "alg not a supported algorithm name");
    goto out;
  }
  /* An extension we do not implement, or an unencoded payload. */
  v = cJSON_GetObjectItemCaseSensitive(hdr, "b64");
  if (cJSON_GetObjectItemCaseSensitive(hdr, "crit") ||
      (v && !cJSON_IsTrue(v))) {
    why_set(why, cap, "crit or b64 in the header");
    goto out;
  }
  kid = cJSON_GetObjectItemCaseSensitive(hdr, "kid");
  if (kid && (!cJSON_IsString(kid) || !kid->valuestring)) {
    why_set(why, cap, "kid not a string");
    goto out;
  }
  for (k = 0; k < FZ_KEY_SET_COUNT; k++) {
    if (kid && strcmp(kid->valuestring, keys[k].name) != 0) continue;
    if (keys[k].alg != a) continue;
    if (verify_direct(&keys[k], a, (const uint8_t *)tok, sl[0] + 1 + sl[1],
                      dec[2], (size_t)dl[2])) {
      ok = 1;
      goto out;
    }
  }
  why_set(why, cap,
          kid ? "no key with that kid for alg verifies the signature"
              : "no key for alg verifies the signature");
out:
  cJSON_Delete(hdr);
  for (i = 0; i < 3; i++) free(dec[i]);
  return ok;
}
