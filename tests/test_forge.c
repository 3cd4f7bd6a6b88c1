/* The token forge and the JWS/JWT decision model (fuzz/forge.h,
 * fuzz/model_jwt.h) against the real core: systematic combinations of key,
 * header alg, kid, header extras, tamper op and every structured claim
 * choice, under the four fuzz policies, each run through ws_jwt_verify and
 * judged by the oracle (the core's diagnosis must be the model's when it
 * knows it; nothing that is not pristine may be accepted).  Then proof that
 * the oracle can fail (a verifier that accepts a broken ES256 signature is
 * reported "forged", wrong diagnoses and user ids "wrong_outcome"), RFC 6979
 * known answers, determinism across processes, the independent raw-token
 * checker, and the signing cost per family. */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "config.h"
#include "forge.h"
#include "forge_int.h"
#include "jwt.h"
#include "model_jwt.h"

/* ---- running the core ---------------------------------------------------- */

typedef ws_diag (*verifier)(const ws_config *cfg, const char *tok, size_t len,
                            ws_jwt_claims *out);

static ws_diag core_verify(const ws_config *cfg, const char *tok, size_t len,
                           ws_jwt_claims *out) {
  ws_mem m, *prev;
  ws_diag d;
  ws_mem_init(&m, NULL);
  prev = ws_mem_enter(&m);
  d = ws_jwt_verify(&m, cfg, fz_keys(), FZ_NOW, tok, len, out);
  ws_mem_leave(prev);
  return d;
}

static ws_diag core_jws(const ws_config *cfg, const char *tok, size_t len) {
  ws_mem m, *prev;
  uint8_t *payload = NULL;
  size_t plen = 0;
  ws_diag d;
  ws_mem_init(&m, NULL);
  prev = ws_mem_enter(&m);
  d = ws_jws_verify(&m, cfg, fz_keys(), tok, len, &payload, &plen);
  ws_mem_free(&m, payload);
  ws_mem_leave(prev);
  return d;
}

/* What the planted defect of issue 8 did: ES256 tokens whose signature
 * does not verify are accepted. */
static ws_diag mutant_es256_verify(const ws_config *cfg, const char *tok,
                                   size_t len, ws_jwt_claims *out) {
  ws_diag d = core_verify(cfg, tok, len, out);
  fz_token probe;
  (void)probe;
  if (d == WS_DIAG_AUTH_SIG_INVALID && len > 20 &&
      strncmp(tok, "eyJhbGciOiJFUzI1NiI", 19) == 0) { /* {"alg":"ES256" */
    memset(out, 0, sizeof(*out));
    memcpy(out->sub, "alice", 6);
    out->sub_len = 5;
    return WS_DIAG_NONE;
  }
  return d;
}

/* The signing input and the decoded signature of a token (3 segments). */
static size_t split_token(const char *tok, size_t len, size_t *ilen,
                          uint8_t *sig, size_t cap) {
  const char *d1 = memchr(tok, '.', len), *d2;
  long n;
  if (!d1 || !(d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - tok))))
    return 0;
  *ilen = (size_t)(d2 - tok);
  n = fz_b64url_decode(d2 + 1, len - *ilen - 1, sig, cap);
  return n > 0 ? (size_t)n : 0;
}

/* Planted defect 021: verify_pkey takes EVP_DigestVerify's -1 (an error,
 * such as the ECDSA point at infinity) for success.  Modelled outside the
 * core: where the core says "signature invalid" for an ES256 token and
 * OpenSSL's own verify of it with the set's ES256 key returns an error,
 * accept it as the mutant would. */
static ws_diag mutant_verify_error_accepted(const ws_config *cfg,
                                            const char *tok, size_t len,
                                            ws_jwt_claims *out) {
  ws_diag d = core_verify(cfg, tok, len, out);
  uint8_t sig[600];
  size_t ilen = 0, slen;
  if (d != WS_DIAG_AUTH_SIG_INVALID) return d;
  slen = split_token(tok, len, &ilen, sig, sizeof(sig));
  if (slen == 64 &&
      fz_forge_verify_openssl(FZ_KEY_ES256, WS_ALG_ES256, (const uint8_t *)tok,
                              ilen, sig, slen) < 0) {
    memset(out, 0, sizeof(*out));
    memcpy(out->sub, "alice", 6);
    out->sub_len = 5;
    return WS_DIAG_NONE;
  }
  return d;
}

/* ---- tallies ------------------------------------------------------------- */

typedef struct tally {
  unsigned long tokens, known, accepted, pristine, failures;
  unsigned long jws_checked, filler;
  unsigned char seen[WS_DIAG_COUNT_ + 1];
} tally;

static void judge(tally *ty, const uint8_t *spec, size_t n, unsigned policy) {
  fz_token t;
  ws_jwt_claims c;
  char why[1400];
  ws_diag d, jd;
  int v, indep;
  const fz_policy *pol = fz_policy_get(policy);
  memset(&c, 0, sizeof(c));
  fz_token_decode(spec, n, policy, &t);
  assert_non_null(t.text);
  d = core_verify(fz_config(policy), t.text, t.len, &c);
  v = fz_jwt_oracle_check_sub(&t, d, c.sub, c.sub_len, why, sizeof(why));
  ty->tokens++;
  ty->known += t.expect_known != 0;
  ty->accepted += d == WS_DIAG_NONE;
  ty->pristine += t.pristine != 0;
  if (t.expect_known && (unsigned)t.expect <= WS_DIAG_COUNT_)
    ty->seen[t.expect] = 1;
  /* Filler stands in for a signature only where it cannot matter. */
  if (t.filler) {
    ty->filler++;
    if (t.pristine || t.expect == WS_DIAG_NONE ||
        t.expect == WS_DIAG_AUTH_SIG_INVALID ||
        t.expect == WS_DIAG_AUTH_SIG_ENCODING ||
        t.expect == WS_DIAG_AUTH_SIG_RANGE) {
      char desc[800];
      if (ty->failures++ < 10)
        print_message("filler where the signature matters: %s\n",
                      fz_token_describe(&t, desc, sizeof(desc)));
    }
  }
  if (v != FZ_ORACLE_OK) {
    if (ty->failures++ < 10) print_message("%s\n", why);
  }
  /* The independent checker agrees with the core's JWS layer whenever the
   * token is within the length limit (it does not check length). */
  if (t.len <= pol->max_token_bytes) {
    jd = core_jws(fz_config(policy), t.text, t.len);
    indep = fz_token_independently_valid(t.text, t.len, NULL, 0);
    if ((jd == WS_DIAG_NONE) != (indep == 1)) {
      char desc[800];
      if (ty->failures++ < 10)
        print_message("independent check %d, core JWS %s: %s\n", indep,
                      ws_diag_get(jd) ? ws_diag_get(jd)->code : "NONE",
                      fz_token_describe(&t, desc, sizeof(desc)));
    }
    ty->jws_checked++;
  }
  fz_token_free(&t);
}

static void spec_init(uint8_t s[FZ_SPEC_FIXED]) {
  memset(s, 0, FZ_SPEC_FIXED);
}

static void report(const char *what, const tally *ty) {
  print_message(
      "%s: %lu tokens, %lu known, %lu accepted, %lu pristine, %lu "
      "JWS cross-checks, %lu with filler, %lu failures\n",
      what, ty->tokens, ty->known, ty->accepted, ty->pristine, ty->jws_checked,
      ty->filler, ty->failures);
}

static int setup(void **state) {
  (void)state;
  fz_init();
  fz_forge_init();
  return 0;
}

/* ---- the systematic runs ---------------------------------------------------
 */

/* Every key x header alg x kid, under every policy. */
static void test_key_alg_kid(void **state) {
  uint8_t s[FZ_SPEC_FIXED];
  unsigned k, a, kid, pol;
  tally ty;
  (void)state;
  memset(&ty, 0, sizeof(ty));
  for (pol = 0; pol < FZ_POLICY_COUNT; pol++)
    for (k = 0; k < FZ_KEY_COUNT; k++)
      for (a = 0; a < FZ_ALG_CHOICES; a++)
        for (kid = 0; kid < FZ_KID_CHOICES; kid++) {
          spec_init(s);
          s[FZ_B_KEY] = (uint8_t)k;
          s[FZ_B_ALG] = (uint8_t)a;
          s[FZ_B_KID] = (uint8_t)kid;
          judge(&ty, s, sizeof(s), pol);
        }
  report("key x alg x kid x policy", &ty);
  assert_int_equal(ty.failures, 0);
  assert_int_equal(ty.known, ty.tokens);
  /* Accepted: the 7 set keys with their own alg (2 spellings for EdDSA),
   * kid own / absent / their set kid, under the 3 policies whose limits
   * admit every family (RSA tokens are longer than 400 bytes). */
  assert_true(ty.accepted > 0);
  assert_true(ty.seen[WS_DIAG_AUTH_ALG_KEY_MISMATCH]);
  assert_true(ty.seen[WS_DIAG_AUTH_KEY_UNKNOWN]);
  assert_true(ty.seen[WS_DIAG_AUTH_ALG_NONE]);
  assert_true(ty.seen[WS_DIAG_AUTH_ALG_UNKNOWN]);
  assert_true(ty.seen[WS_DIAG_AUTH_SIG_ENCODING]);
  assert_true(ty.seen[WS_DIAG_AUTH_SIG_INVALID]);
  assert_true(ty.seen[WS_DIAG_AUTH_TOKEN_TOO_LONG]);
  assert_true(ty.seen[WS_DIAG_NONE]);
}

/* Every key x tamper op x 8 arguments x kid own/absent x header alg own or
 * a same-length neighbour, policy 0 and 3. */
static void test_tamper(void **state) {
  static const uint16_t args[8] = {0, 1, 7, 255, 256, 4097, 40000, 65535};
  uint8_t s[FZ_SPEC_FIXED];
  unsigned k, op, ai, kid, pol;
  tally ty;
  (void)state;
  memset(&ty, 0, sizeof(ty));
  for (pol = 0; pol < FZ_POLICY_COUNT; pol += 3)
    for (k = 0; k < FZ_KEY_COUNT; k++)
      for (op = 0; op < FZ_TAMPER_COUNT; op++)
        for (ai = 0; ai < 8; ai++)
          for (kid = 0; kid < 2; kid++) {
            spec_init(s);
            s[FZ_B_KEY] = (uint8_t)k;
            s[FZ_B_KID] = (uint8_t)kid;
            s[FZ_B_TAMPER] = (uint8_t)op;
            s[FZ_B_ARG_HI] = (uint8_t)(args[ai] >> 8);
            s[FZ_B_ARG_LO] = (uint8_t)args[ai];
            judge(&ty, s, sizeof(s), pol);
          }
  report("key x tamper x arg x kid", &ty);
  assert_int_equal(ty.failures, 0);
  assert_int_equal(ty.known, ty.tokens);
  assert_true(ty.seen[WS_DIAG_AUTH_BASE64]);
  assert_true(ty.seen[WS_DIAG_AUTH_SIG_RANGE]);
  assert_true(ty.seen[WS_DIAG_AUTH_SIG_ENCODING]);
  assert_true(ty.seen[WS_DIAG_AUTH_SIG_INVALID]);
  /* Only untampered tokens of set keys (and swaps that put in the set
   * key's own signature) are accepted; policy 3 rejects the long ones. */
  assert_true(ty.accepted > 0 && ty.accepted <= ty.pristine);
}

/* Every key x header extra x member order x kid choice. */
static void test_header_extras(void **state) {
  uint8_t s[FZ_SPEC_FIXED];
  unsigned k, h, order, kid, pol;
  tally ty;
  (void)state;
  memset(&ty, 0, sizeof(ty));
  for (pol = 0; pol < FZ_POLICY_COUNT; pol++)
    for (k = 0; k < FZ_KEY_COUNT; k++)
      for (h = 0; h < FZ_HDR_CHOICES; h++)
        for (order = 0; order < 2; order++)
          for (kid = 0; kid < 3; kid++) {
            spec_init(s);
            s[FZ_B_KEY] = (uint8_t)k;
            s[FZ_B_HDR] = (uint8_t)(h + order * FZ_HDR_CHOICES);
            s[FZ_B_KID] = (uint8_t)kid;
            judge(&ty, s, sizeof(s), pol);
          }
  report("key x header extras x order x kid", &ty);
  assert_int_equal(ty.failures, 0);
  assert_true(ty.seen[WS_DIAG_AUTH_CRIT]);
  assert_true(ty.seen[WS_DIAG_AUTH_B64_FALSE]);
  assert_true(ty.seen[WS_DIAG_AUTH_HEADER_JSON]);
}

/* Each claim choice on its own, then exp x nbf x iat, iss x aud, sub x
 * claims extras, under every policy (HS256: cheap to sign), and raw claims
 * and tail-supplied subs. */
static void test_claims(void **state) {
  static const uint8_t tails[][8] = {"bob", "a\"b\\c", "x\ty",        "\x7f",
                                     "",    "a\0b",    "caf\xc3\xa9", "\xff"};
  static const size_t tail_lens[] = {3, 5, 3, 1, 0, 3, 5, 1};
  uint8_t s[FZ_SPEC_FIXED + 300];
  unsigned pol, e, n, i, is, au, sb, x, ti, pos;
  tally ty;
  (void)state;
  memset(&ty, 0, sizeof(ty));
  for (pol = 0; pol < FZ_POLICY_COUNT; pol++) {
    for (e = 0; e < FZ_EXP_CHOICES; e++)
      for (n = 0; n < FZ_NBF_CHOICES; n++)
        for (i = 0; i < FZ_IAT_CHOICES; i++) {
          spec_init(s);
          s[FZ_B_EXP] = (uint8_t)e;
          s[FZ_B_NBF] = (uint8_t)n;
          s[FZ_B_IAT] = (uint8_t)i;
          judge(&ty, s, FZ_SPEC_FIXED, pol);
        }
    for (is = 0; is < FZ_ISS_CHOICES; is++)
      for (au = 0; au < FZ_AUD_CHOICES; au++) {
        spec_init(s);
        s[FZ_B_ISS] = (uint8_t)is;
        s[FZ_B_AUD] = (uint8_t)au;
        judge(&ty, s, FZ_SPEC_FIXED, pol);
      }
    for (sb = 0; sb < FZ_SUB_CHOICES; sb++)
      for (x = 0; x < FZ_CLX_CHOICES; x++) {
        spec_init(s);
        s[FZ_B_SUB] = (uint8_t)sb;
        s[FZ_B_CLX] = (uint8_t)x;
        judge(&ty, s, FZ_SPEC_FIXED, pol);
      }
    /* Subs from the tail: escapes, controls, NUL, non-ASCII, 255/256. */
    for (ti = 0; ti < sizeof(tail_lens) / sizeof(tail_lens[0]); ti++) {
      spec_init(s);
      s[FZ_B_SUB] = 9;
      s[FZ_B_TAIL_LEN] = (uint8_t)tail_lens[ti];
      memcpy(s + FZ_SPEC_FIXED, tails[ti], tail_lens[ti]);
      judge(&ty, s, FZ_SPEC_FIXED + tail_lens[ti], pol);
    }
    for (n = 254; n <= 257; n++) {
      spec_init(s);
      s[FZ_B_SUB] = 9;
      s[FZ_B_TAIL_LEN] = 255; /* the rest */
      memset(s + FZ_SPEC_FIXED, 'v', n);
      judge(&ty, s, FZ_SPEC_FIXED + n, pol);
    }
    /* Raw claims (the model cannot tell once they are reached). */
    for (pos = 0; pos < 3; pos++) {
      static const char *const raw[] = {"{\"sub\":\"a\",\"exp\":2000000000}",
                                        "not json", ""};
      spec_init(s);
      s[FZ_B_MODE] = 3;
      s[FZ_B_TAMPER] = pos == 2 ? FZ_T_FLIP_BIT : 0; /* known: bad sig */
      s[FZ_B_TAIL_LEN] = (uint8_t)strlen(raw[pos]);
      memcpy(s + FZ_SPEC_FIXED, raw[pos], strlen(raw[pos]));
      judge(&ty, s, FZ_SPEC_FIXED + strlen(raw[pos]), pol);
    }
  }
  report("claims", &ty);
  assert_int_equal(ty.failures, 0);
  assert_true(ty.known < ty.tokens); /* raw claims, non-ASCII tails */
  for (e = WS_DIAG_AUTH_CLAIMS_JSON; e <= WS_DIAG_AUTH_SUB; e++) {
    const ws_diag_info *info = ws_diag_get((ws_diag)e);
    if (!info) continue;
    if (e == WS_DIAG_AUTH_ALG_NONE || e == WS_DIAG_AUTH_ALG_UNKNOWN ||
        e == WS_DIAG_AUTH_CRIT || e == WS_DIAG_AUTH_B64_FALSE ||
        e == WS_DIAG_AUTH_KEY_UNKNOWN || e == WS_DIAG_AUTH_ALG_KEY_MISMATCH ||
        e == WS_DIAG_AUTH_SIG_ENCODING || e == WS_DIAG_AUTH_SIG_RANGE ||
        e == WS_DIAG_AUTH_SIG_INVALID)
      continue; /* JWS-layer rows: the other tests */
    if (!ty.seen[e]) print_message("never expected: %s\n", info->code);
    assert_true(ty.seen[e]);
  }
}

/* A deterministic pseudo-random sample of whole specs (every byte
 * random; in half of them the header fits the key), across policies. */
static uint64_t mix(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15u);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return z ^ (z >> 31);
}

static void test_random_sample(void **state) {
  uint8_t s[FZ_SPEC_FIXED + 40];
  uint64_t seed = 0x466f726765; /* fixed */
  unsigned i, j;
  tally ty;
  (void)state;
  memset(&ty, 0, sizeof(ty));
  for (i = 0; i < 3000; i++) {
    for (j = 0; j < sizeof(s); j++) s[j] = (uint8_t)mix(&seed);
    s[FZ_B_TAIL_LEN] %= 41;
    if (i % 2) { /* half with a header the key fits, so claims get judged */
      s[FZ_B_ALG] = 0;
      s[FZ_B_KID] = (uint8_t)(i % 4 == 1 ? 0 : 1);
      s[FZ_B_HDR] = 0;
      if (i % 8 < 4) s[FZ_B_TAMPER] = 0;
    }
    judge(&ty, s, sizeof(s), i % FZ_POLICY_COUNT);
  }
  report("random sample", &ty);
  assert_int_equal(ty.failures, 0);
  assert_true(ty.accepted > 0);
  assert_true(ty.known > ty.tokens / 2);
}

/* ---- the oracle can fail ---------------------------------------------------
 */

/* (a) A verifier that accepts ES256 tokens with an altered signature is
 * reported "forged" on every such token, and the real core on none. */
static void test_oracle_reports_forged(void **state) {
  static const unsigned ops[] = {FZ_T_FLIP_BIT, FZ_T_R_ORDER_M1, FZ_T_SWAP,
                                 FZ_T_PAYLOAD_FLIP};
  uint8_t s[FZ_SPEC_FIXED];
  unsigned i, a, forged = 0, real_forged = 0, cases = 0;
  char why[1400];
  (void)state;
  for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
    for (a = 0; a < 16; a++) {
      fz_token t;
      ws_jwt_claims c;
      verifier vs[2] = {mutant_es256_verify, core_verify};
      int which;
      spec_init(s);
      s[FZ_B_KEY] = FZ_KEY_ES256;
      s[FZ_B_TAMPER] = (uint8_t)ops[i];
      s[FZ_B_ARG_LO] = (uint8_t)(a * 37);
      fz_token_decode(s, sizeof(s), 0, &t);
      assert_non_null(t.text);
      assert_int_equal(t.pristine, 0);
      cases++;
      for (which = 0; which < 2; which++) {
        ws_diag d;
        int v;
        memset(&c, 0, sizeof(c));
        d = vs[which](fz_config(0), t.text, t.len, &c);
        v = fz_jwt_oracle_check_sub(&t, d, c.sub, c.sub_len, why, sizeof(why));
        if (which == 0 && d == WS_DIAG_NONE) {
          assert_int_equal(v, FZ_ORACLE_FORGED);
          assert_non_null(strstr(why, "forged"));
          forged++;
        }
        if (which == 1 && v != FZ_ORACLE_OK) real_forged++;
      }
      fz_token_free(&t);
    }
  print_message(
      "mutant verifier: %u of %u tampered ES256 tokens reported "
      "forged\n",
      forged, cases);
  /* R_ORDER_M1 gives an in-range invalid signature (the mutant accepts it);
   * every FLIP/SWAP/PAYLOAD token is a bad signature the mutant accepts
   * unless the flip left r or s out of range. */
  assert_true(forged >= cases / 2);
  assert_int_equal(real_forged, 0);
}

/* (a') FZ_T_EC_INFINITY: an in-range ES256 signature whose check lands on
 * the point at infinity.  OpenSSL's verify really reports an error (-1)
 * for it, the core rejects it as AUTH_SIG_INVALID (the model's answer),
 * and a core that takes the error for success (planted defect 021) is
 * reported "forged" on every such token, whichever key signed the rest,
 * kid present or absent, under every policy that lets it through. */
static void test_oracle_reports_infinity(void **state) {
  static const uint8_t keys_used[] = {FZ_KEY_ES256, FZ_KEY_HS256,
                                      FZ_KEY_FOREIGN_ES256};
  uint8_t s[FZ_SPEC_FIXED], sig[600];
  unsigned i, a, kid, pol, cases = 0, errors = 0, forged = 0;
  char why[1400];
  (void)state;
  for (pol = 0; pol < FZ_POLICY_COUNT; pol++)
    for (i = 0; i < sizeof(keys_used); i++)
      for (kid = 0; kid < 2; kid++)
        for (a = 0; a < 8; a++) {
          fz_token t;
          ws_jwt_claims c;
          size_t ilen = 0, slen;
          ws_diag d;
          spec_init(s);
          s[FZ_B_KEY] = keys_used[i];
          s[FZ_B_ALG] = 6;                      /* ES256 in the header */
          s[FZ_B_KID] = (uint8_t)(kid ? 1 : 7); /* absent, or "es256" */
          s[FZ_B_TAMPER] = FZ_T_EC_INFINITY;
          s[FZ_B_ARG_HI] = (uint8_t)(a * 31);
          s[FZ_B_ARG_LO] = (uint8_t)(a * 77);
          s[FZ_B_SUB] = (uint8_t)a; /* different signing inputs */
          fz_token_decode(s, sizeof(s), pol, &t);
          assert_non_null(t.text);
          assert_int_equal(t.pristine, 0);
          assert_int_equal(t.expect_known, 1);
          slen = split_token(t.text, t.len, &ilen, sig, sizeof(sig));
          assert_int_equal(slen, 64);
          cases++;
          if (fz_forge_verify_openssl(FZ_KEY_ES256, WS_ALG_ES256,
                                      (const uint8_t *)t.text, ilen, sig,
                                      slen) < 0)
            errors++;
          /* The real core: the model's answer (SIG_INVALID, or a length
           * limit first under policy 3), never an acceptance. */
          memset(&c, 0, sizeof(c));
          d = core_verify(fz_config(pol), t.text, t.len, &c);
          assert_int_equal(d, t.expect);
          assert_int_equal(fz_jwt_oracle_check_sub(&t, d, c.sub, c.sub_len, why,
                                                   sizeof(why)),
                           FZ_ORACLE_OK);
          if (t.expect != WS_DIAG_AUTH_SIG_INVALID) {
            fz_token_free(&t);
            continue;
          }
          /* The mutant accepts it: "forged". */
          memset(&c, 0, sizeof(c));
          d = mutant_verify_error_accepted(fz_config(pol), t.text, t.len, &c);
          assert_int_equal(d, WS_DIAG_NONE);
          assert_int_equal(fz_jwt_oracle_check_sub(&t, d, c.sub, c.sub_len, why,
                                                   sizeof(why)),
                           FZ_ORACLE_FORGED);
          assert_non_null(strstr(why, "tamper=ec_infinity"));
          forged++;
          fz_token_free(&t);
        }
  print_message(
      "ec_infinity: %u tokens, %u with an OpenSSL verify error, %u reported "
      "forged under the error-accepting verifier\n",
      cases, errors, forged);
  assert_int_equal(errors, cases);
  assert_true(forged > 0);
  /* A flipped bit is an ordinary bad signature: OpenSSL says 0, not -1, so
   * that verifier rejects it (the infinity op is what reaches the path). */
  {
    fz_token t;
    ws_jwt_claims c;
    size_t ilen = 0, slen;
    spec_init(s);
    s[FZ_B_KEY] = FZ_KEY_ES256;
    s[FZ_B_TAMPER] = FZ_T_FLIP_BIT;
    s[FZ_B_ARG_LO] = 200;
    fz_token_decode(s, sizeof(s), 0, &t);
    slen = split_token(t.text, t.len, &ilen, sig, sizeof(sig));
    assert_int_equal(slen, 64);
    assert_int_equal(
        fz_forge_verify_openssl(FZ_KEY_ES256, WS_ALG_ES256,
                                (const uint8_t *)t.text, ilen, sig, slen),
        0);
    memset(&c, 0, sizeof(c));
    assert_int_equal(
        mutant_verify_error_accepted(fz_config(0), t.text, t.len, &c),
        WS_DIAG_AUTH_SIG_INVALID);
    fz_token_free(&t);
  }
}

/* (b) The model's answer differs from the one given: wrong_outcome. */
static void test_oracle_reports_wrong_outcome(void **state) {
  uint8_t s[FZ_SPEC_FIXED];
  fz_token t;
  char why[1400];
  (void)state;
  spec_init(s);
  fz_token_decode(s, sizeof(s), 0, &t);
  assert_int_equal(t.expect_known, 1);
  assert_int_equal(t.expect, WS_DIAG_NONE);
  assert_int_equal(t.pristine, 1);
  assert_string_equal(t.sub, "alice");
  assert_int_equal(fz_jwt_oracle_check(&t, WS_DIAG_NONE, why, sizeof(why)),
                   FZ_ORACLE_OK);
  assert_int_equal(
      fz_jwt_oracle_check(&t, WS_DIAG_AUTH_EXPIRED, why, sizeof(why)),
      FZ_ORACLE_WRONG_OUTCOME);
  assert_non_null(strstr(why, "wrong_outcome"));
  assert_non_null(strstr(why, "AUTH_EXPIRED"));
  /* The right diagnosis with the wrong user id. */
  assert_int_equal(
      fz_jwt_oracle_check_sub(&t, WS_DIAG_NONE, "bob", 3, why, sizeof(why)),
      FZ_ORACLE_WRONG_OUTCOME);
  assert_non_null(strstr(why, "user id"));
  fz_token_free(&t);

  /* Expired by one second at the boundary: the core must not accept. */
  spec_init(s);
  s[FZ_B_EXP] = 3; /* now - L */
  fz_token_decode(s, sizeof(s), 2, &t);
  assert_int_equal(t.expect, WS_DIAG_AUTH_EXPIRED);
  assert_int_equal(fz_jwt_oracle_check(&t, WS_DIAG_NONE, why, sizeof(why)),
                   FZ_ORACLE_WRONG_OUTCOME);
  fz_token_free(&t);
  /* Unknown expectations are not compared, acceptance still is. */
  spec_init(s);
  s[FZ_B_MODE] = 3;
  s[FZ_B_KEY] = FZ_KEY_FOREIGN_HS256;
  s[FZ_B_KID] = 1;
  fz_token_decode(s, sizeof(s), 0, &t);
  assert_int_equal(t.expect, WS_DIAG_AUTH_SIG_INVALID); /* known: sig first */
  assert_int_equal(t.pristine, 0);
  assert_int_equal(fz_jwt_oracle_check(&t, WS_DIAG_NONE, why, sizeof(why)),
                   FZ_ORACLE_FORGED);
  fz_token_free(&t);
}

/* (c) Raw tokens: the independent checker accepts the forge's pristine
 * tokens of every set key and rejects every tampered or foreign one, and
 * an accepted raw token that fails it is "forged". */
static void test_independent_checker(void **state) {
  uint8_t s[FZ_SPEC_FIXED];
  unsigned k, op, untouched = 0;
  char why[1400];
  (void)state;
  for (k = 0; k < FZ_KEY_COUNT; k++)
    for (op = 0; op < FZ_TAMPER_COUNT; op++) {
      fz_token t, raw;
      spec_init(s);
      s[FZ_B_KEY] = (uint8_t)k;
      s[FZ_B_TAMPER] = (uint8_t)op;
      s[FZ_B_ARG_LO] = 5;
      fz_token_decode(s, sizeof(s), 0, &t);
      fz_token_from_raw((const uint8_t *)t.text, t.len, &raw);
      assert_int_equal(raw.expect_known, 0);
      assert_int_equal(raw.pristine, fz_token_independently_valid(
                                         t.text, t.len, why, sizeof(why)));
      if (op == FZ_T_NONE && k < FZ_KEY_SET_COUNT) {
        assert_int_equal(raw.pristine, 1);
        assert_int_equal(fz_jwt_oracle_check(&raw, WS_DIAG_NONE, why, 1400),
                         FZ_ORACLE_OK);
      } else if (!t.pristine) {
        assert_int_equal(raw.pristine, 0);
        assert_int_equal(fz_jwt_oracle_check(&raw, WS_DIAG_NONE, why, 1400),
                         FZ_ORACLE_FORGED);
      } else {
        /* The s-half ops leave a signature shorter than 64 bytes alone:
         * HS256 and HS384 tokens stay pristine. */
        assert_true(k == FZ_KEY_HS256 || k == FZ_KEY_HS384);
        assert_true(op == FZ_T_S_ZERO || op == FZ_T_S_ORDER ||
                    op == FZ_T_S_PRIME);
        untouched++;
      }
      assert_int_equal(raw.pristine, t.pristine);
      fz_token_free(&t);
      fz_token_free(&raw);
    }
  assert_int_equal(untouched, 6);
  /* Correctly signed by hs256, but headers the core must refuse: trailing
   * bytes after the object, a duplicate alg, crit. */
  {
    static const char *const hdrs[] = {
        "{\"alg\":\"HS256\"} x", "{\"alg\":\"HS256\",\"alg\":\"HS256\"}",
        "{\"alg\":\"HS256\",\"crit\":[\"exp\"]}", "{\"alg\":\"HS256\"} "};
    static const char claims[] = "{\"sub\":\"a\",\"exp\":2000000000}";
    size_t h;
    for (h = 0; h < 4; h++) {
      char tok[600];
      uint8_t sig[64];
      size_t n = fz_b64url_encode((const uint8_t *)hdrs[h], strlen(hdrs[h]),
                                  tok, sizeof(tok));
      size_t sl;
      ws_jwt_claims c;
      tok[n++] = '.';
      n += fz_b64url_encode((const uint8_t *)claims, strlen(claims), tok + n,
                            sizeof(tok) - n);
      sl = fz_forge_sign(FZ_KEY_HS256, WS_ALG_HS256, (const uint8_t *)tok, n,
                         sig, sizeof(sig));
      assert_int_equal(sl, 32);
      tok[n++] = '.';
      n += fz_b64url_encode(sig, sl, tok + n, sizeof(tok) - n);
      /* Whitespace after the header object is JSON; the rest is not. */
      assert_int_equal(fz_token_independently_valid(tok, n, why, sizeof(why)),
                       h == 3);
      assert_int_equal(core_verify(fz_config(0), tok, n, &c),
                       h == 3   ? WS_DIAG_NONE
                       : h == 2 ? WS_DIAG_AUTH_CRIT
                                : WS_DIAG_AUTH_HEADER_JSON);
    }
  }
  /* Things that are not tokens at all. */
  assert_int_equal(fz_token_independently_valid("a.b", 3, why, sizeof(why)), 0);
  assert_int_equal(fz_token_independently_valid("", 0, NULL, 0), 0);
  assert_int_equal(
      fz_token_independently_valid("eyJhbGciOiJub25lIn0.e30.", 24, why, 1400),
      0);
  assert_non_null(strstr(why, "alg"));
}

/* The model's policy table matches the fuzz configs (fuzz/common.c): a
 * change to one without the other fails here. */
static void test_policies_match_configs(void **state) {
  unsigned i;
  (void)state;
  for (i = 0; i < FZ_POLICY_COUNT; i++) {
    const fz_policy *p = fz_policy_get(i);
    const ws_config *c = fz_config(i);
    assert_int_equal(p->issuer != NULL, c->issuer != NULL);
    if (p->issuer) assert_string_equal(p->issuer, c->issuer);
    assert_int_equal(p->audience != NULL, c->audience != NULL);
    if (p->audience) assert_string_equal(p->audience, c->audience);
    assert_int_equal(p->leeway_s, c->leeway_s);
    assert_int_equal(p->max_token_bytes, c->max_token_bytes);
    assert_int_equal(p->max_json_depth, c->max_json_depth);
  }
}

/* ---- the forge itself -------------------------------------------------------
 */

static void hex(const char *h, uint8_t *out, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) {
    unsigned v;
    assert_int_equal(sscanf(h + 2 * i, "%2x", &v), 1);
    out[i] = (uint8_t)v;
  }
}

/* RFC 6979 A.2.5: P-256, SHA-256, messages "sample" and "test". */
static void test_rfc6979_vectors(void **state) {
  uint8_t d[32], rs[64], want[64];
  (void)state;
  hex("C9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721", d,
      32);
  assert_int_equal(fz_ecdsa_p256_rfc6979(d, (const uint8_t *)"sample", 6, rs),
                   0);
  hex("EFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716"
      "F7CB1C942D657C41D436C7A1B6E29F65F3E900DBB9AFF4064DC4AB2F843ACDA8",
      want, 64);
  assert_memory_equal(rs, want, 64);
  assert_int_equal(fz_ecdsa_p256_rfc6979(d, (const uint8_t *)"test", 4, rs), 0);
  hex("F1ABB023518351CD71D881567B1EA663ED3EFCF6C5132B354F28D3B0B7D38367"
      "019F4113742A2B14BD25926B49C649155F267E60D3814B4C0CC84250E46F0083",
      want, 64);
  assert_memory_equal(rs, want, 64);
}

/* The same spec gives the same bytes with a cold cache and in another
 * process, for every key (ES256 and PS256 included). */
static void test_deterministic(void **state) {
  uint8_t s[FZ_SPEC_FIXED];
  unsigned k;
  (void)state;
  for (k = 0; k < FZ_KEY_COUNT; k++) {
    fz_token a, b;
    int fds[2], status;
    pid_t pid;
    char buf[2048];
    size_t got = 0;
    ssize_t r;
    spec_init(s);
    s[FZ_B_KEY] = (uint8_t)k;
    s[FZ_B_EXP] = (uint8_t)k; /* a different input per key */
    fz_token_decode(s, sizeof(s), 0, &a);
    fz_forge_cache_clear();
    fz_token_decode(s, sizeof(s), 0, &b);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.text, b.text, a.len);
    assert_int_equal(pipe(fds), 0);
    fflush(NULL);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
      fz_token c;
      close(fds[0]);
      fz_forge_cache_clear();
      fz_token_decode(s, sizeof(s), 0, &c);
      if (write(fds[1], c.text, c.len) != (ssize_t)c.len) _exit(1);
      _exit(0);
    }
    close(fds[1]);
    while ((r = read(fds[0], buf + got, sizeof(buf) - got)) > 0)
      got += (size_t)r;
    close(fds[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(got, a.len);
    assert_memory_equal(buf, a.text, a.len);
    fz_token_free(&a);
    fz_token_free(&b);
  }
}

/* Short and empty specs decode with defaults; the tail rules. */
static void test_decode_layout(void **state) {
  uint8_t s[FZ_SPEC_FIXED + 10];
  fz_token t;
  (void)state;
  assert_int_equal(fz_token_decode(NULL, 0, 0, &t), 0);
  assert_int_equal(t.pristine, 1);
  assert_int_equal(t.expect, WS_DIAG_NONE);
  assert_int_equal(
      core_verify(fz_config(0), t.text, t.len, &(ws_jwt_claims){{0}, 0, 0}),
      WS_DIAG_NONE);
  fz_token_free(&t);
  s[0] = FZ_KEY_RS256;
  assert_int_equal(fz_token_decode(s, 1, 0, &t), 1);
  assert_int_equal(t.sign_alg, WS_ALG_RS256);
  fz_token_free(&t);
  memset(s, 0, sizeof(s));
  s[FZ_B_TAIL_LEN] = 4;
  s[FZ_B_SUB] = 9;
  memcpy(s + FZ_SPEC_FIXED, "bob!xyzabc", 10);
  assert_int_equal(fz_token_decode(s, sizeof(s), 0, &t), FZ_SPEC_FIXED + 4);
  assert_string_equal(t.sub, "bob!");
  fz_token_free(&t);
  s[FZ_B_TAIL_LEN] = 255;
  assert_int_equal(fz_token_decode(s, sizeof(s), 0, &t), sizeof(s));
  assert_string_equal(t.sub, "bob!xyzabc");
  fz_token_free(&t);
  /* Wire safety: canonical tokens are, re-encoded signatures are not. */
  memset(s, 0, sizeof(s));
  fz_token_decode(s, FZ_SPEC_FIXED, 0, &t);
  assert_int_equal(fz_token_wire_safe(&t), 1);
  fz_token_free(&t);
  s[FZ_B_TAMPER] = FZ_T_B64_SPACE;
  fz_token_decode(s, FZ_SPEC_FIXED, 0, &t);
  assert_int_equal(fz_token_wire_safe(&t), 0);
  fz_token_free(&t);
  s[FZ_B_TAMPER] = FZ_T_B64_PAD;
  fz_token_decode(s, FZ_SPEC_FIXED, 0, &t);
  assert_int_equal(fz_token_wire_safe(&t), 0);
  fz_token_free(&t);
  s[FZ_B_TAMPER] = 0;
  /* Option bytes are taken modulo their counts. */
  s[FZ_B_KEY] = FZ_KEY_COUNT + FZ_KEY_ES256;
  fz_token_decode(s, sizeof(s), 0, &t);
  assert_int_equal(t.c[FZ_B_KEY], FZ_KEY_ES256);
  fz_token_free(&t);
}

/* Average cost of fz_token_decode (build, sign, pristine check, model) per
 * family, cold (cache cleared, distinct inputs) and warm (the same inputs
 * again), in process CPU time (the machine is shared);
 * WSGATE_FORGE_COST_ROUNDS inputs each (default 20, at most 308).  Printed,
 * not asserted. */
static void test_cost(void **state) {
  uint8_t s[FZ_SPEC_FIXED];
  const char *env = getenv("WSGATE_FORGE_COST_ROUNDS");
  unsigned k, i, rounds = env && atoi(env) > 0 ? (unsigned)atoi(env) : 20;
  (void)state;
  if (rounds > FZ_EXP_CHOICES * FZ_NBF_CHOICES)
    rounds = FZ_EXP_CHOICES * FZ_NBF_CHOICES;
  for (k = 0; k < FZ_KEY_SET_COUNT; k++) {
    double cold, warm;
    struct timespec a, b, c;
    fz_forge_cache_clear();
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
    for (i = 0; i < rounds; i++) {
      fz_token t;
      spec_init(s);
      s[FZ_B_KEY] = (uint8_t)k;
      s[FZ_B_EXP] = (uint8_t)(i % FZ_EXP_CHOICES);
      s[FZ_B_NBF] = (uint8_t)(i / FZ_EXP_CHOICES);
      fz_token_decode(s, sizeof(s), 0, &t);
      fz_token_free(&t);
    }
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
    for (i = 0; i < rounds; i++) {
      fz_token t;
      spec_init(s);
      s[FZ_B_KEY] = (uint8_t)k;
      s[FZ_B_EXP] = (uint8_t)(i % FZ_EXP_CHOICES);
      s[FZ_B_NBF] = (uint8_t)(i / FZ_EXP_CHOICES);
      fz_token_decode(s, sizeof(s), 0, &t);
      fz_token_free(&t);
    }
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c);
    cold = ((double)(b.tv_sec - a.tv_sec) * 1e9 +
            (double)(b.tv_nsec - a.tv_nsec)) /
           rounds / 1e3;
    warm = ((double)(c.tv_sec - b.tv_sec) * 1e9 +
            (double)(c.tv_nsec - b.tv_nsec)) /
           rounds / 1e3;
    print_message(
        "forge cost %-8s cold %8.1f us/token, cached %6.1f us/token\n",
        fz_key_name((int)k), cold, warm);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_policies_match_configs),
      cmocka_unit_test(test_rfc6979_vectors),
      cmocka_unit_test(test_deterministic),
      cmocka_unit_test(test_decode_layout),
      cmocka_unit_test(test_key_alg_kid),
      cmocka_unit_test(test_tamper),
      cmocka_unit_test(test_header_extras),
      cmocka_unit_test(test_claims),
      cmocka_unit_test(test_random_sample),
      cmocka_unit_test(test_oracle_reports_forged),
      cmocka_unit_test(test_oracle_reports_infinity),
      cmocka_unit_test(test_oracle_reports_wrong_outcome),
      cmocka_unit_test(test_independent_checker),
      cmocka_unit_test(test_cost),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}
