/* JWKS loading (RFC 7517), on json.c and crypto.c; neither cJSON nor
 * OpenSSL is included here.
 *
 * The rules, in the order they are applied to each member of "keys":
 *  - private members (d, p, q, dp, dq, qi, oth) fail the whole set: a
 *    verifier has no use for them, and a server holding them is a leak
 *    waiting to happen;
 *  - a key we cannot or may not use for verifying is skipped, as RFC 7517 5
 *    asks for what an implementation does not understand: "use" other than
 *    "sig", "key_ops" without "verify", an unknown kty or crv, an alg we do
 *    not implement;
 *  - a key we do use must be well-formed, or the set fails with a message
 *    naming the key and the member: silently dropping a key the operator
 *    meant to use would turn a typo into an outage that looks like bad
 *    tokens.
 * Every key then runs one verification per allowed algorithm (see
 * ws_crypto_warmup), so that nothing OpenSSL caches inside a key is filled
 * during a session. */
#include "keys.h"

#include <stdio.h>
#include <string.h>

#include "b64.h"
#include "json.h"

#define WS_JWKS_MAX_DEPTH 16

/* Everything needed to name the key a message is about. */
typedef struct key_ctx {
  ws_keyset *ks;
  size_t index;
  const char *kid;
  size_t kid_len;
  char *errbuf;
  size_t errlen;
  ws_keyset_warn_fn warn; /* optional: told about each skipped key */
  void *warn_ud;
  size_t skipped;
  char first_skip[192]; /* why the first skipped key was skipped */
} key_ctx;

/* Shows up to 64 bytes of s, non-printable bytes and '"' as '?'. */
static void printable(char *out, const char *s, size_t len) {
  size_t i, n = len < 64 ? len : 64;
  for (i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)s[i];
    out[i] = (ch >= 0x20 && ch < 0x7f && ch != '"') ? (char)ch : '?';
  }
  memcpy(out + n, len > 64 ? "..." : "", len > 64 ? 4 : 1);
}

/* "jwks: key <i>" or "jwks: key <i> (kid "<kid>")". */
static void key_name(const key_ctx *c, char *buf, size_t cap) {
  char kid[72];
  if (c->kid) {
    printable(kid, c->kid, c->kid_len);
    snprintf(buf, cap, "jwks: key %zu (kid \"%s\")", c->index, kid);
  } else {
    snprintf(buf, cap, "jwks: key %zu", c->index);
  }
}

/* Writes "jwks: key <i> (kid "<kid>"): <member>: <why>" and returns
 * WS_ERR_PARSE. */
static int key_fail(const key_ctx *c, const char *member, const char *why) {
  char name[96];
  if (!c->errbuf || !c->errlen) return WS_ERR_PARSE;
  key_name(c, name, sizeof(name));
  snprintf(c->errbuf, c->errlen, "%s: %s: %s", name, member, why);
  return WS_ERR_PARSE;
}

/* A key that is not for us is skipped (RFC 7517 5), but never silently: a
 * typo in alg or a curve we lack would otherwise turn every login into
 * AUTH_KEY_UNKNOWN with nothing pointing at the key set.  Names the key
 * and why ("<member> <value>: <why>"); returns 0 (skipped). */
static int key_skip(key_ctx *c, const char *member, const char *value,
                    size_t vlen, const char *why) {
  char name[96], val[72], msg[sizeof(c->first_skip)];
  key_name(c, name, sizeof(name));
  if (value) {
    printable(val, value, vlen);
    snprintf(msg, sizeof(msg), "%s skipped: %s \"%s\": %s", name, member, val,
             why);
  } else {
    snprintf(msg, sizeof(msg), "%s skipped: %s: %s", name, member, why);
  }
  if (c->skipped++ == 0) memcpy(c->first_skip, msg, sizeof(msg));
  if (c->warn) c->warn(c->warn_ud, msg);
  return 0;
}

static int set_fail(char *errbuf, size_t errlen, const char *why) {
  if (errbuf && errlen) snprintf(errbuf, errlen, "jwks: %s", why);
  return WS_ERR_PARSE;
}

static int str_is(const char *s, size_t n, const char *lit) {
  return s && strlen(lit) == n && memcmp(s, lit, n) == 0;
}

/* Decodes the base64url member `name` of obj into a new buffer on the key
 * set's allocator.  RFC 7517 / 7518 members are base64url without padding
 * (RFC 7515 2); the strict decoder gives every value one spelling. */
static int get_b64(const key_ctx *c, const ws_json *obj, const char *name,
                   uint8_t **out, size_t *out_len) {
  size_t len, cap;
  long n;
  const char *s = ws_json_string(ws_json_get(obj, name), &len);
  *out = NULL;
  *out_len = 0;
  if (!ws_json_get(obj, name)) return key_fail(c, name, "missing");
  if (!s) return key_fail(c, name, "not a string");
  cap = ws_b64url_decoded_max(len);
  if (!(*out = ws_mem_malloc(&c->ks->mem, cap))) return WS_ERR_NOMEM;
  n = ws_b64url_decode(s, len, *out, cap);
  if (n < 0) {
    ws_mem_free(&c->ks->mem, *out);
    *out = NULL;
    return key_fail(c, name, "not canonical unpadded base64url (RFC 7515 2)");
  }
  *out_len = (size_t)n;
  return WS_OK;
}

/* RFC 7518 2 (Base64urlUInt): "The octet sequence MUST utilize the minimum
 * number of octets needed to represent the value." */
static int check_uint(const key_ctx *c, const char *name, const uint8_t *v,
                      size_t n) {
  if (n == 0) return key_fail(c, name, "empty");
  if (n > 1 && v[0] == 0)
    return key_fail(c, name,
                    "leading zero octet; Base64urlUInt must be minimal "
                    "(RFC 7518 2)");
  return WS_OK;
}

/* Maps a constructor's status to ours. */
static int pkey_status(const key_ctx *c, ws_crypto_status st,
                       const char *member, const char *why) {
  switch (st) {
    case WS_CRYPTO_OK: return WS_OK;
    case WS_CRYPTO_NOMEM: return WS_ERR_NOMEM;
    default: return key_fail(c, member, why ? why : "rejected by OpenSSL");
  }
}

/* Decides whether a JWK is for verifying signatures: 1 yes, 0 skip it,
 * or an error. */
static int usable(key_ctx *c, const ws_json *jwk) {
  const ws_json *use = ws_json_get(jwk, "use");
  const ws_json *ops = ws_json_get(jwk, "key_ops");
  size_t len;
  const char *s;
  int i, j, n, verify = 0;
  if (use) {
    /* RFC 7517 4.2: "sig" or "enc" (or another registered value). */
    if (!(s = ws_json_string(use, &len)))
      return key_fail(c, "use", "not a string");
    if (!str_is(s, len, "sig"))
      return key_skip(c, "use", s, len, "only \"sig\" keys verify signatures");
  }
  if (ops) {
    /* RFC 7517 4.3: an array of unique strings. */
    if (!ws_json_is_array(ops)) return key_fail(c, "key_ops", "not an array");
    n = ws_json_size(ops);
    for (i = 0; i < n; i++) {
      size_t l2;
      if (!(s = ws_json_string(ws_json_item(ops, i), &len)))
        return key_fail(c, "key_ops", "not an array of strings");
      for (j = 0; j < i; j++) {
        const char *t = ws_json_string(ws_json_item(ops, j), &l2);
        if (l2 == len && memcmp(s, t, len) == 0)
          return key_fail(c, "key_ops", "duplicate value (RFC 7517 4.3)");
      }
      if (str_is(s, len, "verify")) verify = 1;
    }
    if (!verify)
      return key_skip(c, "key_ops", NULL, 0, "does not list \"verify\"");
  }
  return 1;
}

/* The algorithms a key of this kind may verify when its JWK has no alg. */
static unsigned family_algs(ws_kty kty, size_t secret_len) {
  unsigned algs = 0;
  switch (kty) {
    case WS_KTY_OCT:
      /* RFC 7518 3.2: "A key of the same size as the hash output ... or
       * larger MUST be used". */
      if (secret_len >= 32) algs |= WS_ALG_BIT(WS_ALG_HS256);
      if (secret_len >= 48) algs |= WS_ALG_BIT(WS_ALG_HS384);
      if (secret_len >= 64) algs |= WS_ALG_BIT(WS_ALG_HS512);
      return algs;
    case WS_KTY_RSA: return WS_ALG_BIT(WS_ALG_RS256) | WS_ALG_BIT(WS_ALG_PS256);
    case WS_KTY_EC_P256: return WS_ALG_BIT(WS_ALG_ES256);
    case WS_KTY_OKP_ED25519: return WS_ALG_BIT(WS_ALG_EDDSA);
  }
  return 0;
}

/* The kind of key kty/crv name, or 0 when we do not implement it. */
static int key_kind(key_ctx *c, const ws_json *jwk, ws_kty *kty) {
  size_t len, clen;
  const char *s, *crv;
  const ws_json *v = ws_json_get(jwk, "kty");
  if (!v) return key_fail(c, "kty", "missing (RFC 7517 4.1)");
  if (!(s = ws_json_string(v, &len))) return key_fail(c, "kty", "not a string");
  /* kty and crv values are case-sensitive (RFC 7517 4.1, RFC 7518 6.2.1.1). */
  if (str_is(s, len, "oct")) {
    *kty = WS_KTY_OCT;
    return 1;
  }
  if (str_is(s, len, "RSA")) {
    *kty = WS_KTY_RSA;
    return 1;
  }
  if (!str_is(s, len, "EC") && !str_is(s, len, "OKP"))
    return key_skip(c, "kty", s, len,
                    "not a supported key type (oct, RSA, EC, OKP; "
                    "case-sensitive)");
  v = ws_json_get(jwk, "crv");
  if (!v) return key_fail(c, "crv", "missing (RFC 7518 6.2.1.1, RFC 8037 2)");
  if (!(crv = ws_json_string(v, &clen)))
    return key_fail(c, "crv", "not a string");
  if (s[0] == 'E' && str_is(crv, clen, "P-256")) {
    *kty = WS_KTY_EC_P256;
    return 1;
  }
  if (s[0] == 'O' && str_is(crv, clen, "Ed25519")) {
    *kty = WS_KTY_OKP_ED25519;
    return 1;
  }
  /* P-384, P-521, Ed448, X25519, ...: not ours */
  return key_skip(c, "crv", crv, clen,
                  s[0] == 'E' ? "not a supported EC curve (P-256 only)"
                              : "not a supported OKP curve (Ed25519 only)");
}

/* Builds the OpenSSL key for a JWK of kind kty. */
static int build_pkey(const key_ctx *c, const ws_json *jwk, ws_kty kty,
                      ws_key *key) {
  ws_mem *m = &c->ks->mem;
  uint8_t *a = NULL, *b = NULL;
  size_t alen = 0, blen = 0;
  const char *why = NULL, *member = "x";
  ws_crypto_status st = WS_CRYPTO_ERROR;
  int rc;
  switch (kty) {
    case WS_KTY_OCT:
      if ((rc = get_b64(c, jwk, "k", &a, &alen)) != WS_OK) goto out;
      if (alen == 0) {
        rc = key_fail(c, "k", "empty");
        goto out;
      }
      st = ws_pkey_hmac(m, a, alen, &key->pkey, &why);
      member = "k";
      break;
    case WS_KTY_RSA:
      if ((rc = get_b64(c, jwk, "n", &a, &alen)) != WS_OK ||
          (rc = check_uint(c, "n", a, alen)) != WS_OK ||
          (rc = get_b64(c, jwk, "e", &b, &blen)) != WS_OK ||
          (rc = check_uint(c, "e", b, blen)) != WS_OK)
        goto out;
      st = ws_pkey_rsa(m, a, alen, b, blen, &key->pkey, &why);
      /* The constructor's messages name the modulus or the exponent. */
      member = why && strstr(why, "exponent") ? "e" : "n";
      break;
    case WS_KTY_EC_P256:
      if ((rc = get_b64(c, jwk, "x", &a, &alen)) != WS_OK ||
          (rc = get_b64(c, jwk, "y", &b, &blen)) != WS_OK)
        goto out;
      /* RFC 7518 6.2.1.2: "the full size of a coordinate for the curve". */
      if (alen != 32 || blen != 32) {
        rc = key_fail(c, alen != 32 ? "x" : "y",
                      "not 32 bytes (RFC 7518 6.2.1.2)");
        goto out;
      }
      st = ws_pkey_ec_p256(m, a, alen, b, blen, &key->pkey, &why);
      member = "x/y";
      break;
    case WS_KTY_OKP_ED25519:
      if ((rc = get_b64(c, jwk, "x", &a, &alen)) != WS_OK) goto out;
      if (alen != 32) {
        rc = key_fail(c, "x", "not 32 bytes (RFC 8037 2)");
        goto out;
      }
      st = ws_pkey_ed25519(m, a, alen, &key->pkey, &why);
      break;
  }
  rc = pkey_status(c, st, member, why);
out:
  ws_mem_free(m, a);
  ws_mem_free(m, b);
  return rc;
}

/* Why an alg value is not one we verify; a name that differs from one of
 * ours only in case gets a hint (alg is case-sensitive, RFC 7515 4.1.1). */
static const char *alg_skip_reason(const char *s, size_t len) {
  int a;
  for (a = 1; a < (int)WS_ALG_COUNT_; a++) {
    const char *name = ws_alg_name((ws_alg)a);
    size_t i;
    if (strlen(name) != len) continue;
    for (i = 0; i < len; i++) {
      char x = s[i], y = name[i];
      if (x >= 'a' && x <= 'z') x = (char)(x - 32);
      if (y >= 'a' && y <= 'z') y = (char)(y - 32);
      if (x != y) break;
    }
    if (i == len) return "alg names are case-sensitive (RFC 7515 4.1.1)";
  }
  return "not an algorithm wsgate verifies (HS256, HS384, HS512, RS256, "
         "PS256, ES256, EdDSA)";
}

static const char private_members[][4] = {"d",  "p",  "q",  "dp",
                                          "dq", "qi", "oth"};

/* Parses one JWK into key.  Returns WS_OK with key->pkey set, WS_OK with
 * key->pkey NULL (skipped), or an error. */
static int parse_key(key_ctx *c, const ws_json *jwk, ws_key *key) {
  const ws_json *v;
  ws_kty kty = WS_KTY_OCT;
  unsigned family;
  size_t i, len;
  const char *s;
  int rc;

  memset(key, 0, sizeof(*key));
  if (!ws_json_is_object(jwk)) return key_fail(c, "(key)", "not a JSON object");
  if ((v = ws_json_get(jwk, "kid")) != NULL) {
    /* RFC 7517 4.5: a case-sensitive string. */
    if (!(c->kid = ws_json_string(v, &c->kid_len)))
      return key_fail(c, "kid", "not a string");
  }
  for (i = 0; i < sizeof(private_members) / sizeof(private_members[0]); i++)
    if (ws_json_get(jwk, private_members[i]))
      return key_fail(c, private_members[i],
                      "private key material in a public key set");
  if ((rc = usable(c, jwk)) != 1) return rc < 0 ? rc : WS_OK;
  if ((rc = key_kind(c, jwk, &kty)) != 1) return rc < 0 ? rc : WS_OK;
  if ((v = ws_json_get(jwk, "alg")) != NULL) {
    ws_alg alg;
    if (!(s = ws_json_string(v, &len)))
      return key_fail(c, "alg", "not a string");
    alg = ws_alg_from_name(s, len);
    /* RFC 7517 4.4: the key is intended for this algorithm only.  One we
     * do not implement (RS384, ES512, RSA-OAEP, ...) makes the key useless
     * to us, not wrong. */
    if (alg == WS_ALG_NONE_) {
      key_skip(c, "alg", s, len, alg_skip_reason(s, len));
      return WS_OK;
    }
    key->algs = WS_ALG_BIT(alg);
  }
  if ((rc = build_pkey(c, jwk, kty, key)) != WS_OK) return rc;
  family = family_algs(kty, ws_pkey_hmac_len(key->pkey));
  if (key->algs == 0) {
    if (family == 0) {
      rc = key_fail(c, "k", "shorter than 32 bytes (RFC 7518 3.2)");
      goto fail;
    }
    key->algs = family;
  } else if (!(key->algs & family)) {
    rc = key_fail(c, "alg",
                  kty == WS_KTY_OCT && (key->algs & (WS_ALG_BIT(WS_ALG_HS256) |
                                                     WS_ALG_BIT(WS_ALG_HS384) |
                                                     WS_ALG_BIT(WS_ALG_HS512)))
                      ? "key shorter than the hash output (RFC 7518 3.2)"
                      : "does not fit the key type (RFC 7518 3.1)");
    goto fail;
  }
  if (c->kid) {
    if (!(key->kid = ws_mem_strndup(&c->ks->mem, c->kid, c->kid_len))) {
      rc = WS_ERR_NOMEM;
      goto fail;
    }
    key->kid_len = c->kid_len;
  }
  return WS_OK;
fail:
  ws_pkey_free(&c->ks->mem, key->pkey);
  key->pkey = NULL;
  return rc;
}

/* Runs the warm-up verification for every algorithm key allows. */
static int warm_key(key_ctx *c, const ws_key *key) {
  int a;
  for (a = 1; a < (int)WS_ALG_COUNT_; a++) {
    if (!(key->algs & WS_ALG_BIT(a))) continue;
    switch (ws_crypto_warmup(&c->ks->mem, key->pkey, (ws_alg)a)) {
      case WS_CRYPTO_OK: break;
      case WS_CRYPTO_NOMEM: return WS_ERR_NOMEM;
      default:
        key_fail(c, ws_alg_name((ws_alg)a),
                 "OpenSSL failed a test verification");
        return WS_ERR_CRYPTO;
    }
  }
  return WS_OK;
}

static ws_keyset *keyset_new(void) {
  ws_mem m;
  ws_keyset *ks;
  ws_mem_init(&m, NULL);
  if (!(ks = ws_mem_calloc(&m, 1, sizeof(*ks)))) return NULL;
  ks->mem = m;
  return ks;
}

int ws_keyset_load(ws_keyset **out, const char *json, size_t len, char *errbuf,
                   size_t errlen) {
  return ws_keyset_load_warn(out, json, len, errbuf, errlen, NULL, NULL);
}

int ws_keyset_load_warn(ws_keyset **out, const char *json, size_t len,
                        char *errbuf, size_t errlen, ws_keyset_warn_fn warn,
                        void *warn_ud) {
  ws_keyset *ks = NULL;
  ws_json *root = NULL;
  const ws_json *keys;
  ws_json_limits lim;
  key_ctx c;
  int rc = WS_OK, i, n;

  if (!out) return WS_ERR_ARG;
  *out = NULL;
  if (errbuf && errlen) errbuf[0] = '\0';
  if (!json) return WS_ERR_ARG;
  if (!(ks = keyset_new())) return WS_ERR_NOMEM;
  lim.max_len = len;
  lim.max_depth = WS_JWKS_MAX_DEPTH;
  switch (ws_json_parse(&ks->mem, json, len, &lim, &root)) {
    case WS_JSON_OK: break;
    case WS_JSON_NOMEM: rc = WS_ERR_NOMEM; goto out;
    case WS_JSON_LIMIT:
      rc = set_fail(errbuf, errlen, "nested deeper than 16");
      goto out;
    default:
      rc = set_fail(errbuf, errlen,
                    "not valid JSON (RFC 8259), or a duplicate member name");
      goto out;
  }
  /* RFC 7517 5: a JSON object with a "keys" array. */
  keys = ws_json_is_object(root) ? ws_json_get(root, "keys") : NULL;
  if (!keys || !ws_json_is_array(keys)) {
    rc = set_fail(errbuf, errlen,
                  "not an object with a \"keys\" array (RFC 7517 5)");
    goto out;
  }
  n = ws_json_size(keys);
  memset(&c, 0, sizeof(c));
  c.ks = ks;
  c.errbuf = errbuf;
  c.errlen = errlen;
  c.warn = warn;
  c.warn_ud = warn_ud;
  if (n > 0 &&
      !(ks->keys = ws_mem_calloc(&ks->mem, (size_t)n, sizeof(ws_key)))) {
    rc = WS_ERR_NOMEM;
    goto out;
  }
  for (i = 0; i < n; i++) {
    ws_key *key = &ks->keys[ks->n];
    size_t j;
    c.index = (size_t)i;
    c.kid = NULL;
    c.kid_len = 0;
    if ((rc = parse_key(&c, ws_json_item(keys, i), key)) != WS_OK) goto out;
    if (!key->pkey) continue; /* skipped */
    ks->n++;                  /* owned by the set from here on, freed with it */
    /* RFC 7517 4.5: kid chooses among keys, so it must choose one. */
    for (j = 0; key->kid && j + 1 < ks->n; j++) {
      if (ks->keys[j].kid && ks->keys[j].kid_len == key->kid_len &&
          memcmp(ks->keys[j].kid, key->kid, key->kid_len) == 0) {
        rc = key_fail(&c, "kid", "duplicate kid in the key set");
        goto out;
      }
    }
    if ((rc = warm_key(&c, key)) != WS_OK) goto out;
  }
  /* A set with nothing to verify with cannot be what the operator meant:
   * every login would fail as AUTH_KEY_UNKNOWN.  (ws_keyset_empty makes
   * such a set on purpose.) */
  if (ks->n == 0) {
    rc = WS_ERR_PARSE;
    if (c.skipped == 0)
      set_fail(errbuf, errlen, "no usable key: the \"keys\" array is empty");
    else if (errbuf && errlen)
      snprintf(errbuf, errlen,
               "jwks: no usable key: %zu skipped; the first: %s", c.skipped,
               c.first_skip + 6 /* past "jwks: " */);
    goto out;
  }
  rc = WS_OK;
out:
  ws_json_free(&ks->mem, root);
  if (rc == WS_OK)
    *out = ks;
  else
    ws_keyset_free(ks);
  return rc;
}

int ws_keyset_empty(ws_keyset **out) {
  if (!out) return WS_ERR_ARG;
  *out = keyset_new();
  return *out ? WS_OK : WS_ERR_NOMEM;
}

size_t ws_keyset_size(const ws_keyset *ks) {
  return ks ? ks->n : 0;
}

void ws_keyset_free(ws_keyset *ks) {
  ws_mem m;
  size_t i;
  if (!ks) return;
  for (i = 0; i < ks->n; i++) {
    ws_pkey_free(&ks->mem, ks->keys[i].pkey);
    ws_mem_free(&ks->mem, ks->keys[i].kid);
  }
  ws_mem_free(&ks->mem, ks->keys);
  m = ks->mem; /* the set is freed by a copy of its own allocator */
  ws_mem_free(&m, ks);
}
