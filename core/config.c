/* Session configuration: parsed once, read-only afterwards, shared by
 * sessions on any thread.  Unknown keys are errors: a misspelt limit must
 * not silently fall back to its default. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "json.h"

static int fail(char *errbuf, size_t errlen, const char *key, const char *why) {
  if (errbuf && errlen) snprintf(errbuf, errlen, "config: %s: %s", key, why);
  return WS_ERR_PARSE;
}

static void strlist_free(ws_mem *m, ws_strlist *l) {
  size_t i;
  for (i = 0; i < l->n; i++) ws_mem_free(m, l->items[i]);
  ws_mem_free(m, l->items);
  ws_mem_free(m, l->lens);
  memset(l, 0, sizeof(*l));
}

/* RFC 9110 5.6.2 tchar, for subprotocol names. */
static int is_token(const char *s, size_t n) {
  size_t i;
  if (n == 0) return 0;
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
          (c >= 'A' && c <= 'Z') || strchr("!#$%&'*+-.^_`|~", c)))
      return 0;
  }
  return 1;
}

static int get_strlist(ws_mem *m, const ws_json *v, ws_strlist *l, int tokens,
                       char *errbuf, size_t errlen, const char *key) {
  int i, n;
  if (!ws_json_is_array(v))
    return fail(errbuf, errlen, key, "must be an array of strings");
  n = ws_json_size(v);
  if (n > 256) return fail(errbuf, errlen, key, "more than 256 entries");
  if (n == 0) return WS_OK;
  l->items = ws_mem_calloc(m, (size_t)n, sizeof(char *));
  l->lens = ws_mem_calloc(m, (size_t)n, sizeof(size_t));
  if (!l->items || !l->lens) return WS_ERR_NOMEM;
  for (i = 0; i < n; i++) {
    size_t len;
    const char *s = ws_json_string(ws_json_item(v, i), &len);
    if (!s || len == 0 || len > 1024)
      return fail(errbuf, errlen, key,
                  "entries must be non-empty strings of at most 1024 bytes");
    if (tokens && !is_token(s, len))
      return fail(errbuf, errlen, key,
                  "entries must be HTTP tokens (RFC 9110 5.6.2)");
    if (!(l->items[i] = ws_mem_strndup(m, s, len))) return WS_ERR_NOMEM;
    l->lens[i] = len;
    l->n++;
  }
  return WS_OK;
}

static int get_size(const ws_json *v, double lo, double hi, double *out,
                    char *errbuf, size_t errlen, const char *key) {
  int ok;
  double d = ws_json_number(v, &ok);
  char why[96];
  if (!ok || !isfinite(d) || d != floor(d) || d < lo || d > hi) {
    snprintf(why, sizeof(why), "must be an integer in [%.0f, %.0f]", lo, hi);
    return fail(errbuf, errlen, key, why);
  }
  *out = d;
  return WS_OK;
}

static void set_defaults(ws_config *c) {
  c->leeway_s = WS_DEFAULT_LEEWAY_S;
  c->max_message_bytes = WS_DEFAULT_MAX_MESSAGE_BYTES;
  c->max_head_bytes = WS_DEFAULT_MAX_HEAD_BYTES;
  c->max_headers = WS_DEFAULT_MAX_HEADERS;
  c->max_token_bytes = WS_DEFAULT_MAX_TOKEN_BYTES;
  c->max_json_depth = WS_DEFAULT_MAX_JSON_DEPTH;
}

static int apply(ws_config *c, const ws_json *root, char *errbuf,
                 size_t errlen) {
  int i, n = ws_json_size(root), rc;
  for (i = 0; i < n; i++) {
    const ws_json *v = ws_json_item(root, i);
    const char *k = ws_json_name(v);
    double d = 0;
    size_t len;
    const char *s;
    if (strcmp(k, "issuer") == 0 || strcmp(k, "audience") == 0) {
      char **dst = k[0] == 'i' ? &c->issuer : &c->audience;
      size_t *dlen = k[0] == 'i' ? &c->issuer_len : &c->audience_len;
      if (!(s = ws_json_string(v, &len)) || len == 0)
        return fail(errbuf, errlen, k, "must be a non-empty string");
      if (!(*dst = ws_mem_strndup(&c->mem, s, len))) return WS_ERR_NOMEM;
      *dlen = len;
    } else if (strcmp(k, "leeway_s") == 0) {
      if ((rc = get_size(v, 0, 86400, &d, errbuf, errlen, k))) return rc;
      c->leeway_s = (int64_t)d;
    } else if (strcmp(k, "max_message_bytes") == 0) {
      if ((rc = get_size(v, 1, 1 << 30, &d, errbuf, errlen, k))) return rc;
      c->max_message_bytes = (size_t)d;
    } else if (strcmp(k, "max_head_bytes") == 0) {
      if ((rc = get_size(v, 64, 1 << 20, &d, errbuf, errlen, k))) return rc;
      c->max_head_bytes = (size_t)d;
    } else if (strcmp(k, "max_headers") == 0) {
      if ((rc = get_size(v, 4, 1024, &d, errbuf, errlen, k))) return rc;
      c->max_headers = (size_t)d;
    } else if (strcmp(k, "max_token_bytes") == 0) {
      if ((rc = get_size(v, 16, 1 << 20, &d, errbuf, errlen, k))) return rc;
      c->max_token_bytes = (size_t)d;
    } else if (strcmp(k, "max_json_depth") == 0) {
      if ((rc = get_size(v, 1, 64, &d, errbuf, errlen, k))) return rc;
      c->max_json_depth = (int)d;
    } else if (strcmp(k, "origins") == 0) {
      if ((rc = get_strlist(&c->mem, v, &c->origins, 0, errbuf, errlen, k)))
        return rc;
      c->origins_set = 1;
    } else if (strcmp(k, "subprotocols") == 0) {
      if ((rc =
               get_strlist(&c->mem, v, &c->subprotocols, 1, errbuf, errlen, k)))
        return rc;
    } else if (strcmp(k, "first_message_auth") == 0) {
      if (!ws_json_is_bool(v))
        return fail(errbuf, errlen, k, "must be true or false");
      c->first_message_auth = ws_json_is_true(v);
    } else {
      return fail(errbuf, errlen, k, "unknown key");
    }
  }
  return WS_OK;
}

int ws_config_new(ws_config **out, const char *json, size_t len, char *errbuf,
                  size_t errlen) {
  ws_mem m;
  ws_config *c;
  ws_json *root = NULL;
  ws_json_limits lim = {1 << 20, 8};
  int rc = WS_OK;

  if (!out) return WS_ERR_ARG;
  *out = NULL;
  if (errbuf && errlen) errbuf[0] = '\0';
  ws_mem_init(&m, NULL);
  if (!(c = ws_mem_calloc(&m, 1, sizeof(*c)))) return WS_ERR_NOMEM;
  c->mem = m;
  set_defaults(c);
  if (json) {
    switch (ws_json_parse(&c->mem, json, len, &lim, &root)) {
      case WS_JSON_OK: break;
      case WS_JSON_NOMEM: rc = WS_ERR_NOMEM; goto out;
      case WS_JSON_LIMIT:
        rc = fail(errbuf, errlen, "document",
                  "larger than 1 MiB or nested deeper than 8");
        goto out;
      default:
        rc = fail(errbuf, errlen, "document",
                  "not valid JSON (RFC 8259), or a duplicate key");
        goto out;
    }
    if (!ws_json_is_object(root)) {
      rc = fail(errbuf, errlen, "document", "must be a JSON object");
      goto out;
    }
    if ((rc = apply(c, root, errbuf, errlen)) != WS_OK) goto out;
  }
  *out = c;
  c = NULL;
out:
  ws_json_free(c ? &c->mem : &m, root);
  ws_config_free(c);
  return rc;
}

void ws_config_free(ws_config *c) {
  ws_mem m;
  if (!c) return;
  m = c->mem;
  ws_mem_free(&m, c->issuer);
  ws_mem_free(&m, c->audience);
  strlist_free(&m, &c->origins);
  strlist_free(&m, &c->subprotocols);
  ws_mem_free(&m, c);
}
