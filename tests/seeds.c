/* Writes the seed inputs of the session stages: client byte streams (the
 * upgrade request, then masked frames) with tokens signed by the committed
 * test keys, one group per configuration:
 *
 *   OUTDIR/default/NAME.bin  (config: defaults)
 *   OUTDIR/fma/NAME.bin      (config: first-message auth)
 *   OUTDIR/policy/NAME.bin   (config: origins, subprotocols, issuer, audience)
 *   OUTDIR/<group>/config.json
 *
 * The fault sweep runs over each group (tests/sweep_test.sh); the fuzz
 * corpora start from the same streams.  Tokens expire at 2000000000: run
 * with --now 1700000000.
 *
 *   seeds OUTDIR */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "b64.h"
#include "testutil.h"
#include "tokens.h"

#define EXP "2000000000"

static const char *outdir;

static void write_file(const char *group, const char *name, const void *p,
                       size_t n) {
  char path[1024];
  FILE *f;
  snprintf(path, sizeof(path), "%s/%s", outdir, group);
  if (mkdir(path, 0777) != 0 && errno != EEXIST) {
    perror(path);
    exit(1);
  }
  snprintf(path, sizeof(path), "%s/%s/%s", outdir, group, name);
  if (!(f = fopen(path, "wb")) || fwrite(p, 1, n, f) != n || fclose(f)) {
    perror(path);
    exit(1);
  }
}

static void emit(const char *group, const char *name, tu_bytes *b) {
  char file[256];
  snprintf(file, sizeof(file), "%s.bin", name);
  write_file(group, file, b->p, b->n);
  tu_bytes_free(b);
}

/* A token for alg with the key of the same name. */
static char *alice(ws_alg alg, const char *kid) {
  return tok_sign_jwt(alg, kid, "{\"sub\":\"alice\",\"exp\":" EXP "}");
}

/* Flips one bit of the token's decoded signature and re-encodes it: the
 * result is still canonical base64url of the right length, so it fails at
 * the signature check (flipping a character of the text could make it
 * non-canonical base64url, AUTH_BASE64, instead). */
static char *flip_signature(char *tok) {
  char *dot = strrchr(tok, '.'), *enc, *out;
  size_t n = strlen(dot + 1), cap = ws_b64url_decoded_max(n);
  uint8_t *sig = malloc(cap ? cap : 1);
  long m = sig ? ws_b64url_decode(dot + 1, n, sig, cap) : -1;
  if (m < 8) {
    fprintf(stderr, "seeds: token has no signature to flip\n");
    exit(1);
  }
  sig[m / 2] ^= 0x01;
  enc = tok_b64url(sig, (size_t)m);
  *dot = '\0';
  if (!(out = malloc(strlen(tok) + strlen(enc) + 2))) exit(1);
  sprintf(out, "%s.%s", tok, enc);
  free(enc);
  free(sig);
  free(tok);
  return out;
}

/* Request with "Authorization: Bearer <t>" plus extra header lines. */
static void bearer(tu_bytes *b, const char *tok, const char *extra) {
  char *h = malloc(strlen(tok) + (extra ? strlen(extra) : 0) + 64);
  sprintf(h, "Authorization: Bearer %s\r\n%s", tok, extra ? extra : "");
  tu_request(b, h);
  free(h);
}

static void chat(tu_bytes *b) {
  tu_text(b, "{\"type\":\"user_message\",\"text\":\"hello\"}");
  tu_close(b, 1000, "bye");
}

static void group_default(void) {
  static const struct {
    ws_alg alg;
    const char *kid, *name;
  } algs[] = {{WS_ALG_HS256, "hs256", "token_hs256"},
              {WS_ALG_HS384, "hs384", "token_hs384"},
              {WS_ALG_HS512, "hs512", "token_hs512"},
              {WS_ALG_RS256, "rs256", "token_rs256"},
              {WS_ALG_PS256, "ps256", "token_ps256"},
              {WS_ALG_ES256, "es256", "token_es256"},
              {WS_ALG_EDDSA, "ed25519", "token_eddsa"}};
  tu_bytes b = {0};
  char *tok = alice(WS_ALG_HS256, "hs256"), *t2, line[2048];
  size_t i;
  int k;

  write_file("default", "config.json", "{}\n", 3);
  for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
    t2 = alice(algs[i].alg, algs[i].kid);
    bearer(&b, t2, NULL);
    chat(&b);
    emit("default", algs[i].name, &b);
    free(t2);
  }
  /* The other token sources. */
  snprintf(line, sizeof(line), "Sec-WebSocket-Protocol: bearer, %s\r\n", tok);
  tu_request(&b, line);
  chat(&b);
  emit("default", "token_subprotocol", &b);
  snprintf(line, sizeof(line),
           "GET /chat?room=1&access_token=%s HTTP/1.1\r\nHost: a\r\n"
           "Upgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
           "Sec-WebSocket-Version: 13\r\n\r\n",
           tok);
  tu_puts(&b, line);
  chat(&b);
  emit("default", "token_query", &b);

  /* Handshake variants. */
  tu_puts(&b, "POST /chat HTTP/1.1\r\nHost: a\r\n\r\n");
  emit("default", "hs_method", &b);
  tu_puts(&b,
          "GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n"
          "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n");
  emit("default", "hs_key_missing", &b);
  tu_puts(
      &b,
      "GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n"
      "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
      "Sec-WebSocket-Version: 8\r\n\r\n");
  emit("default", "hs_version", &b);
  tu_puts(&b, "GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: webs");
  emit("default", "hs_incomplete", &b);
  tu_request(&b, NULL);
  emit("default", "auth_no_token", &b);
  t2 = tok_sign_jwt(WS_ALG_HS256, "hs256",
                    "{\"sub\":\"alice\",\"exp\":1600000000}");
  bearer(&b, t2, NULL);
  emit("default", "auth_expired", &b);
  free(t2);
  t2 = flip_signature(alice(WS_ALG_ES256, "es256"));
  bearer(&b, t2, NULL);
  emit("default", "auth_bad_signature", &b);
  free(t2);
  t2 = tok_sign_jwt(WS_ALG_HS256, "hs256", "{\"exp\":" EXP "}");
  bearer(&b, t2, NULL);
  emit("default", "auth_no_sub", &b);
  free(t2);

  /* A long exchange: pings, fragmented text, every message type. */
  bearer(&b, tok, NULL);
  for (k = 0; k < 40; k++) {
    snprintf(line, sizeof(line),
             "{\"type\":\"user_message\",\"text\":\"message %d\"}", k);
    tu_text(&b, line);
    if (k % 8 == 0) tu_frame(&b, 1, 0x9, "hb", 2);
  }
  {
    static const char a[] = "{\"type\":\"user_",
                      z[] = "message\",\"text\":\"\xc3\xa9\"}";
    tu_frame(&b, 0, 0x1, a, sizeof(a) - 1);
    tu_frame(&b, 1, 0x9, "mid", 3);
    tu_frame(&b, 1, 0x0, z, sizeof(z) - 1);
  }
  tu_text(&b, "{\"type\":\"ping\"}");
  tu_frame(&b, 1, 0xA, "unsolicited", 11);
  tu_text(&b, "not json");
  tu_text(&b, "{\"type\":\"dance\"}");
  tu_text(&b, "{\"type\":\"auth\",\"token\":\"x\"}");
  tu_close(&b, 1001, "going away");
  emit("default", "long_exchange", &b);

  /* Each way a session ends after the upgrade. */
  bearer(&b, tok, NULL);
  tu_text(&b, "{\"type\":\"ping\"}");
  emit("default", "close_eof", &b);
  bearer(&b, tok, NULL);
  tu_put(&b, "\x81\x85\x37\xfa", 4); /* a frame cut short */
  emit("default", "close_truncated", &b);
  bearer(&b, tok, NULL);
  tu_frame(&b, 1, 0x2, "\x01\x02", 2);
  emit("default", "close_binary", &b);
  bearer(&b, tok, NULL);
  tu_frame(&b, 1, 0x1, "\xc3\x28", 2);
  emit("default", "close_utf8", &b);
  bearer(&b, tok, NULL);
  tu_put(&b, "\x81\x02hi", 4); /* unmasked */
  emit("default", "close_unmasked", &b);
  bearer(&b, tok, NULL);
  tu_close(&b, 1005, NULL); /* invalid on the wire */
  emit("default", "close_bad_code", &b);
  bearer(&b, tok, NULL);
  tu_close(&b, 0, NULL);
  emit("default", "close_empty", &b);
  free(tok);
}

static void group_fma(void) {
  tu_bytes b = {0};
  char *tok = alice(WS_ALG_ES256, "es256"), line[2048];
  write_file("fma", "config.json", "{\"first_message_auth\":true}\n", 28);
  tu_request(&b, NULL);
  snprintf(line, sizeof(line), "{\"type\":\"auth\",\"token\":\"%s\"}", tok);
  tu_text(&b, line);
  chat(&b);
  emit("fma", "fma_ok", &b);
  tu_request(&b, NULL);
  tu_text(&b, "{\"type\":\"ping\"}");
  emit("fma", "fma_not_auth", &b);
  tu_request(&b, NULL);
  tu_text(&b, "{\"type\":\"auth\",\"token\":\"a.b.c\"}");
  emit("fma", "fma_bad_token", &b);
  /* A header token still wins when given. */
  bearer(&b, tok, NULL);
  chat(&b);
  emit("fma", "fma_header_token", &b);
  free(tok);
}

static void group_policy(void) {
  static const char cfg[] =
      "{\"origins\":[\"https://chat.example\"],"
      "\"subprotocols\":[\"chat.v2\",\"chat.v1\"],"
      "\"issuer\":\"https://issuer.example\",\"audience\":\"wsgate\"}\n";
  tu_bytes b = {0};
  char *tok =
      tok_sign_jwt(WS_ALG_RS256, "rs256",
                   "{\"sub\":\"alice\",\"exp\":" EXP
                   ",\"iss\":\"https://issuer.example\",\"aud\":\"wsgate\"}");
  char *wrong =
      tok_sign_jwt(WS_ALG_HS256, "hs256",
                   "{\"sub\":\"alice\",\"exp\":" EXP
                   ",\"iss\":\"https://issuer.example\",\"aud\":\"other\"}");
  write_file("policy", "config.json", cfg, sizeof(cfg) - 1);
  bearer(&b, tok,
         "Origin: https://chat.example\r\n"
         "Sec-WebSocket-Protocol: chat.v1, chat.v2\r\n");
  chat(&b);
  emit("policy", "policy_ok", &b);
  bearer(&b, tok, "Origin: https://evil.example\r\n");
  emit("policy", "policy_origin", &b);
  bearer(&b, wrong, "Origin: https://chat.example\r\n");
  emit("policy", "policy_audience", &b);
  free(tok);
  free(wrong);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: seeds OUTDIR\n");
    return 2;
  }
  outdir = argv[1];
  if (mkdir(outdir, 0777) != 0 && errno != EEXIST) {
    perror(outdir);
    return 1;
  }
  group_default();
  group_fma();
  group_policy();
  return 0;
}
