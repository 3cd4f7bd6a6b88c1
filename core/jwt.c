/* Compact JWS (RFC 7515) and JWT (RFC 7519) verification.
 *
 * The JOSE header is attacker-controlled input that chooses how it is
 * checked, so it is trusted for as little as possible: alg only selects
 * among the algorithms the key set allows for a key (never the key type),
 * kid only selects a key, and the key-carrying parameters (jwk, jku, x5u,
 * x5c) are never read.  The signature is verified before a single claim is
 * looked at.  Each failure maps to the AUTH_* diagnosis of the first check
 * that failed, in the order listed in jwt.h. */
#include "jwt.h"

#include <math.h>
#include <string.h>

#include "b64.h"
#include "context.h"
#include "json.h"

/* Maps a verification status to its diagnosis. */
static ws_diag crypto_diag(ws_crypto_status st) {
  switch (st) {
    case WS_CRYPTO_OK: return WS_DIAG_NONE;
    case WS_CRYPTO_BAD_SIG: return WS_DIAG_AUTH_SIG_INVALID;
    case WS_CRYPTO_SIG_ENCODING: return WS_DIAG_AUTH_SIG_ENCODING;
    case WS_CRYPTO_SIG_RANGE: return WS_DIAG_AUTH_SIG_RANGE;
    case WS_CRYPTO_NOMEM: return WS_DIAG_AUTH_NOMEM;
    default: return WS_DIAG_AUTH_INTERNAL;
  }
}

static ws_diag json_diag(ws_json_status st, ws_diag syntax) {
  return st == WS_JSON_NOMEM ? WS_DIAG_AUTH_NOMEM : syntax;
}

/* Key selection and signature check (RFC 7515 5.2 steps 8, 10-11 as far as
 * they apply to compact serialization with a key set). */
static ws_diag verify_sig(ws_mem *m, const ws_keyset *ks, const ws_json *hdr,
                          ws_alg alg, const uint8_t *input, size_t ilen,
                          const uint8_t *sig, size_t slen) {
  const ws_json *kidv = ws_json_get(hdr, "kid");
  ws_crypto_status st, seen = WS_CRYPTO_OK;
  size_t i, kid_len = 0, tried = 0;
  const char *kid = NULL;

  if (kidv) {
    /* RFC 7515 4.1.4: kid is a string; anything else names no key. */
    if (!(kid = ws_json_string(kidv, &kid_len)))
      return WS_DIAG_AUTH_KEY_UNKNOWN;
    for (i = 0; i < ks->n; i++) {
      const ws_key *k = &ks->keys[i];
      if (!k->kid || k->kid_len != kid_len || memcmp(k->kid, kid, kid_len) != 0)
        continue;
      /* The algorithm must be one the key is for (RFC 7517 4.4, RFC 8725
       * 3.1): an HS256 token naming an RSA key must not turn the public
       * key into an HMAC secret. */
      if (!(k->algs & WS_ALG_BIT(alg))) return WS_DIAG_AUTH_ALG_KEY_MISMATCH;
      return crypto_diag(
          ws_crypto_verify(m, k->pkey, alg, input, ilen, sig, slen));
    }
    return WS_DIAG_AUTH_KEY_UNKNOWN;
  }
  /* No kid: every key allowed for alg is a candidate; the first that
   * verifies wins.  If none does, a verdict they all agree on (say, the
   * wrong length for ES256) is reported as such, and mixed verdicts (RSA
   * keys of different sizes) as "does not verify". */
  for (i = 0; i < ks->n; i++) {
    const ws_key *k = &ks->keys[i];
    if (!(k->algs & WS_ALG_BIT(alg))) continue;
    st = ws_crypto_verify(m, k->pkey, alg, input, ilen, sig, slen);
    if (st == WS_CRYPTO_OK || st == WS_CRYPTO_NOMEM || st == WS_CRYPTO_ERROR)
      return crypto_diag(st);
    if (tried++ == 0)
      seen = st;
    else if (seen != st)
      seen = WS_CRYPTO_BAD_SIG;
  }
  return tried ? crypto_diag(seen) : WS_DIAG_AUTH_KEY_UNKNOWN;
}

/* Checks the parsed JOSE header and the signature. */
static ws_diag check_header(ws_mem *m, const ws_keyset *ks, const ws_json *hdr,
                            const uint8_t *input, size_t ilen,
                            const uint8_t *sig, size_t slen) {
  const ws_json *v;
  const char *name;
  size_t len;
  ws_alg alg;

  /* RFC 7515 4.1.1: alg is required, a case-sensitive string.  "none"
   * (RFC 7518 3.6) is refused by name so the diagnosis says so. */
  if (!(name = ws_json_string(ws_json_get(hdr, "alg"), &len)))
    return WS_DIAG_AUTH_ALG_UNKNOWN;
  if (len == 4 && memcmp(name, "none", 4) == 0) return WS_DIAG_AUTH_ALG_NONE;
  if ((alg = ws_alg_from_name(name, len)) == WS_ALG_NONE_)
    return WS_DIAG_AUTH_ALG_UNKNOWN;
  /* RFC 7797 3: b64 false means the payload is not base64url; only the
   * default (true) is supported, and anything but the JSON true is not
   * it.  Checked before crit, which a b64 header must also carry. */
  if ((v = ws_json_get(hdr, "b64")) != NULL && !ws_json_is_true(v))
    return WS_DIAG_AUTH_B64_FALSE;
  /* RFC 7515 4.1.11: a recipient must reject a JWS whose crit lists an
   * extension it does not understand, and we understand none; an empty or
   * malformed crit is invalid too. */
  if (ws_json_get(hdr, "crit")) return WS_DIAG_AUTH_CRIT;
  return verify_sig(m, ks, hdr, alg, input, ilen, sig, slen);
}

ws_diag ws_jws_verify(ws_mem *m, const ws_config *cfg, const ws_keyset *ks,
                      const char *token, size_t len, uint8_t **payload,
                      size_t *payload_len) {
  const char *dot1, *dot2;
  size_t hlen, plen, slen, pmax, hmax, smax;
  long ph, pp, ps;
  uint8_t *buf = NULL;
  ws_json *hdr = NULL;
  ws_json_limits lim;
  ws_json_status js;
  ws_diag d;

  *payload = NULL;
  *payload_len = 0;
  if (len > cfg->max_token_bytes) return WS_DIAG_AUTH_TOKEN_TOO_LONG;
  /* RFC 7515 7.1: header '.' payload '.' signature, exactly two dots. */
  if (!token || !(dot1 = memchr(token, '.', len)) ||
      !(dot2 = memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token))) ||
      memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - token)))
    return WS_DIAG_AUTH_MALFORMED;
  hlen = (size_t)(dot1 - token);
  plen = (size_t)(dot2 - dot1 - 1);
  slen = len - (size_t)(dot2 + 1 - token);

  /* RFC 7515 2 and 7.1: each segment is base64url without padding, line
   * breaks or whitespace.  One buffer holds the three decodings, payload
   * first so that it can be handed out as is. */
  pmax = ws_b64url_decoded_max(plen);
  hmax = ws_b64url_decoded_max(hlen);
  smax = ws_b64url_decoded_max(slen);
  if (!(buf = ws_mem_malloc(m, pmax + hmax + smax))) return WS_DIAG_AUTH_NOMEM;
  pp = ws_b64url_decode(dot1 + 1, plen, buf, pmax);
  ph = ws_b64url_decode(token, hlen, buf + pmax, hmax);
  ps = ws_b64url_decode(dot2 + 1, slen, buf + pmax + hmax, smax);
  if (ph < 0 || pp < 0 || ps < 0) {
    d = WS_DIAG_AUTH_BASE64;
    goto out;
  }

  /* RFC 7515 5.2 step 3-4: the header is a UTF-8 JSON object; json.c
   * rejects duplicate member names (RFC 7515 4: "MUST reject"). */
  lim.max_len = cfg->max_token_bytes;
  lim.max_depth = cfg->max_json_depth;
  js = ws_json_parse(m, (const char *)buf + pmax, (size_t)ph, &lim, &hdr);
  if (js != WS_JSON_OK) {
    d = json_diag(js, WS_DIAG_AUTH_HEADER_JSON);
    goto out;
  }
  if (!ws_json_is_object(hdr)) {
    d = WS_DIAG_AUTH_HEADER_JSON;
    goto out;
  }
  /* RFC 7515 5.2 step 8: the signing input is the ASCII text of the first
   * two segments and the dot between them. */
  d = check_header(m, ks, hdr, (const uint8_t *)token, hlen + 1 + plen,
                   buf + pmax + hmax, (size_t)ps);
  if (d != WS_DIAG_NONE) goto out;
  *payload = buf;
  *payload_len = (size_t)pp;
  buf = NULL;
out:
  ws_json_free(m, hdr);
  ws_mem_free(m, buf);
  return d;
}

/* RFC 7519 2: a NumericDate is a JSON number of seconds, maybe fractional.
 * Rounded up to whole seconds, which keeps the comparisons exact: for an
 * integer t and a real x, t >= x iff t >= ceil(x), and t < x iff
 * t < ceil(x).  Returns 0 when v is not a finite number whose ceiling fits
 * an int64. */
static int numeric_date(const ws_json *v, int64_t *out) {
  int ok;
  double d = ws_json_number(v, &ok);
  if (!ok || !isfinite(d)) return 0;
  d = ceil(d);
  if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0)) return 0;
  *out = (int64_t)d;
  return 1;
}

static int str_eq(const char *a, size_t alen, const char *b, size_t blen) {
  return alen == blen && memcmp(a, b, alen) == 0;
}

/* RFC 7519 4.1.3: aud is one string or an array of strings; the configured
 * audience must be among them.  An array holding anything but strings is
 * malformed. */
static int aud_ok(const ws_json *aud, const ws_config *cfg) {
  const char *s;
  size_t len;
  int i, n, found = 0;
  if ((s = ws_json_string(aud, &len)) != NULL)
    return str_eq(s, len, cfg->audience, cfg->audience_len);
  if (!ws_json_is_array(aud)) return 0;
  n = ws_json_size(aud);
  for (i = 0; i < n; i++) {
    if (!(s = ws_json_string(ws_json_item(aud, i), &len))) return 0;
    if (str_eq(s, len, cfg->audience, cfg->audience_len)) found = 1;
  }
  return found;
}

/* Checks the claims (RFC 7519 4.1, 7.2 step 10) in the documented order. */
static ws_diag check_claims(const ws_config *cfg, int64_t now, const ws_json *c,
                            ws_jwt_claims *out) {
  const ws_json *v;
  const char *s;
  size_t len;
  int64_t exp, nbf, iat;
  int64_t leeway = cfg->leeway_s > 0 ? cfg->leeway_s : 0;

  if (!ws_json_is_object(c)) return WS_DIAG_AUTH_CLAIMS_JSON;
  /* exp is required here (a session must not live on a token that never
   * expires).  RFC 7519 4.1.4: the token must be rejected "on or after"
   * exp, so expired when now >= exp + leeway (written so as not to
   * overflow). */
  if (!(v = ws_json_get(c, "exp"))) return WS_DIAG_AUTH_EXP_MISSING;
  if (!numeric_date(v, &exp)) return WS_DIAG_AUTH_EXP_MALFORMED;
  if (exp <= INT64_MAX - leeway && now >= exp + leeway)
    return WS_DIAG_AUTH_EXPIRED;
  /* RFC 7519 4.1.5: not accepted "before" nbf: now + leeway < nbf. */
  if ((v = ws_json_get(c, "nbf")) != NULL) {
    if (!numeric_date(v, &nbf)) return WS_DIAG_AUTH_NBF_MALFORMED;
    if (now <= INT64_MAX - leeway && now + leeway < nbf)
      return WS_DIAG_AUTH_NOT_YET_VALID;
  }
  /* RFC 7519 4.1.6: iat is informational, but when present it must be a
   * NumericDate. */
  if ((v = ws_json_get(c, "iat")) != NULL && !numeric_date(v, &iat))
    return WS_DIAG_AUTH_IAT_MALFORMED;
  /* RFC 7519 4.1.1: iss compared as a case-sensitive string. */
  if (cfg->issuer) {
    s = ws_json_string(ws_json_get(c, "iss"), &len);
    if (!s || !str_eq(s, len, cfg->issuer, cfg->issuer_len))
      return WS_DIAG_AUTH_ISS;
  }
  if (cfg->audience) {
    if (!(v = ws_json_get(c, "aud")) || !aud_ok(v, cfg))
      return WS_DIAG_AUTH_AUD;
  }
  s = ws_json_string(ws_json_get(c, "sub"), &len);
  /* RFC 7519 4.1.2: sub is a StringOrURI; it becomes the user id, so the
   * context's rule for user ids applies. */
  if (!s || !ws_user_id_valid(s, len)) return WS_DIAG_AUTH_SUB;
  memcpy(out->sub, s, len);
  out->sub[len] = '\0';
  out->sub_len = len;
  out->exp = exp;
  return WS_DIAG_NONE;
}

ws_diag ws_jwt_verify(ws_mem *m, const ws_config *cfg, const ws_keyset *ks,
                      int64_t now, const char *token, size_t len,
                      ws_jwt_claims *out) {
  uint8_t *payload = NULL;
  size_t plen = 0;
  ws_json *claims = NULL;
  ws_json_limits lim;
  ws_json_status js;
  ws_jwt_claims tmp;
  ws_diag d;

  d = ws_jws_verify(m, cfg, ks, token, len, &payload, &plen);
  if (d != WS_DIAG_NONE) return d;
  /* RFC 7519 7.2 step 10: the payload is the UTF-8 JSON claims set. */
  lim.max_len = cfg->max_token_bytes;
  lim.max_depth = cfg->max_json_depth;
  js = ws_json_parse(m, (const char *)payload, plen, &lim, &claims);
  if (js != WS_JSON_OK) {
    d = json_diag(js, WS_DIAG_AUTH_CLAIMS_JSON);
    goto out;
  }
  memset(&tmp, 0, sizeof(tmp));
  if ((d = check_claims(cfg, now, claims, &tmp)) == WS_DIAG_NONE) *out = tmp;
out:
  ws_json_free(m, claims);
  ws_mem_free(m, payload);
  return d;
}
