/* Compact JWS / JWT verification (RFC 7515, 7519, 7518). */
#ifndef WS_JWT_H
#define WS_JWT_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "keys.h"
#include "mem.h"
#include "wsgate/diag.h"

#define WS_SUB_MAX 255

typedef struct ws_jwt_claims {
  char sub[WS_SUB_MAX + 1]; /* NUL-terminated */
  size_t sub_len;
  int64_t exp;
} ws_jwt_claims;

/* Verifies token[0..len) against ks and cfg at time now (Unix seconds).
 * Returns WS_DIAG_NONE and fills *out on success; otherwise the AUTH_*
 * diagnosis of the first check that failed (checks run in the order: length,
 * segments, base64, header JSON, alg, crit/b64, key selection, signature
 * encoding, signature, claims JSON, exp, nbf, iat, iss, aud, sub).
 * Allocation failures anywhere (core, cJSON, OpenSSL) give AUTH_NOMEM;
 * *out is untouched on failure. All memory is freed before returning. */
ws_diag ws_jwt_verify(ws_mem *m, const ws_config *cfg, const ws_keyset *ks,
                      int64_t now, const char *token, size_t len,
                      ws_jwt_claims *out);

#endif
