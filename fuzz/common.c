#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "builders.h"
#include "forge.h"
#include "model_jwt.h"
#include "clone.h"
#include "fuzz_keys.h" /* generated: fz_jwks_json, fz_hs256_key */
#include "inject.h"
#include "plan.h"
#include "rng.h"

/* A target that does not name itself (yet) is still reported. */
__attribute__((weak)) const char fz_target_name[] = "fuzz target";

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

typedef struct snapshot {
  ws_session *s;
  uint8_t *prefix;
  size_t prefix_len;
  uint64_t rng_after; /* the ids' randomness after the prefix */
  long hit_offset[WS_FAULT_KINDS_];
  long site_hit_offset[WS_FAULT_SITES_];
} snapshot;

/* Snapshots of an accepted, authenticated upgrade (see fz_case_resume). */
static snapshot snaps[2]; /* FZ_CFG_DEFAULT, FZ_CFG_TIGHT */

__attribute__((noreturn)) static void die(const char *what) {
  fprintf(stderr, "wsgate fuzz: setup: %s\n", what);
  abort();
}

static void make_snapshots(void);
static void make_companions(void);

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
  /* Warm up the signers, so their first-use allocations are not an
   * input's. */
  free(fz_sign((const uint8_t *)"{}", 2));
  fz_forge_init();
  make_snapshots();
  make_companions();
}

const ws_keyset *fz_keys(void) {
  return keys;
}

const ws_config *fz_config(unsigned which) {
  return configs[which % FZ_CFG_COUNT];
}

const char *fz_config_json(unsigned which) {
  return config_json[which % FZ_CFG_COUNT];
}

const char *fz_keys_json(void) {
  return fz_jwks_json;
}

/* ---- the deterministic environment ----------------------------------------
 */

static int64_t env_now(void *ud) {
  (void)ud;
  return FZ_NOW;
}
static int env_random(void *ud, uint8_t *buf, size_t len) {
  fz_rng *r = ud;
  size_t i;
  for (i = 0; i < len; i++) buf[i] = (uint8_t)ws_splitmix64(&r->state);
  return 0;
}
static void env_reset(void *ud) {
  fz_rng *r = ud;
  r->state = r->reset;
}

void fz_spec_rng(ws_run_spec *spec, fz_rng *rng, const ws_config *cfg,
                 const uint8_t *input, size_t len) {
  memset(spec, 0, sizeof(*spec));
  spec->cfg = cfg;
  spec->keys = keys;
  spec->env.now = env_now;
  spec->env.random = env_random;
  spec->env.user_data = rng;
  spec->prepare = env_reset;
  spec->prepare_ud = rng;
  spec->input = input;
  spec->len = len;
}

static fz_rng default_rng = {FZ_SEED, FZ_SEED};

void fz_spec(ws_run_spec *spec, const ws_config *cfg, const uint8_t *input,
             size_t len) {
  fz_spec_rng(spec, &default_rng, cfg, input, len);
}

/* ---- the header -------------------------------------------------------------
 */

size_t fz_header_decode(fz_header *h, const uint8_t *data, size_t size) {
  size_t used = 0, i;
  uint8_t f;
  memset(h, 0, sizeof(*h));
  ws_fault_plan_init(&h->plan);
  if (size == 0) return 0;
  f = data[used++];
  h->cfg = f & 3u;
  h->bits = (unsigned)f >> FZ_F_BITS_SHIFT;
  h->interleave = (f & FZ_F_INTERLEAVE) != 0;
  if (f & FZ_F_PLAN)
    used += ws_fault_plan_decode(&h->plan, data + used, size - used);
  if ((f & FZ_F_CHUNKS) && used < size) {
    size_t n = 1u + data[used++] % 8u;
    for (i = 0; i < n && used < size; i++)
      h->chunks[h->n_chunks++] = data[used++];
  }
  return used;
}

size_t fz_case_begin(fz_case *c, const uint8_t *data, size_t size) {
  size_t used;
  memset(c, 0, sizeof(*c));
  used = fz_header_decode(&c->h, data, size);
  c->rng.state = c->rng.reset = FZ_SEED;
  fz_spec_rng(&c->spec, &c->rng, fz_config(c->h.cfg), NULL, 0);
  c->spec.chunk_sizes = c->h.chunks;
  c->spec.n_chunk_sizes = c->h.n_chunks;
  return used;
}

void fz_case_set_input(fz_case *c, uint8_t *stream, size_t len) {
  free(c->owned);
  c->owned = stream;
  c->spec.input = stream;
  c->spec.len = len;
}

void fz_case_free(fz_case *c) {
  free(c->owned);
  c->owned = NULL;
  if (c->oracle_free) c->oracle_free(c->oracle_ud);
  c->oracle_free = NULL;
}

/* ---- the promise ----------------------------------------------------------
 */

void fz_fail(ws_verdict v, const char *why, const ws_run_result *r) {
  char line[4096];
  if (r)
    ws_run_outcome_json(r, line, sizeof(line));
  else
    snprintf(line, sizeof(line), "none");
  fprintf(stderr, "wsgate fuzz: %s: promise broken (%s): %s\n  outcome: %s\n",
          fz_target_name, ws_verdict_name(v), why, line);
  abort();
}

void fz_require(int cond, const char *target, const char *what) {
  if (cond) return;
  fprintf(stderr, "wsgate fuzz: %s: promise broken: %s\n", target, what);
  abort();
}

static void show(const char *what, ws_verdict v, const ws_run_result *r) {
  char line[4096];
  if (!verbose) return;
  ws_run_outcome_json(r, line, sizeof(line));
  fprintf(stderr, "%s: %s: %s %s\n", fz_target_name, what, ws_verdict_name(v),
          line);
}

static void run_or_die(const ws_run_spec *spec, const ws_fault_plan *plan,
                       ws_run_result *r) {
  int err = 0;
  if (ws_run(spec, plan, r, &err) != 0) {
    fprintf(stderr, "wsgate fuzz: %s: the run could not start (%s)\n",
            fz_target_name, ws_strerror(err));
    abort();
  }
}

/* The companions of the reentrancy oracle: another user's whole chat
 * session (for inputs that start with a request head), or its frames after
 * the snapshot's upgrade (for resumed inputs), with their solo runs kept
 * for comparison. */
typedef struct companion {
  uint8_t *bytes;
  size_t len, chunk;
  /* The whole session's: its head's length (see make_companion). */
  size_t hold_at;
  fz_rng rng;
  const ws_session *resume;
  ws_run_result solo;
} companion;

/* [0] a whole chat session, [1] its frames after the snapshot's upgrade,
 * [2] the same upgrade and a close only (for inputs that never get past
 * the head: fz_case.head_only). */
static companion companions[3];

/* The piece size of a companion's frames (the resumed one throughout, the
 * whole session's from its hold on). */
#define FRAME_PIECE 3

static void put_text(uint8_t *out, size_t *at, const char *s) {
  uint8_t in[130];
  size_t n = strlen(s);
  in[0] = 0x81;
  in[1] = (uint8_t)n;
  memcpy(in + 2, s, n);
  *at += fz_frames_encode(in, n + 2, out + *at);
}

static void companion_spec(const companion *co, fz_rng *rng,
                           ws_run_spec *spec) {
  *rng = co->rng;
  fz_spec_rng(spec, rng, configs[FZ_CFG_DEFAULT], co->bytes, co->len);
  spec->chunk = co->chunk;
  spec->resume = co->resume;
  spec->hold_at = co->hold_at;
  spec->hold_chunk = co->hold_at ? FRAME_PIECE : 0;
}

/* kind: 0 whole, 1 resumed, 2 head only (see companions). */
static void make_companion(companion *co, int kind) {
  const int resumed = kind == 1;
  static const char claims[] = "{\"sub\":\"companion\",\"exp\":2000000000}";
  static const uint8_t close_frame[] = {0x88, 0x02, 0x03, 0xe8};
  ws_run_spec spec;
  fz_rng rng;
  size_t n = 0, at = 0;
  uint8_t *req = NULL;
  char *tok = fz_sign((const uint8_t *)claims, sizeof(claims) - 1);
  if (!tok || !(req = fz_request(tok, &n))) die("companion");
  free(tok);
  if (!(co->bytes = malloc(n + 512))) die("companion");
  if (!resumed) {
    memcpy(co->bytes, req, n);
    at = n;
  }
  free(req);
  /* A ping with a payload and a fragmented message with a character split
   * between its fragments: fed in small pieces, the companion holds
   * control-frame and UTF-8 state across calls while the input runs. */
  if (kind != 2) {
    /* 16 bytes (the space): every frame boundary of the resumed
     * companion (22, 34, 73, 82, 124) falls inside one of its 3-byte
     * pieces, so its frame loop keeps one wslay context from the first
     * piece to the close (at 21, 33, 72, 81, 123 it made a new one, 4 KiB
     * and a 4 KiB fault probe, for each of those frames). */
    put_text(co->bytes, &at, "{\"type\": \"ping\"}");
    static const uint8_t ping[] = {0x89, 6, 'b', 'e', 'a', 't', '0', '1'};
    static const uint8_t frag1[] = {
        0x01, 33,  '{', '"', 't', 'y', 'p',  'e',  '"',  ':',  '"', 'u',
        's',  'e', 'r', '_', 'm', 'e', 's',  's',  'a',  'g',  'e', '"',
        ',',  '"', 'x', '"', ':', '"', 0xe2, 0x82, 0xac, 0xe2, 0x82};
    static const uint8_t frag2[] = {0x80, 3, 0xac, '"', '}'};
    at += fz_frames_encode(ping, sizeof(ping), co->bytes + at);
    at += fz_frames_encode(frag1, sizeof(frag1), co->bytes + at);
    at += fz_frames_encode(frag2, sizeof(frag2), co->bytes + at);
    put_text(co->bytes, &at, "{\"type\":\"user_message\",\"text\":\"hi\"}");
  }
  at += fz_frames_encode(close_frame, sizeof(close_frame), co->bytes + at);
  co->len = at;
  /* Small pieces, so the companion holds state across calls while the
   * input runs: the head's scanner state, then (resumed) a ping payload, a
   * message and a split character, over a window of steps that the
   * byte-by-byte seeds of fuzz_frames overlap. */
  co->chunk = resumed ? FRAME_PIECE : 19;
  /* The whole session waits after its head until the input is upgraded (or
   * done), then goes on in 3-byte pieces, cut where the resumed companion's
   * are: its frame state is held across the same calls as the input's
   * frames, as in fuzz_frames (fed 19 bytes a turn throughout, it had ended
   * before an input's head, fed byte by byte, was through, so the static
   * buffers of planted defects 032 and 034 went unseen by fuzz_session). */
  co->hold_at = kind == 0 ? n : 0;
  co->rng.state = co->rng.reset = FZ_SEED + 1;
  co->resume = resumed ? snaps[0].s : NULL;
  companion_spec(co, &rng, &spec);
  run_or_die(&spec, NULL, &co->solo);
  if (co->solo.outcome.diag != WS_DIAG_CLOSE_CLIENT)
    die("the companion session does not end CLOSE_CLIENT");
}

static void make_companions(void) {
  make_companion(&companions[0], 0);
  make_companion(&companions[1], 1);
  make_companion(&companions[2], 2);
}

static void check(const char *what, const ws_run_result *clean,
                  const ws_run_result *r) {
  char why[2048];
  ws_verdict v = ws_judge(clean, r, why, sizeof(why));
  show(what, v, r);
  if (ws_verdict_failing(v)) fz_fail(v, why, r);
}

void fz_run_case(const fz_case *c) {
  ws_run_result clean, r;
  char why[2048];
  fz_rng rng = c->rng;
  ws_run_spec spec = c->spec;

  spec.env.user_data = spec.prepare_ud = &rng;
  run_or_die(&spec, NULL, &clean);
  check("clean", NULL, &clean);
  if (c->oracle) {
    ws_verdict v = c->oracle(c->oracle_ud, &clean, why, sizeof(why));
    if (ws_verdict_failing(v)) fz_fail(v, why, &clean);
  }
  if (spec.n_chunk_sizes) {
    ws_run_spec whole = spec;
    whole.n_chunk_sizes = 0;
    whole.chunk = 0;
    run_or_die(&whole, NULL, &r);
    if (!ws_judge_same(&clean, &r, 1)) {
      snprintf(why, sizeof(why),
               "fed whole the session gives %s, fed in chunks %s: the "
               "outcome or the bytes depend on the chunking",
               ws_diag_get(r.outcome.diag) ? ws_diag_get(r.outcome.diag)->code
                                           : "no outcome",
               ws_diag_get(clean.outcome.diag)
                   ? ws_diag_get(clean.outcome.diag)->code
                   : "no outcome");
      fz_fail(WS_V_UNSTABLE, why, &r);
    }
    ws_run_result_clear(&r);
  }
  if (c->h.plan.nrules) {
    run_or_die(&spec, &c->h.plan, &r);
    check("planned", &clean, &r);
    ws_run_result_clear(&r);
  }
  if (c->h.interleave) {
    const companion *co = &companions[spec.resume ? 1 : c->head_only ? 2 : 0];
    ws_run_spec two[2];
    ws_run_result res[2];
    fz_rng rngs[2];
    rngs[0] = c->rng;
    two[0] = spec;
    two[0].env.user_data = two[0].prepare_ud = &rngs[0];
    companion_spec(co, &rngs[1], &two[1]);
    if (ws_run_multi(two, NULL, 2, res) != 0) {
      fprintf(stderr, "wsgate fuzz: %s: ws_run_multi could not start\n",
              fz_target_name);
      abort();
    }
    if (!ws_judge_same(&clean, &res[0], 1))
      fz_fail(WS_V_UNSTABLE,
              "interleaved with another session on this thread, the session "
              "ends or answers differently than alone: state is shared "
              "between sessions",
              &res[0]);
    if (!ws_judge_same(&co->solo, &res[1], 1))
      fz_fail(WS_V_UNSTABLE,
              "interleaved with this input, the companion session ends or "
              "answers differently than alone: state is shared between "
              "sessions",
              &res[1]);
    ws_run_result_clear(&res[0]);
    ws_run_result_clear(&res[1]);
  }
  ws_run_result_clear(&clean);
}

ws_verdict fz_token_oracle(const fz_token *t, const ws_run_result *clean,
                           char *why, size_t cap) {
  const ws_diag_info *d = ws_diag_get(clean->outcome.diag);
  ws_diag answer;
  int v;
  if (!clean->has_outcome || !d) return WS_V_DIAGNOSED;
  /* A token with whitespace or '+' '/' '=' is not carried unchanged by a
   * header, query or JSON string: the core judges other bytes than the
   * forge made (fuzz_jwt judges those tokens directly). */
  if (!fz_token_wire_safe(t)) return WS_V_DIAGNOSED;
  if (clean->has_context) {
    /* A context is built only for a verified token. */
    answer = WS_DIAG_NONE;
  } else if (d->stage == WS_STAGE_AUTH && d->cls != WS_CLASS_RESOURCE &&
             d->diag != WS_DIAG_AUTH_FIRST_MESSAGE &&
             d->diag != WS_DIAG_AUTH_TIMEOUT) {
    answer = d->diag; /* the core's verdict on the token */
  } else {
    return WS_V_DIAGNOSED; /* the session ended before the token was judged */
  }
  v = fz_jwt_oracle_check(t, answer, why, cap);
  if (v == FZ_ORACLE_FORGED) return WS_V_FORGED;
  if (v == FZ_ORACLE_WRONG_OUTCOME) return WS_V_WRONG_OUTCOME;
  return WS_V_DIAGNOSED;
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

size_t fz_frames_encode(const uint8_t *in, size_t n, uint8_t *out) {
  size_t i = 0, at = 0, len;
  while (i + 2 <= n) {
    uint8_t b0 = in[i];
    len = in[i + 1];
    i += 2;
    if (len > n - i) len = n - i;
    /* With out NULL, a capacity of 0: tb_frame only says the length. */
    at += tb_frame(out ? out + at : NULL, out ? len + 14 : 0, b0, tb_mask_key,
                   in + i, len);
    i += len;
  }
  return at;
}

uint8_t *fz_request(const char *token, size_t *len) {
  static const char req[] =
      "GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n"
      "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
      "Sec-WebSocket-Version: 13\r\n";
  size_t tl = token ? strlen(token) : 0, at = sizeof(req) - 1;
  uint8_t *p = malloc(sizeof(req) + tl + 32);
  if (!p) return NULL;
  memcpy(p, req, at);
  if (token) {
    memcpy(p + at, "Authorization: Bearer ", 22);
    at += 22;
    memcpy(p + at, token, tl);
    at += tl;
    memcpy(p + at, "\r\n", 2);
    at += 2;
  }
  memcpy(p + at, "\r\n", 2);
  *len = at + 2;
  return p;
}

/* ---- snapshots of an accepted, authenticated upgrade ----------------------
 */

static void make_snapshot(snapshot *sn, unsigned which) {
  static const char claims[] = "{\"sub\":\"fuzz\",\"exp\":2000000000}";
  ws_run_spec spec;
  ws_run_result full, setup;
  fz_rng rng = {FZ_SEED, FZ_SEED};
  const uint8_t *d;
  ws_session *s;
  char *tok = fz_sign((const uint8_t *)claims, sizeof(claims) - 1);
  int k;
  if (!tok || !(sn->prefix = fz_request(tok, &sn->prefix_len)))
    die("snapshot prefix");
  free(tok);
  /* The session kept open: libc memory, the deterministic randomness. */
  fz_spec_rng(&spec, &rng, configs[which], sn->prefix, sn->prefix_len);
  if (ws_session_new(&s, configs[which], keys, &spec.env) != WS_OK ||
      ws_session_recv(s, sn->prefix, sn->prefix_len) < 0)
    die("snapshot session");
  while (ws_session_send(s, &d) > 0) {
  }
  if (ws_session_outcome(s)) die("the snapshot's upgrade was not accepted");
  sn->s = s;
  sn->rng_after = rng.state;
  /* Hit numbers: a plain replay of prefix + input counts the prefix's hits
   * first; a resumed run counts the copy's own setup instead. */
  rng.state = FZ_SEED;
  run_or_die(&spec, NULL, &full);
  spec.resume = s;
  spec.input = NULL;
  spec.len = 0;
  rng.reset = sn->rng_after;
  run_or_die(&spec, NULL, &setup);
  for (k = 0; k < WS_FAULT_KINDS_; k++)
    sn->hit_offset[k] = (long)full.hits[k] - (long)setup.hits[k];
  for (k = 0; k < WS_FAULT_SITES_; k++)
    sn->site_hit_offset[k] = (long)full.site_hits[k] - (long)setup.site_hits[k];
  ws_run_result_clear(&full);
  ws_run_result_clear(&setup);
}

static void make_snapshots(void) {
  make_snapshot(&snaps[0], FZ_CFG_DEFAULT);
  make_snapshot(&snaps[1], FZ_CFG_TIGHT);
}

void fz_case_resume(fz_case *c, unsigned which) {
  snapshot *sn = &snaps[which == FZ_CFG_TIGHT ? 1 : 0];
  c->spec.cfg = configs[which == FZ_CFG_TIGHT ? FZ_CFG_TIGHT : FZ_CFG_DEFAULT];
  c->spec.resume = sn->s;
  c->rng.state = c->rng.reset = sn->rng_after;
  c->prefix = sn->prefix;
  c->prefix_len = sn->prefix_len;
  c->hit_offset = sn->hit_offset;
  c->site_hit_offset = sn->site_hit_offset;
}
