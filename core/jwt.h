/* Compact JWS / JWT verification (RFC 7515, 7519, 7518). */
#ifndef WS_JWT_H
#define WS_JWT_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "context.h"
#include "keys.h"
#include "mem.h"
#include "wsgate/diag.h"

#define WS_SUB_MAX WS_USER_ID_MAX

typedef struct ws_jwt_claims {
  char sub[WS_SUB_MAX + 1]; /* NUL-terminated */
  size_t sub_len;
  int64_t exp;
} ws_jwt_claims;

/* The JWS layer of ws_jwt_verify (RFC 7515 compact serialization): length,
 * segments, base64url, JOSE header, alg, b64/crit, key selection and the
 * signature, in that order; the payload is not interpreted.  On
 * WS_DIAG_NONE, *payload is the decoded payload (allocated on m, free with
 * ws_mem_free(m, ...); *payload_len may be 0) and *payload_len its length;
 * otherwise both are reset (NULL, 0) and the AUTH_* diagnosis of the first
 * failed check is returned (AUTH_NOMEM for any allocation failure,
 * AUTH_INTERNAL for an OpenSSL failure that is neither).  Key selection: a
 * kid picks the key with that kid (none: AUTH_KEY_UNKNOWN; alg not allowed
 * for it: AUTH_ALG_KEY_MISMATCH); without kid every key allowing alg is
 * tried and the first that verifies wins (none allowing alg:
 * AUTH_KEY_UNKNOWN).  Nothing else is allocated after it returns. */
ws_diag ws_jws_verify(ws_mem *m, const ws_config *cfg, const ws_keyset *ks,
                      const char *token, size_t len, uint8_t **payload,
                      size_t *payload_len);

/* Verifies token[0..len) against ks and cfg at time now (Unix seconds).
 * Returns WS_DIAG_NONE and fills *out on success; otherwise the AUTH_*
 * diagnosis of the first check that failed (checks run in the order: length,
 * segments, base64, header JSON, alg, crit/b64, key selection, signature
 * encoding, signature, claims JSON, exp, nbf, iat, iss, aud, sub).
 * Allocation failures anywhere (core, cJSON, OpenSSL) give AUTH_NOMEM;
 * *out is untouched on failure. All memory is freed before returning.
 * Claims: exp required (expired when now >= exp + leeway_s), nbf optional
 * (not yet valid when now + leeway_s < nbf), iat optional; each a finite
 * JSON number whose ceiling fits int64 (fractions round up, which keeps the
 * comparisons exact).  iss/aud are checked only when cfg sets issuer /
 * audience (aud: the string, or an array of strings containing it).  sub:
 * 1..WS_SUB_MAX bytes without C0/DEL/C1 control characters. */
ws_diag ws_jwt_verify(ws_mem *m, const ws_config *cfg, const ws_keyset *ks,
                      int64_t now, const char *token, size_t len,
                      ws_jwt_claims *out);

#endif
