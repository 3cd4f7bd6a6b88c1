#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "fuzz_keys.h" /* generated: fz_jwks_json, fz_hs256_key */
#include "plan.h"

static ws_keyset *keys;
static ws_config *configs[FZ_CFG_COUNT];
static uint8_t hs256[64];
static size_t hs256_len;
static int verbose;

static const char *const config_json[FZ_CFG_COUNT] = {
    "{}", "{\"first_message_auth\":true}",
    "{\"origins\":[\"https://chat.example\"],"
    "\"subprotocols\":[\"chat.v2\",\"chat.v1\"],"
    "\"issuer\":\"https://issuer.example\",\"audience\":\"wsgate\","
    "\"leeway_s\":30}",
    "{\"max_head_bytes\":512,\"max_headers\":8,\"max_token_bytes\":400,"
    "\"max_message_bytes\":200,\"max_json_depth\":3,"
    "\"first_message_auth\":true}"};

static void die(const char *what) {
  fprintf(stderr, "wsgate fuzz: setup: %s\n", what);
  abort();
}

void fz_init(void) {
  char err[256];
  long n;
  unsigned i;
  if (keys) return;
  verbose = getenv("WSGATE_FUZZ_VERBOSE") != NULL;
  if (ws_global_init() != WS_OK) die("ws_global_init");
  if (ws_keyset_load(&keys, fz_jwks_json, strlen(fz_jwks_json), err,
                     sizeof(err)) != WS_OK)
    die(err);
  for (i = 0; i < FZ_CFG_COUNT; i++)
    if (ws_config_new(&configs[i], config_json[i], strlen(config_json[i]), err,
                      sizeof(err)) != WS_OK)
      die(err);
  n = ws_b64url_decode(fz_hs256_key, strlen(fz_hs256_key), hs256,
                       sizeof(hs256));
  if (n <= 0) die("hs256 key");
  hs256_len = (size_t)n;
  /* Warm up the signer, so its first-use allocations are not an input's. */
  free(fz_sign((const uint8_t *)"{}", 2));
}

const ws_keyset *fz_keys(void) {
  return keys;
}

const ws_config *fz_config(unsigned which) {
  return configs[which % FZ_CFG_COUNT];
}

/* ---- the deterministic environment ----------------------------------------
 */

static uint64_t rng;
static int64_t env_now(void *ud) {
  (void)ud;
  return FZ_NOW;
}
static int env_random(void *ud, uint8_t *buf, size_t len) {
  size_t i;
  (void)ud;
  for (i = 0; i < len; i++) buf[i] = (uint8_t)ws_splitmix64(&rng);
  return 0;
}
static void env_reset(void *ud) {
  (void)ud;
  rng = 0x5eed;
}

void fz_spec(ws_run_spec *spec, const ws_config *cfg, const uint8_t *input,
             size_t len) {
  memset(spec, 0, sizeof(*spec));
  spec->cfg = cfg;
  spec->keys = keys;
  spec->env.now = env_now;
  spec->env.random = env_random;
  spec->prepare = env_reset;
  spec->input = input;
  spec->len = len;
}

/* ---- signing ----------------------------------------------------------------
 */

/* HMAC-SHA-256 (RFC 2104) over the core's crypto adapter would need a
 * session; the targets sign with OpenSSL directly, outside any session. */
#include <openssl/evp.h>
#include <openssl/hmac.h>

char *fz_sign(const uint8_t *claims, size_t n) {
  static const char hdr[] = "{\"alg\":\"HS256\",\"kid\":\"hs256\"}";
  size_t hl = (sizeof(hdr) - 1 + 2) / 3 * 4 + 4, cl = (n + 2) / 3 * 4 + 4;
  size_t cap = hl + cl + 48 + 4, at;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int maclen = 0;
  char *t = malloc(cap);
  if (!t) return NULL;
  at = ws_b64url_encode((const uint8_t *)hdr, sizeof(hdr) - 1, t, cap);
  t[at++] = '.';
  at += ws_b64url_encode(claims, n, t + at, cap - at);
  if (!HMAC(EVP_sha256(), hs256, (int)hs256_len, (const unsigned char *)t, at,
            mac, &maclen)) {
    free(t);
    return NULL;
  }
  t[at++] = '.';
  at += ws_b64url_encode(mac, maclen, t + at, cap - at);
  t[at] = '\0';
  return t;
}

uint8_t *fz_expand(const uint8_t *in, size_t n, size_t *out_len) {
  static const char open[] = "@@TOKEN(", close[] = ")@@";
  size_t cap = n + 1, at = 0, i = 0;
  uint8_t *out = malloc(cap), *q;
  if (!out) return NULL;
  while (i < n) {
    const uint8_t *end = NULL;
    char *tok;
    size_t tl, k;
    if (n - i >= sizeof(open) - 1 &&
        memcmp(in + i, open, sizeof(open) - 1) == 0)
      for (k = i + sizeof(open) - 1; k + sizeof(close) - 1 <= n; k++)
        if (memcmp(in + k, close, sizeof(close) - 1) == 0) {
          end = in + k;
          break;
        }
    if (!end) {
      out[at++] = in[i++];
      continue;
    }
    tok = fz_sign(in + i + sizeof(open) - 1,
                  (size_t)(end - (in + i + sizeof(open) - 1)));
    if (!tok) {
      free(out);
      return NULL;
    }
    tl = strlen(tok);
    if (!(q = realloc(out, cap + tl))) {
      free(tok);
      free(out);
      return NULL;
    }
    out = q;
    cap += tl;
    memcpy(out + at, tok, tl);
    at += tl;
    free(tok);
    i = (size_t)(end - in) + sizeof(close) - 1;
  }
  *out_len = at;
  return out;
}

/* ---- the promise ----------------------------------------------------------
 */

void fz_require(int cond, const char *target, const char *what) {
  if (cond) return;
  fprintf(stderr, "wsgate fuzz: %s: promise broken: %s\n", target, what);
  abort();
}

void fz_check(const char *target, const ws_run_result *clean,
              const ws_run_result *r) {
  char why[512], line[2048];
  ws_verdict v = ws_judge(clean, r, why, sizeof(why));
  if (verbose) {
    ws_run_outcome_json(r, line, sizeof(line));
    fprintf(stderr, "%s: %s %s\n", target, ws_verdict_name(v), line);
  }
  if (!ws_verdict_failing(v)) return;
  ws_run_outcome_json(r, line, sizeof(line));
  fprintf(stderr, "wsgate fuzz: %s: promise broken (%s): %s\n  outcome: %s\n",
          target, ws_verdict_name(v), why, line);
  abort();
}

void fz_run_judged(const char *target, const ws_run_spec *spec,
                   const ws_fault_plan *plan) {
  ws_run_result clean, r;
  int err = 0;
  fz_require(ws_run(spec, NULL, &clean, &err) == 0, target,
             "ws_session_new refused the setup");
  fz_check(target, NULL, &clean);
  if (plan && plan->nrules) {
    fz_require(ws_run(spec, plan, &r, &err) == 0, target,
               "ws_session_new refused the setup");
    fz_check(target, &clean, &r);
    ws_run_result_clear(&r);
  }
  ws_run_result_clear(&clean);
}
