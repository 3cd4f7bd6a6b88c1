#include "testutil.h"

#include "rng.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

void tu_global_init(void) {
  static int done;
  if (!done) {
    int rc = ws_global_init();
    if (rc != WS_OK) {
      fprintf(stderr, "ws_global_init: %s\n", ws_strerror(rc));
      exit(1);
    }
    done = 1;
  }
}

static int64_t tu_now(void *ud) {
  return ((tu_env *)ud)->now;
}

static int tu_random(void *ud, uint8_t *buf, size_t len) {
  tu_env *t = ud;
  size_t i;
  for (i = 0; i < len; i++) buf[i] = (uint8_t)ws_splitmix64(&t->rng);
  return 0;
}

void tu_env_init(tu_env *t, int64_t now, uint64_t seed) {
  memset(t, 0, sizeof(*t));
  t->now = now;
  t->rng = seed;
  ws_countalloc_init(&t->counts, NULL);
  t->env.alloc = ws_countalloc_allocator(&t->counts);
  t->env.now = tu_now;
  t->env.random = tu_random;
  t->env.user_data = t;
}

char *tu_read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  char *buf = NULL;
  long n;
  if (!f) return NULL;
  if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
      fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1))) {
    if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
      free(buf);
      buf = NULL;
    } else {
      buf[n] = '\0';
      if (len) *len = (size_t)n;
    }
  }
  fclose(f);
  return buf;
}

ws_config *tu_config(const char *json) {
  ws_config *c = NULL;
  char err[256];
  int rc = ws_config_new(&c, json, json ? strlen(json) : 0, err, sizeof(err));
  if (rc != WS_OK) fail_msg("config: %s (%s)", err, ws_strerror(rc));
  return c;
}

ws_keyset *tu_keys(void) {
  ws_keyset *ks = NULL;
  size_t len;
  char err[256];
  char *j = tu_read_file(WSGATE_SOURCE_DIR "/tests/keys/jwks.json", &len);
  int rc;
  if (!j) fail_msg("cannot read tests/keys/jwks.json");
  rc = ws_keyset_load(&ks, j, len, err, sizeof(err));
  free(j);
  if (rc != WS_OK) fail_msg("jwks: %s", err);
  return ks;
}

static void collect(void *ud, const uint8_t *p, size_t n) {
  tu_result *r = ud;
  r->out = realloc(r->out, r->out_len + n);
  assert_non_null(r->out);
  memcpy(r->out + r->out_len, p, n);
  r->out_len += n;
}

void tu_run(const ws_config *cfg, const ws_keyset *ks, tu_env *t,
            const uint8_t *in, size_t len, size_t chunk, uint64_t chunk_seed,
            int eof, tu_result *r) {
  ws_session *s = NULL;
  const ws_outcome *o;
  memset(r, 0, sizeof(*r));
  assert_int_equal(ws_session_new(&s, cfg, ks, &t->env), WS_OK);
  assert_int_equal(
      tb_session_feed(s, in, len, chunk, chunk_seed, eof, collect, r), 0);
  o = ws_session_outcome(s);
  if (o) {
    const char *why = tu_outcome_check(o);
    if (why) fail_msg("inconsistent outcome: %s", why);
    r->outcome = *o;
    r->ended = 1;
  }
  ws_session_free(s);
  r->live_blocks = t->counts.live_blocks;
  r->peak_bytes = t->counts.peak_bytes;
}

const char *tu_outcome_check(const ws_outcome *o) {
  const ws_diag_info *i = o ? ws_diag_get(o->diag) : NULL;
  if (!i) return "diag is not a table row";
  if (o->stage != i->stage) return "stage is not the table row's stage";
  return NULL;
}

void tu_result_free(tu_result *r) {
  free(r->out);
  r->out = NULL;
}

void tu_assert_diag(const tu_result *r, const char *code) {
  const ws_diag_info *i = ws_diag_get(r->outcome.diag);
  if (!r->ended) fail_msg("session did not end (want %s)", code);
  if (!i || strcmp(i->code, code) != 0)
    fail_msg("diag %s, want %s (reason: %s)", i ? i->code : "(none)", code,
             r->outcome.reason);
}

/* Room for n more bytes. */
static void tu_reserve(tu_bytes *b, size_t n) {
  if (b->n + n > b->cap) {
    b->cap = (b->n + n) * 2 + 64;
    b->p = realloc(b->p, b->cap);
    assert_non_null(b->p);
  }
}

void tu_put(tu_bytes *b, const void *p, size_t n) {
  if (n == 0) return;
  tu_reserve(b, n);
  memcpy(b->p + b->n, p, n);
  b->n += n;
}

void tu_puts(tu_bytes *b, const char *s) {
  tu_put(b, s, strlen(s));
}

void tu_bytes_free(tu_bytes *b) {
  free(b->p);
  memset(b, 0, sizeof(*b));
}

void tu_request(tu_bytes *b, const char *extra) {
  size_t n = tb_request(NULL, 0, extra);
  tu_reserve(b, n);
  assert_int_equal(tb_request((char *)b->p + b->n, n, extra), n);
  b->n += n;
}

static void put_frame(tu_bytes *b, uint8_t b0, const uint8_t *mask,
                      const void *payload, size_t n) {
  size_t need = tb_frame(NULL, 0, b0, mask, payload, n);
  tu_reserve(b, need);
  assert_int_equal(tb_frame(b->p + b->n, need, b0, mask, payload, n), need);
  b->n += need;
}

void tu_frame(tu_bytes *b, int fin, int opcode, const void *payload, size_t n) {
  put_frame(b, (uint8_t)((fin ? TB_FIN : 0) | (opcode & 0x0f)), tb_mask_key,
            payload, n);
}

void tu_server_frame(tu_bytes *b, int opcode, const void *payload, size_t n) {
  put_frame(b, (uint8_t)(TB_FIN | (opcode & 0x0f)), NULL, payload, n);
}

void tu_text(tu_bytes *b, const char *s) {
  tu_frame(b, 1, TB_TEXT, s, strlen(s));
}

void tu_close(tu_bytes *b, int code, const char *reason) {
  uint8_t p[125];
  tu_frame(b, 1, TB_CLOSE, p, tb_close_payload(p, code, reason));
}

size_t tu_server_frames(const uint8_t *out, size_t len, tu_sframe *f,
                        size_t max) {
  size_t off = 0, count = 0;
  const uint8_t *end = NULL;
  /* Skip the HTTP response head. */
  for (off = 0; off + 4 <= len; off++)
    if (memcmp(out + off, "\r\n\r\n", 4) == 0) {
      end = out + off + 4;
      break;
    }
  if (!end) return 0;
  off = (size_t)(end - out);
  while (off < len) {
    size_t n, hl = 2;
    if (len - off < 2) fail_msg("truncated server frame header");
    if (out[off + 1] & 0x80) fail_msg("server frame is masked");
    n = out[off + 1] & 0x7f;
    if (n == 126) {
      n = (size_t)out[off + 2] << 8 | out[off + 3];
      hl = 4;
    } else if (n == 127) {
      size_t i;
      n = 0;
      for (i = 0; i < 8; i++) n = n << 8 | out[off + 2 + i];
      hl = 10;
    }
    if (len - off < hl + n) fail_msg("truncated server frame");
    if (count < max) {
      f[count].fin = out[off] >> 7;
      f[count].opcode = out[off] & 0x0f;
      f[count].p = out + off + hl;
      f[count].n = n;
    }
    count++;
    off += hl + n;
  }
  return count;
}

void tu_failmem_init(tu_failmem *x, unsigned long fail_at, int fail_from) {
  ws_allocator inner, counted;
  memset(x, 0, sizeof(*x));
  x->fa.fail_at = fail_at;
  x->fa.fail_from = fail_from;
  inner = tb_failalloc_allocator(&x->fa);
  ws_countalloc_init(&x->ca, &inner);
  counted = ws_countalloc_allocator(&x->ca);
  ws_mem_init(&x->m, &counted);
}
