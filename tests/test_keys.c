/* JWKS loading (core/keys.c): what loads, with which algorithms, what is
 * skipped (RFC 7517 5), and every WS_ERR_PARSE case with the message naming
 * the key and the member. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "json.h"
#include "keys.h"
#include "testutil.h"

/* Members of the committed test keys, read from tests/keys/jwks.json so
 * that the material lives in one place. */
static char rsa_n[400], ec_x[64], ec_y[64], ed_x[64], hs256_k[64];

static void member(const ws_json *keys, const char *kid, const char *name,
                   char *out, size_t cap) {
  int i;
  for (i = 0; i < ws_json_size(keys); i++) {
    const ws_json *k = ws_json_item(keys, i);
    size_t len;
    const char *s = ws_json_string(ws_json_get(k, "kid"), &len);
    if (s && strcmp(s, kid) == 0) {
      s = ws_json_string(ws_json_get(k, name), &len);
      assert_non_null(s);
      assert_true(len < cap);
      memcpy(out, s, len + 1);
      return;
    }
  }
  fail_msg("no %s.%s in jwks.json", kid, name);
}

static int setup(void **state) {
  ws_mem m;
  ws_json *root = NULL;
  ws_json_limits lim = {1 << 20, 16};
  size_t len;
  char *j = tu_read_file(WSGATE_SOURCE_DIR "/tests/keys/jwks.json", &len);
  const ws_json *keys;
  (void)state;
  tu_global_init();
  assert_non_null(j);
  ws_mem_init(&m, NULL);
  assert_int_equal(ws_json_parse(&m, j, len, &lim, &root), WS_JSON_OK);
  keys = ws_json_get(root, "keys");
  member(keys, "rs256", "n", rsa_n, sizeof(rsa_n));
  member(keys, "es256", "x", ec_x, sizeof(ec_x));
  member(keys, "es256", "y", ec_y, sizeof(ec_y));
  member(keys, "ed25519", "x", ed_x, sizeof(ed_x));
  member(keys, "hs256", "k", hs256_k, sizeof(hs256_k));
  ws_json_free(&m, root);
  free(j);
  return 0;
}

/* Loads a JWKS built from a printf format; returns the status and leaves
 * the message in err. */
static int load(ws_keyset **ks, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int load(ws_keyset **ks, char *err, size_t errlen, const char *fmt,
                ...) {
  char doc[4096];
  va_list ap;
  int n;
  va_start(ap, fmt);
  n = vsnprintf(doc, sizeof(doc), fmt, ap);
  va_end(ap);
  assert_true(n > 0 && (size_t)n < sizeof(doc));
  return ws_keyset_load(ks, doc, (size_t)n, err, errlen);
}

/* Expects one loaded key with exactly the algorithms algs. */
#define expect_one(algs, ...)                  \
  do {                                         \
    char doc_[2048];                           \
    snprintf(doc_, sizeof(doc_), __VA_ARGS__); \
    expect_one_(algs, doc_);                   \
  } while (0)
static void expect_one_(unsigned algs, const char *doc) {
  ws_keyset *ks = NULL;
  char err[256];
  int rc = ws_keyset_load(&ks, doc, strlen(doc), err, sizeof(err));
  if (rc != WS_OK) fail_msg("load failed: %s", err);
  assert_int_equal(ws_keyset_size(ks), 1);
  assert_int_equal(ks->keys[0].algs, algs);
  ws_keyset_free(ks);
}

/* Expects WS_ERR_PARSE with a message containing each of the strings. */
static void expect_parse(const char *doc, const char *want1,
                         const char *want2) {
  ws_keyset *ks = (ws_keyset *)1;
  char err[256];
  int rc = ws_keyset_load(&ks, doc, strlen(doc), err, sizeof(err));
  if (rc != WS_ERR_PARSE) fail_msg("rc %d for %s", rc, doc);
  assert_null(ks);
  if (want1 && !strstr(err, want1)) fail_msg("'%s' lacks '%s'", err, want1);
  if (want2 && !strstr(err, want2)) fail_msg("'%s' lacks '%s'", err, want2);
}

static char *b64u(const uint8_t *p, size_t n) {
  char *s = malloc(n / 3 * 4 + 5);
  assert_non_null(s);
  ws_b64url_encode(p, n, s, n / 3 * 4 + 5);
  return s;
}

#define HS WS_ALG_BIT(WS_ALG_HS256)
#define HS3 WS_ALG_BIT(WS_ALG_HS384)
#define HS5 WS_ALG_BIT(WS_ALG_HS512)
#define RSA_ALGS (WS_ALG_BIT(WS_ALG_RS256) | WS_ALG_BIT(WS_ALG_PS256))

static void test_committed_set(void **state) {
  ws_keyset *ks = tu_keys();
  size_t i;
  static const struct {
    const char *kid;
    ws_alg alg;
  } want[] = {{"hs256", WS_ALG_HS256},  {"hs384", WS_ALG_HS384},
              {"hs512", WS_ALG_HS512},  {"rs256", WS_ALG_RS256},
              {"ps256", WS_ALG_PS256},  {"es256", WS_ALG_ES256},
              {"ed25519", WS_ALG_EDDSA}};
  (void)state;
  assert_int_equal(ws_keyset_size(ks), 7);
  for (i = 0; i < 7; i++) {
    assert_string_equal(ks->keys[i].kid, want[i].kid);
    assert_int_equal(ks->keys[i].kid_len, strlen(want[i].kid));
    /* alg in the JWK: that algorithm only (RFC 7517 4.4). */
    assert_int_equal(ks->keys[i].algs, WS_ALG_BIT(want[i].alg));
  }
  ws_keyset_free(ks);
}

static void test_empty(void **state) {
  ws_keyset *ks = NULL;
  char err[64];
  (void)state;
  assert_int_equal(ws_keyset_empty(&ks), WS_OK);
  assert_int_equal(ws_keyset_size(ks), 0);
  ws_keyset_free(ks);
  /* A document with no key is an error (ws_keyset_empty is the way to ask
   * for an empty set). */
  assert_int_equal(load(&ks, err, sizeof(err), "{\"keys\":[]}"), WS_ERR_PARSE);
  assert_null(ks);
  assert_string_equal(err, "jwks: no usable key: the \"keys\" array is empty");
  ws_keyset_free(NULL);
  assert_int_equal(ws_keyset_size(NULL), 0);
  assert_int_equal(ws_keyset_load(NULL, "{}", 2, NULL, 0), WS_ERR_ARG);
  assert_int_equal(ws_keyset_load(&ks, NULL, 0, NULL, 0), WS_ERR_ARG);
}

/* Without alg, a key allows its family; oct only the HMACs whose output is
 * no longer than the secret (RFC 7518 3.2). */
static void test_family_defaults(void **state) {
  uint8_t secret[64];
  char *k32, *k48, *k64;
  (void)state;
  memset(secret, 0x5a, sizeof(secret));
  k32 = b64u(secret, 32);
  k48 = b64u(secret, 48);
  k64 = b64u(secret, 64);
  expect_one(HS, "{\"keys\":[{\"kty\":\"oct\",\"k\":\"%s\"%s}]}", k32, "");
  expect_one(HS | HS3, "{\"keys\":[{\"kty\":\"oct\",\"k\":\"%s\"%s}]}", k48,
             "");
  expect_one(HS | HS3 | HS5, "{\"keys\":[{\"kty\":\"oct\",\"k\":\"%s\"%s}]}",
             k64, "");
  /* An explicit alg narrows it to one. */
  expect_one(HS3, "{\"keys\":[{\"kty\":\"oct\",\"k\":\"%s\"%s}]}", k64,
             ",\"alg\":\"HS384\"");
  expect_one(RSA_ALGS,
             "{\"keys\":[{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\"%s}]}",
             rsa_n, "");
  expect_one(WS_ALG_BIT(WS_ALG_PS256),
             "{\"keys\":[{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\"%s}]}",
             rsa_n, ",\"alg\":\"PS256\"");
  expect_one(WS_ALG_BIT(WS_ALG_ES256),
             "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":"
             "\"%s\"}]}",
             ec_x, ec_y);
  expect_one(
      WS_ALG_BIT(WS_ALG_EDDSA),
      "{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"%s\"%s}]}", ed_x,
      "");
  /* use sig and key_ops with verify are usable. */
  expect_one(HS, "{\"keys\":[{\"kty\":\"oct\",\"k\":\"%s\"%s}]}", k32,
             ",\"use\":\"sig\",\"key_ops\":[\"sign\",\"verify\"]");
  free(k32);
  free(k48);
  free(k64);
}

/* Collects the skip warnings of one load. */
typedef struct warnings {
  size_t n;
  char text[8][256];
} warnings;

static void on_warn(void *ud, const char *msg) {
  warnings *w = ud;
  if (w->n < 8) snprintf(w->text[w->n], sizeof(w->text[0]), "%s", msg);
  w->n++;
}

/* Loads doc with warnings collected; expects status rc. */
static int load_warn(ws_keyset **ks, char *err, size_t errlen, warnings *w,
                     const char *doc) {
  memset(w, 0, sizeof(*w));
  return ws_keyset_load_warn(ks, doc, strlen(doc), err, errlen, on_warn, w);
}

/* RFC 7517 5: what we do not understand or may not use is skipped, each
 * skipped key is named with why, and a set left with no key is an error
 * whose message says why the first key was skipped. */
static void test_skipped(void **state) {
  ws_keyset *ks = NULL;
  char err[320], doc[4096];
  warnings w;
  size_t i;
  static const struct {
    const char *member, *want;
  } skip[] = {
      {",\"use\":\"enc\"",
       "jwks: key 0 (kid \"k\") skipped: use \"enc\": only \"sig\" keys verify "
       "signatures"},
      {",\"key_ops\":[\"encrypt\",\"decrypt\"]",
       "jwks: key 0 (kid \"k\") skipped: key_ops: does not list \"verify\""},
      {",\"key_ops\":[]",
       "jwks: key 0 (kid \"k\") skipped: key_ops: does not list \"verify\""},
      /* a JWA algorithm we do not implement */
      {",\"alg\":\"RS384\"",
       "jwks: key 0 (kid \"k\") skipped: alg \"RS384\": not an algorithm "
       "wsgate verifies"},
      {",\"alg\":\"RSA-OAEP\"",
       "jwks: key 0 (kid \"k\") skipped: alg \"RSA-OAEP\": not an algorithm"},
      /* a typo */
      {",\"alg\":\"RS265\"",
       "jwks: key 0 (kid \"k\") skipped: alg \"RS265\": not an algorithm"},
      /* the right name in the wrong case */
      {",\"alg\":\"rs256\"",
       "jwks: key 0 (kid \"k\") skipped: alg \"rs256\": alg names are "
       "case-sensitive (RFC 7515 4.1.1)"},
  };
  (void)state;
  for (i = 0; i < sizeof(skip) / sizeof(skip[0]); i++) {
    snprintf(doc, sizeof(doc),
             "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"k\",\"n\":\"%s\","
             "\"e\":\"AQAB\"%s}]}",
             rsa_n, skip[i].member);
    ks = (ws_keyset *)1;
    assert_int_equal(load_warn(&ks, err, sizeof(err), &w, doc), WS_ERR_PARSE);
    assert_null(ks);
    assert_int_equal(w.n, 1);
    if (!strstr(w.text[0], skip[i].want))
      fail_msg("warning '%s' lacks '%s'", w.text[0], skip[i].want);
    if (!strstr(err, "jwks: no usable key: 1 skipped; the first: key 0") ||
        !strstr(err, skip[i].want + 6))
      fail_msg("error '%s' lacks '%s'", err, skip[i].want);
    /* The same key beside a usable one: loaded, with the same warning. */
    snprintf(doc, sizeof(doc),
             "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"k\",\"n\":\"%s\","
             "\"e\":\"AQAB\"%s},{\"kty\":\"oct\",\"k\":\"%s\"}]}",
             rsa_n, skip[i].member, hs256_k);
    assert_int_equal(load_warn(&ks, err, sizeof(err), &w, doc), WS_OK);
    assert_int_equal(ws_keyset_size(ks), 1);
    assert_int_equal(w.n, 1);
    assert_non_null(strstr(w.text[0], skip[i].want));
    ws_keyset_free(ks);
  }
  /* Unknown kty, unknown curves: four warnings, each naming its key. */
  snprintf(doc, sizeof(doc),
           "{\"keys\":[{\"kty\":\"foo\",\"x\":\"!!\"},"
           "{\"kty\":\"EC\",\"kid\":\"p384\",\"crv\":\"P-384\",\"x\":\"%s\","
           "\"y\":\"%s\"},"
           "{\"kty\":\"OKP\",\"crv\":\"X25519\",\"x\":\"%s\"},"
           "{\"kty\":\"rsa\",\"n\":\"AQAB\",\"e\":\"AQAB\"}]}",
           ec_x, ec_y, ed_x);
  assert_int_equal(load_warn(&ks, err, sizeof(err), &w, doc), WS_ERR_PARSE);
  assert_int_equal(w.n, 4);
  assert_string_equal(w.text[0],
                      "jwks: key 0 skipped: kty \"foo\": not a supported key "
                      "type (oct, RSA, EC, OKP; case-sensitive)");
  assert_string_equal(w.text[1],
                      "jwks: key 1 (kid \"p384\") skipped: crv \"P-384\": not "
                      "a supported EC curve (P-256 only)");
  assert_string_equal(w.text[2],
                      "jwks: key 2 skipped: crv \"X25519\": not a supported "
                      "OKP curve (Ed25519 only)");
  assert_non_null(strstr(w.text[3], "jwks: key 3 skipped: kty \"rsa\""));
  assert_non_null(strstr(err,
                         "jwks: no usable key: 4 skipped; the first: "
                         "key 0 skipped: kty \"foo\""));
  /* Without a callback the load is the same (ws_keyset_load). */
  assert_int_equal(ws_keyset_load(&ks, doc, strlen(doc), err, sizeof(err)),
                   WS_ERR_PARSE);
  assert_null(ks);
  /* The same kid on an encryption key and a signing key (a common JWKS
   * shape): only the signing key is loaded, so the kid is not a duplicate. */
  snprintf(doc, sizeof(doc),
           "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"a\",\"use\":"
           "\"enc\",\"n\":\"%s\",\"e\":\"AQAB\"},"
           "{\"kty\":\"RSA\",\"kid\":\"a\",\"use\":\"sig\",\"n\":"
           "\"%s\",\"e\":\"AQAB\"}]}",
           rsa_n, rsa_n);
  assert_int_equal(load_warn(&ks, err, sizeof(err), &w, doc), WS_OK);
  assert_int_equal(ws_keyset_size(ks), 1);
  assert_string_equal(ks->keys[0].kid, "a");
  assert_int_equal(w.n, 1);
  ws_keyset_free(ks);
  /* Several keys without kid are fine, and nothing is skipped. */
  snprintf(doc, sizeof(doc),
           "{\"keys\":[{\"kty\":\"oct\",\"k\":\"%s\"},{\"kty\":"
           "\"oct\",\"k\":\"%s\"}]}",
           hs256_k, hs256_k);
  assert_int_equal(load_warn(&ks, err, sizeof(err), &w, doc), WS_OK);
  assert_int_equal(ws_keyset_size(ks), 2);
  assert_null(ks->keys[0].kid);
  assert_int_equal(w.n, 0);
  ws_keyset_free(ks);
}

static void test_parse_document(void **state) {
  (void)state;
  expect_parse("", "not valid JSON", NULL);
  expect_parse("{\"keys\":[}", "not valid JSON", NULL);
  expect_parse("[]", "\"keys\" array", NULL);
  expect_parse("{}", "\"keys\" array", NULL);
  expect_parse("{\"keys\":{}}", "\"keys\" array", NULL);
  expect_parse("{\"keys\":[],\"keys\":[]}", "duplicate", NULL);
  expect_parse("{\"keys\":[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]}", "deeper",
               NULL);
  expect_parse("{\"keys\":[1]}", "key 0", "not a JSON object");
}

/* Private members anywhere reject the whole set, whatever the key type. */
static void test_private_material(void **state) {
  static const char *const names[] = {"d", "p", "q", "dp", "dq", "qi", "oth"};
  char doc[1024];
  size_t i;
  (void)state;
  for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
    snprintf(doc, sizeof(doc),
             "{\"keys\":[{\"kty\":\"oct\",\"k\":\"%s\"},"
             "{\"kty\":\"EC\",\"kid\":\"e1\",\"crv\":\"P-256\",\"x\":\"%s\","
             "\"y\":\"%s\",\"%s\":\"AQAB\"}]}",
             hs256_k, ec_x, ec_y, names[i]);
    expect_parse(doc, "key 1 (kid \"e1\")", "private key material");
  }
  /* Even on a key that would otherwise be skipped. */
  expect_parse("{\"keys\":[{\"kty\":\"RSA\",\"use\":\"enc\",\"d\":\"AQAB\"}]}",
               "key 0: d", "private key material in a public key set");
}

static void test_parse_members(void **state) {
  char doc[2048];
  uint8_t big[257];
  char *s;
  (void)state;
  /* kty. */
  expect_parse("{\"keys\":[{\"k\":\"AAAA\"}]}", "key 0: kty", "missing");
  expect_parse("{\"keys\":[{\"kty\":1}]}", "kty", "not a string");
  /* kid, use, key_ops, alg shapes. */
  expect_parse("{\"keys\":[{\"kty\":\"oct\",\"kid\":7}]}", "kid",
               "not a string");
  expect_parse("{\"keys\":[{\"kty\":\"oct\",\"use\":true}]}", "use",
               "not a string");
  expect_parse("{\"keys\":[{\"kty\":\"oct\",\"key_ops\":\"verify\"}]}",
               "key_ops", "not an array");
  expect_parse("{\"keys\":[{\"kty\":\"oct\",\"key_ops\":[\"verify\",1]}]}",
               "key_ops", "array of strings");
  expect_parse(
      "{\"keys\":[{\"kty\":\"oct\",\"key_ops\":[\"verify\",\"verify\"]}]}",
      "key_ops", "duplicate");
  expect_parse("{\"keys\":[{\"kty\":\"oct\",\"alg\":256,\"k\":\"AAAA\"}]}",
               "alg", "not a string");
  /* oct: k missing, not base64url, padded, empty, too short. */
  expect_parse("{\"keys\":[{\"kty\":\"oct\",\"kid\":\"h\"}]}",
               "key 0 (kid \"h\"): k", "missing");
  expect_parse("{\"keys\":[{\"kty\":\"oct\",\"k\":5}]}", "k", "not a string");
  snprintf(doc, sizeof(doc), "{\"keys\":[{\"kty\":\"oct\",\"k\":\"%s=\"}]}",
           hs256_k);
  expect_parse(doc, "k", "base64url");
  expect_parse("{\"keys\":[{\"kty\":\"oct\",\"k\":\"ab+/\"}]}", "k",
               "base64url");
  expect_parse("{\"keys\":[{\"kty\":\"oct\",\"k\":\"AB\"}]}", "k", "base64url");
  expect_parse("{\"keys\":[{\"kty\":\"oct\",\"k\":\"\"}]}", "k", "empty");
  expect_parse(
      "{\"keys\":[{\"kty\":\"oct\",\"k\":"
      "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}]}",
      "k", "shorter than 32 bytes");
  snprintf(doc, sizeof(doc),
           "{\"keys\":[{\"kty\":\"oct\",\"alg\":\"HS512\",\"k\":\"%s\"}]}",
           hs256_k);
  expect_parse(doc, "alg", "shorter than the hash");
  snprintf(doc, sizeof(doc),
           "{\"keys\":[{\"kty\":\"oct\",\"alg\":\"RS256\",\"k\":\"%s\"}]}",
           hs256_k);
  expect_parse(doc, "alg", "does not fit");
  /* RSA. */
  snprintf(doc, sizeof(doc),
           "{\"keys\":[{\"kty\":\"RSA\",\"alg\":\"ES256\",\"n\":\"%s\",\"e\":"
           "\"AQAB\"}]}",
           rsa_n);
  expect_parse(doc, "alg", "does not fit");
  snprintf(doc, sizeof(doc),
           "{\"keys\":[{\"kty\":\"RSA\",\"alg\":\"HS256\",\"n\":\"%s\",\"e\":"
           "\"AQAB\"}]}",
           rsa_n);
  expect_parse(doc, "alg", "does not fit");
  expect_parse("{\"keys\":[{\"kty\":\"RSA\",\"e\":\"AQAB\"}]}", "n", "missing");
  snprintf(doc, sizeof(doc), "{\"keys\":[{\"kty\":\"RSA\",\"n\":\"%s\"}]}",
           rsa_n);
  expect_parse(doc, "e", "missing");
  snprintf(doc, sizeof(doc),
           "{\"keys\":[{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB=\"}]}",
           rsa_n);
  expect_parse(doc, "e", "base64url");
  snprintf(doc, sizeof(doc),
           "{\"keys\":[{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AAEAAQ\"}]}",
           rsa_n);
  expect_parse(doc, "e", "leading zero");
  snprintf(doc, sizeof(doc),
           "{\"keys\":[{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAA\"}]}", rsa_n);
  expect_parse(doc, "e", "exponent");
  snprintf(doc, sizeof(doc),
           "{\"keys\":[{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQ\"}]}", rsa_n);
  expect_parse(doc, "e", "exponent");
  /* Modulus with a leading zero octet (not minimal, RFC 7518 2). */
  memset(big, 0xC3, sizeof(big));
  big[0] = 0;
  s = b64u(big, 257);
  snprintf(doc, sizeof(doc),
           "{\"keys\":[{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\"}]}", s);
  free(s);
  expect_parse(doc, "n", "leading zero");
  /* 2047 and 1024 bits (RFC 7518 3.3). */
  big[0] = 0x7F;
  s = b64u(big, 256);
  snprintf(doc, sizeof(doc),
           "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"r\",\"n\":\"%s\",\"e\":"
           "\"AQAB\"}]}",
           s);
  free(s);
  expect_parse(doc, "key 0 (kid \"r\"): n", "shorter than 2048 bits");
  s = b64u(big + 1, 128);
  snprintf(doc, sizeof(doc),
           "{\"keys\":[{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\"}]}", s);
  free(s);
  expect_parse(doc, "n", "shorter than 2048 bits");
  /* An even modulus. */
  big[0] = 0xC3;
  big[255] = 0xC2;
  s = b64u(big, 256);
  snprintf(doc, sizeof(doc),
           "{\"keys\":[{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\"}]}", s);
  free(s);
  expect_parse(doc, "n", "even");
  /* EC. */
  snprintf(doc, sizeof(doc),
           "{\"keys\":[{\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}]}", ec_x,
           ec_y);
  expect_parse(doc, "crv", "missing");
  snprintf(doc, sizeof(doc),
           "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\"}]}",
           ec_x);
  expect_parse(doc, "y", "missing");
  snprintf(doc, sizeof(doc),
           "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%.40s\",\"y\":"
           "\"%s\"}]}",
           ec_x, ec_y);
  expect_parse(doc, "x", "not 32 bytes");
  snprintf(doc, sizeof(doc),
           "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%"
           "sAA\"}]}",
           ec_x, ec_y);
  expect_parse(doc, "y", "base64url");
  snprintf(doc, sizeof(doc),
           "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%"
           "s\"}]}",
           ec_x, ec_x);
  expect_parse(doc, "x/y", "not on the curve");
  /* All-ones coordinates: x >= p, not a field element. */
  snprintf(doc, sizeof(doc),
           "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%"
           "s\"}]}",
           "__________________________________________8",
           "__________________________________________8");
  expect_parse(doc, "x/y", "P-256");
  snprintf(doc, sizeof(doc),
           "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"alg\":\"EdDSA\","
           "\"x\":\"%s\",\"y\":\"%s\"}]}",
           ec_x, ec_y);
  expect_parse(doc, "alg", "does not fit");
  /* OKP. */
  snprintf(doc, sizeof(doc),
           "{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"%.40s\"}]}",
           ed_x);
  expect_parse(doc, "x", "not 32 bytes");
  expect_parse("{\"keys\":[{\"kty\":\"OKP\",\"crv\":7,\"x\":\"AA\"}]}", "crv",
               "not a string");
  snprintf(doc, sizeof(doc),
           "{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"alg\":\"ES256\","
           "\"x\":\"%s\"}]}",
           ed_x);
  expect_parse(doc, "alg", "does not fit");
}

static void test_duplicate_kid(void **state) {
  char doc[2048];
  (void)state;
  snprintf(
      doc, sizeof(doc),
      "{\"keys\":[{\"kty\":\"oct\",\"kid\":\"k1\",\"k\":\"%s\"},"
      "{\"kty\":\"EC\",\"kid\":\"k2\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%"
      "s\"},"
      "{\"kty\":\"OKP\",\"kid\":\"k1\",\"crv\":\"Ed25519\",\"x\":\"%s\"}]}",
      hs256_k, ec_x, ec_y, ed_x);
  expect_parse(doc, "key 2 (kid \"k1\"): kid", "duplicate kid");
}

/* The message never prints raw control bytes from a kid. */
static void test_message_sanitised(void **state) {
  (void)state;
  expect_parse(
      "{\"keys\":[{\"kty\":\"oct\",\"kid\":\"a\\u0001\\\"b\",\"k\":\"\"}]}",
      "(kid \"a??b\")", "k: empty");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_committed_set),
      cmocka_unit_test(test_empty),
      cmocka_unit_test(test_family_defaults),
      cmocka_unit_test(test_skipped),
      cmocka_unit_test(test_parse_document),
      cmocka_unit_test(test_private_material),
      cmocka_unit_test(test_parse_members),
      cmocka_unit_test(test_duplicate_kid),
      cmocka_unit_test(test_message_sanitised),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}
