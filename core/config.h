/* Private body of ws_config: read-only once built, shared across sessions. */
#ifndef WS_CONFIG_H
#define WS_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "mem.h"
#include "wsgate/wsgate.h"

typedef struct ws_strlist {
  char **items; /* NUL-terminated copies */
  size_t *lens;
  size_t n;
} ws_strlist;

/* Defaults (also documented in README). */
#define WS_DEFAULT_MAX_HEAD_BYTES 8192u
#define WS_DEFAULT_MAX_HEADERS 64u
#define WS_DEFAULT_MAX_TOKEN_BYTES 4096u
#define WS_DEFAULT_MAX_MESSAGE_BYTES (1024u * 1024u)
#define WS_DEFAULT_MAX_JSON_DEPTH 16
#define WS_DEFAULT_LEEWAY_S 0

struct ws_config {
  ws_mem mem;   /* libc; what the config itself lives on */
  char *issuer; /* NULL: iss not checked */
  size_t issuer_len;
  char *audience; /* NULL: aud not checked */
  size_t audience_len;
  int64_t leeway_s; /* 0..86400 */
  size_t max_message_bytes;
  size_t max_head_bytes;
  size_t max_headers;
  size_t max_token_bytes;
  int max_json_depth;
  int origins_set; /* 1: Origin must be one of origins */
  ws_strlist origins;
  ws_strlist subprotocols; /* server-supported, besides "bearer" */
  int first_message_auth;
};

#endif
