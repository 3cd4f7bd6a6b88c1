/* Test-only JWS/JWT signing with OpenSSL, for tests and corpus generators.
 *
 * Keys are the committed TEST-ONLY material in tests/keys/ (see gen.sh there):
 * "hs256", "hs384", "hs512" (HMAC secrets, <name>.key), "rs256", "ps256"
 * (RSA 2048), "es256" (P-256), "ed25519" (Ed25519) (<name>.pem).  The public
 * halves are tests/keys/jwks.json, with the same names as kids.
 *
 * Every function calls tu_global_init() first (OpenSSL's allocation hooks
 * must be installed before OpenSSL allocates), returns malloc'd memory the
 * caller frees with free(), and aborts with a message on any failure: a
 * fixture that cannot be built is a broken test, not a test result. */
#ifndef WS_TOKENS_H
#define WS_TOKENS_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h" /* ws_alg */

/* Unpadded base64url of p[0..n), NUL-terminated. */
char *tok_b64url(const void *p, size_t n);

/* Signs input[0..len) with alg and the private key named key (see above).
 * Writes the JWS signature (r||s for ES256, RFC 7518 3.4) into sig (cap
 * bytes) and returns its length. */
size_t tok_raw_sign(ws_alg alg, const char *key, const uint8_t *input,
                    size_t len, uint8_t *sig, size_t cap);

/* BASE64URL(header_json) "." BASE64URL(claims_json): the JWS signing
 * input (RFC 7515 5.1 step 5). */
char *tok_signing_input(const char *header_json, const char *claims_json);

/* BASE64URL(header_json) "." BASE64URL(claims_json) "." BASE64URL(sig):
 * a token with any signature bytes. */
char *tok_compose(const char *header_json, const char *claims_json,
                  const uint8_t *sig, size_t slen);

/* A compact JWS of header_json and claims_json (both used verbatim, so they
 * may lie about alg or kid) signed with alg and the key named key. */
char *tok_sign(ws_alg alg, const char *key, const char *header_json,
               const char *claims_json);

/* A token of claims_json under the header {"alg":<alg>,"kid":<key>,
 * "typ":"JWT"}, signed with alg and the key named key. */
char *tok_sign_jwt(ws_alg alg, const char *key, const char *claims_json);

/* The same with an HMAC alg and an explicit secret (e.g. another key's
 * public bytes, for algorithm-confusion tests). */
char *tok_sign_hmac(ws_alg alg, const uint8_t *secret, size_t slen,
                    const char *header_json, const char *claims_json);

/* DER Ecdsa-Sig-Value (RFC 3279 2.2.3) of a 64-byte r||s: the encoding a
 * JWS must not use.  Returns its length (at most 72). */
size_t tok_ecdsa_der(const uint8_t rs[64], uint8_t *der, size_t cap);

/* Reads tests/keys/<name>.<ext> (NUL-terminated, malloc'd). */
char *tok_key_file(const char *name, const char *ext, size_t *len);

#endif
