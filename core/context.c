#include "context.h"

#include <string.h>

/* Per attribute, from the list (wsgate/attr.h). */
static const ws_diag attr_diag[WS_ATTR_COUNT_] = {
#define ATTR_DIAG_(attr, name, kind, prefix) WS_DIAG_CTX_ATTR_##attr,
    WS_ATTR_LIST(ATTR_DIAG_)
#undef ATTR_DIAG_
};

const char *ws_attr_name(ws_attr attr) {
  static const char *const names[WS_ATTR_COUNT_] = {
#define ATTR_NAME_(attr, name, kind, prefix) name,
      WS_ATTR_LIST(ATTR_NAME_)
#undef ATTR_NAME_
  };
  return (unsigned)attr < WS_ATTR_COUNT_ ? names[attr] : NULL;
}

_Static_assert(WS_ATTR_COUNT_ <= 256 && WS_TRAIL_IDGEN_INVALID <= 255,
               "a trail entry's members fit a byte");

void ws_trail_add(ws_outcome *o, ws_trail_event ev, ws_attr attr) {
  if (!o) return;
  if (o->trail_len < WS_TRAIL_MAX) {
    o->trail[o->trail_len].event = (uint8_t)ev;
    o->trail[o->trail_len].attr = (uint8_t)attr;
    o->trail_len++;
  } else {
    o->trail_dropped++;
  }
}

/* Ids travel in JSON and logs: keep them to a safe, unambiguous alphabet. */
static int id_valid(const char *s, size_t n) {
  size_t i;
  if (n == 0 || n > WS_ID_MAX) return 0;
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
          (c >= 'A' && c <= 'Z') || c == '-' || c == '_'))
      return 0;
  }
  return 1;
}

/* A user id ends up in logs and JSON: no C0, DEL or C1 controls (C1 is
 * U+0080..U+009F, "\xc2\x80".."\xc2\x9f" in UTF-8; the bytes are valid
 * UTF-8 already when they come from a token). */
int ws_user_id_valid(const char *s, size_t n) {
  size_t i;
  if (n == 0 || n > WS_USER_ID_MAX) return 0;
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c < 0x20 || c == 0x7f) return 0;
    if (c == 0xc2 && i + 1 < n && (unsigned char)s[i + 1] >= 0x80 &&
        (unsigned char)s[i + 1] <= 0x9f)
      return 0;
  }
  return 1;
}

int ws_context_attr_default(const ws_context *ctx, ws_attr attr,
                            const char **value, size_t *len) {
  if (!ctx || (unsigned)attr >= WS_ATTR_COUNT_ || !(ctx->set & (1u << attr)))
    return -1;
  *value =
      attr == WS_ATTR_REQUEST_ID ? ctx->request_id : ctx->str + ctx->off[attr];
  *len = ctx->len[attr];
  return 0;
}

ws_diag ws_context_read(const ws_context *ctx, const ws_env *env, ws_attr attr,
                        const char **value, size_t *len) {
  const char *v = NULL;
  size_t n = 0;
  int rc;
  *value = NULL;
  *len = 0;
  rc = env->attr_read ? env->attr_read(env, ctx, attr, &v, &n)
                      : ws_context_attr_default(ctx, attr, &v, &n);
  if (rc != 0 || !v) return attr_diag[attr];
  if (attr == WS_ATTR_USER_ID ? !ws_user_id_valid(v, n) : !id_valid(v, n))
    return attr_diag[attr];
  *value = v;
  *len = n;
  return WS_DIAG_NONE;
}

/* One id through the primary generator, then the fallback.  The buffer is
 * pre-terminated at its end so a generator that forgets the NUL is caught
 * as invalid rather than read past. */
static ws_diag gen_id(const ws_env *env, ws_id_kind kind, char *buf,
                      size_t *len, ws_outcome *trail) {
  char tmp[WS_ID_MAX + 2];
  int pass;
  for (pass = 0; pass < 2; pass++) {
    int rc;
    size_t n;
    memset(tmp, 0, sizeof(tmp));
    if (pass == 0)
      rc = env->idgen ? env->idgen(env, kind, tmp, WS_ID_MAX + 1)
                      : ws_idgen_primary_default(env, kind, tmp, WS_ID_MAX + 1);
    else
      rc = env->idgen_fallback
               ? env->idgen_fallback(env, kind, tmp, WS_ID_MAX + 1)
               : ws_idgen_fallback_default(env, kind, tmp, WS_ID_MAX + 1);
    tmp[WS_ID_MAX + 1] = '\0';
    n = strlen(tmp);
    if (rc == 0 && id_valid(tmp, n)) {
      memcpy(buf, tmp, n + 1);
      *len = n;
      return WS_DIAG_NONE;
    }
    if (pass == 0)
      ws_trail_add(trail,
                   rc != 0 ? WS_TRAIL_IDGEN_FALLBACK : WS_TRAIL_IDGEN_INVALID,
                   (ws_attr)kind);
  }
  return WS_DIAG_CTX_IDGEN_EXHAUSTED;
}

ws_diag ws_context_build(ws_mem *m, const ws_env *env, const char *user_id,
                         size_t len, ws_outcome *trail, ws_context **out) {
  static const ws_id_kind kinds[] = {
#define ID_KIND_(attr, name, kind, prefix) WS_ID_##kind,
      WS_ID_LIST(ID_KIND_)
#undef ID_KIND_
  };
  char ids[WS_ATTR_COUNT_][WS_ID_MAX + 1]; /* index by ws_attr */
  size_t lens[WS_ATTR_COUNT_], size, i;
  ws_context *ctx = NULL;
  ws_diag d = WS_DIAG_NONE;

  *out = NULL;
  if (len == 0 || len > WS_USER_ID_MAX) return WS_DIAG_CTX_ATTR_USER_ID;
  /* The ids first, then one allocation of their real size. */
  for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
    ws_attr a = (ws_attr)kinds[i];
    if ((d = gen_id(env, kinds[i], ids[a], &lens[a], trail))) goto out;
  }
  size = offsetof(ws_context, str) + len + 1;
  for (i = 0; i < WS_ATTR_COUNT_; i++)
    if (i != WS_ATTR_USER_ID && i != WS_ATTR_REQUEST_ID) size += lens[i] + 1;
  if (!(ctx = ws_mem_malloc(m, size))) return WS_DIAG_CTX_NOMEM;
  memset(ctx, 0, offsetof(ws_context, str));
  ctx->size = (uint16_t)size;
  size = 0;
  for (i = 0; i < WS_ATTR_COUNT_; i++) {
    const char *v = i == WS_ATTR_USER_ID ? user_id : ids[i];
    size_t n = i == WS_ATTR_USER_ID ? len : lens[i];
    char *dst = i == WS_ATTR_REQUEST_ID ? ctx->request_id : ctx->str + size;
    memcpy(dst, v, n);
    dst[n] = '\0';
    if (i != WS_ATTR_REQUEST_ID) {
      ctx->off[i] = (uint16_t)size;
      size += n + 1;
    }
    ctx->len[i] = (uint8_t)n;
    ctx->set |= (uint8_t)(1u << i);
  }
  /* Validate through the accessors, as every later reader will see it. */
  for (i = 0; i < WS_ATTR_COUNT_; i++) {
    const char *v;
    size_t n;
    if ((d = ws_context_read(ctx, env, (ws_attr)i, &v, &n))) goto out;
  }
  *out = ctx;
  ctx = NULL;
out:
  ws_mem_free(m, ctx);
  return d;
}

ws_diag ws_context_new_request_id(ws_context *ctx, const ws_env *env,
                                  ws_outcome *trail) {
  char id[WS_ID_MAX + 1];
  size_t n;
  const char *v;
  ws_diag d;
  if ((d = gen_id(env, WS_ID_REQUEST, id, &n, trail))) return d;
  memcpy(ctx->request_id, id, n + 1);
  ctx->len[WS_ATTR_REQUEST_ID] = (uint8_t)n;
  return ws_context_read(ctx, env, WS_ATTR_REQUEST_ID, &v, &n);
}

ws_context *ws_context_clone(ws_mem *m, const ws_context *ctx) {
  ws_context *c = ws_mem_malloc(m, ctx->size);
  if (c) memcpy(c, ctx, ctx->size);
  return c;
}

void ws_context_free(ws_mem *m, ws_context *ctx) {
  ws_mem_free(m, ctx);
}

/* ---- default id generators (only env->random and env->now) --------------- */

static const char *kind_prefix(ws_id_kind k) {
  switch (k) {
#define ID_PREFIX_(attr, name, kind, prefix) \
  case WS_ID_##kind: return prefix;
    WS_ID_LIST(ID_PREFIX_)
#undef ID_PREFIX_
  }
  return "id";
}

static void hex(const uint8_t *b, size_t n, char *out) {
  static const char digits[] = "0123456789abcdef";
  size_t i;
  for (i = 0; i < n; i++) {
    out[2 * i] = digits[b[i] >> 4];
    out[2 * i + 1] = digits[b[i] & 15];
  }
}

int ws_idgen_primary_default(const ws_env *env, ws_id_kind kind, char *buf,
                             size_t cap) {
  uint8_t r[8];
  char num[24];
  const char *p = kind_prefix(kind);
  size_t pl = strlen(p), nl = 0, i;
  int64_t t;
  uint64_t u;
  if (!env || !env->random || !env->now || cap < WS_ID_MAX + 1) return -1;
  if (env->random(env->user_data, r, sizeof(r)) != 0) return -1;
  t = env->now(env->user_data);
  u = t < 0 ? 0 : (uint64_t)t;
  do {
    num[nl++] = (char)('0' + u % 10);
    u /= 10;
  } while (u && nl < sizeof(num));
  /* "<prefix>_<seconds>_<16 hex>": at most 6+1+20+1+16 = 44 bytes. */
  memcpy(buf, p, pl);
  buf[pl] = '_';
  for (i = 0; i < nl; i++) buf[pl + 1 + i] = num[nl - 1 - i];
  buf[pl + 1 + nl] = '_';
  hex(r, sizeof(r), buf + pl + 2 + nl);
  buf[pl + 2 + nl + 16] = '\0';
  return 0;
}

int ws_idgen_fallback_default(const ws_env *env, ws_id_kind kind, char *buf,
                              size_t cap) {
  uint8_t r[16];
  char h[32];
  (void)kind;
  if (!env || !env->random || cap < 37) return -1;
  if (env->random(env->user_data, r, sizeof(r)) != 0) return -1;
  r[6] = (uint8_t)((r[6] & 0x0f) | 0x40); /* version 4 (RFC 4122 4.4) */
  r[8] = (uint8_t)((r[8] & 0x3f) | 0x80); /* variant 10 */
  hex(r, 16, h);
  memcpy(buf, h, 8);
  buf[8] = '-';
  memcpy(buf + 9, h + 8, 4);
  buf[13] = '-';
  memcpy(buf + 14, h + 12, 4);
  buf[18] = '-';
  memcpy(buf + 19, h + 16, 4);
  buf[23] = '-';
  memcpy(buf + 24, h + 20, 12);
  buf[36] = '\0';
  return 0;
}
