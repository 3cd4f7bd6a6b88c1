/* Writes the seed corpora of the fuzz targets: corpus/<target>/<sha1>, each
 * file named by the SHA-1 of its content (as libFuzzer names its finds), so
 * regenerating adds nothing twice.  Tokens are signed with the committed
 * test keys (tests/keys); together the seeds reach every row of POLICY §3.
 *
 *   gen_corpus CORPUS_DIR      (the build runs it as: cmake --build ...
 *                               --target corpus) */
#include <dirent.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common.h"
#include "config.h"
#include "forge.h"
#include "forge_int.h"
#include "testutil.h"
#include "tokens.h"

#define EXP "2000000000"

static const char *root;
static unsigned long written, removed;

/* The names written this run, so that a regeneration replaces the seeds of
 * the previous one instead of adding to them (prune_stale). */
#define MAX_SEEDS 4096
static char seen[MAX_SEEDS][2 * 20 + 1];
static const char *seen_target[MAX_SEEDS];
static size_t n_seen;

static int was_written(const char *target, const char *name) {
  size_t i;
  for (i = 0; i < n_seen; i++)
    if (strcmp(seen_target[i], target) == 0 && strcmp(seen[i], name) == 0)
      return 1;
  return 0;
}

/* A seed's name: 40 lower-case hex digits. */
static int is_seed_name(const char *s) {
  size_t i;
  for (i = 0; s[i]; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
      return 0;
  return i == 40;
}

/* Removes from corpus/<target>/ every seed-named file this run did not
 * write: corpus/<target>/ holds the generator's output only (found inputs
 * belong in corpus/regressions/, which is never touched here). */
static void prune_stale(const char *target) {
  char dir[1024], path[1100];
  DIR *d;
  struct dirent *e;
  snprintf(dir, sizeof(dir), "%s/%s", root, target);
  if (!(d = opendir(dir))) return;
  while ((e = readdir(d)) != NULL) {
    if (!is_seed_name(e->d_name) || was_written(target, e->d_name)) continue;
    snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
    if (remove(path) != 0) {
      perror(path);
      exit(1);
    }
    removed++;
  }
  closedir(d);
}

static void mirror(const char *target, const tu_bytes *b);

static void emit(const char *target, const tu_bytes *b) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0, i;
  char path[1024], hex[2 * EVP_MAX_MD_SIZE + 1];
  FILE *f;
  if (!EVP_Digest(b->p, b->n, md, &mdlen, EVP_sha1(), NULL)) {
    fprintf(stderr, "gen_corpus: sha1 failed\n");
    exit(1);
  }
  for (i = 0; i < mdlen; i++) sprintf(hex + 2 * i, "%02x", md[i]);
  if (was_written(target, hex)) return; /* the same seed twice */
  if (n_seen == MAX_SEEDS) {
    fprintf(stderr, "gen_corpus: more than %d seeds\n", MAX_SEEDS);
    exit(1);
  }
  memcpy(seen[n_seen], hex, sizeof(seen[0]));
  seen_target[n_seen++] = target;
  snprintf(path, sizeof(path), "%s/%s", root, target);
  if (mkdir(path, 0777) != 0 && errno != EEXIST) {
    perror(path);
    exit(1);
  }
  snprintf(path, sizeof(path), "%s/%s/%s", root, target, hex);
  if (!(f = fopen(path, "wb")) || fwrite(b->p, 1, b->n, f) != b->n ||
      fclose(f) != 0) {
    perror(path);
    exit(1);
  }
  written++;
  if (strcmp(target, "fuzz_session") != 0) mirror(target, b);
}

static void emit_free(const char *target, tu_bytes *b) {
  emit(target, b);
  tu_bytes_free(b);
}

static const char alice[] = "{\"sub\":\"alice\",\"exp\":" EXP "}";

/* ---- fuzz_handshake: [config | compare bit][n][n sizes][request] -------- */

static const char *const requests[] = {
    /* valid, no token (config 1, first-message auth, gives 101) */
    "GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: "
    "Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 13\r\n\r\n",
    "POST /chat HTTP/1.1\r\nHost: a\r\n\r\n",
    "GET /chat\r\n\r\n",
    "GET chat HTTP/1.1\r\nHost: a\r\n\r\n",
    "GET /chat HTTP/1.0\r\nHost: a\r\n\r\n",
    "GET /chat HTTP/1.1\r\nHost a\r\n\r\n",
    "GET /chat HTTP/1.1\r\nHost: a\0b\r\n\r\n",
    "GET /chat HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n",
    "GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: "
    "Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 13\r\n\r\n",
    "GET /chat HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 13\r\n\r\n",
    "GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: h2c\r\nConnection: "
    "Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 13\r\n\r\n",
    "GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: "
    "keep-alive\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 13\r\n\r\n",
    "GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: "
    "Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n",
    "GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: "
    "Upgrade\r\nSec-WebSocket-Key: c2hvcnQ=\r\nSec-WebSocket-Version: "
    "13\r\n\r\n",
    "GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: "
    "Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 8\r\n\r\n",
    "GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: "
    "Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 13\r\nContent-Length: 5\r\n\r\nhello",
    "GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: "
    "Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: a,,b\r\n\r\n",
    "GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: "
    "Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 13\r\nOrigin: https://evil.example\r\n\r\n",
    "GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: "
    "Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 13\r\nOrigin: https://chat.example\r\n"
    "Sec-WebSocket-Protocol: chat.v1, chat.v2\r\n\r\n",
    "GET /chat HTTP/1.1\r\nHost: a\r\nUpgr",
    "GET /chat?access_token=a.b.c HTTP/1.1\r\nHost: a\r\nUpgrade: "
    "websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: "
    "dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    "GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: "
    "Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    "Sec-WebSocket-Version: 13\r\nAuthorization: Bearer x.y.z\r\n\r\n",
};

/* The common header (fuzz/common.h): flags, [plan], [chunk sizes]. */
#define F_PLAN 0x04
#define F_CHUNKS 0x08
#define F_INTERLEAVE 0x10
static void put_header(tu_bytes *b, uint8_t flags, const uint8_t *plan,
                       const uint8_t *chunks, size_t nchunks) {
  if (nchunks) flags |= F_CHUNKS;
  tu_put(b, &flags, 1);
  if (flags & F_PLAN) tu_put(b, plan, 1 + 3 * (size_t)plan[0]);
  if (nchunks) {
    uint8_t n = (uint8_t)(nchunks - 1);
    tu_put(b, &n, 1);
    tu_put(b, chunks, nchunks);
  }
}

static void handshake_seed(const char *req, size_t len, uint8_t cfg,
                           const uint8_t *chunks, size_t nchunks) {
  tu_bytes b = {0};
  put_header(&b, cfg, NULL, chunks, nchunks);
  tu_put(&b, req, len);
  emit_free("fuzz_handshake", &b);
}

static void gen_handshake(void) {
  static const uint8_t chunks[3] = {0, 6, 30};
  size_t i;
  tu_bytes big = {0}, tokreq = {0};
  char *tok = tok_sign_jwt(WS_ALG_HS256, "hs256", alice), line[2048];
  for (i = 0; i < sizeof(requests) / sizeof(requests[0]); i++) {
    /* The NUL in one of them is part of the request. */
    size_t len = i == 6 ? strlen(requests[i]) + 1 +
                              strlen(requests[i] + strlen(requests[i]) + 1)
                        : strlen(requests[i]);
    handshake_seed(requests[i], len, 1, NULL, 0);
  }
  handshake_seed(requests[0], strlen(requests[0]), 0, NULL, 0); /* 401 */
  handshake_seed(requests[0], strlen(requests[0]), 1, chunks, 3);
  handshake_seed(requests[0], strlen(requests[0]), F_INTERLEAVE, chunks, 1);
  handshake_seed(requests[17], strlen(requests[17]), 2, NULL, 0);
  handshake_seed(requests[18], strlen(requests[18]), 2, chunks, 1);
  /* Too many headers and too large a head (config 3: 8 headers, 512 B). */
  tu_puts(&big, "GET /chat HTTP/1.1\r\nHost: a\r\n");
  for (i = 0; i < 10; i++)
    tu_puts(
        &big,
        "X-Pad: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
  tu_puts(&big, "\r\n");
  handshake_seed((const char *)big.p, big.n, 3, NULL, 0);
  tu_bytes_free(&big);
  tu_puts(&big, "GET /chat HTTP/1.1\r\nHost: a\r\n");
  for (i = 0; i < 9; i++) tu_puts(&big, "X-P: 1\r\n");
  tu_puts(&big, "\r\n");
  handshake_seed((const char *)big.p, big.n, 3, NULL, 0);
  tu_bytes_free(&big);
  /* A real token in each of the three places. */
  snprintf(line, sizeof(line), "Authorization: Bearer %s\r\n", tok);
  tu_request(&tokreq, line);
  handshake_seed((const char *)tokreq.p, tokreq.n, 0, NULL, 0);
  tu_bytes_free(&tokreq);
  snprintf(line, sizeof(line), "Sec-WebSocket-Protocol: bearer, %s\r\n", tok);
  tu_request(&tokreq, line);
  handshake_seed((const char *)tokreq.p, tokreq.n, 0, chunks, 2);
  tu_bytes_free(&tokreq);
  free(tok);
}

/* ---- fuzz_jwt: [flags][n][token spec (forge.h) or raw token] ---------- */

/* The common header from the old flags (bit 0 spec, bits 1-2 config, bit 3
 * fail the (1 + n)-th allocation). */
static void jwt_seed(uint8_t flags, uint8_t n, const void *body, size_t len) {
  tu_bytes b = {0};
  uint8_t plan[4] = {1, 0, 0, n};
  put_header(&b,
             (uint8_t)(((flags >> 1) & 3) | (flags & 1 ? 0x20 : 0) |
                       (flags & 8 ? F_PLAN : 0)),
             plan, NULL, 0);
  tu_put(&b, body, len);
  emit_free("fuzz_jwt", &b);
}

/* A forge spec with byte `at` set to v (and key), for config cfg. */
static void jwt_spec(unsigned cfg, uint8_t key, int at, uint8_t v) {
  uint8_t s[FZ_SPEC_FIXED];
  memset(s, 0, sizeof(s));
  s[FZ_B_KEY] = key;
  if (at >= 0) s[at] = v;
  jwt_seed((uint8_t)(1 | cfg << 1), 0, s, sizeof(s));
}

/* Seeds for every key, header alg, kid, header extra, tamper op and claim
 * boundary of the forge, a few raw claims, and raw tokens: the forge's
 * pristine token of every set key (the independent checker must pass
 * them), tampered and malformed ones, and allocation failures. */
static void gen_jwt(void) {
  static const uint8_t tamper_keys[] = {FZ_KEY_HS256,   FZ_KEY_RS256,
                                        FZ_KEY_PS256,   FZ_KEY_ES256,
                                        FZ_KEY_ED25519, FZ_KEY_FOREIGN_ES256};
  static const char *const raw_bad[] = {"eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0.",
                                        "a.b", "e30.e30.e30.e30", ""};
  uint8_t s[FZ_SPEC_FIXED + 64];
  unsigned i, k, c;
  fz_forge_init();
  for (k = 0; k < FZ_KEY_COUNT; k++) {
    jwt_spec(0, (uint8_t)k, -1, 0);
    jwt_spec(3, (uint8_t)k, -1, 0); /* tight limits: RSA is too long */
    memset(s, 0, sizeof(s));
    s[FZ_B_KEY] = (uint8_t)k;
    jwt_seed(1 | 8, 7, s, FZ_SPEC_FIXED); /* the 8th allocation fails */
  }
  for (i = 0; i < FZ_ALG_CHOICES; i++) {
    memset(s, 0, sizeof(s));
    s[FZ_B_ALG] = (uint8_t)i;
    s[FZ_B_KID] = 1; /* absent: the alg alone selects the key */
    jwt_seed(1, 0, s, FZ_SPEC_FIXED);
    s[FZ_B_KEY] = FZ_KEY_RS256; /* HMAC names: algorithm confusion */
    jwt_seed(1, 0, s, FZ_SPEC_FIXED);
  }
  for (i = 0; i < FZ_KID_CHOICES; i++)
    jwt_spec(0, FZ_KEY_ES256, FZ_B_KID, (uint8_t)i);
  for (i = 0; i < 2 * FZ_HDR_CHOICES; i++)
    jwt_spec(0, FZ_KEY_HS256, FZ_B_HDR, (uint8_t)i);
  for (i = 0; i < FZ_TAMPER_COUNT; i++)
    for (k = 0; k < sizeof(tamper_keys); k++) {
      memset(s, 0, sizeof(s));
      s[FZ_B_KEY] = tamper_keys[k];
      s[FZ_B_TAMPER] = (uint8_t)i;
      s[FZ_B_ARG_HI] = 1;
      s[FZ_B_ARG_LO] = 5;
      jwt_seed(1, 0, s, FZ_SPEC_FIXED);
    }
  /* An ES256 signature whose check lands on the point at infinity
   * (OpenSSL's verify fails with an error, not 0), in tokens of every key
   * whose header names ES256 and no kid or the es256 kid, under each
   * policy. */
  for (k = 0; k < FZ_KEY_COUNT; k++)
    for (c = 0; c < FZ_CFG_COUNT; c++) {
      memset(s, 0, sizeof(s));
      s[FZ_B_KEY] = (uint8_t)k;
      s[FZ_B_ALG] = 6;                        /* "ES256" */
      s[FZ_B_KID] = (uint8_t)(k % 2 ? 1 : 7); /* absent, "es256" */
      s[FZ_B_TAMPER] = FZ_T_EC_INFINITY;
      s[FZ_B_ARG_LO] = (uint8_t)(k * 16 + c);
      jwt_seed((uint8_t)(1 | c << 1), 0, s, FZ_SPEC_FIXED);
    }
  /* The first and the last bit of every key's signature (arg 0xffff is
   * the last bit for every signature length). */
  for (k = 0; k < FZ_KEY_COUNT; k++)
    for (i = 0; i < 2; i++) {
      memset(s, 0, sizeof(s));
      s[FZ_B_KEY] = (uint8_t)k;
      s[FZ_B_TAMPER] = FZ_T_FLIP_BIT;
      s[FZ_B_ARG_HI] = s[FZ_B_ARG_LO] = i ? 0xff : 0;
      jwt_seed(1, 0, s, FZ_SPEC_FIXED);
    }
  for (c = 0; c < FZ_CFG_COUNT; c += 2) { /* configs 0 and 2 (leeway 30) */
    for (i = 0; i < FZ_EXP_CHOICES; i++) jwt_spec(c, 0, FZ_B_EXP, (uint8_t)i);
    for (i = 0; i < FZ_NBF_CHOICES; i++) jwt_spec(c, 0, FZ_B_NBF, (uint8_t)i);
    for (i = 0; i < FZ_IAT_CHOICES; i++) jwt_spec(c, 0, FZ_B_IAT, (uint8_t)i);
    for (i = 0; i < FZ_ISS_CHOICES; i++) jwt_spec(c, 0, FZ_B_ISS, (uint8_t)i);
    for (i = 0; i < FZ_AUD_CHOICES; i++) jwt_spec(c, 0, FZ_B_AUD, (uint8_t)i);
    for (i = 0; i < FZ_SUB_CHOICES; i++) jwt_spec(c, 0, FZ_B_SUB, (uint8_t)i);
  }
  for (i = 0; i < FZ_CLX_CHOICES; i++) {
    jwt_spec(0, 0, FZ_B_CLX, (uint8_t)i);
    jwt_spec(3, 0, FZ_B_CLX, (uint8_t)i); /* depth limit 3 */
  }
  /* sub from the tail, and raw claims text. */
  memset(s, 0, sizeof(s));
  s[FZ_B_SUB] = 9;
  s[FZ_B_TAIL_LEN] = 255;
  memcpy(s + FZ_SPEC_FIXED, "bob\"", 6);
  jwt_seed(1, 0, s, FZ_SPEC_FIXED + 6);
  memset(s, 0, sizeof(s));
  s[FZ_B_MODE] = 3;
  s[FZ_B_TAIL_LEN] = 255;
  memcpy(s + FZ_SPEC_FIXED, alice, strlen(alice));
  jwt_seed(1, 0, s, FZ_SPEC_FIXED + strlen(alice));
  jwt_seed(1 | 4, 0, s, FZ_SPEC_FIXED + strlen(alice));
  /* Raw tokens. */
  for (k = 0; k < FZ_KEY_COUNT; k++) {
    fz_token t;
    memset(s, 0, sizeof(s));
    s[FZ_B_KEY] = (uint8_t)k;
    /* A foreign key's own kid names no key (the forge would not sign). */
    s[FZ_B_KID] = k < FZ_KEY_SET_COUNT ? 0 : 1;
    fz_token_decode(s, FZ_SPEC_FIXED, 0, &t);
    jwt_seed(0, 0, t.text, t.len);
    if (k < FZ_KEY_SET_COUNT) jwt_seed(8, 7, t.text, t.len);
    fz_token_free(&t);
    s[FZ_B_TAMPER] = FZ_T_FLIP_BIT;
    fz_token_decode(s, FZ_SPEC_FIXED, 0, &t);
    jwt_seed(0, 0, t.text, t.len);
    fz_token_free(&t);
  }
  for (i = 0; i < sizeof(raw_bad) / sizeof(raw_bad[0]); i++)
    jwt_seed(0, 0, raw_bad[i], strlen(raw_bad[i]));
}

/* ---- plans: [nrules][kind mode n-1]... ---------------------------------- */

/* target: 0 alloc, 1 idgen, 2 attr, 3 random (whole kinds), then the sites
 * from 4 (plan.h: 4 alloc.core, 5 alloc.cjson, 6 alloc.openssl, 7
 * alloc.wslay, 8 idgen.primary, 9 idgen.fallback, 10 random, 11.. attr.<a>);
 * mode: 0 once, 1 from, 2 all. */
static const uint8_t plans[][7] = {
    {0},          {1, 1, 0, 0},          {2, 1, 0, 0, 1, 0, 1}, {1, 1, 2, 0},
    {1, 2, 0, 0}, {1, 2, 0, 1},          {1, 2, 0, 2},          {1, 2, 0, 4},
    {1, 3, 0, 0}, {1, 3, 2, 0},          {1, 0, 0, 9},          {1, 0, 1, 30},
    {1, 2, 0, 6}, {2, 2, 0, 0, 1, 0, 0}, {1, 8, 2, 0},          {1, 6, 0, 0},
    {1, 5, 1, 0}, {1, 7, 0, 0},          {1, 12, 0, 0},         {1, 9, 2, 0}};

static size_t plan_rules(size_t i) {
  return plans[i][0];
}

/* ---- fuzz_context: [plan][fma][claims] ---------------------------------- */

/* A token spec for the forge (fuzz/forge.h): key, header alg, kid, header
 * extras, tamper, tamper argument (2 bytes), claims mode, exp, nbf, iat,
 * iss, aud, sub; all zero is a valid HS256 token every policy accepts. */
static void put_spec_arg(tu_bytes *b, uint8_t key, uint8_t tamper, unsigned arg,
                         uint8_t exp) {
  uint8_t spec[14] = {0};
  spec[0] = key;
  spec[4] = tamper;
  spec[5] = (uint8_t)(arg >> 8);
  spec[6] = (uint8_t)arg;
  spec[8] = exp;
  tu_put(b, spec, sizeof(spec));
}

static void put_spec(tu_bytes *b, uint8_t key, uint8_t tamper, uint8_t exp) {
  put_spec_arg(b, key, tamper, 9, exp);
}

static void gen_context(void) {
  size_t i;
  uint8_t k;
  for (i = 0; i < sizeof(plans) / sizeof(plans[0]); i++) {
    int fma;
    for (fma = 0; fma < 2; fma++) {
      tu_bytes b = {0};
      put_header(&b, (uint8_t)((fma ? 1 : 0) | (plan_rules(i) ? F_PLAN : 0)),
                 plans[i], NULL, 0);
      put_spec(&b, (uint8_t)(i % 7), 0, 0);
      emit_free("fuzz_context", &b);
    }
  }
  /* Every key, in the request and in the first message; a tampered
   * signature and an expired token of each. */
  for (k = 0; k < 9; k++) {
    uint8_t cfg;
    for (cfg = 0; cfg < 3; cfg++) {
      tu_bytes b = {0};
      put_header(&b, cfg, NULL, NULL, 0);
      put_spec(&b, k, 0, 0);
      emit_free("fuzz_context", &b);
    }
    {
      tu_bytes b = {0};
      put_header(&b, 0, NULL, NULL, 0);
      put_spec(&b, k, 1, 0);
      emit_free("fuzz_context", &b);
      put_header(&b, 2, NULL, NULL, 0);
      put_spec(&b, k, 0, 3);
      emit_free("fuzz_context", &b);
    }
  }
  {
    static const uint8_t one[1] = {0};
    tu_bytes b = {0};
    put_header(&b, F_INTERLEAVE | 1, NULL, one, 1);
    put_spec(&b, 5, 0, 0);
    emit_free("fuzz_context", &b);
    /* ES256 signatures whose check hits the point at infinity, in the
     * request and in the first message. */
    for (k = 0; k < 2; k++) {
      put_header(&b, k, NULL, NULL, 0);
      put_spec(&b, 5, FZ_T_EC_INFINITY, 0);
      emit_free("fuzz_context", &b);
    }
    /* The last bit of every signature flipped (ECDSA's s, RSA's, ...). */
    for (k = 0; k < 7; k++) {
      put_header(&b, 0, NULL, NULL, 0);
      put_spec_arg(&b, k, 1, 0xffff, 0);
      emit_free("fuzz_context", &b);
    }
  }
}

/* ---- fuzz_frames: [mode][frames] ---------------------------------------- */

static void sframe(tu_bytes *b, uint8_t b0, const void *p, size_t n) {
  uint8_t h[2] = {b0, (uint8_t)n};
  tu_put(b, h, 2);
  tu_put(b, p, n);
}

static void stext(tu_bytes *b, const char *s) {
  sframe(b, 0x81, s, strlen(s));
}

static void gen_frames(void) {
  static const char *const msgs[] = {
      "{\"type\":\"ping\"}",
      "{\"type\":\"user_message\",\"text\":\"hi\"}",
      "{\"type\":\"dance\"}",
      "not json",
      "{\"type\":\"auth\",\"token\":\"x\"}",
      "{\"a\":{\"b\":{\"c\":{\"d\":1}}}}",
      "{\"type\":\"user_message\",\"type\":\"ping\"}"};
  tu_bytes b = {0}, raw = {0};
  /* Header flags: target bit 0 (0x20) structured, bit 1 (0x40) tight. */
  uint8_t m = 0x20, tight = 0x60, chunked[3] = {0x20 | F_CHUNKS, 0, 0},
          inter = 0x20 | F_INTERLEAVE;
  size_t i;
  char big[210];
  /* Every message type, then a close. */
  tu_put(&b, &m, 1);
  for (i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) stext(&b, msgs[i]);
  sframe(&b, 0x89, "hb", 2);
  sframe(&b, 0x8A, "x", 1);
  sframe(&b, 0x88,
         "\x03\xe8"
         "bye",
         5);
  emit_free("fuzz_frames", &b);
  /* The same fed byte by byte, and beside a companion session. */
  tu_put(&b, chunked, 3);
  for (i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) stext(&b, msgs[i]);
  sframe(&b, 0x88, "\x03\xe8", 2);
  emit_free("fuzz_frames", &b);
  tu_put(&b, &inter, 1);
  for (i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) stext(&b, msgs[i]);
  emit_free("fuzz_frames", &b);
  /* A character split across fragments; a client close 1011 (answered
   * 1000: the server sends 1011 only with its own internal diagnosis). */
  tu_put(&b, &m, 1);
  sframe(&b, 0x01, "{\"type\":\"ping\",\"x\":\"\xc3",
         strlen("{\"type\":\"ping\",\"x\":\"\xc3"));
  sframe(&b, 0x80, "\xa9\"}", 3);
  emit_free("fuzz_frames", &b);
  tu_put(&b, &m, 1);
  sframe(&b, 0x88, "\x03\xf3", 2);
  emit_free("fuzz_frames", &b);
  /* Fragmented text with a ping inside, then EOF. */
  tu_put(&b, &m, 1);
  sframe(&b, 0x01, "{\"type\":", 8);
  sframe(&b, 0x89, "p", 1);
  sframe(&b, 0x80, "\"ping\"}", 7);
  emit_free("fuzz_frames", &b);
  /* One frame per after-the-upgrade row. */
  {
    static const struct {
      uint8_t b0;
      const char *p;
      size_t n;
    } rows[] = {
        {0xC1, "x", 1},            /* RSV1 */
        {0x83, "x", 1},            /* unknown opcode */
        {0x09, "x", 1},            /* fragmented control */
        {0x80, "x", 1},            /* continuation with nothing */
        {0x82, "\x01", 1},         /* binary */
        {0x81, "\xc3\x28", 2},     /* invalid UTF-8 */
        {0x88, "\x03", 1},         /* close payload of 1 byte */
        {0x88, "\x03\xed", 2},     /* close 1005 on the wire */
        {0x88, "\x03\xe8\xff", 3}, /* close reason not UTF-8 */
        {0x88, "\x0b\xb8", 2},     /* close 3000 */
        {0x88, "", 0},             /* empty close */
    };
    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
      tu_put(&b, &m, 1);
      sframe(&b, rows[i].b0, rows[i].p, rows[i].n);
      emit_free("fuzz_frames", &b);
    }
  }
  tu_put(&b, &m, 1); /* a new data frame inside a fragmented message */
  sframe(&b, 0x01, "ab", 2);
  sframe(&b, 0x81, "cd", 2);
  emit_free("fuzz_frames", &b);
  memset(big, 'a', sizeof(big));
  tu_put(&b, &m, 1); /* control payload > 125 */
  sframe(&b, 0x89, big, 126);
  emit_free("fuzz_frames", &b);
  tu_put(&b, &tight, 1); /* larger than the 200-byte limit */
  sframe(&b, 0x81, big, 205);
  emit_free("fuzz_frames", &b);
  tu_put(&b, &tight, 1); /* too deep for depth 3 */
  stext(&b, "{\"a\":{\"b\":{\"c\":{}}}}");
  emit_free("fuzz_frames", &b);
  /* Length boundaries: payloads of 125 and 126 bytes (the 7-bit and 16-bit
   * length forms), each followed by the end of input at a frame boundary;
   * a close whose short reason follows a full-size control payload of
   * bytes that are not UTF-8 (the control buffer is reused). */
  {
    char t[200], inv[125];
    size_t n;
    for (n = 124; n <= 127; n++) {
      memset(t, 'a', sizeof(t));
      memcpy(t, "{\"type\":\"ping\",\"x\":\"", 20);
      memcpy(t + n - 2, "\"}", 2);
      tu_put(&b, &m, 1);
      sframe(&b, 0x81, t, n);
      emit_free("fuzz_frames", &b);
    }
    memset(inv, 0xff, sizeof(inv));
    tu_put(&b, &m, 1);
    sframe(&b, 0x89, inv, sizeof(inv));
    sframe(&b, 0x88, "\x03\xe8ok", 4);
    emit_free("fuzz_frames", &b);
  }
  /* Invalid UTF-8 that only a full validator refuses: overlongs after E0
   * and F0, a surrogate, a code point above U+10FFFF. */
  {
    static const char *const bad[] = {
        "\"\xe0\x80\xaf\"", "\"\xf0\x80\x80\xaf\"", "\"\xed\xa0\x80\"",
        "\"\xf4\x90\x80\x80\"", "\"\xc0\xaf\""};
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
      tu_put(&b, &m, 1);
      sframe(&b, 0x81, bad[i], strlen(bad[i]));
      emit_free("fuzz_frames", &b);
    }
  }
  /* Fed byte by byte beside the companion session: a ping payload and a
   * character split across fragments, held across calls. */
  {
    uint8_t h[3] = {0x20 | F_CHUNKS | F_INTERLEAVE, 0, 0};
    tu_put(&b, h, 3);
    sframe(&b, 0x89, "pulse", 5);
    sframe(&b, 0x01, "{\"type\":\"ping\",\"x\":\"\xe2\x82", 22);
    sframe(&b, 0x80, "\xac\"}", 3);
    sframe(&b, 0x89, "again", 5);
    sframe(&b, 0x88, "\x03\xe8", 2);
    emit_free("fuzz_frames", &b);
  }
  /* Raw mode: masked frames as a client writes them, and an unmasked one. */
  m = 0;
  tight = 0;
  tu_put(&raw, &m, 1);
  tu_text(&raw, "{\"type\":\"ping\"}");
  tu_frame(&raw, 1, 0x9, "hb", 2);
  tu_close(&raw, 1000, "bye");
  emit_free("fuzz_frames", &raw);
  tu_put(&raw, &m, 1);
  tu_put(&raw, "\x81\x02hi", 4);
  emit_free("fuzz_frames", &raw);
  tu_put(&raw, &m, 1);
  tu_put(&raw, "\x81\xfe\x00", 3); /* truncated */
  emit_free("fuzz_frames", &raw);
}

/* ---- fuzz_session: [plan][config][stream with tokens] ------------------- */

/* Raw mode (mode byte 0): the stream as a client writes it. */
static void session_seed(size_t plan, uint8_t cfg, const tu_bytes *stream) {
  tu_bytes b = {0};
  uint8_t mode = 0;
  put_header(&b, (uint8_t)(cfg | (plan_rules(plan) ? F_PLAN : 0)), plans[plan],
             NULL, 0);
  tu_put(&b, &mode, 1);
  tu_put(&b, stream->p, stream->n);
  emit_free("fuzz_session", &b);
}

/* Built mode (mode byte 3: built head, structured frames), the token from a
 * forge spec (put_spec). */
static void session_built(uint8_t cfg, uint8_t choices, uint8_t key,
                          uint8_t tamper, const tu_bytes *frames, size_t plan) {
  tu_bytes b = {0}, spec = {0};
  uint8_t h[3] = {3, choices, 14};
  put_header(&b, (uint8_t)(cfg | (plan_rules(plan) ? F_PLAN : 0)), plans[plan],
             NULL, 0);
  tu_put(&b, h, 3);
  put_spec(&spec, key, tamper, 0);
  tu_put(&b, spec.p, spec.n);
  tu_bytes_free(&spec);
  tu_put(&b, frames->p, frames->n);
  emit_free("fuzz_session", &b);
}

static void gen_session(void) {
  static const struct {
    ws_alg alg;
    const char *kid;
  } algs[] = {{WS_ALG_RS256, "rs256"},
              {WS_ALG_ES256, "es256"},
              {WS_ALG_EDDSA, "ed25519"},
              {WS_ALG_PS256, "ps256"}};
  tu_bytes s = {0};
  size_t i;
  char line[2048];
  /* The @@TOKEN(...)@@ form the target signs, with every plan. */
  tu_request(&s, "Authorization: Bearer @@TOKEN({\"sub\":\"alice\",\"exp\":" EXP
                 "})@@\r\n");
  tu_text(&s, "{\"type\":\"user_message\",\"text\":\"hello\"}");
  tu_frame(&s, 1, 0x9, "hb", 2);
  tu_text(&s, "{\"type\":\"ping\"}");
  tu_close(&s, 1000, "bye");
  for (i = 0; i < sizeof(plans) / sizeof(plans[0]); i++) session_seed(i, 0, &s);
  tu_bytes_free(&s);
  /* Every request head of the handshake seeds, as a raw head. */
  for (i = 0; i < sizeof(requests) / sizeof(requests[0]); i++) {
    size_t len = i == 6 ? strlen(requests[i]) + 1 +
                              strlen(requests[i] + strlen(requests[i]) + 1)
                        : strlen(requests[i]);
    tu_put(&s, requests[i], len);
    session_seed(0, i % 4 == 3 ? 1 : (uint8_t)(i % 4), &s);
    tu_bytes_free(&s);
  }
  /* Built heads: each token source, first-message auth, the policy
   * config, with structured frames behind them. */
  {
    tu_bytes fr = {0};
    sframe(&fr, 0x81, "{\"type\":\"user_message\"}", 23);
    sframe(&fr, 0x01, "{\"type\":", 8);
    sframe(&fr, 0x89, "p", 1);
    sframe(&fr, 0x80, "\"ping\"}", 7);
    sframe(&fr, 0x88, "\x03\xe8", 2);
    for (i = 1; i < 4; i++) session_built(0, (uint8_t)i, 0, 0, &fr, 0);
    for (i = 0; i < 9; i++) session_built(0, 1, (uint8_t)i, 0, &fr, 0);
    session_built(0, 1, 3, 1, &fr, 0); /* RS256, one bit flipped */
    session_built(0, 1, 5, 9, &fr, 0); /* ES256, r = 0 */
    /* ES256 checks that land on the point at infinity, in the request
     * and in the first message. */
    session_built(0, 1, 5, FZ_T_EC_INFINITY, &fr, 0);
    session_built(1, 16, 5, FZ_T_EC_INFINITY, &fr, 0);
    session_built(1, 16, 0, 0, &fr, 0);
    session_built(1, 16, 6, 0, &fr, 0);
    session_built(2, 1 | 4 | 8, 0, 0, &fr, 0);
    session_built(0, 1, 0, 0, &fr, 14);
    session_built(0, 1, 0, 0, &fr, 15);
    session_built(1, 16, 0, 0, &fr, 12);
    tu_bytes_free(&fr);
  }
  /* First-message auth: the token travels masked inside a frame, where no
   * marker can be expanded, so it is a real one. */
  {
    char *t = tok_sign_jwt(WS_ALG_HS256, "hs256", alice);
    tu_request(&s, NULL);
    snprintf(line, sizeof(line), "{\"type\":\"auth\",\"token\":\"%s\"}", t);
    tu_text(&s, line);
    tu_text(&s, "{\"type\":\"user_message\"}");
    tu_close(&s, 1001, NULL);
    free(t);
  }
  session_seed(0, 1, &s);
  session_seed(4, 1, &s);
  session_seed(10, 1, &s);
  tu_bytes_free(&s);
  /* Policy config: origin, subprotocol, issuer, audience. */
  tu_request(
      &s,
      "Origin: https://chat.example\r\nSec-WebSocket-Protocol: "
      "chat.v1\r\nAuthorization: Bearer @@TOKEN({\"sub\":\"c\",\"exp\":" EXP
      ",\"iss\":\"https://issuer.example\",\"aud\":\"wsgate\"})@@"
      "\r\n");
  tu_text(&s, "{\"type\":\"user_message\"}");
  session_seed(0, 2, &s);
  tu_bytes_free(&s);
  /* Real tokens of the other algorithms (the fuzzer keeps them valid only
   * by leaving them alone; the claims form is where claims get fuzzed). */
  for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
    char *t = tok_sign_jwt(algs[i].alg, algs[i].kid, alice);
    snprintf(line, sizeof(line), "Authorization: Bearer %s\r\n", t);
    tu_request(&s, line);
    tu_text(&s, "{\"type\":\"user_message\",\"text\":\"x\"}");
    tu_close(&s, 1000, NULL);
    session_seed(0, 0, &s);
    session_seed(10, 0, &s);
    tu_bytes_free(&s);
    free(t);
  }
}

/* ---- every specialised seed as a fuzz_session seed ------------------------
 *
 * fuzz_session reaches every stage, but from its own seeds only: a boundary
 * that only a fuzz_frames or fuzz_jwt seed holds would have to be found by
 * mutation.  So each seed of the other four targets is written again in
 * fuzz_session's format, with the same fault plan, chunking and
 * interleaving: a request as a raw head (mode 0); a token spec behind a
 * built head (mode 3: the token in the request, or in the auth message
 * under a first-message-auth config), then a user_message and a close; a
 * raw token in an Authorization header (or an auth message); frames behind
 * a built head with the default token (raw or structured as in the seed;
 * fuzz_frames' small limits are the tight config, whose token travels in
 * the auth message).  Fault plans keep their bytes; their hit numbers
 * count the whole session here (fuzz_frames counts from the snapshot). */

static const uint8_t mirror_frames[] = {
    0x81, 23,  '{', 't', 'y', 'p', 'e', '"', ':', '"', 'u',  's', 'e',  'r',
    '_',  'm', 'e', 's', 's', 'a', 'g', 'e', '"', '}', 0x88, 2,   0x03, 0xe8};

static int wire_safe(const uint8_t *p, size_t n) {
  size_t i;
  if (!n) return 0;
  for (i = 0; i < n; i++)
    if (!((p[i] >= 'A' && p[i] <= 'Z') || (p[i] >= 'a' && p[i] <= 'z') ||
          (p[i] >= '0' && p[i] <= '9') || p[i] == '-' || p[i] == '_' ||
          p[i] == '.'))
      return 0;
  return 1;
}

static void mirror(const char *target, const tu_bytes *b) {
  fz_header h;
  tu_bytes out = {0};
  size_t hl, bl;
  const uint8_t *body;
  uint8_t flags, cfg, bits, mode;
  if (!b->n) return;
  hl = fz_header_decode(&h, b->p, b->n);
  body = b->p + hl;
  bl = b->n - hl;
  bits = (uint8_t)(b->p[0] >> FZ_F_BITS_SHIFT);
  cfg = (uint8_t)(b->p[0] & 3);
  /* The header as it is (plan, chunks, interleave), target bits cleared. */
  flags = (uint8_t)(b->p[0] & (FZ_F_PLAN | FZ_F_CHUNKS | FZ_F_INTERLEAVE));
  if (strcmp(target, "fuzz_handshake") == 0) {
    flags |= cfg;
    tu_put(&out, &flags, 1);
    tu_put(&out, b->p + 1, hl - 1);
    mode = 0;
    tu_put(&out, &mode, 1);
    tu_put(&out, body, bl);
  } else if (strcmp(target, "fuzz_frames") == 0) {
    uint8_t built[3] = {0, 0, 0};
    cfg = (bits & 2) ? FZ_CFG_TIGHT : FZ_CFG_DEFAULT;
    flags |= cfg;
    tu_put(&out, &flags, 1);
    tu_put(&out, b->p + 1, hl - 1);
    built[0] = (bits & 1) ? 3 : 1;
    built[1] = (bits & 2) ? 16 : 1;
    tu_put(&out, built, 3);
    tu_put(&out, body, bl);
  } else if (strcmp(target, "fuzz_context") == 0 ||
             (strcmp(target, "fuzz_jwt") == 0 && (bits & 1))) {
    uint8_t built[3];
    if (bl > 255) return;
    flags |= cfg;
    tu_put(&out, &flags, 1);
    tu_put(&out, b->p + 1, hl - 1);
    built[0] = 3;
    /* The policy config admits only its Origin: without one the token
     * would never be judged. */
    built[1] = (uint8_t)((fz_config(cfg)->first_message_auth ? 16 : 1) |
                         (cfg == FZ_CFG_POLICY ? 4 : 0));
    built[2] = (uint8_t)bl;
    tu_put(&out, built, 3);
    tu_put(&out, body, bl);
    tu_put(&out, mirror_frames, sizeof(mirror_frames));
  } else if (strcmp(target, "fuzz_jwt") == 0) {
    char *line;
    if (!wire_safe(body, bl) || !(line = malloc(bl + 96))) return;
    flags |= cfg;
    tu_put(&out, &flags, 1);
    tu_put(&out, b->p + 1, hl - 1);
    mode = 0;
    tu_put(&out, &mode, 1);
    if (fz_config(cfg)->first_message_auth) {
      tu_request(&out, NULL);
      snprintf(line, bl + 96, "{\"type\":\"auth\",\"token\":\"%.*s\"}", (int)bl,
               (const char *)body);
      tu_text(&out, line);
    } else {
      snprintf(line, bl + 96, "%sAuthorization: Bearer %.*s\r\n",
               cfg == FZ_CFG_POLICY ? "Origin: https://chat.example\r\n" : "",
               (int)bl, (const char *)body);
      tu_request(&out, line);
    }
    free(line);
    tu_text(&out, "{\"type\":\"user_message\"}");
    tu_close(&out, 1000, NULL);
  } else {
    return;
  }
  emit_free("fuzz_session", &out);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: gen_corpus CORPUS_DIR\n");
    return 2;
  }
  root = argv[1];
  fz_init();
  if (mkdir(root, 0777) != 0 && errno != EEXIST) {
    perror(root);
    return 1;
  }
  gen_handshake();
  gen_jwt();
  gen_context();
  gen_frames();
  gen_session();
  prune_stale("fuzz_handshake");
  prune_stale("fuzz_jwt");
  prune_stale("fuzz_context");
  prune_stale("fuzz_frames");
  prune_stale("fuzz_session");
  printf("gen_corpus: %lu seeds written under %s, %lu stale ones removed\n",
         written, root, removed);
  return 0;
}
