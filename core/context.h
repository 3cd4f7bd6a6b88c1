/* The user execution context factory.
 *
 * The incident this project starts from: a failed id generation or attribute
 * read deep in the context factory was caught by a generic handler and
 * became an unexplained close 1011.  Here each step has its own outcome: a
 * failing primary id generator is absorbed by the fallback (and recorded in
 * the trail), both failing is a resource diagnosis (503/1013), and an
 * attribute that cannot be read or is invalid is an internal diagnosis that
 * names the attribute (CTX_ATTR_<NAME>, 500/1011). */
#ifndef WS_CONTEXT_H
#define WS_CONTEXT_H

#include <stddef.h>
#include <stdint.h>

#include "mem.h"
#include "wsgate/wsgate.h"

#define WS_USER_ID_MAX 255

/* One allocation per context.  The values that never change (the user id
 * and every id but the request id) are stored at their real length,
 * NUL-terminated, in str; the request id, replaced at every user_message,
 * has a fixed room so that replacing it never allocates. */
struct ws_context {
  uint16_t size;                /* bytes of the allocation */
  uint16_t off[WS_ATTR_COUNT_]; /* in str; unused for the request id */
  uint8_t len[WS_ATTR_COUNT_];  /* index by ws_attr */
  uint8_t set;                  /* bit per ws_attr */
  char request_id[WS_ID_MAX + 1];
  char str[];
};

/* The rule for user ids (and so for the token's sub): 1..WS_USER_ID_MAX
 * bytes with no C0, DEL or C1 control characters.  1 valid, 0 not. */
int ws_user_id_valid(const char *s, size_t n);

/* Appends one trail entry to o (counts it as dropped when full). */
void ws_trail_add(ws_outcome *o, ws_trail_event ev, ws_attr attr);

/* Builds the context for user_id (from the token's sub): generates thread,
 * websocket client, run and request ids through env (primary, then fallback),
 * then reads back and validates every attribute through env's reader.
 * Returns WS_DIAG_NONE and *out, or CTX_NOMEM, CTX_IDGEN_EXHAUSTED,
 * CTX_ATTR_<NAME>.  Fallbacks are recorded in trail.  *out is allocated on m;
 * free with ws_context_free. */
ws_diag ws_context_build(ws_mem *m, const ws_env *env, const char *user_id,
                         size_t len, ws_outcome *trail, ws_context **out);

/* Gives ctx a fresh request id (one per user_message).  WS_DIAG_NONE,
 * CTX_IDGEN_EXHAUSTED or CTX_ATTR_REQUEST_ID (the new value does not read
 * back). */
ws_diag ws_context_new_request_id(ws_context *ctx, const ws_env *env,
                                  ws_outcome *trail);

/* Reads one attribute through env's reader and validates it.  WS_DIAG_NONE
 * with *value and *len set, or CTX_ATTR_<NAME>. */
ws_diag ws_context_read(const ws_context *ctx, const ws_env *env, ws_attr attr,
                        const char **value, size_t *len);

/* A copy of ctx allocated on m, or NULL when out of memory. */
ws_context *ws_context_clone(ws_mem *m, const ws_context *ctx);

void ws_context_free(ws_mem *m, ws_context *ctx);

#endif
