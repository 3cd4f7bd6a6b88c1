/* cJSON adapter: the only core file that includes cJSON (json.c).
 *
 * Parsing is bounded: before cJSON sees the input, a pre-scan checks its
 * length and nesting depth (ws_json_limits) and rejects invalid UTF-8, and
 * raw control bytes and \u0000 inside strings.  Duplicate member names are
 * found after cJSON has parsed (cJSON keeps them): an object with one is
 * rejected (RFC 7515 4: a JOSE header with duplicates must be rejected; we
 * apply the same rule everywhere).
 * Because cJSON reports an allocation failure exactly like a syntax error,
 * ws_json_parse tells them apart with the session's failure counter. */
#ifndef WS_JSON_H
#define WS_JSON_H

#include <stddef.h>

#include "mem.h"

typedef struct ws_json ws_json; /* a node; really a cJSON */

typedef enum ws_json_status {
  WS_JSON_OK = 0,
  WS_JSON_SYNTAX = -1, /* not JSON, bad UTF-8, or duplicate member */
  WS_JSON_LIMIT = -2,  /* deeper than max_depth or longer than max_len */
  WS_JSON_NOMEM = -3   /* an allocation failed (inside cJSON or ours) */
} ws_json_status;

typedef struct ws_json_limits {
  size_t max_len; /* bytes */
  int max_depth;  /* nesting of objects/arrays, top level counts as 1 */
} ws_json_limits;

/* Parses text[0..len) (need not be NUL-terminated) on allocator m (entered
 * for the duration).  *out is set only on WS_JSON_OK; free it with
 * ws_json_free on the same m. */
ws_json_status ws_json_parse(ws_mem *m, const char *text, size_t len,
                             const ws_json_limits *lim, ws_json **out);
void ws_json_free(ws_mem *m, ws_json *j);

int ws_json_is_object(const ws_json *j);
int ws_json_is_array(const ws_json *j);
int ws_json_is_string(const ws_json *j);
int ws_json_is_number(const ws_json *j);
int ws_json_is_bool(const ws_json *j);
int ws_json_is_true(const ws_json *j);
int ws_json_is_null(const ws_json *j);

/* Member of an object (case-sensitive), or NULL. */
const ws_json *ws_json_get(const ws_json *obj, const char *name);
/* String value and its byte length (strings may contain no NUL: the parser
 * rejects \u0000), or NULL when j is not a string. */
const char *ws_json_string(const ws_json *j, size_t *len);
/* Number value; 0 and *ok = 0 when not a number. */
double ws_json_number(const ws_json *j, int *ok);
/* Array length and items; objects iterate their members the same way. */
int ws_json_size(const ws_json *arr);
const ws_json *ws_json_item(const ws_json *arr, int i);
/* Member name of an item obtained by iterating an object, else NULL. */
const char *ws_json_name(const ws_json *item);

/* Installs the cJSON allocation trampolines (ws_dep_*); ws_global_init. */
void ws_json_global_init(void);

#endif
