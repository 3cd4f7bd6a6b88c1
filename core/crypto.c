/* OpenSSL adapter: the only core file that includes OpenSSL (POLICY §7).
 *
 * Three things shape this file.
 *
 * Attribution.  OpenSSL allocates through the trampolines installed by
 * ws_crypto_global_init, which forward to the ws_mem entered on this thread.
 * Every OpenSSL call below runs with the caller's ws_mem entered, and the
 * caller's failure counter is compared before and after: OpenSSL can turn an
 * allocation failure into "signature does not verify" (EVP_DigestVerifyFinal
 * returns 0 when duplicating its context fails), so a moved counter means
 * WS_CRYPTO_NOMEM whatever OpenSSL answered.
 *
 * Nothing lazy inside a session.  OpenSSL 3.0 fills process-wide caches on
 * first use (method store, name map) and does not survive an allocation
 * failure there; it also fills caches inside a key on its first use (the
 * EVP_PKEY provider-key cache, the RSA Montgomery context).  Global init runs
 * every algorithm once; key loading runs every (key, alg) once
 * (ws_crypto_warmup).  Two things would still outlive a session if charged
 * to it: OpenSSL's per-thread error state (always allocated on libc, see
 * thread_state_file) and the cache entries OpenSSL rebuilds on an error path
 * (after a failed allocation the rest of the call runs on libc, see
 * after_failure).
 *
 * Per-verify cost.  Digests, the HMAC states keyed with the secret and the
 * verification contexts are prepared once per key and shared read-only by
 * all sessions; a verification only duplicates them, and fetches nothing by
 * name (each fetch takes global locks). */
#include "crypto.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/params.h>
#include <string.h>

#define WS_RSA_MIN_BITS 2048
#define WS_RSA_MAX_BITS 16384 /* OPENSSL_RSA_MAX_MODULUS_BITS */
#define WS_HMAC_MAX 64

struct ws_pkey {
  ws_kty kty;
  EVP_PKEY *pkey; /* RSA, EC P-256, Ed25519 */
  EVP_MD *sha256; /* RS256, PS256, ES256 */
  /* Verification contexts initialised once with the key and the padding
   * (index 1: PS256; 0: RS256, ES256 or EdDSA); a verification copies one,
   * which fetches nothing by name (see verify_template). */
  EVP_MD_CTX *vtmpl[2];
  EVP_MAC_CTX *hmac[3]; /* oct: HMAC-SHA-256/384/512 keyed with the secret */
  size_t secret_len;    /* oct */
  uint8_t *rsa_n;       /* RSA: modulus, big-endian, rsa_len bytes (on m) */
  size_t rsa_len;
};

/* ---- names ---- */

/* Character arrays, not pointers: the table needs no relocation and stays
 * read-only (no writable data in the core, POLICY §7). */
static const char alg_names[WS_ALG_COUNT_][6] = {
    "", "HS256", "HS384", "HS512", "RS256", "PS256", "ES256", "EdDSA"};

ws_alg ws_alg_from_name(const char *name, size_t len) {
  int a;
  if (!name) return WS_ALG_NONE_;
  /* RFC 7515 4.1.1: alg values are case-sensitive. */
  for (a = 1; a < (int)WS_ALG_COUNT_; a++)
    if (strlen(alg_names[a]) == len && memcmp(alg_names[a], name, len) == 0)
      return (ws_alg)a;
  return WS_ALG_NONE_;
}

const char *ws_alg_name(ws_alg a) {
  if ((int)a <= 0 || (int)a >= (int)WS_ALG_COUNT_) return NULL;
  return alg_names[a];
}

/* ---- entering an allocator around OpenSSL ---- */

/* Makes sure this thread's OpenSSL error state exists and belongs to libc
 * (ERR_clear_error creates it on first use), then enters m.  Returns the
 * allocator to restore. */
static ws_mem *crypto_enter_at(ws_mem *m, const char *file, int line,
                               const char *func) {
  ws_mem *prev = ws_mem_enter(NULL);
  ERR_clear_error();
  ws_mem_enter_dep_at(m, "OpenSSL", file, line, func);
  return prev;
}
#define crypto_enter(m) crypto_enter_at((m), WS_HERE)

/* Empties the error queue so nothing leaks into the next session's view,
 * then restores prev. */
static void crypto_leave(ws_mem *prev) {
  ERR_clear_error();
  ws_mem_leave(prev);
}

/* ---- keys ---- */

static const char hmac_digests[3][7] = {"SHA256", "SHA384", "SHA512"};
static const size_t hmac_lens[3] = {32, 48, 64};

/* Frees what OpenSSL holds for k (not k itself nor rsa_n). */
static void pkey_release(ws_pkey *k) {
  size_t i;
  EVP_PKEY_free(k->pkey);
  EVP_MD_free(k->sha256);
  for (i = 0; i < 3; i++) EVP_MAC_CTX_free(k->hmac[i]);
  for (i = 0; i < 2; i++) EVP_MD_CTX_free(k->vtmpl[i]);
}

void ws_pkey_free(ws_mem *m, ws_pkey *k) {
  ws_mem *prev;
  if (!k) return;
  prev = crypto_enter(m);
  pkey_release(k);
  crypto_leave(prev);
  ws_mem_free(m, k->rsa_n);
  ws_mem_free(m, k);
}

ws_kty ws_pkey_type(const ws_pkey *k) {
  return k->kty;
}

size_t ws_pkey_hmac_len(const ws_pkey *k) {
  return k->kty == WS_KTY_OCT ? k->secret_len : 0;
}

/* The build_* functions only talk to OpenSSL, on whatever allocator is
 * entered, so that global init can run them on libc with a key on its
 * stack.  They return 1 or 0, with a reason in *why when the key itself is
 * at fault. */

/* One HMAC state per hash, keyed once: a verification duplicates the state
 * instead of fetching the digest and hashing the padded key again. */
static int build_hmac(ws_pkey *key, const uint8_t *k, size_t klen) {
  int ok = 0;
  size_t i;
  EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
  if (!mac) return 0;
  for (i = 0; i < 3; i++) {
    OSSL_PARAM params[2];
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                                 (char *)hmac_digests[i], 0);
    params[1] = OSSL_PARAM_construct_end();
    key->hmac[i] = EVP_MAC_CTX_new(mac);
    if (!key->hmac[i] || EVP_MAC_init(key->hmac[i], k, klen, params) != 1)
      goto out;
  }
  ok = 1;
out:
  EVP_MAC_free(mac); /* each context holds its own reference */
  return ok;
}

/* Builds a provider-native public key of type name from params. */
static EVP_PKEY *pkey_fromdata(const char *name, OSSL_PARAM *params) {
  EVP_PKEY *pkey = NULL;
  EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, name, NULL);
  if (ctx && EVP_PKEY_fromdata_init(ctx) == 1 &&
      EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
    pkey = NULL;
  EVP_PKEY_CTX_free(ctx);
  return pkey;
}

/* A verification context for pkey, ready for data: EVP_DigestVerifyInit
 * fetches the signature algorithm, the key manager and the digest by name,
 * which costs locks and allocations on every call and, in OpenSSL 3.0, may
 * rebuild method-store cache entries; done once per key here, each
 * verification only copies the context (EVP_MD_CTX_copy_ex duplicates the
 * provider contexts and takes references).  pss selects RSASSA-PSS with
 * MGF1-SHA-256 and a 32-byte salt (RFC 7518 3.5). */
static EVP_MD_CTX *verify_template(EVP_PKEY *pkey, const EVP_MD *md, int pss) {
  EVP_MD_CTX *c = EVP_MD_CTX_new();
  EVP_PKEY_CTX *pctx = NULL;
  if (!c || EVP_DigestVerifyInit(c, &pctx, md, NULL, pkey) != 1) goto fail;
  if (pss) {
    int saltlen = 32;
    OSSL_PARAM params[4];
    params[0] = OSSL_PARAM_construct_utf8_string(
        OSSL_SIGNATURE_PARAM_PAD_MODE, (char *)OSSL_PKEY_RSA_PAD_MODE_PSS, 0);
    params[1] = OSSL_PARAM_construct_utf8_string(
        OSSL_SIGNATURE_PARAM_MGF1_DIGEST, (char *)"SHA256", 0);
    params[2] =
        OSSL_PARAM_construct_int(OSSL_SIGNATURE_PARAM_PSS_SALTLEN, &saltlen);
    params[3] = OSSL_PARAM_construct_end();
    if (EVP_PKEY_CTX_set_params(pctx, params) != 1) goto fail;
  }
  /* Copies finish in place: without the flag the final step of each
   * verification would duplicate the context once more. */
  EVP_MD_CTX_set_flags(c, EVP_MD_CTX_FLAG_FINALISE);
  return c;
fail:
  EVP_MD_CTX_free(c);
  return NULL;
}

/* n and e are minimal big-endian and already checked (rsa_check). */
static int build_rsa(ws_pkey *key, const uint8_t *n, size_t nlen,
                     const uint8_t *e, size_t elen) {
  int ok = 0;
  BIGNUM *bn_n = BN_bin2bn(n, (int)nlen, NULL);
  BIGNUM *bn_e = BN_bin2bn(e, (int)elen, NULL);
  OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
  OSSL_PARAM *params = NULL;
  if (!bn_n || !bn_e || !bld ||
      !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) ||
      !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e) ||
      !(params = OSSL_PARAM_BLD_to_param(bld)))
    goto out;
  if (!(key->pkey = pkey_fromdata("RSA", params))) goto out;
  if (!(key->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL))) goto out;
  if (!(key->vtmpl[0] = verify_template(key->pkey, key->sha256, 0)) ||
      !(key->vtmpl[1] = verify_template(key->pkey, key->sha256, 1)))
    goto out;
  ok = 1;
out:
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(bld);
  BN_free(bn_n);
  BN_free(bn_e);
  return ok;
}

static int build_ec_p256(ws_pkey *key, const uint8_t *x, const uint8_t *y,
                         const char **why) {
  int ok = 0;
  EVP_PKEY_CTX *check = NULL;
  uint8_t point[65];
  OSSL_PARAM params[3];
  point[0] = 0x04; /* SEC 1 2.3.3: uncompressed point */
  memcpy(point + 1, x, 32);
  memcpy(point + 33, y, 32);
  params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME,
                                               (char *)"prime256v1", 0);
  params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point,
                                                sizeof(point));
  params[2] = OSSL_PARAM_construct_end();
  /* Decoding the point checks that the coordinates are below p and that
   * the point is on the curve (SEC 1 3.2.2.1); the public check states it
   * explicitly.  Only verifying, an invalid-curve point leaks nothing, but a
   * key that can verify nothing is a configuration error. */
  if (!(key->pkey = pkey_fromdata("EC", params))) {
    *why = "P-256 point is not on the curve";
    goto out;
  }
  if (!(check = EVP_PKEY_CTX_new_from_pkey(NULL, key->pkey, NULL))) goto out;
  if (EVP_PKEY_public_check(check) != 1) {
    *why = "P-256 point is not a valid public key";
    goto out;
  }
  if (!(key->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL))) goto out;
  if (!(key->vtmpl[0] = verify_template(key->pkey, key->sha256, 0))) goto out;
  ok = 1;
out:
  EVP_PKEY_CTX_free(check);
  return ok;
}

static int build_ed25519(ws_pkey *key, const uint8_t *x) {
  /* OpenSSL does not decode the point here; one that does not decode never
   * verifies (RFC 8032 5.1.7 step 1). */
  key->pkey = EVP_PKEY_new_raw_public_key_ex(NULL, "ED25519", NULL, x, 32);
  /* RFC 8032 5.1: PureEdDSA hashes inside the algorithm; no digest here. */
  return key->pkey && (key->vtmpl[0] = verify_template(key->pkey, NULL, 0));
}

/* Validates RSA components (already stripped of leading zeros). */
static const char *rsa_check(const uint8_t *n, size_t nlen, const uint8_t *e,
                             size_t elen) {
  /* RFC 7518 3.3: "A key of size 2048 bits or larger MUST be used". */
  if (nlen < WS_RSA_MIN_BITS / 8 ||
      (nlen == WS_RSA_MIN_BITS / 8 && !(n[0] & 0x80)))
    return "RSA modulus shorter than 2048 bits";
  if (nlen > WS_RSA_MAX_BITS / 8) return "RSA modulus longer than 16384 bits";
  /* RSAVP1 needs an odd modulus (and so does Montgomery arithmetic). */
  if (!(n[nlen - 1] & 1)) return "RSA modulus is even";
  /* An exponent must be odd and above 1 to be an RSA exponent at all; more
   * than 64 bits is refused by OpenSSL for large moduli and unseen in
   * practice.  SP 800-56B's e >= 65537 is not imposed: RFC 7518 does not
   * ask for it, and e = 3 keys exist. */
  if (elen == 0 || elen > 8 || !(e[elen - 1] & 1) || (elen == 1 && e[0] == 1))
    return "RSA exponent is not an odd number from 3 to 2^64";
  return NULL;
}

/* Allocates a zeroed key of type kty on m. */
static ws_pkey *pkey_new(ws_mem *m, ws_kty kty) {
  ws_pkey *key = ws_mem_calloc(m, 1, sizeof(*key));
  if (key) key->kty = kty;
  return key;
}

/* The shared tail of the constructors: ok is what build_* said.  An
 * allocation that failed on m makes it WS_CRYPTO_NOMEM even when OpenSSL
 * absorbed it. */
static ws_crypto_status build_done(ws_mem *m, ws_mem *prev,
                                   unsigned long before, ws_pkey *key, int ok,
                                   ws_pkey **out, const char **why,
                                   const char *fallback) {
  ws_crypto_status st = ok ? WS_CRYPTO_OK : WS_CRYPTO_ERROR;
  if (ws_mem_failures(m) != before) st = WS_CRYPTO_NOMEM;
  if (st != WS_CRYPTO_OK) pkey_release(key);
  crypto_leave(prev);
  if (st == WS_CRYPTO_OK) {
    *out = key;
    return st;
  }
  *why = st == WS_CRYPTO_NOMEM ? NULL : (*why ? *why : fallback);
  ws_mem_free(m, key->rsa_n);
  ws_mem_free(m, key);
  return st;
}

ws_crypto_status ws_pkey_hmac(ws_mem *m, const uint8_t *k, size_t klen,
                              ws_pkey **out, const char **why) {
  ws_pkey *key;
  ws_mem *prev;
  unsigned long before = ws_mem_failures(m);
  int ok;

  *out = NULL;
  *why = NULL;
  if (klen == 0) {
    *why = "empty HMAC secret";
    return WS_CRYPTO_ERROR;
  }
  if (!(key = pkey_new(m, WS_KTY_OCT))) return WS_CRYPTO_NOMEM;
  key->secret_len = klen;
  prev = crypto_enter(m);
  ok = build_hmac(key, k, klen);
  return build_done(m, prev, before, key, ok, out, why,
                    "OpenSSL refused the HMAC secret");
}

ws_crypto_status ws_pkey_rsa(ws_mem *m, const uint8_t *n, size_t nlen,
                             const uint8_t *e, size_t elen, ws_pkey **out,
                             const char **why) {
  ws_pkey *key;
  ws_mem *prev;
  unsigned long before = ws_mem_failures(m);
  int ok;

  *out = NULL;
  *why = NULL;
  while (nlen > 0 && n[0] == 0) {
    n++;
    nlen--;
  }
  while (elen > 0 && e[0] == 0) {
    e++;
    elen--;
  }
  if ((*why = rsa_check(n, nlen, e, elen)) != NULL) return WS_CRYPTO_ERROR;
  if (!(key = pkey_new(m, WS_KTY_RSA))) return WS_CRYPTO_NOMEM;
  /* RFC 8017 8.2.2 step 1 wants the signature exactly as long as the
   * modulus; keeping the modulus also lets ws_crypto_verify check the range
   * (RSAVP1 step 1) without OpenSSL. */
  if (!(key->rsa_n = ws_mem_malloc(m, nlen))) {
    ws_mem_free(m, key);
    return WS_CRYPTO_NOMEM;
  }
  memcpy(key->rsa_n, n, nlen);
  key->rsa_len = nlen;
  prev = crypto_enter(m);
  ok = build_rsa(key, n, nlen, e, elen);
  return build_done(m, prev, before, key, ok, out, why,
                    "OpenSSL refused the RSA key");
}

ws_crypto_status ws_pkey_ec_p256(ws_mem *m, const uint8_t *x, size_t xlen,
                                 const uint8_t *y, size_t ylen, ws_pkey **out,
                                 const char **why) {
  ws_pkey *key;
  ws_mem *prev;
  unsigned long before = ws_mem_failures(m);
  int ok;

  *out = NULL;
  *why = NULL;
  /* RFC 7518 6.2.1.2/6.2.1.3: each coordinate is the full field size. */
  if (xlen != 32 || ylen != 32) {
    *why = "P-256 coordinates must be 32 bytes";
    return WS_CRYPTO_ERROR;
  }
  if (!(key = pkey_new(m, WS_KTY_EC_P256))) return WS_CRYPTO_NOMEM;
  prev = crypto_enter(m);
  ok = build_ec_p256(key, x, y, why);
  return build_done(m, prev, before, key, ok, out, why,
                    "OpenSSL refused the EC key");
}

ws_crypto_status ws_pkey_ed25519(ws_mem *m, const uint8_t *x, size_t xlen,
                                 ws_pkey **out, const char **why) {
  ws_pkey *key;
  ws_mem *prev;
  unsigned long before = ws_mem_failures(m);
  int ok;

  *out = NULL;
  *why = NULL;
  /* RFC 8037 2: x is the 32-byte encoded public key. */
  if (xlen != 32) {
    *why = "Ed25519 public key must be 32 bytes";
    return WS_CRYPTO_ERROR;
  }
  if (!(key = pkey_new(m, WS_KTY_OKP_ED25519))) return WS_CRYPTO_NOMEM;
  prev = crypto_enter(m);
  ok = build_ed25519(key, x);
  return build_done(m, prev, before, key, ok, out, why,
                    "OpenSSL refused the Ed25519 key");
}

/* ---- verification ---- */

/* P-256 group order n (SEC 2 2.4.2), big-endian. */
static const uint8_t p256_order[32] = {
    0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xBC, 0xE6, 0xFA, 0xAD, 0xA7, 0x17,
    0x9E, 0x84, 0xF3, 0xB9, 0xCA, 0xC2, 0xFC, 0x63, 0x25, 0x51};

/* Orders two n-byte big-endian integers: <0, 0, >0.  A loop rather than
 * memcmp: AFL++'s LAF-Intel compare transform (AFL_LLVM_LAF_ALL, which
 * OSS-Fuzz turns on at random) rewrites memcmp against a constant array as a
 * string compare that stops at the first zero byte, and the P-256 order has
 * zero bytes. */
static int be_cmp(const uint8_t *a, const uint8_t *b, size_t n) {
  size_t i;
  for (i = 0; i < n; i++)
    if (a[i] != b[i]) return a[i] < b[i] ? -1 : 1;
  return 0;
}

static int is_zero(const uint8_t *p, size_t n) {
  uint8_t acc = 0;
  size_t i;
  for (i = 0; i < n; i++) acc |= p[i];
  return acc == 0;
}

/* Appends a DER INTEGER holding the unsigned big-endian value v[0..n)
 * (non-zero): minimal length, with a 0x00 when the top bit is set (X.690
 * 8.3).  At most 2 + 33 bytes. */
static size_t der_uint(uint8_t *out, const uint8_t *v, size_t n) {
  size_t pad;
  while (n > 1 && v[0] == 0) {
    v++;
    n--;
  }
  pad = (v[0] & 0x80) ? 1 : 0;
  out[0] = 0x02;
  out[1] = (uint8_t)(n + pad);
  if (pad) out[2] = 0x00;
  memcpy(out + 2 + pad, v, n);
  return 2 + pad + n;
}

/* RFC 7518 3.4: the JWS signature is r||s, 32 bytes each for P-256; OpenSSL
 * wants Ecdsa-Sig-Value (RFC 3279 2.2.3).  r, s are known non-zero. */
static size_t ecdsa_to_der(const uint8_t rs[64], uint8_t der[72]) {
  size_t len = 2;
  len += der_uint(der + len, rs, 32);
  len += der_uint(der + len, rs + 32, 32);
  der[0] = 0x30;
  der[1] = (uint8_t)(len - 2); /* <= 70: short form */
  return len;
}

static ws_crypto_status verify_hmac(const ws_pkey *k, int idx,
                                    const uint8_t *data, size_t dlen,
                                    const uint8_t *sig) {
  ws_crypto_status st = WS_CRYPTO_ERROR;
  uint8_t mac[WS_HMAC_MAX];
  size_t mlen = 0;
  EVP_MAC_CTX *c = EVP_MAC_CTX_dup(k->hmac[idx]);
  if (c && EVP_MAC_update(c, data, dlen) == 1 &&
      EVP_MAC_final(c, mac, &mlen, sizeof(mac)) == 1 &&
      mlen == hmac_lens[idx]) {
    /* Constant time, so the comparison leaks nothing about the tag. */
    st = CRYPTO_memcmp(mac, sig, mlen) == 0 ? WS_CRYPTO_OK : WS_CRYPTO_BAD_SIG;
  }
  EVP_MAC_CTX_free(c);
  OPENSSL_cleanse(mac, sizeof(mac));
  return st;
}

/* FIPS 186-4 6.4.2 step 5: when u1*G + u2*Q is the point at infinity the
 * signature is invalid; OpenSSL reports that case as an error (-1) rather
 * than as "does not verify" (Wycheproof ECDSA tcId 169). */
static int is_point_at_infinity(void) {
  unsigned long e;
  int found = 0;
  /* The queue holds only this call's errors (crypto_enter cleared it); the
   * cause is the first one, wrapped by later ones. */
  while ((e = ERR_get_error()) != 0)
    if (ERR_GET_LIB(e) == ERR_LIB_EC &&
        ERR_GET_REASON(e) == EC_R_POINT_AT_INFINITY)
      found = 1;
  return found;
}

static ws_crypto_status verify_pkey(const ws_pkey *k, ws_alg alg,
                                    const uint8_t *data, size_t dlen,
                                    const uint8_t *sig, size_t slen) {
  ws_crypto_status st = WS_CRYPTO_ERROR;
  EVP_MD_CTX *mctx = EVP_MD_CTX_new();
  int r;
  /* The template is shared read-only by every session; the copy is ours. */
  if (!mctx || EVP_MD_CTX_copy_ex(mctx, k->vtmpl[alg == WS_ALG_PS256]) != 1)
    goto out;
  r = EVP_DigestVerify(mctx, sig, slen, data, dlen);
  if (r == 1)
    st = WS_CRYPTO_OK;
  else if (r == 0 || (alg == WS_ALG_ES256 && is_point_at_infinity()))
    st = WS_CRYPTO_BAD_SIG;
out:
  EVP_MD_CTX_free(mctx);
  return st;
}

/* Checks a signature's length and range for alg on k without OpenSSL.
 * WS_CRYPTO_OK when it may go on to OpenSSL. */
static ws_crypto_status sig_precheck(const ws_pkey *k, ws_alg alg,
                                     const uint8_t *sig, size_t slen) {
  switch (alg) {
    case WS_ALG_HS256:
    case WS_ALG_HS384:
    case WS_ALG_HS512:
      if (k->kty != WS_KTY_OCT) return WS_CRYPTO_ERROR;
      /* RFC 7518 3.2: the whole HMAC output is the signature; a truncated
       * tag is not an HS256/384/512 signature. */
      if (slen != hmac_lens[alg - WS_ALG_HS256]) return WS_CRYPTO_SIG_ENCODING;
      return WS_CRYPTO_OK;
    case WS_ALG_RS256:
    case WS_ALG_PS256:
      if (k->kty != WS_KTY_RSA) return WS_CRYPTO_ERROR;
      /* RFC 8017 8.2.2 step 1 (8.1.2 for PSS): length k octets. */
      if (slen != k->rsa_len) return WS_CRYPTO_SIG_ENCODING;
      /* RSAVP1 step 1 (RFC 8017 5.2.2): s must be below n, or it is
       * "signature representative out of range": invalid signature. */
      if (be_cmp(sig, k->rsa_n, slen) >= 0) return WS_CRYPTO_BAD_SIG;
      return WS_CRYPTO_OK;
    case WS_ALG_ES256:
      if (k->kty != WS_KTY_EC_P256) return WS_CRYPTO_ERROR;
      /* RFC 7518 3.4: exactly 64 octets, r||s; DER is the wrong encoding. */
      if (slen != 64) return WS_CRYPTO_SIG_ENCODING;
      /* FIPS 186-4 6.4.2 step 1 (CVE-2022-21449 is what skipping it does):
       * 0 < r, s < n, checked here so it never depends on the library. */
      if (is_zero(sig, 32) || is_zero(sig + 32, 32) ||
          be_cmp(sig, p256_order, 32) >= 0 ||
          be_cmp(sig + 32, p256_order, 32) >= 0)
        return WS_CRYPTO_SIG_RANGE;
      return WS_CRYPTO_OK;
    case WS_ALG_EDDSA:
      if (k->kty != WS_KTY_OKP_ED25519) return WS_CRYPTO_ERROR;
      /* RFC 8032 5.1.7: a 64-octet signature. */
      if (slen != 64) return WS_CRYPTO_SIG_ENCODING;
      return WS_CRYPTO_OK;
    default: return WS_CRYPTO_ERROR;
  }
}

/* Precheck and verification on whatever allocator is entered. */
static ws_crypto_status verify_any(const ws_pkey *k, ws_alg alg,
                                   const uint8_t *data, size_t dlen,
                                   const uint8_t *sig, size_t slen) {
  uint8_t der[72];
  ws_crypto_status st = sig_precheck(k, alg, sig, slen);
  if (st != WS_CRYPTO_OK) return st;
  switch (alg) {
    case WS_ALG_HS256:
    case WS_ALG_HS384:
    case WS_ALG_HS512:
      return verify_hmac(k, (int)(alg - WS_ALG_HS256), data, dlen, sig);
    case WS_ALG_ES256:
      return verify_pkey(k, alg, data, dlen, der, ecdsa_to_der(sig, der));
    default: return verify_pkey(k, alg, data, dlen, sig, slen);
  }
}

ws_crypto_status ws_crypto_verify(ws_mem *m, const ws_pkey *k, ws_alg alg,
                                  const uint8_t *data, size_t dlen,
                                  const uint8_t *sig, size_t slen) {
  ws_crypto_status st;
  ws_mem *prev;
  unsigned long before;

  if (!k || (!data && dlen) || (!sig && slen)) return WS_CRYPTO_ERROR;
  /* Length and range first: a malformed signature costs no OpenSSL call. */
  st = sig_precheck(k, alg, sig, slen);
  if (st != WS_CRYPTO_OK) return st;
  prev = crypto_enter(m);
  before = ws_mem_failures(m);
  st = verify_any(k, alg, data, dlen, sig, slen);
  if (ws_mem_failures(m) != before) st = WS_CRYPTO_NOMEM;
  crypto_leave(prev);
  return st;
}

/* Writes a dummy signature for alg on k into sig (zeroed, big enough for
 * the largest RSA modulus), in range so that the verification runs to the
 * end: zero for HMAC and EdDSA, 1 for RSA, r = s = 1 for ECDSA.  Returns its
 * length, 0 when alg does not suit k. */
static size_t dummy_sig(const ws_pkey *k, ws_alg alg, uint8_t *sig) {
  switch (alg) {
    case WS_ALG_HS256:
    case WS_ALG_HS384:
    case WS_ALG_HS512:
      return k->kty == WS_KTY_OCT ? hmac_lens[alg - WS_ALG_HS256] : 0;
    case WS_ALG_RS256:
    case WS_ALG_PS256:
      if (k->kty != WS_KTY_RSA) return 0;
      sig[k->rsa_len - 1] = 1;
      return k->rsa_len;
    case WS_ALG_ES256:
      sig[31] = 1;
      sig[63] = 1;
      return 64;
    case WS_ALG_EDDSA: return 64;
    default: return 0;
  }
}

static const uint8_t warm_msg[] = "wsgate warm-up";

ws_crypto_status ws_crypto_warmup(ws_mem *m, const ws_pkey *k, ws_alg alg) {
  uint8_t sig[WS_RSA_MAX_BITS / 8];
  size_t slen;
  ws_crypto_status st;

  if (!k) return WS_CRYPTO_ERROR;
  memset(sig, 0, sizeof(sig));
  if ((slen = dummy_sig(k, alg, sig)) == 0) return WS_CRYPTO_ERROR;
  st = ws_crypto_verify(m, k, alg, warm_msg, sizeof(warm_msg) - 1, sig, slen);
  return st == WS_CRYPTO_BAD_SIG ? WS_CRYPTO_OK : st;
}

/* ---- SHA-1 ---- */

int ws_crypto_sha1(ws_mem *m, const uint8_t *data, size_t len, uint8_t out[20],
                   int *nomem) {
  ws_mem *prev;
  unsigned long before = ws_mem_failures(m);
  unsigned int olen = 0;
  int ok;

  *nomem = 0;
  prev = crypto_enter(m);
  ok = EVP_Digest(data, len, out, &olen, EVP_sha1(), NULL) == 1 && olen == 20;
  if (ws_mem_failures(m) != before) {
    *nomem = 1;
    ok = 0;
  }
  crypto_leave(prev);
  return ok ? 0 : -1;
}

/* ---- process-wide setup ---- */

/* After an allocation failed inside an OpenSSL call, the rest of that call
 * allocates on libc (crypto_leave restores the caller's allocator).  OpenSSL
 * 3.0's error paths may rebuild process-wide state: when the temporary copy
 * a name lookup makes cannot be allocated, the fetch falls back to the slow
 * path and replaces the method-store cache entry with a new one.  Made on
 * the session's allocator, that entry would outlive the session (a leak
 * charged to it, then a free through a dead allocator).  The failure is
 * already counted on the session, so the verdict stays WS_CRYPTO_NOMEM. */
static void *after_failure(void *p) {
  if (!p && ws_mem_current()) ws_mem_enter(NULL);
  return p;
}

/* OpenSSL's per-thread state lives as long as the thread: the error queue
 * with its file/function copies and data strings (crypto/err/: an error
 * with data, such as a PSS salt-length mismatch, leaves a 1 KiB buffer in
 * its slot for reuse) and the thread-exit handlers (crypto/initthread.c).
 * Those allocations are made on libc whatever session is entered, or they
 * would outlive the session they were charged to.  The hooks name the
 * calling file (OPENSSL_FILE).  Were file names compiled out of OpenSSL,
 * crypto_enter still creates the state itself on libc, and test_wycheproof
 * (PSS vectors) would catch a data string left on a session. */
static int thread_state_file(const char *file) {
  return file &&
         (strstr(file, "crypto/err/") || strstr(file, "crypto/initthread.c"));
}

/* Names OpenSSL's own call site on the entered allocator (ws_alloc_site). */
static void note_site(const char *file, int line) {
  ws_mem *m = ws_mem_current();
  if (!m) return;
  m->dep_file = file;
  m->dep_line = line;
}

static void *tramp_malloc(size_t n, const char *file, int line) {
  ws_mem *prev;
  void *p;
  if (!thread_state_file(file)) {
    note_site(file, line);
    return after_failure(ws_dep_malloc(n));
  }
  prev = ws_mem_enter(NULL);
  p = ws_dep_malloc(n);
  ws_mem_leave(prev);
  return p;
}

static void *tramp_realloc(void *p, size_t n, const char *file, int line) {
  ws_mem *prev;
  void *q;
  /* An existing block stays with its allocator (ws_dep_realloc); only a
   * new one (p NULL) depends on what is entered. */
  if (!thread_state_file(file)) {
    note_site(file, line);
    return after_failure(ws_dep_realloc(p, n));
  }
  prev = ws_mem_enter(NULL);
  q = ws_dep_realloc(p, n);
  ws_mem_leave(prev);
  return q;
}

static void tramp_free(void *p, const char *file, int line) {
  (void)file;
  (void)line;
  ws_dep_free(p);
}

/* Public material for the warm-up verifications only (nothing verifies with
 * it): an all-ones 2048-bit modulus, the P-256 base point (SEC 2 2.4.2) and
 * the Ed25519 base point (RFC 8032 5.1). */
static const uint8_t warm_e[3] = {0x01, 0x00, 0x01};
static const uint8_t warm_gx[32] = {
    0x6B, 0x17, 0xD1, 0xF2, 0xE1, 0x2C, 0x42, 0x47, 0xF8, 0xBC, 0xE6,
    0xE5, 0x63, 0xA4, 0x40, 0xF2, 0x77, 0x03, 0x7D, 0x81, 0x2D, 0xEB,
    0x33, 0xA0, 0xF4, 0xA1, 0x39, 0x45, 0xD8, 0x98, 0xC2, 0x96};
static const uint8_t warm_gy[32] = {
    0x4F, 0xE3, 0x42, 0xE2, 0xFE, 0x1A, 0x7F, 0x9B, 0x8E, 0xE7, 0xEB,
    0x4A, 0x7C, 0x0F, 0x9E, 0x16, 0x2B, 0xCE, 0x33, 0x57, 0x6B, 0x31,
    0x5E, 0xCE, 0xCB, 0xB6, 0x40, 0x68, 0x37, 0xBF, 0x51, 0xF5};
static const uint8_t warm_ed[32] = {
    0x58, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
    0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
    0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66};

/* Verifies a dummy signature with k for alg; 1 when it ran to "does not
 * verify". */
static int warm_verify(const ws_pkey *k, ws_alg alg) {
  uint8_t sig[WS_RSA_MIN_BITS / 8];
  size_t slen;
  memset(sig, 0, sizeof(sig));
  slen = dummy_sig(k, alg, sig);
  return slen != 0 && verify_any(k, alg, warm_msg, sizeof(warm_msg) - 1, sig,
                                 slen) == WS_CRYPTO_BAD_SIG;
}

/* Runs SHA-1 and every algorithm once, on libc (entered by the caller), so
 * that OpenSSL's process-wide caches are filled outside any session and
 * belong to no session.  The keys live on this stack frame and are built by
 * the same code as real keys. */
static int warm_up(void) {
  ws_pkey k;
  uint8_t n[WS_RSA_MIN_BITS / 8], digest[20];
  unsigned int dlen = 0;
  const char *why = NULL;
  int ok;
  ws_alg a;

  memset(n, 0xFF, sizeof(n));
  if (EVP_Digest(n, sizeof(n), digest, &dlen, EVP_sha1(), NULL) != 1) return 0;

  memset(&k, 0, sizeof(k));
  k.kty = WS_KTY_OCT;
  k.secret_len = 64;
  ok = build_hmac(&k, n, 64);
  for (a = WS_ALG_HS256; ok && a <= WS_ALG_HS512; a++) ok = warm_verify(&k, a);
  pkey_release(&k);
  if (!ok) return 0;

  memset(&k, 0, sizeof(k));
  k.kty = WS_KTY_RSA;
  k.rsa_n = n;
  k.rsa_len = sizeof(n);
  ok = build_rsa(&k, n, sizeof(n), warm_e, sizeof(warm_e)) &&
       warm_verify(&k, WS_ALG_RS256) && warm_verify(&k, WS_ALG_PS256);
  pkey_release(&k);
  if (!ok) return 0;

  memset(&k, 0, sizeof(k));
  k.kty = WS_KTY_EC_P256;
  ok = build_ec_p256(&k, warm_gx, warm_gy, &why) &&
       warm_verify(&k, WS_ALG_ES256);
  pkey_release(&k);
  if (!ok) return 0;

  memset(&k, 0, sizeof(k));
  k.kty = WS_KTY_OKP_ED25519;
  ok = build_ed25519(&k, warm_ed) && warm_verify(&k, WS_ALG_EDDSA);
  pkey_release(&k);
  return ok;
}

int ws_crypto_ready(void) {
  CRYPTO_malloc_fn m = NULL;
  CRYPTO_realloc_fn r = NULL;
  CRYPTO_free_fn f = NULL;
  CRYPTO_get_mem_functions(&m, &r, &f);
  return m == tramp_malloc;
}

int ws_crypto_global_init(void) {
  CRYPTO_malloc_fn cur_malloc = NULL;
  CRYPTO_realloc_fn cur_realloc = NULL;
  CRYPTO_free_fn cur_free = NULL;
  ws_mem *prev;
  int rc;

  /* Idempotent: a second call finds the trampolines already in place (and
   * OpenSSL would refuse to install them again after its first
   * allocation). */
  CRYPTO_get_mem_functions(&cur_malloc, &cur_realloc, &cur_free);
  if (cur_malloc != tramp_malloc &&
      !CRYPTO_set_mem_functions(tramp_malloc, tramp_realloc, tramp_free))
    return WS_ERR_CRYPTO;
  prev = ws_mem_enter(NULL);
  rc = warm_up() ? WS_OK : WS_ERR_CRYPTO;
  ERR_clear_error();
  ws_mem_leave(prev);
  return rc;
}
