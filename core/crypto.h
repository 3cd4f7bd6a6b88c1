/* OpenSSL adapter: the only core file that includes OpenSSL (crypto.c).
 * It converts OpenSSL's errors into ours at the boundary; an allocation that
 * failed inside OpenSSL (seen through the session's ws_mem failure counter)
 * is reported as WS_CRYPTO_NOMEM, never as a bad signature. */
#ifndef WS_CRYPTO_H
#define WS_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "mem.h"

typedef enum ws_alg {
  WS_ALG_NONE_ = 0,
  WS_ALG_HS256,
  WS_ALG_HS384,
  WS_ALG_HS512,
  WS_ALG_RS256,
  WS_ALG_PS256,
  WS_ALG_ES256,
  WS_ALG_EDDSA,
  WS_ALG_COUNT_
} ws_alg;

#define WS_ALG_BIT(a) (1u << (a))

/* "HS256" -> WS_ALG_HS256 ...; WS_ALG_NONE_ when unknown. */
ws_alg ws_alg_from_name(const char *name, size_t len);
const char *ws_alg_name(ws_alg a);

typedef enum ws_crypto_status {
  WS_CRYPTO_OK = 0,
  WS_CRYPTO_BAD_SIG = -1,      /* signature does not verify */
  WS_CRYPTO_SIG_ENCODING = -2, /* wrong length/encoding for the alg */
  WS_CRYPTO_SIG_RANGE = -3,    /* ECDSA r or s zero or >= n */
  WS_CRYPTO_NOMEM = -4,        /* an allocation failed (maybe in OpenSSL) */
  WS_CRYPTO_ERROR = -5         /* any other OpenSSL failure */
} ws_crypto_status;

typedef struct ws_pkey ws_pkey; /* an OpenSSL key or HMAC secret */

typedef enum ws_kty {
  WS_KTY_OCT = 1,
  WS_KTY_RSA,
  WS_KTY_EC_P256,
  WS_KTY_OKP_ED25519
} ws_kty;

/* Key construction (at JWKS load; m is the loader's allocator).  Byte
 * strings are big-endian unsigned as in RFC 7518.  Return WS_CRYPTO_OK,
 * WS_CRYPTO_NOMEM or WS_CRYPTO_ERROR (invalid key: point not on curve,
 * RSA modulus < 2048 bits, ...) with a static message in *why. */
ws_crypto_status ws_pkey_hmac(ws_mem *m, const uint8_t *k, size_t klen,
                              ws_pkey **out, const char **why);
ws_crypto_status ws_pkey_rsa(ws_mem *m, const uint8_t *n, size_t nlen,
                             const uint8_t *e, size_t elen, ws_pkey **out,
                             const char **why);
ws_crypto_status ws_pkey_ec_p256(ws_mem *m, const uint8_t *x, size_t xlen,
                                 const uint8_t *y, size_t ylen, ws_pkey **out,
                                 const char **why);
ws_crypto_status ws_pkey_ed25519(ws_mem *m, const uint8_t *x, size_t xlen,
                                 ws_pkey **out, const char **why);
ws_kty ws_pkey_type(const ws_pkey *k);
/* Length of an HMAC secret in bytes (0 for other keys). */
size_t ws_pkey_hmac_len(const ws_pkey *k);
void ws_pkey_free(ws_mem *m, ws_pkey *k);

/* Verifies a JWS signature over data with key k for alg (the caller has
 * checked that alg suits k).  HMAC compares in constant time; ES256 takes
 * the 64-byte r||s form (RFC 7518 3.4), checks 0 < r, s < n itself, and
 * converts to DER for OpenSSL.  m must be the session's allocator; it is
 * entered for the duration. */
ws_crypto_status ws_crypto_verify(ws_mem *m, const ws_pkey *k, ws_alg alg,
                                  const uint8_t *data, size_t dlen,
                                  const uint8_t *sig, size_t slen);

/* Runs one verification of alg with k, on m (the allocator k was built on),
 * with a dummy in-range signature that is not expected to verify.  OpenSSL
 * fills some caches inside a key lazily on first use (the EVP_PKEY's
 * provider-key cache, the RSA Montgomery context); doing that first use at
 * load time keeps every such allocation out of sessions.  Returns
 * WS_CRYPTO_OK when the verification ran to a verdict, else WS_CRYPTO_NOMEM
 * or WS_CRYPTO_ERROR (alg does not suit k, or OpenSSL failed). */
ws_crypto_status ws_crypto_warmup(ws_mem *m, const ws_pkey *k, ws_alg alg);

/* SHA-1 (for Sec-WebSocket-Accept, RFC 6455 4.2.2). 0 or -1 (NOMEM/error;
 * *nomem tells which). */
int ws_crypto_sha1(ws_mem *m, const uint8_t *data, size_t len, uint8_t out[20],
                   int *nomem);

/* Installs OpenSSL's allocation trampolines and fetches/caches the digests
 * and MAC used later; WS_OK or WS_ERR_CRYPTO. */
int ws_crypto_global_init(void);
/* 1 once ws_crypto_global_init has installed the trampolines (read from
 * OpenSSL itself: the core keeps no flag of its own). */
int ws_crypto_ready(void);

#endif
