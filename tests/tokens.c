/* Test-only token signing (see tokens.h).  The signing side of what
 * core/crypto.c verifies, written independently of it against OpenSSL's
 * high-level API so that a bug in one is not mirrored in the other. */
#define OPENSSL_SUPPRESS_DEPRECATED /* RAND_set_rand_method (see below) */
#include "tokens.h"

#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "testutil.h"

_Noreturn static void die(const char *what, const char *detail) {
  fprintf(stderr, "tokens: %s%s%s\n", what, detail ? ": " : "",
          detail ? detail : "");
  abort();
}

char *tok_b64url(const void *p, size_t n) {
  size_t cap = n / 3 * 4 + 4 + 1;
  char *out = malloc(cap);
  if (!out) die("out of memory", NULL);
  if (ws_b64url_encode(p, n, out, cap) == 0 && n != 0) die("encode", NULL);
  return out;
}

char *tok_key_file(const char *name, const char *ext, size_t *len) {
  char path[512];
  char *data;
  snprintf(path, sizeof(path), "%s/tests/keys/%s.%s", WSGATE_SOURCE_DIR, name,
           ext);
  if (!(data = tu_read_file(path, len))) die("cannot read", path);
  return data;
}

/* The HMAC secret of key (hs256.key holds it in base64url). */
static uint8_t *hmac_secret(const char *key, size_t *slen) {
  size_t len;
  char *text = tok_key_file(key, "key", &len);
  uint8_t *secret;
  long n;
  while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r')) len--;
  secret = malloc(ws_b64url_decoded_max(len));
  if (!secret) die("out of memory", NULL);
  n = ws_b64url_decode(text, len, secret, ws_b64url_decoded_max(len));
  if (n <= 0) die("bad HMAC secret file", key);
  free(text);
  *slen = (size_t)n;
  return secret;
}

static EVP_PKEY *private_key(const char *key) {
  size_t len;
  char *pem = tok_key_file(key, "pem", &len);
  BIO *bio = BIO_new_mem_buf(pem, (int)len);
  EVP_PKEY *pk = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
  BIO_free(bio);
  free(pem);
  if (!pk) die("cannot parse private key", key);
  return pk;
}

static const char *hmac_digest(ws_alg alg) {
  switch (alg) {
    case WS_ALG_HS256: return "SHA256";
    case WS_ALG_HS384: return "SHA384";
    case WS_ALG_HS512: return "SHA512";
    default: return NULL;
  }
}

static size_t hmac_sign(ws_alg alg, const uint8_t *secret, size_t slen,
                        const uint8_t *input, size_t len, uint8_t *sig,
                        size_t cap) {
  size_t out = 0;
  const char *md = hmac_digest(alg);
  if (!md) die("not an HMAC alg", ws_alg_name(alg));
  if (!EVP_Q_mac(NULL, "HMAC", NULL, md, NULL, secret, slen, input, len, sig,
                 cap, &out))
    die("HMAC failed", md);
  return out;
}

/* RFC 7518 3.4: DER Ecdsa-Sig-Value to fixed-size r||s. */
static size_t der_to_rs(const uint8_t *der, size_t len, uint8_t *sig,
                        size_t cap) {
  const unsigned char *p = der;
  ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)len);
  const BIGNUM *r, *s;
  if (!es || cap < 64) die("bad ECDSA signature", NULL);
  ECDSA_SIG_get0(es, &r, &s);
  if (BN_bn2binpad(r, sig, 32) != 32 || BN_bn2binpad(s, sig + 32, 32) != 32)
    die("ECDSA r/s too large", NULL);
  ECDSA_SIG_free(es);
  return 64;
}

/* ES256 (the nonce) and PS256 (the salt) draw random bytes, so the same
 * claims would sign differently on every run, and a seed or corpus file
 * built from them would change with each generation.  While one of them
 * signs, OpenSSL's randomness is a stream seeded from the signing input
 * (OpenSSL 3.0 still honours a legacy RAND_METHOD in RAND_bytes_ex and
 * RAND_priv_bytes_ex): every token is a function of what it signs.  Test
 * fixtures only; a real signer must never do this. */
static pthread_mutex_t det_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t det_state;

static int det_bytes(unsigned char *buf, int num) {
  int i;
  for (i = 0; i < num; i++) {
    uint64_t z = (det_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    buf[i] = (unsigned char)(z ^ (z >> 31));
  }
  return 1;
}
static int det_status(void) {
  return 1;
}
static const RAND_METHOD det_method = {NULL, det_bytes, NULL,
                                       NULL, det_bytes, det_status};

static void det_begin(const uint8_t *input, size_t len) {
  uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a of the input */
  size_t i;
  pthread_mutex_lock(&det_lock);
  for (i = 0; i < len; i++) h = (h ^ input[i]) * 0x100000001b3ULL;
  det_state = h;
  if (RAND_set_rand_method(&det_method) != 1) die("RAND_set_rand_method", NULL);
}

static void det_end(void) {
  RAND_set_rand_method(NULL);
  pthread_mutex_unlock(&det_lock);
}

size_t tok_raw_sign(ws_alg alg, const char *key, const uint8_t *input,
                    size_t len, uint8_t *sig, size_t cap) {
  EVP_PKEY *pk;
  EVP_MD_CTX *ctx;
  EVP_PKEY_CTX *pctx = NULL;
  uint8_t der[600];
  size_t out = sizeof(der);
  tu_global_init();
  if (hmac_digest(alg)) {
    size_t slen, n;
    uint8_t *secret = hmac_secret(key, &slen);
    n = hmac_sign(alg, secret, slen, input, len, sig, cap);
    free(secret);
    return n;
  }
  pk = private_key(key);
  if (!(ctx = EVP_MD_CTX_new())) die("out of memory", NULL);
  if (EVP_DigestSignInit_ex(ctx, &pctx, alg == WS_ALG_EDDSA ? NULL : "SHA256",
                            NULL, NULL, pk, NULL) != 1)
    die("DigestSignInit failed", key);
  if (alg == WS_ALG_PS256) {
    /* RFC 7518 3.5: MGF1-SHA-256, 32-byte salt. */
    if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) != 1 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md_name(pctx, "SHA256", NULL) != 1)
      die("PSS parameters", key);
  }
  det_begin(input, len);
  if (EVP_DigestSign(ctx, der, &out, input, len) != 1) {
    det_end();
    die("DigestSign failed", key);
  }
  det_end();
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(pk);
  if (alg == WS_ALG_ES256) return der_to_rs(der, out, sig, cap);
  if (out > cap) die("signature buffer too small", key);
  memcpy(sig, der, out);
  return out;
}

char *tok_compose(const char *header_json, const char *claims_json,
                  const uint8_t *sig, size_t slen) {
  char *h = tok_b64url(header_json, strlen(header_json));
  char *c = tok_b64url(claims_json, strlen(claims_json));
  char *s = tok_b64url(sig, slen);
  size_t n = strlen(h) + strlen(c) + strlen(s) + 3;
  char *tok = malloc(n);
  if (!tok) die("out of memory", NULL);
  snprintf(tok, n, "%s.%s.%s", h, c, s);
  free(h);
  free(c);
  free(s);
  return tok;
}

char *tok_signing_input(const char *header_json, const char *claims_json) {
  char *tok = tok_compose(header_json, claims_json, NULL, 0);
  tok[strlen(tok) - 1] = '\0'; /* drop the trailing '.' */
  return tok;
}

char *tok_sign(ws_alg alg, const char *key, const char *header_json,
               const char *claims_json) {
  uint8_t sig[1024];
  char *input = tok_signing_input(header_json, claims_json);
  size_t n = tok_raw_sign(alg, key, (const uint8_t *)input, strlen(input), sig,
                          sizeof(sig));
  char *tok = tok_compose(header_json, claims_json, sig, n);
  free(input);
  return tok;
}

char *tok_sign_hmac(ws_alg alg, const uint8_t *secret, size_t slen,
                    const char *header_json, const char *claims_json) {
  uint8_t sig[64];
  char *input, *tok;
  size_t n;
  tu_global_init();
  input = tok_signing_input(header_json, claims_json);
  n = hmac_sign(alg, secret, slen, (const uint8_t *)input, strlen(input), sig,
                sizeof(sig));
  tok = tok_compose(header_json, claims_json, sig, n);
  free(input);
  return tok;
}

size_t tok_ecdsa_der(const uint8_t rs[64], uint8_t *der, size_t cap) {
  ECDSA_SIG *es;
  BIGNUM *r, *s;
  unsigned char *p = der;
  int n;
  tu_global_init();
  r = BN_bin2bn(rs, 32, NULL);
  s = BN_bin2bn(rs + 32, 32, NULL);
  if (!r || !s || !(es = ECDSA_SIG_new()) || !ECDSA_SIG_set0(es, r, s))
    die("ECDSA_SIG", NULL);
  n = i2d_ECDSA_SIG(es, NULL);
  if (n <= 0 || (size_t)n > cap) die("DER too large", NULL);
  n = i2d_ECDSA_SIG(es, &p);
  ECDSA_SIG_free(es);
  return (size_t)n;
}

char *tok_sign_jwt(ws_alg alg, const char *key, const char *claims_json) {
  char hdr[128];
  snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\",\"kid\":\"%s\",\"typ\":\"JWT\"}",
           ws_alg_name(alg), key);
  return tok_sign(alg, key, hdr, claims_json);
}
