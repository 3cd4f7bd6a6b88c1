/* JWS/JWT verification (core/jwt.c over core/crypto.c): RFC 7515 A.1, every
 * algorithm, one crafted token per AUTH_* diagnosis, ECDSA range and
 * encoding, algorithm confusion, the token-length limit, and allocation
 * failures everywhere.  Every verification runs on a counting allocator and
 * must leave no live block behind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "jwt.h"
#include "testutil.h"
#include "tokens.h"

#define NOW INT64_C(1700000000)

static ws_keyset *keys;
static ws_config *defcfg;

static const char *diag_name(ws_diag d) {
  const ws_diag_info *i = ws_diag_get(d);
  return d == WS_DIAG_NONE ? "NONE" : i ? i->code : "?";
}

/* Verifies tok on a counting allocator (failing its fail_at-th allocation
 * when non-zero); asserts that nothing stays allocated.  *failed tells
 * whether an allocation was failed. */
static ws_diag verify_full(const ws_config *cfg, const ws_keyset *ks,
                           int64_t now, const char *tok, size_t len,
                           ws_jwt_claims *out, unsigned long fail_at,
                           int *failed) {
  tu_failalloc fa = {.fail_at = fail_at};
  ws_allocator inner = tu_failalloc_allocator(&fa);
  ws_countalloc ca;
  ws_allocator al;
  ws_mem m;
  ws_diag d;
  ws_countalloc_init(&ca, &inner);
  al = ws_countalloc_allocator(&ca);
  ws_mem_init(&m, &al);
  d = ws_jwt_verify(&m, cfg, ks, now, tok, len, out);
  if (ca.live_blocks != 0)
    fail_msg("%zu blocks live after verify (%s, allocation %lu failed: %s)",
             ca.live_blocks, diag_name(d), fail_at, fa.failed ? "yes" : "no");
  if (failed) *failed = fa.failed != 0;
  return d;
}

static ws_diag verify_at(const ws_config *cfg, int64_t now, const char *tok) {
  ws_jwt_claims out;
  return verify_full(cfg, keys, now, tok, strlen(tok), &out, 0, NULL);
}

#define EXPECT_AT(cfg, now, tok, code)                                        \
  do {                                                                        \
    ws_diag got_ = verify_at(cfg, now, tok);                                  \
    if (got_ != WS_DIAG_##code)                                               \
      fail_msg("line %d: got %s, want %s", __LINE__, diag_name(got_), #code); \
  } while (0)
#define EXPECT(tok, code) EXPECT_AT(defcfg, NOW, tok, code)

/* Expects code for a token signed with the named key, then frees it. */
#define EXPECT_SIGNED(alg, key, hdr, claims, code) \
  do {                                             \
    char *t_ = tok_sign(alg, key, hdr, claims);    \
    EXPECT(t_, code);                              \
    free(t_);                                      \
  } while (0)

#define HS_HDR "{\"alg\":\"HS256\",\"kid\":\"hs256\",\"typ\":\"JWT\"}"

/* Claims with sub alice and exp NOW + 60, plus extra members. */
static char *claims_with(const char *extra) {
  char *c = malloc(512);
  assert_non_null(c);
  snprintf(c, 512, "{\"sub\":\"alice\",\"exp\":%lld%s%s}",
           (long long)(NOW + 60), extra ? "," : "", extra ? extra : "");
  return c;
}

/* An HS256 token (kid hs256) with claims_json. */
static char *hs(const char *claims_json) {
  return tok_sign(WS_ALG_HS256, "hs256", HS_HDR, claims_json);
}

static ws_config *config(const char *json) {
  return tu_config(json);
}

/* Changes one base64url character into another (a fully used position
 * keeps the segment canonical). */
static void mutate(char *c) {
  *c = *c == 'A' ? 'B' : 'A';
}

static int setup(void **state) {
  (void)state;
  tu_global_init();
  keys = tu_keys();
  defcfg = config(NULL);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  ws_keyset_free(keys);
  ws_config_free(defcfg);
  return 0;
}

static ws_keyset *load_keys(const char *json) {
  ws_keyset *ks = NULL;
  char err[256];
  if (ws_keyset_load(&ks, json, strlen(json), err, sizeof(err)) != WS_OK)
    fail_msg("keyset: %s", err);
  return ks;
}

/* ---- RFC 7515 Appendix A.1 ---- */

static void test_rfc7515_a1(void **state) {
  static const char tok[] =
      "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9."
      "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxl"
      "LmNvbS9pc19yb290Ijp0cnVlfQ."
      "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
  static const char payload[] =
      "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n "
      "\"http://example.com/is_root\":true}";
  ws_keyset *ks = load_keys(
      "{\"keys\":[{\"kty\":\"oct\",\"k\":\"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-"
      "EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow\"}]}");
  ws_jwt_claims out;
  uint8_t *p = NULL;
  size_t plen = 0;
  ws_mem m;
  char bad[sizeof(tok)];
  (void)state;
  ws_mem_init(&m, NULL);
  /* The JWS layer verifies and hands out the payload byte for byte. */
  assert_int_equal(ws_jws_verify(&m, defcfg, ks, tok, strlen(tok), &p, &plen),
                   WS_DIAG_NONE);
  assert_int_equal(plen, strlen(payload));
  assert_memory_equal(p, payload, plen);
  ws_mem_free(&m, p);
  /* Ten seconds before exp every check up to sub passes; the example has
   * no sub, which a session needs as its user id. */
  assert_int_equal(
      verify_full(defcfg, ks, 1300819370, tok, strlen(tok), &out, 0, NULL),
      WS_DIAG_AUTH_SUB);
  /* At exp it is expired (RFC 7519 4.1.4: "on or after"). */
  assert_int_equal(
      verify_full(defcfg, ks, 1300819380, tok, strlen(tok), &out, 0, NULL),
      WS_DIAG_AUTH_EXPIRED);
  assert_int_equal(
      verify_full(defcfg, ks, 1300819379, tok, strlen(tok), &out, 0, NULL),
      WS_DIAG_AUTH_SUB);
  /* One changed signature character. */
  memcpy(bad, tok, sizeof(tok));
  bad[strlen(bad) - 2] = 'Y';
  assert_int_equal(
      verify_full(defcfg, ks, 1300819370, bad, strlen(bad), &out, 0, NULL),
      WS_DIAG_AUTH_SIG_INVALID);
  ws_keyset_free(ks);
}

/* ---- every algorithm ---- */

static const struct {
  ws_alg alg;
  const char *kid;
  const char *hdr;
} algs[] = {
    {WS_ALG_HS256, "hs256", "{\"alg\":\"HS256\",\"kid\":\"hs256\"}"},
    {WS_ALG_HS384, "hs384", "{\"alg\":\"HS384\",\"kid\":\"hs384\"}"},
    {WS_ALG_HS512, "hs512", "{\"alg\":\"HS512\",\"kid\":\"hs512\"}"},
    {WS_ALG_RS256, "rs256", "{\"alg\":\"RS256\",\"kid\":\"rs256\"}"},
    {WS_ALG_PS256, "ps256", "{\"alg\":\"PS256\",\"kid\":\"ps256\"}"},
    {WS_ALG_ES256, "es256", "{\"alg\":\"ES256\",\"kid\":\"es256\"}"},
    {WS_ALG_EDDSA, "ed25519", "{\"alg\":\"EdDSA\",\"kid\":\"ed25519\"}"},
};
#define NALGS (sizeof(algs) / sizeof(algs[0]))

/* Signature of claims with algs[i]; returns its length. */
static size_t raw_sig(size_t i, const char *claims, uint8_t *sig, size_t cap) {
  char *input = tok_signing_input(algs[i].hdr, claims);
  size_t n = tok_raw_sign(algs[i].alg, algs[i].kid, (const uint8_t *)input,
                          strlen(input), sig, cap);
  free(input);
  return n;
}

static void test_each_algorithm(void **state) {
  char *claims = claims_with("\"iat\":1699999990");
  size_t i;
  (void)state;
  for (i = 0; i < NALGS; i++) {
    uint8_t sig[512];
    size_t n = raw_sig(i, claims, sig, sizeof(sig));
    char *tok = tok_compose(algs[i].hdr, claims, sig, n);
    ws_jwt_claims out;
    ws_diag d;
    memset(&out, 0, sizeof(out));
    d = verify_full(defcfg, keys, NOW, tok, strlen(tok), &out, 0, NULL);
    if (d != WS_DIAG_NONE) fail_msg("%s: %s", algs[i].kid, diag_name(d));
    assert_string_equal(out.sub, "alice");
    assert_int_equal(out.sub_len, 5);
    assert_int_equal(out.exp, NOW + 60);
    free(tok);
    /* One flipped bit (low bit of byte 31: stays in range for ECDSA and
     * below the modulus for RSA). */
    sig[31] ^= 1;
    tok = tok_compose(algs[i].hdr, claims, sig, n);
    d = verify_at(defcfg, NOW, tok);
    if (d != WS_DIAG_AUTH_SIG_INVALID)
      fail_msg("%s flipped: %s", algs[i].kid, diag_name(d));
    free(tok);
    /* The same signature over other claims. */
    sig[31] ^= 1;
    tok = tok_compose(algs[i].hdr, "{\"sub\":\"mallory\",\"exp\":1700000060}",
                      sig, n);
    EXPECT(tok, AUTH_SIG_INVALID);
    free(tok);
  }
  free(claims);
}

/* Without kid, each key allowing alg is tried; the first that verifies
 * wins. */
static void test_no_kid(void **state) {
  char *claims = claims_with(NULL);
  size_t i;
  char hdr[64];
  (void)state;
  for (i = 0; i < NALGS; i++) {
    snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\"}", ws_alg_name(algs[i].alg));
    EXPECT_SIGNED(algs[i].alg, algs[i].kid, hdr, claims, NONE);
  }
  /* RS256 and PS256 each have their own key; signed with the other key
   * nothing verifies. */
  EXPECT_SIGNED(WS_ALG_RS256, "ps256", "{\"alg\":\"RS256\"}", claims,
                AUTH_SIG_INVALID);
  /* No key allows the alg: an RSA-only set and an HS256 token. */
  {
    ws_keyset *ks = load_keys(
        "{\"keys\":[{\"kty\":\"RSA\",\"n\":"
        "\"0wKO6yTrJfpFXhGcYmzy1HcmCjPuSxkLlvIqhQfZB3nmL74JIsTQM4zAappelOpbtHxu"
        "Qusrcy7L1bPKy4kVOH_087iEJMo2jueEvBz7sNxVok82XcTJJ9t-"
        "UHgyBF8CdYimsf7gyUWUXAC2i61jCEBQkXUnIDCsQ34VStnZrzBut1z8VODWR7u0z4ylV3"
        "RgeX0wCyfkuI1SZrJkk8C2cqjzGiXN9vI4Pz8SJHae_"
        "uJGiTySrWQoUk4fXX4PTErq2FkT4MDW_59FkiftQ_"
        "p1kTqoCt2T3RlXKIAbqnWSacWkVjfr9zywIHFiFxJZuvJ_rAvee2_"
        "EeXnch6xjjKCzWw\",\"e\":\"AQAB\"}]}");
    char *t = tok_sign(WS_ALG_HS256, "hs256", "{\"alg\":\"HS256\"}", claims);
    ws_jwt_claims out;
    assert_int_equal(verify_full(defcfg, ks, NOW, t, strlen(t), &out, 0, NULL),
                     WS_DIAG_AUTH_KEY_UNKNOWN);
    free(t);
    /* The same RSA key without alg allows RS256 and PS256 (its family). */
    t = tok_sign(WS_ALG_PS256, "rs256", "{\"alg\":\"PS256\"}", claims);
    assert_int_equal(verify_full(defcfg, ks, NOW, t, strlen(t), &out, 0, NULL),
                     WS_DIAG_NONE);
    free(t);
    ws_keyset_free(ks);
  }
  free(claims);
}

/* Two HMAC keys without kid: the second one verifies. */
static void test_no_kid_second_key(void **state) {
  uint8_t other[32];
  char *b, *t, doc[512];
  char *k1 = tok_key_file("hs256", "key", NULL);
  char *claims = claims_with(NULL);
  ws_keyset *ks;
  ws_jwt_claims out;
  (void)state;
  k1[strcspn(k1, "\r\n")] = '\0';
  memset(other, 0x42, sizeof(other));
  b = tok_b64url(other, sizeof(other));
  snprintf(doc, sizeof(doc),
           "{\"keys\":[{\"kty\":\"oct\",\"k\":\"%s\"},{\"kty\":\"oct\",\"k\":"
           "\"%s\"}]}",
           b, k1);
  ks = load_keys(doc);
  t = tok_sign(WS_ALG_HS256, "hs256", "{\"alg\":\"HS256\"}", claims);
  assert_int_equal(verify_full(defcfg, ks, NOW, t, strlen(t), &out, 0, NULL),
                   WS_DIAG_NONE);
  free(t);
  memset(other, 0x43, sizeof(other));
  t = tok_sign_hmac(WS_ALG_HS256, other, sizeof(other), "{\"alg\":\"HS256\"}",
                    claims);
  assert_int_equal(verify_full(defcfg, ks, NOW, t, strlen(t), &out, 0, NULL),
                   WS_DIAG_AUTH_SIG_INVALID);
  free(t);
  /* Both keys say "wrong length" for a 16-byte tag: reported as such. */
  t = tok_compose("{\"alg\":\"HS256\"}", claims, other, 16);
  assert_int_equal(verify_full(defcfg, ks, NOW, t, strlen(t), &out, 0, NULL),
                   WS_DIAG_AUTH_SIG_ENCODING);
  free(t);
  ws_keyset_free(ks);
  free(b);
  free(k1);
  free(claims);
}

/* ---- one crafted token per diagnosis ---- */

static void test_token_too_long(void **state) {
  char *claims = claims_with(NULL);
  char *t = hs(claims), json[64];
  size_t len = strlen(t);
  ws_config *at, *below;
  (void)state;
  /* The limit is inclusive: exactly max_token_bytes passes, one more not,
   * before anything else is looked at. */
  snprintf(json, sizeof(json), "{\"max_token_bytes\":%zu}", len);
  at = config(json);
  snprintf(json, sizeof(json), "{\"max_token_bytes\":%zu}", len - 1);
  below = config(json);
  EXPECT_AT(at, NOW, t, NONE);
  EXPECT_AT(below, NOW, t, AUTH_TOKEN_TOO_LONG);
  EXPECT_AT(below, NOW,
            "x.y.z.w..........................................................."
            ".................................................................."
            "................................................",
            AUTH_TOKEN_TOO_LONG);
  ws_config_free(at);
  ws_config_free(below);
  free(t);
  free(claims);
}

/* Replaces segment seg (0..2) of tok by s. */
static char *with_segment(const char *tok, int seg, const char *s) {
  const char *d1 = strchr(tok, '.'), *d2 = strchr(d1 + 1, '.');
  size_t n = strlen(tok) + strlen(s) + 1;
  char *out = malloc(n);
  assert_non_null(out);
  if (seg == 0)
    snprintf(out, n, "%s%s", s, d1);
  else if (seg == 1)
    snprintf(out, n, "%.*s.%s%s", (int)(d1 - tok), tok, s, d2);
  else
    snprintf(out, n, "%.*s.%s", (int)(d2 - tok), tok, s);
  return out;
}

/* Segment seg of tok, with suffix appended or at offset replaced. */
static char *segment(const char *tok, int seg) {
  const char *p = tok, *e;
  char *s;
  while (seg-- > 0) p = strchr(p, '.') + 1;
  e = strchr(p, '.');
  if (!e) e = p + strlen(p);
  s = malloc((size_t)(e - p) + 1);
  assert_non_null(s);
  memcpy(s, p, (size_t)(e - p));
  s[e - p] = '\0';
  return s;
}

static void test_malformed(void **state) {
  char *claims = claims_with(NULL);
  char *t = hs(claims), *u;
  size_t n = strlen(t) + 3;
  (void)state;
  EXPECT("", AUTH_MALFORMED);
  EXPECT("abc", AUTH_MALFORMED);
  EXPECT("abc.def", AUTH_MALFORMED);
  EXPECT("a.b.c.d", AUTH_MALFORMED);
  EXPECT("...", AUTH_MALFORMED);
  u = malloc(n);
  snprintf(u, n, "%s.", t);
  EXPECT(u, AUTH_MALFORMED);
  snprintf(u, n, "%.*s", (int)(strrchr(t, '.') - t), t); /* no signature part */
  EXPECT(u, AUTH_MALFORMED);
  free(u);
  free(t);
  free(claims);
}

/* RFC 7515 2: canonical unpadded base64url in each of the three segments. */
static void test_base64(void **state) {
  char *claims = claims_with(NULL);
  char *t = hs(claims);
  int seg;
  (void)state;
  for (seg = 0; seg < 3; seg++) {
    char *s = segment(t, seg), *v, *u;
    size_t n = strlen(s);
    static const char *const inserts[] = {"=", "==", " ", "\n",
                                          "+", "/",  "%", "AA"};
    size_t k;
    /* Inserted at the front, so that each is a non-alphabet byte or a
     * length that cannot be base64 (n % 4 == 1 after "AA" for n % 4 == 3;
     * the sizes here are 36+, 60+ and 43 with remainders 0..3). */
    for (k = 0; k < sizeof(inserts) / sizeof(inserts[0]) - 1; k++) {
      v = malloc(n + 4);
      snprintf(v, n + 4, "%s%s", inserts[k], s);
      u = with_segment(t, seg, v);
      EXPECT(u, AUTH_BASE64);
      free(u);
      /* and at the end (padding where it would normally go) */
      snprintf(v, n + 4, "%s%s", s, inserts[k]);
      u = with_segment(t, seg, v);
      EXPECT(u, AUTH_BASE64);
      free(u);
      free(v);
    }
    free(s);
  }
  /* Length % 4 == 1: never a valid encoding. */
  {
    char *s = segment(t, 2), *u; /* 43 characters */
    char v[64];
    snprintf(v, sizeof(v), "%sAA", s);
    u = with_segment(t, 2, v);
    EXPECT(u, AUTH_BASE64);
    free(u);
    free(s);
  }
  /* Non-zero unused bits: "AB" decodes to one byte only if the low 4 bits
   * of 'B' are dropped (RFC 4648 3.5). */
  {
    char *u = with_segment(t, 1, "AB");
    EXPECT(u, AUTH_BASE64);
    free(u);
    u = with_segment(t, 1, "AA");
    /* The canonical spelling decodes (to a payload that is not claims, and
     * a signature that no longer matches). */
    EXPECT(u, AUTH_SIG_INVALID);
    free(u);
  }
  free(t);
  free(claims);
}

static void test_header_json(void **state) {
  char *claims = claims_with(NULL);
  ws_config *shallow = config("{\"max_json_depth\":2}");
  char *t;
  (void)state;
  EXPECT_SIGNED(WS_ALG_HS256, "hs256", "not json", claims, AUTH_HEADER_JSON);
  EXPECT_SIGNED(WS_ALG_HS256, "hs256", "", claims, AUTH_HEADER_JSON);
  EXPECT_SIGNED(WS_ALG_HS256, "hs256", "[\"HS256\"]", claims, AUTH_HEADER_JSON);
  EXPECT_SIGNED(WS_ALG_HS256, "hs256", "\"HS256\"", claims, AUTH_HEADER_JSON);
  EXPECT_SIGNED(WS_ALG_HS256, "hs256",
                "{\"alg\":\"HS256\",\"kid\":\"hs256\"} x", claims,
                AUTH_HEADER_JSON);
  /* RFC 7515 4: duplicate header parameters must be rejected (the second
   * alg would otherwise be invisible to us and visible to someone else). */
  EXPECT_SIGNED(WS_ALG_HS256, "hs256",
                "{\"alg\":\"HS256\",\"kid\":\"hs256\",\"alg\":\"none\"}",
                claims, AUTH_HEADER_JSON);
  EXPECT_SIGNED(WS_ALG_HS256, "hs256",
                "{\"alg\":\"HS256\",\"kid\":\"hs256\",\"x\":\"\xff\"}", claims,
                AUTH_HEADER_JSON);
  /* Depth limit: 2 levels pass with max_json_depth 2, 3 do not. */
  t = tok_sign(WS_ALG_HS256, "hs256",
               "{\"alg\":\"HS256\",\"kid\":\"hs256\",\"x\":{}}", claims);
  EXPECT_AT(shallow, NOW, t, NONE);
  free(t);
  t = tok_sign(WS_ALG_HS256, "hs256",
               "{\"alg\":\"HS256\",\"kid\":\"hs256\",\"x\":{\"y\":[]}}",
               claims);
  EXPECT_AT(shallow, NOW, t, AUTH_HEADER_JSON);
  free(t);
  ws_config_free(shallow);
  free(claims);
}

static void test_alg_none_and_unknown(void **state) {
  char *claims = claims_with(NULL);
  char *t;
  (void)state;
  /* RFC 7518 3.6: an unsecured JWS, with or without a signature part. */
  t = tok_compose("{\"alg\":\"none\"}", claims, NULL, 0);
  EXPECT(t, AUTH_ALG_NONE);
  free(t);
  EXPECT_SIGNED(WS_ALG_HS256, "hs256", "{\"alg\":\"none\",\"kid\":\"hs256\"}",
                claims, AUTH_ALG_NONE);
  EXPECT_SIGNED(WS_ALG_HS256, "hs256", "{\"kid\":\"hs256\"}", claims,
                AUTH_ALG_UNKNOWN);
  EXPECT_SIGNED(WS_ALG_HS256, "hs256", "{\"alg\":256,\"kid\":\"hs256\"}",
                claims, AUTH_ALG_UNKNOWN);
  EXPECT_SIGNED(WS_ALG_HS256, "hs256", "{\"alg\":null,\"kid\":\"hs256\"}",
                claims, AUTH_ALG_UNKNOWN);
  /* alg is case-sensitive (RFC 7515 4.1.1): "NONE" and "hs256" are not
   * algorithms at all. */
  EXPECT_SIGNED(WS_ALG_HS256, "hs256", "{\"alg\":\"NONE\",\"kid\":\"hs256\"}",
                claims, AUTH_ALG_UNKNOWN);
  EXPECT_SIGNED(WS_ALG_HS256, "hs256", "{\"alg\":\"hs256\",\"kid\":\"hs256\"}",
                claims, AUTH_ALG_UNKNOWN);
  EXPECT_SIGNED(WS_ALG_HS256, "hs256", "{\"alg\":\"HS256 \",\"kid\":\"hs256\"}",
                claims, AUTH_ALG_UNKNOWN);
  EXPECT_SIGNED(WS_ALG_RS256, "rs256", "{\"alg\":\"RS384\",\"kid\":\"rs256\"}",
                claims, AUTH_ALG_UNKNOWN);
  free(claims);
}

static void test_b64_and_crit(void **state) {
  char *claims = claims_with(NULL);
  (void)state;
  /* RFC 7797: b64 false must come with crit; b64 is reported first. */
  EXPECT_SIGNED(
      WS_ALG_HS256, "hs256",
      "{\"alg\":\"HS256\",\"kid\":\"hs256\",\"b64\":false,\"crit\":[\"b64\"]}",
      claims, AUTH_B64_FALSE);
  EXPECT_SIGNED(WS_ALG_HS256, "hs256",
                "{\"alg\":\"HS256\",\"kid\":\"hs256\",\"b64\":false}", claims,
                AUTH_B64_FALSE);
  EXPECT_SIGNED(WS_ALG_HS256, "hs256",
                "{\"alg\":\"HS256\",\"kid\":\"hs256\",\"b64\":\"false\"}",
                claims, AUTH_B64_FALSE);
  EXPECT_SIGNED(WS_ALG_HS256, "hs256",
                "{\"alg\":\"HS256\",\"kid\":\"hs256\",\"b64\":0}", claims,
                AUTH_B64_FALSE);
  /* b64 true is the default encoding, i.e. what we verify anyway. */
  EXPECT_SIGNED(WS_ALG_HS256, "hs256",
                "{\"alg\":\"HS256\",\"kid\":\"hs256\",\"b64\":true}", claims,
                NONE);
  /* RFC 7515 4.1.11: any crit names something we do not understand; an
   * empty or non-array crit is malformed. */
  EXPECT_SIGNED(WS_ALG_HS256, "hs256",
                "{\"alg\":\"HS256\",\"kid\":\"hs256\",\"crit\":[\"exp\"]}",
                claims, AUTH_CRIT);
  EXPECT_SIGNED(WS_ALG_HS256, "hs256",
                "{\"alg\":\"HS256\",\"kid\":\"hs256\",\"crit\":[]}", claims,
                AUTH_CRIT);
  EXPECT_SIGNED(WS_ALG_HS256, "hs256",
                "{\"alg\":\"HS256\",\"kid\":\"hs256\",\"crit\":\"x\"}", claims,
                AUTH_CRIT);
  free(claims);
}

static void test_key_selection(void **state) {
  char *claims = claims_with(NULL);
  ws_keyset *empty = NULL;
  char *t;
  ws_jwt_claims out;
  (void)state;
  EXPECT_SIGNED(WS_ALG_HS256, "hs256", "{\"alg\":\"HS256\",\"kid\":\"nope\"}",
                claims, AUTH_KEY_UNKNOWN);
  /* kid is case-sensitive (RFC 7517 4.5). */
  EXPECT_SIGNED(WS_ALG_HS256, "hs256", "{\"alg\":\"HS256\",\"kid\":\"HS256\"}",
                claims, AUTH_KEY_UNKNOWN);
  EXPECT_SIGNED(WS_ALG_HS256, "hs256", "{\"alg\":\"HS256\",\"kid\":5}", claims,
                AUTH_KEY_UNKNOWN);
  EXPECT_SIGNED(WS_ALG_HS256, "hs256", "{\"alg\":\"HS256\",\"kid\":\"\"}",
                claims, AUTH_KEY_UNKNOWN);
  /* The alg must be one the named key allows. */
  EXPECT_SIGNED(WS_ALG_HS256, "hs256", "{\"alg\":\"HS384\",\"kid\":\"hs256\"}",
                claims, AUTH_ALG_KEY_MISMATCH);
  EXPECT_SIGNED(WS_ALG_RS256, "ps256", "{\"alg\":\"RS256\",\"kid\":\"ps256\"}",
                claims, AUTH_ALG_KEY_MISMATCH);
  EXPECT_SIGNED(WS_ALG_ES256, "es256", "{\"alg\":\"EdDSA\",\"kid\":\"es256\"}",
                claims, AUTH_ALG_KEY_MISMATCH);
  /* An empty key set knows no key. */
  assert_int_equal(ws_keyset_empty(&empty), WS_OK);
  t = hs(claims);
  assert_int_equal(verify_full(defcfg, empty, NOW, t, strlen(t), &out, 0, NULL),
                   WS_DIAG_AUTH_KEY_UNKNOWN);
  free(t);
  ws_keyset_free(empty);
  free(claims);
}

/* RFC 8725 2.1 / 3.1: the classic confusion signs HS256 with the RSA
 * public key as the HMAC secret. */
static void test_alg_confusion(void **state) {
  char *claims = claims_with(NULL);
  char *pem = tok_key_file("rs256", "pem", NULL);
  uint8_t n[256];
  const char *nb64 =
      "0wKO6yTrJfpFXhGcYmzy1HcmCjPuSxkLlvIqhQfZB3nmL74JIsTQM4zAappelOpbtHxuQusr"
      "cy7L1bPKy4kVOH_087iEJMo2jueEvBz7sNxVok82XcTJJ9t-"
      "UHgyBF8CdYimsf7gyUWUXAC2i61jCEBQkXUnIDCsQ34VStnZrzBut1z8VODWR7u0z4ylV3Rg"
      "eX0wCyfkuI1SZrJkk8C2cqjzGiXN9vI4Pz8SJHae_"
      "uJGiTySrWQoUk4fXX4PTErq2FkT4MDW_59FkiftQ_"
      "p1kTqoCt2T3RlXKIAbqnWSacWkVjfr9zywIHFiFxJZuvJ_rAvee2_EeXnch6xjjKCzWw";
  long nl = ws_b64url_decode(nb64, strlen(nb64), n, sizeof(n));
  char *t;
  (void)state;
  assert_int_equal(nl, 256);
  /* With the RSA key's kid: its allowed set is {RS256}. */
  t = tok_sign_hmac(WS_ALG_HS256, n, (size_t)nl,
                    "{\"alg\":\"HS256\",\"kid\":\"rs256\"}", claims);
  EXPECT(t, AUTH_ALG_KEY_MISMATCH);
  free(t);
  /* Without kid only real HMAC keys are candidates, and none verifies. */
  t = tok_sign_hmac(WS_ALG_HS256, n, (size_t)nl, "{\"alg\":\"HS256\"}", claims);
  EXPECT(t, AUTH_SIG_INVALID);
  free(t);
  /* Never use a key the token brings along (RFC 7515 4.1.3 jwk, 4.1.2 jku:
   * trusting them lets anyone sign). */
  t = tok_sign_hmac(
      WS_ALG_HS256, n, (size_t)nl,
      "{\"alg\":\"HS256\",\"jwk\":{\"kty\":\"oct\",\"k\":\"AAAA\"},"
      "\"jku\":\"https://evil.example/jwks\"}",
      claims);
  EXPECT(t, AUTH_SIG_INVALID);
  free(t);
  free(pem);
  free(claims);
}

/* ES256 signature range and encoding (RFC 7518 3.4; FIPS 186-4 6.4.2). */
static void test_es256_range_and_encoding(void **state) {
  static const uint8_t order[32] = {
      0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF,
      0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xBC, 0xE6, 0xFA, 0xAD, 0xA7, 0x17,
      0x9E, 0x84, 0xF3, 0xB9, 0xCA, 0xC2, 0xFC, 0x63, 0x25, 0x51};
  char *claims = claims_with(NULL);
  uint8_t sig[64], bad[64], der[80];
  size_t i, n = raw_sig(5, claims, sig, sizeof(sig));
  char *t;
  (void)state;
  assert_int_equal(algs[5].alg, WS_ALG_ES256);
  assert_int_equal(n, 64);
  for (i = 0; i < 6; i++) {
    memcpy(bad, sig, 64);
    switch (i) {
      case 0: memset(bad, 0, 32); break;          /* r = 0 */
      case 1: memset(bad + 32, 0, 32); break;     /* s = 0 */
      case 2: memcpy(bad, order, 32); break;      /* r = n */
      case 3: memcpy(bad + 32, order, 32); break; /* s = n */
      case 4: memset(bad, 0xFF, 32); break;       /* r > n */
      default: memset(bad, 0, 64); break;         /* both 0 */
    }
    t = tok_compose(algs[5].hdr, claims, bad, 64);
    EXPECT(t, AUTH_SIG_RANGE);
    free(t);
  }
  /* n - 1 is in range: it just does not verify. */
  memcpy(bad, sig, 64);
  memcpy(bad + 32, order, 32);
  bad[63] -= 1;
  t = tok_compose(algs[5].hdr, claims, bad, 64);
  EXPECT(t, AUTH_SIG_INVALID);
  free(t);
  /* The DER form OpenSSL itself produces is the wrong encoding for JWS. */
  n = tok_ecdsa_der(sig, der, sizeof(der));
  t = tok_compose(algs[5].hdr, claims, der, n);
  EXPECT(t, AUTH_SIG_ENCODING);
  free(t);
  /* 63 and 65 bytes. */
  t = tok_compose(algs[5].hdr, claims, sig, 63);
  EXPECT(t, AUTH_SIG_ENCODING);
  free(t);
  memcpy(der, sig, 64);
  der[64] = 0;
  t = tok_compose(algs[5].hdr, claims, der, 65);
  EXPECT(t, AUTH_SIG_ENCODING);
  free(t);
  free(claims);
}

static void test_sig_encoding_other_algs(void **state) {
  char *claims = claims_with(NULL);
  size_t i;
  (void)state;
  for (i = 0; i < NALGS; i++) {
    uint8_t sig[512];
    size_t n = raw_sig(i, claims, sig, sizeof(sig));
    char *t = tok_compose(algs[i].hdr, claims, sig, n - 1);
    EXPECT(t, AUTH_SIG_ENCODING);
    free(t);
    t = tok_compose(algs[i].hdr, claims, NULL, 0);
    EXPECT(t, AUTH_SIG_ENCODING);
    free(t);
    /* HS256 truncated to 128 bits (a valid HMAC-SHA-256-128 tag elsewhere):
     * JWS wants the whole output (RFC 7518 3.2). */
    if (algs[i].alg == WS_ALG_HS256) {
      t = tok_compose(algs[i].hdr, claims, sig, 16);
      EXPECT(t, AUTH_SIG_ENCODING);
      free(t);
    }
    /* RSA: a signature not below the modulus is out of range (RFC 8017
     * 5.2.2), i.e. invalid. */
    if (algs[i].alg == WS_ALG_RS256 || algs[i].alg == WS_ALG_PS256) {
      memset(sig, 0xFF, n);
      t = tok_compose(algs[i].hdr, claims, sig, n);
      EXPECT(t, AUTH_SIG_INVALID);
      free(t);
    }
  }
  free(claims);
}

static void test_claims_json(void **state) {
  (void)state;
  EXPECT_SIGNED(WS_ALG_HS256, "hs256", HS_HDR, "", AUTH_CLAIMS_JSON);
  EXPECT_SIGNED(WS_ALG_HS256, "hs256", HS_HDR, "not json", AUTH_CLAIMS_JSON);
  EXPECT_SIGNED(WS_ALG_HS256, "hs256", HS_HDR, "[1700000060]",
                AUTH_CLAIMS_JSON);
  EXPECT_SIGNED(WS_ALG_HS256, "hs256", HS_HDR, "\"alice\"", AUTH_CLAIMS_JSON);
  EXPECT_SIGNED(WS_ALG_HS256, "hs256", HS_HDR,
                "{\"sub\":\"alice\",\"exp\":1700000060,\"sub\":\"root\"}",
                AUTH_CLAIMS_JSON);
  EXPECT_SIGNED(WS_ALG_HS256, "hs256", HS_HDR,
                "{\"sub\":\"alice\",\"exp\":1700000060,\"x\":[[[[[[[[[[[[[[[[["
                "1]]]]]]]]]]]]]]]]]}",
                AUTH_CLAIMS_JSON);
}

static void test_exp(void **state) {
  ws_config *lee = config("{\"leeway_s\":30}");
  char *t;
  (void)state;
  EXPECT_SIGNED(WS_ALG_HS256, "hs256", HS_HDR, "{\"sub\":\"alice\"}",
                AUTH_EXP_MISSING);
  EXPECT_SIGNED(WS_ALG_HS256, "hs256", HS_HDR,
                "{\"sub\":\"alice\",\"exp\":\"1700000060\"}",
                AUTH_EXP_MALFORMED);
  EXPECT_SIGNED(WS_ALG_HS256, "hs256", HS_HDR,
                "{\"sub\":\"alice\",\"exp\":true}", AUTH_EXP_MALFORMED);
  EXPECT_SIGNED(WS_ALG_HS256, "hs256", HS_HDR,
                "{\"sub\":\"alice\",\"exp\":null}", AUTH_EXP_MALFORMED);
  EXPECT_SIGNED(WS_ALG_HS256, "hs256", HS_HDR,
                "{\"sub\":\"alice\",\"exp\":[1700000060]}", AUTH_EXP_MALFORMED);
  EXPECT_SIGNED(WS_ALG_HS256, "hs256", HS_HDR,
                "{\"sub\":\"alice\",\"exp\":1e400}", AUTH_EXP_MALFORMED);
  EXPECT_SIGNED(WS_ALG_HS256, "hs256", HS_HDR,
                "{\"sub\":\"alice\",\"exp\":9223372036854775808}",
                AUTH_EXP_MALFORMED);
  EXPECT_SIGNED(WS_ALG_HS256, "hs256", HS_HDR,
                "{\"sub\":\"alice\",\"exp\":-1e300}", AUTH_EXP_MALFORMED);
  /* RFC 7519 4.1.4: "on or after" exp is expired. */
  EXPECT_SIGNED(WS_ALG_HS256, "hs256", HS_HDR,
                "{\"sub\":\"alice\",\"exp\":1700000000}", AUTH_EXPIRED);
  EXPECT_SIGNED(WS_ALG_HS256, "hs256", HS_HDR,
                "{\"sub\":\"alice\",\"exp\":1700000001}", NONE);
  EXPECT_SIGNED(WS_ALG_HS256, "hs256", HS_HDR, "{\"sub\":\"alice\",\"exp\":0}",
                AUTH_EXPIRED);
  /* Fractions: exp 0.5 s ahead is still valid, 0.5 s behind is not. */
  EXPECT_SIGNED(WS_ALG_HS256, "hs256", HS_HDR,
                "{\"sub\":\"alice\",\"exp\":1700000000.5}", NONE);
  EXPECT_SIGNED(WS_ALG_HS256, "hs256", HS_HDR,
                "{\"sub\":\"alice\",\"exp\":1699999999.5}", AUTH_EXPIRED);
  /* Leeway: expired only when now >= exp + leeway. */
  t = hs("{\"sub\":\"alice\",\"exp\":1699999971}");
  EXPECT_AT(lee, NOW, t, NONE);
  free(t);
  t = hs("{\"sub\":\"alice\",\"exp\":1699999970}");
  EXPECT_AT(lee, NOW, t, AUTH_EXPIRED);
  free(t);
  ws_config_free(lee);
  /* The largest double below 2^63 is a valid exp, and exp + leeway must
   * not overflow (UBSan would see it). */
  lee = config("{\"leeway_s\":86400}");
  t = hs("{\"sub\":\"alice\",\"exp\":9223372036854774784}");
  EXPECT_AT(lee, NOW, t, NONE);
  EXPECT_AT(lee, INT64_MAX, t, NONE);
  free(t);
  ws_config_free(lee);
}

static void test_nbf_iat(void **state) {
  ws_config *lee = config("{\"leeway_s\":30}");
  char *c, *t;
  (void)state;
  c = claims_with("\"nbf\":\"soon\"");
  EXPECT_SIGNED(WS_ALG_HS256, "hs256", HS_HDR, c, AUTH_NBF_MALFORMED);
  free(c);
  c = claims_with("\"nbf\":1e999");
  EXPECT_SIGNED(WS_ALG_HS256, "hs256", HS_HDR, c, AUTH_NBF_MALFORMED);
  free(c);
  c = claims_with("\"nbf\":1700000001");
  EXPECT_SIGNED(WS_ALG_HS256, "hs256", HS_HDR, c, AUTH_NOT_YET_VALID);
  t = hs(c);
  EXPECT_AT(lee, NOW, t, NONE);
  free(t);
  free(c);
  c = claims_with("\"nbf\":1700000000");
  EXPECT_SIGNED(WS_ALG_HS256, "hs256", HS_HDR, c, NONE);
  free(c);
  c = claims_with("\"nbf\":1700000000.5");
  EXPECT_SIGNED(WS_ALG_HS256, "hs256", HS_HDR, c, AUTH_NOT_YET_VALID);
  free(c);
  c = claims_with("\"nbf\":1700000031");
  t = hs(c);
  EXPECT_AT(lee, NOW, t, AUTH_NOT_YET_VALID);
  free(t);
  free(c);
  c = claims_with("\"nbf\":1700000030");
  t = hs(c);
  EXPECT_AT(lee, NOW, t, NONE);
  free(t);
  free(c);
  /* iat: any finite NumericDate, even in the future; nothing else. */
  c = claims_with("\"iat\":\"now\"");
  EXPECT_SIGNED(WS_ALG_HS256, "hs256", HS_HDR, c, AUTH_IAT_MALFORMED);
  free(c);
  c = claims_with("\"iat\":-1e19");
  EXPECT_SIGNED(WS_ALG_HS256, "hs256", HS_HDR, c, AUTH_IAT_MALFORMED);
  free(c);
  c = claims_with("\"iat\":1800000000");
  EXPECT_SIGNED(WS_ALG_HS256, "hs256", HS_HDR, c, NONE);
  free(c);
  /* Order: exp before nbf before iat. */
  EXPECT_SIGNED(WS_ALG_HS256, "hs256", HS_HDR,
                "{\"sub\":\"a\",\"exp\":1,\"nbf\":\"x\",\"iat\":\"x\"}",
                AUTH_EXPIRED);
  EXPECT_SIGNED(
      WS_ALG_HS256, "hs256", HS_HDR,
      "{\"sub\":\"a\",\"exp\":1700000060,\"nbf\":\"x\",\"iat\":\"x\"}",
      AUTH_NBF_MALFORMED);
  ws_config_free(lee);
}

static void test_iss_aud(void **state) {
  ws_config *cfg =
      config("{\"issuer\":\"https://issuer.example\",\"audience\":\"api\"}");
  static const struct {
    const char *extra;
    ws_diag want;
  } cases[] = {
      {"\"aud\":\"api\"", WS_DIAG_AUTH_ISS},
      {"\"iss\":\"https://issuer.example/\",\"aud\":\"api\"", WS_DIAG_AUTH_ISS},
      {"\"iss\":\"HTTPS://issuer.example\",\"aud\":\"api\"", WS_DIAG_AUTH_ISS},
      {"\"iss\":5,\"aud\":\"api\"", WS_DIAG_AUTH_ISS},
      {"\"iss\":\"https://issuer.example\"", WS_DIAG_AUTH_AUD},
      {"\"iss\":\"https://issuer.example\",\"aud\":\"web\"", WS_DIAG_AUTH_AUD},
      {"\"iss\":\"https://issuer.example\",\"aud\":[\"web\"]",
       WS_DIAG_AUTH_AUD},
      {"\"iss\":\"https://issuer.example\",\"aud\":[]", WS_DIAG_AUTH_AUD},
      {"\"iss\":\"https://issuer.example\",\"aud\":[\"api\",5]",
       WS_DIAG_AUTH_AUD},
      {"\"iss\":\"https://issuer.example\",\"aud\":{\"api\":1}",
       WS_DIAG_AUTH_AUD},
      {"\"iss\":\"https://issuer.example\",\"aud\":\"api\"", WS_DIAG_NONE},
      {"\"iss\":\"https://issuer.example\",\"aud\":[\"web\",\"api\"]",
       WS_DIAG_NONE},
  };
  size_t i;
  (void)state;
  for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char *c = claims_with(cases[i].extra), *t = hs(c);
    ws_diag d = verify_at(cfg, NOW, t);
    if (d != cases[i].want)
      fail_msg("case %zu: got %s want %s", i, diag_name(d),
               diag_name(cases[i].want));
    free(t);
    free(c);
  }
  /* Not configured: not checked. */
  {
    char *c = claims_with("\"iss\":\"anyone\",\"aud\":\"other\"");
    EXPECT_SIGNED(WS_ALG_HS256, "hs256", HS_HDR, c, NONE);
    free(c);
  }
  ws_config_free(cfg);
}

static void test_sub(void **state) {
  char c[600], sub[300];
  char *t;
  ws_jwt_claims out;
  static const char *const bad[] = {
      "{\"exp\":1700000060}",
      "{\"sub\":\"\",\"exp\":1700000060}",
      "{\"sub\":5,\"exp\":1700000060}",
      "{\"sub\":[\"alice\"],\"exp\":1700000060}",
      "{\"sub\":\"a\\u0001b\",\"exp\":1700000060}",
      "{\"sub\":\"a\\tb\",\"exp\":1700000060}",
      "{\"sub\":\"a\\u007fb\",\"exp\":1700000060}",
      "{\"sub\":\"a\\u0085b\",\"exp\":1700000060}", /* C1 NEL */
  };
  size_t i;
  (void)state;
  for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    EXPECT_SIGNED(WS_ALG_HS256, "hs256", HS_HDR, bad[i], AUTH_SUB);
  /* 255 bytes pass and are copied; 256 do not. */
  memset(sub, 'u', 255);
  sub[255] = '\0';
  snprintf(c, sizeof(c), "{\"sub\":\"%s\",\"exp\":1700000060}", sub);
  t = hs(c);
  memset(&out, 0, sizeof(out));
  assert_int_equal(verify_full(defcfg, keys, NOW, t, strlen(t), &out, 0, NULL),
                   WS_DIAG_NONE);
  assert_int_equal(out.sub_len, 255);
  assert_string_equal(out.sub, sub);
  free(t);
  snprintf(c, sizeof(c), "{\"sub\":\"%su\",\"exp\":1700000060}", sub);
  EXPECT_SIGNED(WS_ALG_HS256, "hs256", HS_HDR, c, AUTH_SUB);
  /* Printable non-ASCII is fine, and so are JSON escapes of it. */
  t = hs("{\"sub\":\"J\\u00fcrgen \xc3\xa9\",\"exp\":1700000060}");
  assert_int_equal(verify_full(defcfg, keys, NOW, t, strlen(t), &out, 0, NULL),
                   WS_DIAG_NONE);
  assert_string_equal(out.sub, "J\xc3\xbcrgen \xc3\xa9");
  free(t);
}

/* *out is untouched on failure. */
static void test_out_untouched(void **state) {
  ws_jwt_claims out, before;
  char *t = hs("{\"sub\":\"alice\",\"exp\":1}");
  (void)state;
  memset(&out, 0xA5, sizeof(out));
  before = out;
  assert_int_equal(verify_full(defcfg, keys, NOW, t, strlen(t), &out, 0, NULL),
                   WS_DIAG_AUTH_EXPIRED);
  assert_memory_equal(&out, &before, sizeof(out));
  free(t);
}

/* An OpenSSL failure that is neither a bad signature nor out-of-memory is
 * AUTH_INTERNAL.  It cannot be caused from the outside with a consistent
 * key set, so this one is inconsistent on purpose: an HMAC key that claims
 * to allow ES256. */
static void test_internal(void **state) {
  ws_keyset *ks = load_keys(
      "{\"keys\":[{\"kty\":\"oct\",\"kid\":\"x\","
      "\"k\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}]}");
  char *claims = claims_with(NULL);
  uint8_t sig[64];
  char *t;
  ws_jwt_claims out;
  (void)state;
  ks->keys[0].algs = WS_ALG_BIT(WS_ALG_ES256);
  memset(sig, 1, sizeof(sig));
  t = tok_compose("{\"alg\":\"ES256\",\"kid\":\"x\"}", claims, sig, 64);
  assert_int_equal(verify_full(defcfg, ks, NOW, t, strlen(t), &out, 0, NULL),
                   WS_DIAG_AUTH_INTERNAL);
  free(t);
  ws_keyset_free(ks);
  free(claims);
}

/* ---- allocation failures ---- */

/* Fails each allocation of one verification in turn: each failure must be
 * AUTH_NOMEM (wherever it happened: core, cJSON or OpenSSL) with nothing
 * left allocated; past the last allocation the verdict is `want`. */
static void sweep(const char *tok, ws_diag want, const char *what) {
  unsigned long k;
  ws_jwt_claims out;
  for (k = 1;; k++) {
    int failed = 0;
    ws_diag d =
        verify_full(defcfg, keys, NOW, tok, strlen(tok), &out, k, &failed);
    if (!failed) {
      if (d != want) fail_msg("%s: clean run gave %s", what, diag_name(d));
      assert_true(k > 2); /* at least the buffer and a JSON copy */
      return;
    }
    if (d != WS_DIAG_AUTH_NOMEM)
      fail_msg("%s: allocation %lu failed, got %s", what, k, diag_name(d));
  }
}

static void test_nomem_sweep(void **state) {
  char *claims = claims_with("\"aud\":[\"a\",\"b\"]");
  size_t i;
  char *t;
  (void)state;
  for (i = 0; i < NALGS; i++) {
    t = tok_sign(algs[i].alg, algs[i].kid, algs[i].hdr, claims);
    sweep(t, WS_DIAG_NONE, algs[i].kid);
    free(t);
  }
  /* Failure verdicts too: each run still frees everything. */
  t = hs("{\"sub\":\"alice\",\"exp\":1}");
  sweep(t, WS_DIAG_AUTH_EXPIRED, "expired");
  free(t);
  t = tok_sign(WS_ALG_RS256, "rs256", "{\"alg\":\"RS256\",\"kid\":\"rs256\"}",
               "{}x");
  sweep(t, WS_DIAG_AUTH_CLAIMS_JSON, "claims json");
  free(t);
  t = tok_sign(WS_ALG_EDDSA, "ed25519", "{\"alg\":\"EdDSA\"}", claims);
  mutate(t + strlen(t) - 3);
  sweep(t, WS_DIAG_AUTH_SIG_INVALID, "bad eddsa");
  free(t);
  free(claims);
}

/* OpenSSL keeps per-thread error state, created on first use in a thread;
 * it must never be created on (and so belong to) a session's allocator. */
typedef struct {
  const char *tok;
  ws_diag d;
  size_t live, total;
} thread_arg;

static void *thread_main(void *p) {
  thread_arg *a = p;
  ws_countalloc ca;
  ws_allocator al;
  ws_mem m;
  ws_jwt_claims out;
  ws_countalloc_init(&ca, NULL);
  al = ws_countalloc_allocator(&ca);
  ws_mem_init(&m, &al);
  a->d = ws_jwt_verify(&m, defcfg, keys, NOW, a->tok, strlen(a->tok), &out);
  a->live = ca.live_blocks;
  a->total = ca.total_allocs;
  return NULL;
}

static void test_fresh_thread(void **state) {
  char *claims = claims_with(NULL);
  size_t i;
  (void)state;
  for (i = 0; i < NALGS; i++) {
    pthread_t th;
    thread_arg a;
    char *t = tok_sign(algs[i].alg, algs[i].kid, algs[i].hdr, claims);
    a.tok = t;
    assert_int_equal(pthread_create(&th, NULL, thread_main, &a), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(a.d, WS_DIAG_NONE);
    assert_int_equal(a.live, 0);
    assert_true(a.total > 0);
    free(t);
  }
  free(claims);
}

/* Keys are shared read-only by concurrent sessions (the tsan preset checks
 * that no verification writes to them). */
typedef struct {
  char *const *toks; /* shared, read-only */
  int bad;           /* this thread's */
} conc_arg;

static void *conc_main(void *p) {
  conc_arg *a = p;
  int round;
  size_t i;
  for (round = 0; round < 20; round++)
    for (i = 0; i < NALGS; i++) {
      ws_jwt_claims out;
      if (verify_full(defcfg, keys, NOW, a->toks[i], strlen(a->toks[i]), &out,
                      0, NULL) != WS_DIAG_NONE)
        a->bad++;
    }
  return NULL;
}

static void test_concurrent(void **state) {
  char *claims = claims_with(NULL);
  char *toks[NALGS];
  pthread_t th[4];
  conc_arg a[4];
  size_t i;
  (void)state;
  for (i = 0; i < NALGS; i++)
    toks[i] = tok_sign(algs[i].alg, algs[i].kid, algs[i].hdr, claims);
  for (i = 0; i < 4; i++) {
    a[i].toks = toks;
    a[i].bad = 0;
    assert_int_equal(pthread_create(&th[i], NULL, conc_main, &a[i]), 0);
  }
  for (i = 0; i < 4; i++) {
    assert_int_equal(pthread_join(th[i], NULL), 0);
    assert_int_equal(a[i].bad, 0);
  }
  for (i = 0; i < NALGS; i++) free(toks[i]);
  free(claims);
}

/* The JWS layer alone: payload out on success, NULL on failure. */
static void test_jws_payload(void **state) {
  ws_mem m;
  uint8_t *p = (uint8_t *)1;
  size_t n = 7;
  char *t = tok_sign(WS_ALG_EDDSA, "ed25519",
                     "{\"alg\":\"EdDSA\",\"kid\":\"ed25519\"}", "");
  (void)state;
  ws_mem_init(&m, NULL);
  assert_int_equal(ws_jws_verify(&m, defcfg, keys, t, strlen(t), &p, &n),
                   WS_DIAG_NONE);
  assert_non_null(p);
  assert_int_equal(n, 0);
  ws_mem_free(&m, p);
  mutate(t + strlen(t) - 3);
  assert_int_equal(ws_jws_verify(&m, defcfg, keys, t, strlen(t), &p, &n),
                   WS_DIAG_AUTH_SIG_INVALID);
  assert_null(p);
  assert_int_equal(n, 0);
  free(t);
}

/* ws_crypto_sha1 (the handshake's digest, RFC 6455 4.2.2) lives in the same
 * adapter: FIPS 180-4 "abc", the RFC 6455 1.3 example, and allocation
 * failures reported as such with nothing left allocated. */
static void test_sha1(void **state) {
  static const uint8_t abc[20] = {0xa9, 0x99, 0x3e, 0x36, 0x47, 0x06, 0x81,
                                  0x6a, 0xba, 0x3e, 0x25, 0x71, 0x78, 0x50,
                                  0xc2, 0x6c, 0x9c, 0xd0, 0xd8, 0x9d};
  static const char key[] =
      "dGhlIHNhbXBsZSBub25jZQ==258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  uint8_t md[20];
  char b64[32];
  int nomem = 1;
  unsigned long k;
  ws_mem m;
  (void)state;
  ws_mem_init(&m, NULL);
  assert_int_equal(ws_crypto_sha1(&m, (const uint8_t *)"abc", 3, md, &nomem),
                   0);
  assert_int_equal(nomem, 0);
  assert_memory_equal(md, abc, 20);
  assert_int_equal(
      ws_crypto_sha1(&m, (const uint8_t *)key, strlen(key), md, &nomem), 0);
  ws_b64_encode(md, 20, b64, sizeof(b64));
  assert_string_equal(b64, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  for (k = 1;; k++) {
    tu_failalloc fa = {.fail_at = k};
    ws_allocator inner = tu_failalloc_allocator(&fa);
    ws_countalloc ca;
    ws_allocator al;
    int rc;
    ws_countalloc_init(&ca, &inner);
    al = ws_countalloc_allocator(&ca);
    ws_mem_init(&m, &al);
    rc = ws_crypto_sha1(&m, (const uint8_t *)key, strlen(key), md, &nomem);
    assert_int_equal(ca.live_blocks, 0);
    if (!fa.failed) {
      assert_int_equal(rc, 0);
      assert_true(k > 1);
      break;
    }
    assert_int_equal(rc, -1);
    assert_int_equal(nomem, 1);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rfc7515_a1),
      cmocka_unit_test(test_each_algorithm),
      cmocka_unit_test(test_no_kid),
      cmocka_unit_test(test_no_kid_second_key),
      cmocka_unit_test(test_token_too_long),
      cmocka_unit_test(test_malformed),
      cmocka_unit_test(test_base64),
      cmocka_unit_test(test_header_json),
      cmocka_unit_test(test_alg_none_and_unknown),
      cmocka_unit_test(test_b64_and_crit),
      cmocka_unit_test(test_key_selection),
      cmocka_unit_test(test_alg_confusion),
      cmocka_unit_test(test_es256_range_and_encoding),
      cmocka_unit_test(test_sig_encoding_other_algs),
      cmocka_unit_test(test_claims_json),
      cmocka_unit_test(test_exp),
      cmocka_unit_test(test_nbf_iat),
      cmocka_unit_test(test_iss_aud),
      cmocka_unit_test(test_sub),
      cmocka_unit_test(test_out_untouched),
      cmocka_unit_test(test_internal),
      cmocka_unit_test(test_nomem_sweep),
      cmocka_unit_test(test_fresh_thread),
      cmocka_unit_test(test_concurrent),
      cmocka_unit_test(test_jws_payload),
      cmocka_unit_test(test_sha1),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
