/* The JWS/JWT decision model: from what the token forge built (forge.h) it
 * computes the diagnosis the core must return, written from the documented
 * rules (core/jwt.h, README's diagnosis table), not by calling the core.
 *
 * Checks, in the core's documented order, each giving the first failure:
 *   length   len > max_token_bytes                    AUTH_TOKEN_TOO_LONG
 *   segments not exactly two '.'                       AUTH_MALFORMED
 *   base64   a segment not canonical unpadded b64url   AUTH_BASE64
 *   header   duplicates, deeper than max_json_depth    AUTH_HEADER_JSON
 *   alg      missing / not a string / unsupported      AUTH_ALG_UNKNOWN
 *            "none"                                    AUTH_ALG_NONE
 *   b64      present and not JSON true                 AUTH_B64_FALSE
 *   crit     present at all                            AUTH_CRIT
 *   key      kid not a string / no such kid            AUTH_KEY_UNKNOWN
 *            kid's key not for alg                     AUTH_ALG_KEY_MISMATCH
 *            no kid and no key for alg                 AUTH_KEY_UNKNOWN
 *   sig      wrong length for alg (HS 32/48/64, RSA modulus length, ES256
 *            and EdDSA 64)                             AUTH_SIG_ENCODING
 *            ES256 r or s zero or >= n                 AUTH_SIG_RANGE
 *            RSA signature >= modulus, or not the signature
 *                                                      AUTH_SIG_INVALID
 *            without kid: every key for alg is tried, the first that
 *            verifies wins; otherwise their common verdict, or
 *            AUTH_SIG_INVALID when they differ
 *   claims   not an object, duplicates, too deep       AUTH_CLAIMS_JSON
 *   exp      missing AUTH_EXP_MISSING; not a finite number whose ceiling
 *            fits int64 AUTH_EXP_MALFORMED; now >= exp + leeway AUTH_EXPIRED
 *   nbf      (optional) malformed AUTH_NBF_MALFORMED; now + leeway < nbf
 *            AUTH_NOT_YET_VALID
 *   iat      (optional) malformed AUTH_IAT_MALFORMED
 *   iss      (issuer set) missing / not the string     AUTH_ISS
 *   aud      (audience set) missing, not the string, not an array of
 *            strings containing it                     AUTH_AUD
 *   sub      missing, not a string, 0 or > 255 bytes, a C0 / DEL / C1
 *            (U+0080..U+009F) character                AUTH_SUB
 * Fractional dates round up (the forge writes them with known ceilings).
 *
 * expect_known is 0 when the answer depends on text the model does not
 * interpret: RAW claims that are reached, a tail-supplied sub holding
 * non-ASCII bytes, a raw token. */
#ifndef WS_FUZZ_MODEL_JWT_H
#define WS_FUZZ_MODEL_JWT_H

#include <stddef.h>
#include <stdint.h>

#include "forge.h"

/* The JWT-relevant part of a config (fuzz/common.c config_json; keep in
 * sync). */
typedef struct fz_policy {
  const char *issuer;   /* NULL: not checked */
  const char *audience; /* NULL: not checked */
  int64_t leeway_s;
  size_t max_token_bytes;
  int max_json_depth;
} fz_policy;

#define FZ_POLICY_COUNT 4
/* 0 {}, 1 first-message auth, 2 issuer/audience/leeway 30, 3 tight limits
 * (max_token_bytes 400, max_json_depth 3).  which % FZ_POLICY_COUNT. */
const fz_policy *fz_policy_get(unsigned which);

/* Sets t->expect, t->expect_known, t->sub/sub_len from what the forge
 * recorded in t, for policy p at time now. */
void fz_model_jwt(fz_token *t, const fz_policy *p, int64_t now);

/* Verdicts of the oracle. */
enum { FZ_ORACLE_OK = 0, FZ_ORACLE_FORGED = 1, FZ_ORACLE_WRONG_OUTCOME = 2 };
/* "ok", "forged", "wrong_outcome". */
const char *fz_oracle_name(int verdict);

/* The check a target runs after the core answered core_diag for t (with no
 * allocation fault injected): FZ_ORACLE_FORGED when the core accepted a
 * token that is not pristine; FZ_ORACLE_WRONG_OUTCOME when the model knows
 * the answer and the core's differs; else FZ_ORACLE_OK.  why gets a one-line
 * explanation (with fz_token_describe) when the verdict is not OK. */
int fz_jwt_oracle_check(const fz_token *t, ws_diag core_diag, char *why,
                        size_t cap);
/* The same, also comparing the user id the core returned on acceptance
 * (sub NULL: not compared). */
int fz_jwt_oracle_check_sub(const fz_token *t, ws_diag core_diag,
                            const char *sub, size_t sub_len, char *why,
                            size_t cap);

#endif
