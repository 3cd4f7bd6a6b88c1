/* cJSON adapter: the only core file that includes cJSON.
 *
 * cJSON is permissive where a verifier must not be: it accepts raw control
 * characters and invalid UTF-8 inside strings, keeps duplicate member names
 * (and GetObjectItem returns the first, while other JWT libraries return the
 * last — a classic confusion, RFC 7515 4 / RFC 8259 4), nests up to 1000
 * levels by recursion, and reports an allocation failure exactly like a syntax
 * error.  So the text is pre-scanned here (length, depth, control bytes,
 * \u0000, UTF-8), duplicates are rejected after parsing, and allocation
 * failures are told apart with the session's failure counter. */
#include "json.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

/* RFC 8259 2: insignificant whitespace. */
static int is_ws(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static ws_json_status prescan(const char *t, size_t len,
                              const ws_json_limits *lim) {
  size_t i;
  int depth = 0, in_str = 0;
  if (len > lim->max_len) return WS_JSON_LIMIT;
  if (!ws_utf8_valid((const uint8_t *)t, len)) return WS_JSON_SYNTAX;
  for (i = 0; i < len; i++) {
    unsigned char c = (unsigned char)t[i];
    if (in_str) {
      if (c < 0x20) return WS_JSON_SYNTAX; /* RFC 8259 7: must be escaped */
      if (c == '\\') {
        if (i + 1 >= len) return WS_JSON_SYNTAX;
        /* A NUL inside a string would silently truncate it in cJSON. */
        if (t[i + 1] == 'u' && i + 5 < len && memcmp(t + i + 2, "0000", 4) == 0)
          return WS_JSON_SYNTAX;
        i++;
      } else if (c == '"') {
        in_str = 0;
      }
    } else if (c == '"') {
      in_str = 1;
    } else if (c == '{' || c == '[') {
      if (++depth > lim->max_depth) return WS_JSON_LIMIT;
    } else if (c == '}' || c == ']') {
      depth--;
    } else if (c == 0) {
      return WS_JSON_SYNTAX;
    }
  }
  return WS_JSON_OK;
}

static int name_cmp(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* 1 when some object in the tree has two members with the same name,
 * 0 when none, -1 when the scratch array could not be allocated. */
static int has_duplicates(ws_mem *m, const cJSON *node) {
  const cJSON *c;
  int n = 0, i, r = 0;
  if (!node) return 0;
  for (c = node->child; c; c = c->next) {
    n++;
    if ((r = has_duplicates(m, c)) != 0) return r;
  }
  if (!cJSON_IsObject(node) || n < 2) return 0;
  if (n <= 8) {
    const cJSON *a, *b;
    for (a = node->child; a; a = a->next)
      for (b = a->next; b; b = b->next)
        if (strcmp(a->string, b->string) == 0) return 1;
    return 0;
  } else {
    /* Sort the names: O(n log n) keeps a large message from costing n^2. */
    const char **names = ws_mem_malloc(m, sizeof(*names) * (size_t)n);
    if (!names) return -1;
    for (i = 0, c = node->child; c; c = c->next) names[i++] = c->string;
    qsort(names, (size_t)n, sizeof(*names), name_cmp);
    for (i = 1; i < n && !r; i++) r = strcmp(names[i - 1], names[i]) == 0;
    ws_mem_free(m, names);
    return r;
  }
}

ws_json_status ws_json_parse(ws_mem *m, const char *text, size_t len,
                             const ws_json_limits *lim, ws_json **out) {
  ws_json_status st;
  char *copy = NULL;
  cJSON *root = NULL;
  const char *end = NULL;
  unsigned long failures = ws_mem_failures(m);
  ws_mem *prev;
  int dup;

  *out = NULL;
  if ((st = prescan(text, len, lim)) != WS_JSON_OK) return st;
  /* cJSON wants a NUL-terminated buffer to be safe from over-reads. */
  copy = ws_mem_strndup(m, text, len);
  if (!copy) return WS_JSON_NOMEM;
  prev = ws_mem_enter_dep(m, "cJSON");
  root = cJSON_ParseWithLengthOpts(copy, len + 1, &end, 0);
  ws_mem_leave(prev);
  if (ws_mem_failures(m) != failures) {
    st = WS_JSON_NOMEM;
    goto out;
  }
  if (!root) {
    st = WS_JSON_SYNTAX;
    goto out;
  }
  /* Only whitespace may follow the value. */
  while (end && end < copy + len && is_ws((unsigned char)*end)) end++;
  if (!end || end != copy + len) {
    st = WS_JSON_SYNTAX;
    goto out;
  }
  dup = has_duplicates(m, root);
  if (dup != 0) {
    st = dup < 0 ? WS_JSON_NOMEM : WS_JSON_SYNTAX;
    goto out;
  }
  *out = (ws_json *)root;
  root = NULL;
  st = WS_JSON_OK;
out:
  if (root) ws_json_free(m, (ws_json *)root);
  ws_mem_free(m, copy);
  return st;
}

void ws_json_free(ws_mem *m, ws_json *j) {
  ws_mem *prev;
  if (!j) return;
  prev = ws_mem_enter(m);
  cJSON_Delete((cJSON *)j);
  ws_mem_leave(prev);
}

#define CJ(j) ((const cJSON *)(j))

int ws_json_is_object(const ws_json *j) {
  return cJSON_IsObject(CJ(j));
}
int ws_json_is_array(const ws_json *j) {
  return cJSON_IsArray(CJ(j));
}
int ws_json_is_string(const ws_json *j) {
  return cJSON_IsString(CJ(j));
}
int ws_json_is_number(const ws_json *j) {
  return cJSON_IsNumber(CJ(j));
}
int ws_json_is_bool(const ws_json *j) {
  return cJSON_IsBool(CJ(j));
}
int ws_json_is_true(const ws_json *j) {
  return cJSON_IsTrue(CJ(j));
}
int ws_json_is_null(const ws_json *j) {
  return cJSON_IsNull(CJ(j));
}

const ws_json *ws_json_get(const ws_json *obj, const char *name) {
  if (!cJSON_IsObject(CJ(obj))) return NULL;
  return (const ws_json *)cJSON_GetObjectItemCaseSensitive(CJ(obj), name);
}

const char *ws_json_string(const ws_json *j, size_t *len) {
  const cJSON *c = CJ(j);
  if (!cJSON_IsString(c) || !c->valuestring) return NULL;
  if (len) *len = strlen(c->valuestring);
  return c->valuestring;
}

double ws_json_number(const ws_json *j, int *ok) {
  const cJSON *c = CJ(j);
  if (!cJSON_IsNumber(c)) {
    if (ok) *ok = 0;
    return 0;
  }
  if (ok) *ok = 1;
  return c->valuedouble;
}

int ws_json_size(const ws_json *arr) {
  const cJSON *c;
  int n = 0;
  if (!arr) return 0;
  for (c = CJ(arr)->child; c; c = c->next) n++;
  return n;
}

const ws_json *ws_json_item(const ws_json *arr, int i) {
  const cJSON *c;
  if (!arr || i < 0) return NULL;
  for (c = CJ(arr)->child; c && i > 0; c = c->next) i--;
  return (const ws_json *)c;
}

const char *ws_json_name(const ws_json *item) {
  return item ? CJ(item)->string : NULL;
}

static void *CJSON_CDECL tramp_malloc(size_t n) {
  return ws_dep_malloc(n);
}
static void CJSON_CDECL tramp_free(void *p) {
  ws_dep_free(p);
}

void ws_json_global_init(void) {
  cJSON_Hooks h;
  h.malloc_fn = tramp_malloc;
  h.free_fn = tramp_free;
  cJSON_InitHooks(&h);
}
