/* The frame model (fuzz/model_frames.c) against the real session: thousands
 * of deterministic frame sequences after an authenticated upgrade, each run
 * whole, byte by byte and in 7-byte pieces, must end with the diagnosis and
 * close code the model predicts, with as many text replies and pongs as it
 * predicts.  Then the oracle is fed wrong answers and must say so. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "model_frames.h"
#include "rng.h"
#include "testutil.h"
#include "tokens.h"

#define NOW 1700000000
#define SMALL_MAX 64

static ws_keyset *keys;
static ws_config *cfg_small; /* max_message_bytes 64 */
static ws_config *cfg_big;   /* the default, 1 MiB */
static tu_bytes prefix;      /* the upgrade request with a valid token */
static size_t n_sessions;    /* sessions compared (all tests) */

static int setup(void **st) {
  char hdr[2048];
  char *tok;
  (void)st;
  tu_global_init();
  keys = tu_keys();
  cfg_small = tu_config("{\"max_message_bytes\":64}");
  cfg_big = tu_config(NULL);
  tok = tok_sign_jwt(WS_ALG_HS256, "hs256",
                     "{\"sub\":\"model\",\"exp\":2000000000}");
  snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s\r\n", tok);
  free(tok);
  tu_request(&prefix, hdr);
  return 0;
}

static int teardown(void **st) {
  (void)st;
  printf("test_model_frames: %zu sessions agreed with the model\n", n_sessions);
  ws_keyset_free(keys);
  ws_config_free(cfg_small);
  ws_config_free(cfg_big);
  tu_bytes_free(&prefix);
  return 0;
}

/* ---- writing client frames ------------------------------------------------
 * Any first byte, masked or not, the length in the minimal form or forced
 * into the 16- or 64-bit form, and fewer payload bytes than announced. */

enum { LEN_MIN = 0, LEN_16, LEN_64 };

typedef struct gen_frame {
  uint8_t b0; /* FIN | RSV | opcode */
  int masked;
  int form;          /* LEN_* */
  uint64_t declared; /* length in the header */
  const uint8_t *p;  /* payload, n bytes written (n <= declared) */
  size_t n;
  uint8_t key[4];
} gen_frame;

static void put_gen(tu_bytes *b, const gen_frame *g) {
  uint8_t h[14];
  size_t hl = 0, i;
  uint8_t m = g->masked ? 0x80 : 0;
  int form = g->form;
  h[hl++] = g->b0;
  if (form == LEN_MIN)
    form = g->declared < 126 ? -1 : g->declared <= 0xffff ? LEN_16 : LEN_64;
  if (form == -1) {
    h[hl++] = (uint8_t)(m | g->declared);
  } else if (form == LEN_16) {
    h[hl++] = m | 126;
    h[hl++] = (uint8_t)(g->declared >> 8);
    h[hl++] = (uint8_t)g->declared;
  } else {
    h[hl++] = m | 127;
    for (i = 0; i < 8; i++) h[hl++] = (uint8_t)(g->declared >> (56 - 8 * i));
  }
  if (g->masked) {
    memcpy(h + hl, g->key, 4);
    hl += 4;
  }
  tu_put(b, h, hl);
  for (i = 0; i < g->n; i++) {
    uint8_t c = g->masked ? (uint8_t)(g->p[i] ^ g->key[i % 4]) : g->p[i];
    tu_put(b, &c, 1);
  }
}

/* A well-formed masked frame (minimal length, all of its payload). */
static void put_ok(tu_bytes *b, int fin, int opcode, const void *p, size_t n,
                   uint32_t key) {
  gen_frame g;
  memset(&g, 0, sizeof(g));
  g.b0 = (uint8_t)((fin ? 0x80 : 0) | opcode);
  g.masked = 1;
  g.declared = n;
  g.p = p;
  g.n = n;
  g.key[0] = (uint8_t)(key >> 24);
  g.key[1] = (uint8_t)(key >> 16);
  g.key[2] = (uint8_t)(key >> 8);
  g.key[3] = (uint8_t)key;
  put_gen(b, &g);
}

/* ---- comparing one sequence ---------------------------------------------- */

static void hex_dump(const uint8_t *p, size_t n) {
  size_t i;
  for (i = 0; i < n && i < 96; i++) print_error("%02x", p[i]);
  print_error(n > 96 ? "... (%zu bytes)\n" : " (%zu bytes)\n", n);
}

/* Runs prefix + frames through a session with cfg (whole, byte by byte, in
 * 7-byte pieces; then EOF if eof) and asserts the model's prediction. */
static void compare(const tu_bytes *frames, int big, int eof) {
  static const size_t chunks[] = {0, 1, 7};
  const ws_config *cfg = big ? cfg_big : cfg_small;
  size_t max = big ? 1048576 : SMALL_MAX;
  fz_frames_prediction p;
  tu_bytes in = {0};
  size_t c;
  fz_frames_model(frames->p, frames->n, max, eof, &p);
  tu_put(&in, prefix.p, prefix.n);
  tu_put(&in, frames->p, frames->n);
  for (c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
    tu_env t;
    tu_result r;
    tu_sframe sf[64];
    size_t nf, i, texts = 0, pongs = 0, closes = 0;
    char why[256];
    ws_diag d;
    int code;
    tu_env_init(&t, NOW, 1);
    tu_run(cfg, keys, &t, in.p, in.n, chunks[c], 0, eof, &r);
    n_sessions++;
    d = r.ended ? r.outcome.diag : WS_DIAG_NONE;
    code = r.ended ? r.outcome.close_code : 0;
    if (fz_frames_oracle_check(frames->p, frames->n, max, eof, d, code, why,
                               sizeof(why)) != 0) {
      print_error("%s\nchunk %zu, eof %d, limit %zu, frames: ", why, chunks[c],
                  eof, max);
      hex_dump(frames->p, frames->n);
      fail();
    }
    assert_int_equal(r.live_blocks, 0);
    assert_true(r.out_len >= 12 && memcmp(r.out, "HTTP/1.1 101", 12) == 0);
    nf = tu_server_frames(r.out, r.out_len, sf, 64);
    for (i = 0; i < nf && i < 64; i++) {
      if (sf[i].opcode == 0x1) texts++;
      if (sf[i].opcode == 0xa) pongs++;
      if (sf[i].opcode == 0x8) {
        closes++;
        assert_int_equal(i, nf - 1); /* the close is the last frame */
        assert_true(sf[i].n >= 2);
        assert_int_equal(sf[i].p[0] << 8 | sf[i].p[1], p.close_code);
      }
    }
    if (nf <= 64) {
      if (texts != p.messages || pongs != p.pongs) {
        print_error("replies %zu pongs %zu, model %zu %zu; frames: ", texts,
                    pongs, p.messages, p.pongs);
        hex_dump(frames->p, frames->n);
      }
      assert_int_equal(texts, p.messages);
      assert_int_equal(pongs, p.pongs);
      assert_int_equal(closes, p.close_code ? 1 : 0);
    }
    tu_result_free(&r);
  }
  tu_bytes_free(&in);
}

/* ---- generated families -------------------------------------------------- */

typedef struct sample {
  const char *s;
  size_t n;
} sample;
#define S(x) \
  { x, sizeof(x) - 1 }

/* Single characters and would-be characters (RFC 3629 4). */
static const sample UTF8_SAMPLES[] = {
    S("a"),
    S("\xc2\x80"),
    S("\xc3\xa9"),
    S("\xdf\xbf"),
    S("\xe0\xa0\x80"),
    S("\xe2\x82\xac"),
    S("\xed\x9f\xbf"), /* U+D7FF, below the surrogates */
    S("\xee\x80\x80"), /* U+E000, above them */
    S("\xef\xbf\xbf"),
    S("\xf0\x90\x80\x80"),
    S("\xf0\x9f\x98\x80"),
    S("\xf4\x8f\xbf\xbf"), /* U+10FFFF */
    /* overlong */
    S("\xc0\x80"),
    S("\xc1\xbf"),
    S("\xe0\x80\xaf"),
    S("\xe0\x9f\xbf"),
    S("\xf0\x80\x80\xaf"),
    S("\xf0\x8f\xbf\xbf"),
    /* surrogates */
    S("\xed\xa0\x80"),
    S("\xed\xbf\xbf"),
    /* above U+10FFFF */
    S("\xf4\x90\x80\x80"),
    S("\xf5\x80\x80\x80"),
    S("\xf7\xbf\xbf\xbf"),
    /* never in UTF-8, stray continuations, bad continuations */
    S("\xf8\x88\x80\x80\x80"),
    S("\xfe"),
    S("\xff"),
    S("\x80"),
    S("\xbf"),
    S("\xc3\x28"),
    S("\xe2\x28\xa1"),
    S("\xe2\x82\x28"),
    S("\xf0\x28\x8c\xbc"),
    S("\xf0\x9f\x98\x28"),
    /* cut short (at the message's end when last) */
    S("\xc3"),
    S("\xe2\x82"),
    S("\xf0\x9f\x98"),
};

/* Each sample inside a message ("ab" sample "cd") and at its very end, the
 * message split into two fragments at every byte, and into three at every
 * pair of positions with a ping between the first two; with and without
 * EOF. */
static void test_utf8_splits(void **st) {
  size_t i, k1, k2, tail;
  tu_bytes f = {0};
  (void)st;
  for (i = 0; i < sizeof(UTF8_SAMPLES) / sizeof(UTF8_SAMPLES[0]); i++) {
    for (tail = 0; tail < 2; tail++) {
      uint8_t text[16];
      size_t n = 0;
      memcpy(text, "ab", 2);
      n = 2;
      memcpy(text + n, UTF8_SAMPLES[i].s, UTF8_SAMPLES[i].n);
      n += UTF8_SAMPLES[i].n;
      if (!tail) {
        memcpy(text + n, "cd", 2);
        n += 2;
      }
      /* whole */
      f.n = 0;
      put_ok(&f, 1, 0x1, text, n, 0x37fa213d);
      compare(&f, 0, 1);
      for (k1 = 0; k1 <= n; k1++) {
        f.n = 0;
        put_ok(&f, 0, 0x1, text, k1, 0x01020304u + (uint32_t)k1);
        put_ok(&f, 1, 0x0, text + k1, n - k1, 0xa5a5a5a5u);
        compare(&f, 0, 1);
        for (k2 = k1; k2 <= n; k2++) {
          f.n = 0;
          put_ok(&f, 0, 0x1, text, k1, 0x11223344u);
          put_ok(&f, 1, 0x9, "p", 1, 0x55667788u);
          put_ok(&f, 0, 0x0, text + k1, k2 - k1, 0x99aabbccu);
          put_ok(&f, 1, 0x0, text + k2, n - k2, 0xddeeff00u);
          compare(&f, 0, (int)((k1 + k2) & 1));
        }
      }
    }
  }
  tu_bytes_free(&f);
}

/* Close frames: codes of every class, empty and 1-byte payloads, reasons
 * valid and not (or cut), alone and inside a fragmented message, complete
 * and one byte short. */
static void test_close_frames(void **st) {
  static const int codes[] = {-1,   -2,   0,    999,  1000, 1001, 1002, 1003,
                              1004, 1005, 1006, 1007, 1008, 1009, 1010, 1011,
                              1012, 1013, 1014, 1015, 1016, 2000, 2999, 3000,
                              3001, 3999, 4000, 4999, 5000, 5001, 65535};
  static const sample reasons[] = {
      S(""),
      S("bye"),
      S("\xc3\xa9t\xc3\xa9"),
      S("\xc3"),
      S("\xed\xa0\x80"),
      S("\xff"),
      S("ok\xc0\xaf"),
      S("\xf4\x90\x80\x80"),
  };
  uint8_t big[123];
  tu_bytes f = {0};
  size_t c, r, inside, cut;
  (void)st;
  memset(big, 'r', sizeof(big));
  for (c = 0; c < sizeof(codes) / sizeof(codes[0]); c++) {
    for (r = 0; r <= sizeof(reasons) / sizeof(reasons[0]); r++) {
      uint8_t p[125];
      size_t n;
      if (codes[c] < 0 && r > 0) break;
      if (codes[c] == -1) {
        n = 0; /* empty close */
      } else if (codes[c] == -2) {
        p[0] = 0x03;
        n = 1;
      } else {
        p[0] = (uint8_t)(codes[c] >> 8);
        p[1] = (uint8_t)codes[c];
        if (r < sizeof(reasons) / sizeof(reasons[0])) {
          memcpy(p + 2, reasons[r].s, reasons[r].n);
          n = 2 + reasons[r].n;
        } else {
          memcpy(p + 2, big, sizeof(big)); /* the longest reason */
          n = 125;
        }
      }
      for (inside = 0; inside < 2; inside++) {
        for (cut = 0; cut < 2; cut++) {
          f.n = 0;
          if (inside) put_ok(&f, 0, 0x1, "{\"ty", 4, 0x0badf00d);
          put_ok(&f, 1, 0x8, p, n, 0x37fa213d);
          if (cut)
            f.n--;
          else
            put_ok(&f, 1, 0x1, "after", 5, 0x37fa213d); /* never read */
          compare(&f, 0, 1);
        }
      }
    }
  }
  tu_bytes_free(&f);
}

/* Length forms of a header: {declared, form, payload bytes written}. */
typedef struct len_case {
  uint64_t declared;
  int form;
  size_t written;
} len_case;

/* Every first byte (FIN, RSV, opcode) with a 5-byte payload, masked and not,
 * with and without an open message; then a set of first bytes with every
 * length form (minimal, non-minimal 16- and 64-bit, 125/126, 64 KiB, the
 * 64-bit top bit), each followed by a ping so a wrongly accepted frame
 * shows. */
static void test_headers(void **st) {
  static const len_case lens[] = {
      {0, LEN_MIN, 0},
      {5, LEN_MIN, 5},
      {125, LEN_MIN, 125},
      {126, LEN_MIN, 126},
      {5, LEN_16, 5},
      {125, LEN_16, 125},
      {200, LEN_64, 200},
      {65535, LEN_64, 0},
      {65536, LEN_64, 3},
      {(uint64_t)1 << 62, LEN_64, 1},
      {(uint64_t)1 << 63, LEN_64, 1},
      {64, LEN_MIN, 64},
      {65, LEN_MIN, 65},
  };
  static const uint8_t some_b0[] = {0x00, 0x01, 0x02, 0x08, 0x09, 0x0a,
                                    0x80, 0x81, 0x82, 0x88, 0x89, 0x8a,
                                    0x83, 0x8b, 0x8f, 0xc1, 0xa9, 0x91};
  static uint8_t pay[256];
  tu_bytes f = {0};
  gen_frame g;
  unsigned b0;
  size_t i, l, open, masked;
  (void)st;
  for (i = 0; i < sizeof(pay); i++) pay[i] = (uint8_t)('0' + i % 10);
  memset(&g, 0, sizeof(g));
  memcpy(g.key, "\x37\xfa\x21\x3d", 4);
  g.p = pay;
  for (b0 = 0; b0 < 256; b0++) {
    for (masked = 0; masked < 2; masked++) {
      for (open = 0; open < 2; open++) {
        f.n = 0;
        if (open) put_ok(&f, 0, 0x1, "12", 2, 0x01010101);
        g.b0 = (uint8_t)b0;
        g.masked = (int)masked;
        g.form = LEN_MIN;
        g.declared = 5;
        g.n = 5;
        put_gen(&f, &g);
        put_ok(&f, 1, 0x9, "x", 1, 0x02020202);
        compare(&f, 0, (int)(b0 & 1));
      }
    }
  }
  for (i = 0; i < sizeof(some_b0); i++) {
    for (l = 0; l < sizeof(lens) / sizeof(lens[0]); l++) {
      for (masked = 0; masked < 2; masked++) {
        for (open = 0; open < 2; open++) {
          f.n = 0;
          if (open) put_ok(&f, 0, 0x1, "12", 2, 0x01010101);
          g.b0 = some_b0[i];
          g.masked = (int)masked;
          g.form = lens[l].form;
          g.declared = lens[l].declared;
          g.n = lens[l].written;
          put_gen(&f, &g);
          if (g.n == g.declared) put_ok(&f, 1, 0x9, "x", 1, 0x02020202);
          compare(&f, lens[l].declared > SMALL_MAX, 1);
          compare(&f, 0, 0);
        }
      }
    }
  }
  tu_bytes_free(&f);
}

/* max_message_bytes 64: single frames and fragments at, below and above it,
 * empty fragments at the limit, control frames (which do not count) inside
 * a message at the limit, one message per limit. */
static void test_limits(void **st) {
  static const size_t splits[][3] = {
      {63, 0, 0},   {64, 0, 0}, {65, 0, 0},  {32, 32, 0}, {32, 33, 0},
      {64, 0, 1},   {0, 64, 0}, {0, 65, 0},  {1, 63, 1},  {20, 20, 24},
      {20, 20, 25}, {64, 1, 0}, {10, 0, 54}, {10, 0, 55},
  };
  uint8_t txt[200];
  tu_bytes f = {0};
  size_t i, ping, eof;
  (void)st;
  memset(txt, 'm', sizeof(txt));
  for (i = 0; i < sizeof(splits) / sizeof(splits[0]); i++) {
    for (ping = 0; ping < 2; ping++) {
      for (eof = 0; eof < 2; eof++) {
        size_t a = splits[i][0], b = splits[i][1], c = splits[i][2];
        f.n = 0;
        if (b == 0 && c == 0) {
          put_ok(&f, 1, 0x1, txt, a, 0x13579bdf);
        } else {
          put_ok(&f, 0, 0x1, txt, a, 0x13579bdf);
          if (ping) put_ok(&f, 1, 0x9, txt, 100, 0x2468ace0);
          put_ok(&f, c ? 0 : 1, 0x0, txt, b, 0x0f0f0f0f);
          if (c) put_ok(&f, 1, 0x0, txt, c, 0xf0f0f0f0);
        }
        put_ok(&f, 1, 0x1, txt, 64, 0x12345678); /* the next message */
        compare(&f, 0, (int)eof);
      }
    }
  }
  tu_bytes_free(&f);
}

/* Random sequences from a fixed seed: 1-8 frames mixing every kind above,
 * mostly well-formed so that sequences get deep. */
static const sample PIECES[] = {
    S("{\"type\":\"ping\"}"),
    S("{\"type\":\"user_message\",\"text\":\"hi\"}"),
    S("{\"type\":\"auth\",\"token\":\"x\"}"),
    S("not json"),
    S(""),
    S("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"),
    S("\xf0\x9f"),
    S("\x98\x80"),
    S("\xed\xa0\x80"),
    S("\xc0\xaf"),
    S("\xf4\x90\x80\x80"),
    S("\xff"),
};

static void random_frame(tu_bytes *f, uint64_t *rng, int *open) {
  static uint8_t buf[300];
  gen_frame g;
  uint64_t r = ws_splitmix64(rng);
  size_t n = 0, k;
  int op;
  memset(&g, 0, sizeof(g));
  /* opcode: continue an open message often, else text, control, or any */
  switch (r % 10) {
    case 0:
    case 1:
    case 2: op = *open ? 0x0 : 0x1; break;
    case 3: op = 0x1; break;
    case 4: op = 0x9; break;
    case 5: op = 0xa; break;
    case 6: op = 0x8; break;
    case 7: op = 0x0; break;
    default: op = (int)(ws_splitmix64(rng) % 16);
  }
  r = ws_splitmix64(rng);
  g.b0 = (uint8_t)op;
  if (op & 8 || r % 3 != 0) g.b0 |= 0x80; /* FIN */
  if (r % 29 == 0) g.b0 |= (uint8_t)(0x10 << (r / 29 % 3));
  g.masked = r % 31 != 0;
  g.form = r % 23 == 0 ? LEN_16 : r % 37 == 0 ? LEN_64 : LEN_MIN;
  for (k = 0; k < 4; k++) g.key[k] = (uint8_t)(r >> (8 * (k + 3)));
  /* payload */
  if (op == 0x8) {
    static const int codes[] = {1000, 1001, 1004, 1005, 1011, 1013,
                                1014, 1015, 2999, 3000, 4999, 5000};
    int code = codes[ws_splitmix64(rng) % 12];
    if (ws_splitmix64(rng) % 4 != 0) {
      buf[0] = (uint8_t)(code >> 8);
      buf[1] = (uint8_t)code;
      n = 2;
    }
  }
  r = ws_splitmix64(rng);
  if (r % 11 == 0) {
    /* long filler: around the 64-byte limit, or a big control frame */
    n = 50 + (size_t)(r / 11 % 100);
    memset(buf, 'z', n);
  } else {
    size_t pieces = (size_t)(r % 3);
    for (k = 0; k < pieces; k++) {
      const sample *s = &PIECES[ws_splitmix64(rng) % 12];
      if (n + s->n > sizeof(buf)) break;
      memcpy(buf + n, s->s, s->n);
      n += s->n;
    }
  }
  g.declared = n;
  g.p = buf;
  g.n = n;
  put_gen(f, &g);
  if (op == 0x1 || op == 0x0) *open = !(g.b0 & 0x80);
}

static void test_random_sequences(void **st) {
  uint64_t rng = 0x6d6f64656c;
  tu_bytes f = {0};
  int i;
  (void)st;
  for (i = 0; i < 1500; i++) {
    int frames = 1 + (int)(ws_splitmix64(&rng) % 8), k, open = 0;
    uint64_t r;
    f.n = 0;
    for (k = 0; k < frames; k++) random_frame(&f, &rng, &open);
    r = ws_splitmix64(&rng);
    if (r % 4 == 0 && f.n) f.n -= 1 + (size_t)(r / 4 % f.n); /* cut short */
    compare(&f, r % 5 == 0, (int)(r >> 8) % 3 != 0);
  }
  tu_bytes_free(&f);
}

/* ---- the oracle can fail ------------------------------------------------ */

/* Wrong core answers for real inputs, among them what known defects would
 * answer; the oracle must reject each, and accept the right one. */
static void test_oracle_rejects_wrong_answers(void **st) {
  typedef struct wrong {
    const char *what;
    ws_diag right_d;
    int right_code;
    ws_diag wrong_d;
    int wrong_code;
  } wrong;
  static const wrong cases[] = {
      /* 0: a character split across fragments; a core that resets its
       * UTF-8 state between fragments calls it invalid */
      {"utf8 reset between fragments", WS_DIAG_EOF_CLEAN, 0, WS_DIAG_FRAME_UTF8,
       1007},
      /* 1: RSV set: 1011 instead of 1002, with or without a diag */
      {"1011 for RSV", WS_DIAG_FRAME_RSV, 1002, WS_DIAG_FRAME_INTERNAL, 1011},
      /* 2: a 125-byte ping is fine; off by one refuses it */
      {"125-byte ping refused", WS_DIAG_EOF_CLEAN, 0, WS_DIAG_FRAME_BAD_HEADER,
       1002},
      /* 3: close 1004 accepted and echoed */
      {"close 1004 accepted", WS_DIAG_FRAME_CLOSE_CODE, 1002,
       WS_DIAG_CLOSE_CLIENT, 1004},
      /* 4: the right diag with the wrong code */
      {"diag right, code 1011", WS_DIAG_FRAME_RSV, 1002, WS_DIAG_FRAME_RSV,
       1011},
      /* 5: client 1011 echoed */
      {"client 1011 echoed", WS_DIAG_CLOSE_CLIENT, 1000, WS_DIAG_CLOSE_CLIENT,
       1011},
      /* 6: a header alone judged only at EOF (the old caveat) */
      {"2^62 header truncated", WS_DIAG_FRAME_TOO_BIG, 1009,
       WS_DIAG_FRAME_TRUNCATED, 0},
      /* 7: session still open but the core ended it */
      {"open session ended", WS_DIAG_NONE, 0, WS_DIAG_EOF_CLEAN, 0},
  };
  tu_bytes in[8];
  uint8_t p[125];
  char why[256];
  size_t i;
  (void)st;
  memset(in, 0, sizeof(in));
  put_ok(&in[0], 0, 0x1, "\xe2\x82", 2, 0x37fa213d);
  put_ok(&in[0], 1, 0x0, "\xac", 1, 0x37fa213d);
  put_ok(&in[1], 1, 0x41, "x", 1, 0x37fa213d); /* RSV1 text */
  memset(p, 'p', sizeof(p));
  put_ok(&in[2], 1, 0x9, p, 125, 0x37fa213d);
  put_ok(&in[3], 1, 0x8, "\x03\xec", 2, 0x37fa213d); /* 1004 */
  put_ok(&in[4], 1, 0x41, "x", 1, 0x37fa213d);
  put_ok(&in[5], 1, 0x8, "\x03\xf3", 2, 0x37fa213d); /* 1011 */
  tu_put(&in[6], "\x81\xff\x40\x00\x00\x00\x00\x00\x00\x00\x37\xfa\x21\x3d",
         14);
  put_ok(&in[7], 1, 0x1, "{}", 2, 0x37fa213d);
  for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    const wrong *w = &cases[i];
    int eof = i != 6 && i != 7;
    print_message("%s\n", w->what);
    /* The inputs really give the right answer on the real core. */
    compare(&in[i], 0, eof);
    assert_int_equal(
        fz_frames_oracle_check(in[i].p, in[i].n, SMALL_MAX, eof, w->right_d,
                               w->right_code, why, sizeof(why)),
        0);
    assert_string_equal(why, "");
    assert_int_equal(
        fz_frames_oracle_check(in[i].p, in[i].n, SMALL_MAX, eof, w->wrong_d,
                               w->wrong_code, why, sizeof(why)),
        1);
    assert_non_null(strstr(why, FZ_FRAMES_VERDICT));
    print_message("  %s\n", why);
    tu_bytes_free(&in[i]);
  }
  /* No room for a reason is fine. */
  put_ok(&in[0], 1, 0x41, "x", 1, 0x37fa213d);
  assert_int_equal(fz_frames_oracle_check(in[0].p, in[0].n, SMALL_MAX, 1,
                                          WS_DIAG_EOF_CLEAN, 0, NULL, 0),
                   1);
  tu_bytes_free(&in[0]);
}

/* The model's UTF-8 check on its own, through close reasons and messages:
 * every boundary value of RFC 3629's table. */
static void test_model_utf8_table(void **st) {
  static const struct {
    const char *s;
    size_t n;
    int ok;
  } t[] = {
      {"\x7f", 1, 1},
      {"\xc2\x80", 2, 1},
      {"\xc1\xbf", 2, 0},
      {"\xdf\xbf", 2, 1},
      {"\xe0\xa0\x80", 3, 1},
      {"\xe0\x9f\xbf", 3, 0},
      {"\xed\x9f\xbf", 3, 1},
      {"\xed\xa0\x80", 3, 0},
      {"\xed\xbf\xbf", 3, 0},
      {"\xee\x80\x80", 3, 1},
      {"\xf0\x90\x80\x80", 4, 1},
      {"\xf0\x8f\xbf\xbf", 4, 0},
      {"\xf4\x8f\xbf\xbf", 4, 1},
      {"\xf4\x90\x80\x80", 4, 0},
      {"\xe2\x82", 2, 0},
  };
  tu_bytes f = {0};
  fz_frames_prediction p;
  size_t i;
  (void)st;
  for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
    f.n = 0;
    put_ok(&f, 1, 0x1, t[i].s, t[i].n, 0x37fa213d);
    fz_frames_model(f.p, f.n, SMALL_MAX, 1, &p);
    assert_int_equal(p.diag, t[i].ok ? WS_DIAG_EOF_CLEAN : WS_DIAG_FRAME_UTF8);
    assert_int_equal(p.messages, t[i].ok ? 1 : 0);
    compare(&f, 0, 1);
  }
  /* Failing at the first impossible byte: ED A0 fails at A0, before the
   * rest of the frame (decided_at counts header + 2 payload bytes). */
  f.n = 0;
  put_ok(&f, 1, 0x1, "\xed\xa0\x80zz", 5, 0x37fa213d);
  fz_frames_model(f.p, f.n, SMALL_MAX, 0, &p);
  assert_int_equal(p.diag, WS_DIAG_FRAME_UTF8);
  assert_int_equal(p.decided_at, 6 + 2);
  tu_bytes_free(&f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_model_utf8_table),
      cmocka_unit_test(test_oracle_rejects_wrong_answers),
      cmocka_unit_test(test_utf8_splits),
      cmocka_unit_test(test_close_frames),
      cmocka_unit_test(test_headers),
      cmocka_unit_test(test_limits),
      cmocka_unit_test(test_random_sequences),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
