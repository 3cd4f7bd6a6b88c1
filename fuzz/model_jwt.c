/* The JWS/JWT decision model (model_jwt.h).  It reads the token's final
 * bytes for the structural checks (length, segments, base64url, the
 * signature's length and range) and the forge's option tables for what the
 * header and claims say; it decides nothing by calling the core. */
#include "model_jwt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "forge_int.h"

/* fuzz/common.c config_json, the JWT-relevant members (keep in sync). */
static const fz_policy policies[FZ_POLICY_COUNT] = {
    {NULL, NULL, 0, 4096, 16},                          /* {} */
    {NULL, NULL, 0, 4096, 16},                          /* first-message auth */
    {"https://issuer.example", "wsgate", 30, 4096, 16}, /* policy */
    {NULL, NULL, 0, 400, 3},                            /* tight limits */
};

const fz_policy *fz_policy_get(unsigned which) {
  return &policies[which % FZ_POLICY_COUNT];
}

const char *fz_oracle_name(int verdict) {
  switch (verdict) {
    case FZ_ORACLE_OK: return "ok";
    case FZ_ORACLE_FORGED: return "forged";
    case FZ_ORACLE_WRONG_OUTCOME: return "wrong_outcome";
    default: return "?";
  }
}

/* P-256 group order n, big-endian (SEC 2 2.4.2). */
static const uint8_t order_n[32] = {
    0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF,
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xBC, 0xE6, 0xFA, 0xAD, 0xA7, 0x17,
    0x9E, 0x84, 0xF3, 0xB9, 0xCA, 0xC2, 0xFC, 0x63, 0x25, 0x51};

/* Orders two n-byte big-endian unsigned integers. */
static int be_order(const uint8_t *a, const uint8_t *b, size_t n) {
  size_t i;
  for (i = 0; i < n; i++)
    if (a[i] != b[i]) return a[i] < b[i] ? -1 : 1;
  return 0;
}

static int all_zero(const uint8_t *p, size_t n) {
  size_t i;
  for (i = 0; i < n; i++)
    if (p[i]) return 0;
  return 1;
}

/* The length a signature for alg with key must have. */
static size_t sig_len_for(int key, ws_alg alg) {
  size_t n;
  switch (alg) {
    case WS_ALG_HS256: return 32;
    case WS_ALG_HS384: return 48;
    case WS_ALG_HS512: return 64;
    case WS_ALG_RS256:
    case WS_ALG_PS256: fz_key_rsa_n(key, &n); return n;
    default: return 64; /* ES256 r||s, Ed25519 */
  }
}

/* The verdict of one key of the set for alg (allowed for it). */
static ws_diag key_verdict(const fz_token *t, int key, ws_alg alg,
                           const uint8_t *sig, size_t slen) {
  size_t nlen;
  const uint8_t *n;
  if (slen != sig_len_for(key, alg)) return WS_DIAG_AUTH_SIG_ENCODING;
  if (alg == WS_ALG_RS256 || alg == WS_ALG_PS256) {
    /* RSAVP1: a representative not below the modulus does not verify. */
    n = fz_key_rsa_n(key, &nlen);
    if (be_order(sig, n, nlen) >= 0) return WS_DIAG_AUTH_SIG_INVALID;
  }
  if (alg == WS_ALG_ES256 &&
      (all_zero(sig, 32) || all_zero(sig + 32, 32) ||
       be_order(sig, order_n, 32) >= 0 || be_order(sig + 32, order_n, 32) >= 0))
    return WS_DIAG_AUTH_SIG_RANGE;
  /* forge.h: only the forge's own signature of this very input verifies. */
  if (t->input_changed) return WS_DIAG_AUTH_SIG_INVALID;
  return fz_forge_sig_is(key, alg, (const uint8_t *)t->text,
                         t->hseg + 1 + t->pseg, sig, slen)
             ? WS_DIAG_NONE
             : WS_DIAG_AUTH_SIG_INVALID;
}

static int max_i(int a, int b) {
  return a > b ? a : b;
}

/* The JWS layer: length through signature. */
static ws_diag model_jws(const fz_token *t, const fz_policy *p) {
  const fz_alg_opt *a = &fz_alg_opts[t->c[FZ_B_ALG]];
  const fz_kid_opt *k = &fz_kid_opts[t->c[FZ_B_KID]];
  const fz_hdr_opt *h = &fz_hdr_opts[t->c[FZ_B_HDR]];
  const char *seg[3];
  size_t sl[3], i, dots = 0, at = 0;
  uint8_t *sig = NULL;
  long slen = -1;
  ws_alg alg;
  ws_diag d, seen = WS_DIAG_NONE;
  int key, tried = 0;

  if (t->len > p->max_token_bytes) return WS_DIAG_AUTH_TOKEN_TOO_LONG;
  for (i = 0; i < t->len; i++)
    if (t->text[i] == '.') {
      if (dots < 2) {
        seg[dots] = t->text + at;
        sl[dots] = i - at;
      }
      dots++;
      at = i + 1;
    }
  if (dots != 2) return WS_DIAG_AUTH_MALFORMED;
  seg[2] = t->text + at;
  sl[2] = t->len - at;
  for (i = 0; i < 3; i++) {
    uint8_t *buf = malloc(sl[i] / 4 * 3 + 3);
    long n = buf ? fz_b64url_decode(seg[i], sl[i], buf, sl[i] / 4 * 3 + 3) : -1;
    if (i == 2 && n >= 0) {
      sig = buf;
      slen = n;
    } else {
      free(buf);
    }
    if (n < 0) {
      free(sig);
      return WS_DIAG_AUTH_BASE64;
    }
  }
  /* The header: an object; duplicates and nesting. */
  d = WS_DIAG_NONE;
  if (h->kind == FZ_H_DUP ||
      (h->kind == FZ_H_DUP_ALG && a->kind != FZ_A_MISSING))
    d = WS_DIAG_AUTH_HEADER_JSON;
  else if (1 + max_i(max_i(a->depth, k->depth), h->depth) > p->max_json_depth)
    d = WS_DIAG_AUTH_HEADER_JSON;
  else if (a->kind == FZ_A_NONE)
    d = WS_DIAG_AUTH_ALG_NONE;
  else if (a->kind == FZ_A_UNKNOWN || a->kind == FZ_A_MISSING)
    d = WS_DIAG_AUTH_ALG_UNKNOWN;
  else if (h->kind == FZ_H_B64_FALSE)
    d = WS_DIAG_AUTH_B64_FALSE;
  else if (h->kind == FZ_H_CRIT)
    d = WS_DIAG_AUTH_CRIT;
  if (d != WS_DIAG_NONE) goto out;
  alg = a->kind == FZ_A_OWN ? fz_key_alg(t->c[FZ_B_KEY]) : a->alg;

  switch (k->kind) {
    case FZ_K_NONSTRING:
    case FZ_K_STRING: d = WS_DIAG_AUTH_KEY_UNKNOWN; goto out;
    case FZ_K_OWN:
    case FZ_K_SET:
      key = k->kind == FZ_K_OWN ? t->c[FZ_B_KEY] : k->key;
      if (!fz_key_in_set(key)) { /* a foreign key's kid names no key */
        d = WS_DIAG_AUTH_KEY_UNKNOWN;
        goto out;
      }
      d = fz_key_alg(key) != alg ? WS_DIAG_AUTH_ALG_KEY_MISMATCH
                                 : key_verdict(t, key, alg, sig, (size_t)slen);
      goto out;
    case FZ_K_ABSENT: break;
  }
  /* No kid: every key for alg; the first that verifies wins, else the
   * verdict they agree on, or "does not verify" when they differ. */
  for (key = 0; key < FZ_KEY_SET_COUNT; key++) {
    if (fz_key_alg(key) != alg) continue;
    d = key_verdict(t, key, alg, sig, (size_t)slen);
    if (d == WS_DIAG_NONE) goto out;
    if (tried++ == 0)
      seen = d;
    else if (seen != d)
      seen = WS_DIAG_AUTH_SIG_INVALID;
  }
  d = tried ? seen : WS_DIAG_AUTH_KEY_UNKNOWN;
out:
  free(sig);
  return d;
}

/* The ceiling of a date option's value; 0 when it is not a NumericDate. */
static int date_of(const fz_date_opt *o, int64_t now, int64_t leeway,
                   int64_t *out) {
  int64_t v;
  switch (o->kind) {
    case FZ_V_INT: *out = fz_date_value(o, now, leeway); return 1;
    case FZ_V_FRAC:
      v = fz_date_value(o, now, leeway); /* written "<v>.5" */
      *out = v >= 0 ? v + 1 : v;
      return 1;
    case FZ_V_TEXT: *out = o->ceil_abs; return 1;
    default: return 0;
  }
}

/* The user id rule: 1..255 bytes, no C0, DEL or C1 (U+0080..U+009F, which
 * UTF-8 writes as C2 80..C2 9F). */
static int user_id_ok(const uint8_t *s, size_t n) {
  size_t i;
  if (n < 1 || n > 255) return 0;
  for (i = 0; i < n; i++) {
    if (s[i] < 0x20 || s[i] == 0x7f) return 0;
    if (s[i] == 0xc2 && i + 1 < n && s[i + 1] >= 0x80 && s[i + 1] <= 0x9f)
      return 0;
  }
  return 1;
}

/* The claims layer; sets *known = 0 when it cannot tell. */
static ws_diag model_claims(fz_token *t, const fz_policy *p, int64_t now,
                            int *known) {
  const fz_clx_opt *x = &fz_clx_opts[t->c[FZ_B_CLX]];
  const fz_iss_opt *iss = &fz_iss_opts[t->c[FZ_B_ISS]];
  const fz_aud_opt *aud = &fz_aud_opts[t->c[FZ_B_AUD]];
  const fz_sub_opt *sub = &fz_sub_opts[t->c[FZ_B_SUB]];
  const fz_date_opt *exp = &fz_exp_opts[t->c[FZ_B_EXP]];
  const fz_date_opt *nbf = &fz_nbf_opts[t->c[FZ_B_NBF]];
  const fz_date_opt *iat = &fz_iat_opts[t->c[FZ_B_IAT]];
  int64_t L = p->leeway_s > 0 ? p->leeway_s : 0, v;
  uint8_t id[600];
  size_t idlen = 0, i;
  int depth, n, found;

  if (t->claims_raw) {
    *known = 0;
    return WS_DIAG_NONE;
  }
  if (x->kind == FZ_CLX_BAD || x->kind == FZ_CLX_WRAP_ARRAY ||
      x->kind == FZ_CLX_TRAILING || iss->json_bad ||
      sub->kind == FZ_SUB_JSON_BAD)
    return WS_DIAG_AUTH_CLAIMS_JSON;
  if (sub->kind == FZ_SUB_TAIL) {
    for (i = 0; i < t->tail_len; i++)
      if (t->tail[i] == 0) return WS_DIAG_AUTH_CLAIMS_JSON; /* \u0000 */
    for (i = 0; i < t->tail_len; i++)
      if (t->tail[i] >= 0x80) { /* UTF-8 validity: not modelled */
        *known = 0;
        return WS_DIAG_NONE;
      }
  }
  depth = 1 + max_i(aud->depth, sub->depth);
  if (x->kind == FZ_CLX_DEEP) depth = max_i(depth, x->depth);
  if (depth > p->max_json_depth) return WS_DIAG_AUTH_CLAIMS_JSON;

  if (exp->kind == FZ_V_MISSING) return WS_DIAG_AUTH_EXP_MISSING;
  if (!date_of(exp, now, L, &v)) return WS_DIAG_AUTH_EXP_MALFORMED;
  if (v <= now - L) return WS_DIAG_AUTH_EXPIRED; /* now >= exp + L */
  if (nbf->kind != FZ_V_MISSING) {
    if (!date_of(nbf, now, L, &v)) return WS_DIAG_AUTH_NBF_MALFORMED;
    if (v > now + L) return WS_DIAG_AUTH_NOT_YET_VALID;
  }
  if (iat->kind != FZ_V_MISSING && !date_of(iat, now, L, &v))
    return WS_DIAG_AUTH_IAT_MALFORMED;
  if (p->issuer && (!iss->value || strcmp(iss->value, p->issuer) != 0))
    return WS_DIAG_AUTH_ISS;
  if (p->audience) {
    found = 0;
    if (aud->kind == FZ_AUD_STRING) {
      found = strcmp(aud->items[0], p->audience) == 0;
    } else if (aud->kind == FZ_AUD_ARRAY) {
      for (n = 0; n < aud->nitems; n++) {
        if (!aud->items[n]) { /* a non-string member: malformed */
          found = 0;
          break;
        }
        if (strcmp(aud->items[n], p->audience) == 0) found = 1;
      }
    }
    if (!found) return WS_DIAG_AUTH_AUD;
  }
  switch (sub->kind) {
    case FZ_SUB_FIXED:
      memcpy(id, sub->value, sub->value_len);
      idlen = sub->value_len;
      break;
    case FZ_SUB_REPEAT:
      for (i = 0; i < sub->repeat_n && idlen + 8 < sizeof(id); i++) {
        memcpy(id + idlen, sub->repeat, strlen(sub->repeat));
        idlen += strlen(sub->repeat);
      }
      if (sub->tail_after) {
        memcpy(id + idlen, sub->tail_after, strlen(sub->tail_after));
        idlen += strlen(sub->tail_after);
      }
      break;
    case FZ_SUB_TAIL:
      if (t->tail_len > 255) return WS_DIAG_AUTH_SUB;
      if (t->tail_len) memcpy(id, t->tail, t->tail_len);
      idlen = t->tail_len;
      break;
    default: return WS_DIAG_AUTH_SUB; /* missing or not a string */
  }
  if (!user_id_ok(id, idlen)) return WS_DIAG_AUTH_SUB;
  memcpy(t->sub, id, idlen);
  t->sub[idlen] = '\0';
  t->sub_len = idlen;
  return WS_DIAG_NONE;
}

void fz_model_jwt(fz_token *t, const fz_policy *p, int64_t now) {
  int known = 1;
  ws_diag d;
  t->sub[0] = '\0';
  t->sub_len = 0;
  if (t->raw_token || !t->text) {
    t->expect = WS_DIAG_NONE;
    t->expect_known = 0;
    return;
  }
  d = model_jws(t, p);
  if (d == WS_DIAG_NONE) d = model_claims(t, p, now, &known);
  if (d != WS_DIAG_NONE || !known) {
    t->sub[0] = '\0';
    t->sub_len = 0;
  }
  t->expect = d;
  t->expect_known = known;
}

static const char *diag_code(ws_diag d) {
  const ws_diag_info *info;
  if (d == WS_DIAG_NONE) return "NONE";
  info = ws_diag_get(d);
  return info ? info->code : "(not in the table)";
}

int fz_jwt_oracle_check_sub(const fz_token *t, ws_diag core_diag,
                            const char *sub, size_t sub_len, char *why,
                            size_t cap) {
  char desc[768];
  int v = FZ_ORACLE_OK;
  const char *what = "";
  if (core_diag == WS_DIAG_NONE && !t->pristine) {
    v = FZ_ORACLE_FORGED;
    what = "the core accepted a token that is not pristine";
  } else if (t->expect_known && core_diag != t->expect) {
    v = FZ_ORACLE_WRONG_OUTCOME;
    what = "the core's diagnosis is not the model's";
  } else if (t->expect_known && core_diag == WS_DIAG_NONE && sub &&
             (sub_len != t->sub_len || memcmp(sub, t->sub, sub_len) != 0)) {
    v = FZ_ORACLE_WRONG_OUTCOME;
    what = "the core's user id is not the token's sub";
  }
  if (v != FZ_ORACLE_OK && why && cap)
    snprintf(why, cap, "%s: %s: core %s, model %s; token: %s",
             fz_oracle_name(v), what, diag_code(core_diag),
             t->expect_known ? diag_code(t->expect) : "(unknown)",
             fz_token_describe(t, desc, sizeof(desc)));
  return v;
}

int fz_jwt_oracle_check(const fz_token *t, ws_diag core_diag, char *why,
                        size_t cap) {
  return fz_jwt_oracle_check_sub(t, core_diag, NULL, 0, why, cap);
}
