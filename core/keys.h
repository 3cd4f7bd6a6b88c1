/* Private body of ws_keyset (JWKS, RFC 7517). keys.c uses json.c and crypto.c;
 * it includes neither cJSON nor OpenSSL. */
#ifndef WS_KEYS_H
#define WS_KEYS_H

#include <stddef.h>

#include "crypto.h"
#include "wsgate/wsgate.h"

typedef struct ws_key {
  char *kid; /* NULL when the JWK has no kid */
  size_t kid_len;
  unsigned algs; /* WS_ALG_BIT() set of algorithms allowed for this key */
  ws_pkey *pkey;
} ws_key;

struct ws_keyset {
  ws_mem mem; /* libc */
  ws_key *keys;
  size_t n;
};

#endif
