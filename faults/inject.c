#include "inject.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "text.h"

__attribute__((noinline)) void ws_fault_injected(ws_fault_env *f,
                                                 ws_fault_kind kind,
                                                 int site_id, int attr,
                                                 unsigned long n,
                                                 const char *site) {
  ws_fault_event *e;
  if (f->trail_len == WS_FAULT_TRAIL_MAX) {
    f->trail_dropped++;
    return;
  }
  e = &f->trail[f->trail_len++];
  e->kind = kind;
  e->site_id = site_id;
  e->attr = attr;
  e->n = n;
  snprintf(e->site, sizeof(e->site), "%s", site);
}

/* One hit: the site is formatted only when someone will read it. */
int ws_fault_alloc_site(void) {
  const char *dep = ws_alloc_where_now().dep;
  if (!dep) return WS_SITE_ALLOC_CORE;
  switch (dep[0]) {
    case 'c': return WS_SITE_ALLOC_CJSON;
    case 'O': return WS_SITE_ALLOC_OPENSSL;
    default: return WS_SITE_ALLOC_WSLAY;
  }
}

static int hit_at(ws_fault_env *f, int site_id, int attr, const char *what,
                  int line) {
  char site[WS_FAULT_SITE_MAX];
  unsigned long n;
  ws_fault_kind kind = ws_fault_site_kind(site_id);
  int fail = ws_fault_hit_site(&f->plan, site_id, &n);
  if (!fail && !f->on_hit) return 0;
  if (what)
    snprintf(site, sizeof(site), "%s:%d %s", __FILE__, line, what);
  else
    ws_alloc_site(site, sizeof(site));
  if (f->on_hit) f->on_hit(f->on_hit_ud, kind, n, site, fail);
  if (fail) ws_fault_injected(f, kind, site_id, attr, n, site);
  return fail;
}
#define hit(f, site, attr, what) hit_at((f), (site), (attr), (what), __LINE__)

/* ---- allocation: the plan in front of the counting allocator ------------- */

static void *fa_malloc(size_t size, void *ud) {
  ws_fault_env *f = ud;
  if (hit(f, ws_fault_alloc_site(), -1, NULL)) return NULL;
  return f->counted.malloc(size, f->counted.user_data);
}
static void *fa_calloc(size_t a, size_t b, void *ud) {
  ws_fault_env *f = ud;
  if (hit(f, ws_fault_alloc_site(), -1, NULL)) return NULL;
  return f->counted.calloc(a, b, f->counted.user_data);
}
static void *fa_realloc(void *p, size_t size, void *ud) {
  ws_fault_env *f = ud;
  if (hit(f, ws_fault_alloc_site(), -1, NULL)) return NULL;
  return f->counted.realloc(p, size, f->counted.user_data);
}
static void fa_free(void *p, void *ud) {
  ws_fault_env *f = ud;
  f->counted.free(p, f->counted.user_data);
}

/* ---- id generators, attribute reads, randomness -------------------------- */

static const char *kind_tag(ws_id_kind k) {
  return ws_attr_name((ws_attr)k) ? ws_attr_name((ws_attr)k) : "?";
}

static int fe_idgen(const ws_env *env, ws_id_kind k, char *buf, size_t cap) {
  ws_fault_env *f = env->user_data;
  char what[48];
  snprintf(what, sizeof(what), "idgen.primary:%s", kind_tag(k));
  if (hit(f, WS_SITE_IDGEN_PRIMARY, (int)k, what)) return -1;
  /* A custom generator sees the inner environment (its own user data); the
   * default one draws from this decorator's randomness. */
  return f->inner.idgen ? f->inner.idgen(&f->inner, k, buf, cap)
                        : ws_idgen_primary_default(&f->env, k, buf, cap);
}

static int fe_idgen_fallback(const ws_env *env, ws_id_kind k, char *buf,
                             size_t cap) {
  ws_fault_env *f = env->user_data;
  char what[48];
  snprintf(what, sizeof(what), "idgen.fallback:%s", kind_tag(k));
  if (hit(f, WS_SITE_IDGEN_FALLBACK, (int)k, what)) return -1;
  return f->inner.idgen_fallback
             ? f->inner.idgen_fallback(&f->inner, k, buf, cap)
             : ws_idgen_fallback_default(&f->env, k, buf, cap);
}

static int fe_attr(const ws_env *env, const ws_context *ctx, ws_attr a,
                   const char **v, size_t *n) {
  ws_fault_env *f = env->user_data;
  char what[48];
  snprintf(what, sizeof(what), "attr:%s",
           ws_attr_name(a) ? ws_attr_name(a) : "?");
  if ((unsigned)a < WS_ATTR_COUNT_) f->attr_reads |= 1u << a;
  if (hit(f, WS_SITE_ATTR_ + (int)a, (int)a, what)) return -1;
  return f->inner.attr_read ? f->inner.attr_read(&f->inner, ctx, a, v, n)
                            : ws_context_attr_default(ctx, a, v, n);
}

static int64_t fe_now(void *ud) {
  ws_fault_env *f = ud;
  return f->inner.now(f->inner.user_data);
}

static int fe_random(void *ud, uint8_t *buf, size_t len) {
  ws_fault_env *f = ud;
  if (hit(f, WS_SITE_RANDOM, -1, "random")) return -1;
  return f->inner.random(f->inner.user_data, buf, len);
}

void ws_fault_env_init(ws_fault_env *f, const ws_env *inner,
                       const ws_fault_plan *plan) {
  memset(f, 0, offsetof(ws_fault_env, trail));
  f->inner = *inner;
  if (plan)
    f->plan = *plan;
  else
    ws_fault_plan_init(&f->plan);
  ws_countalloc_init(&f->counts, inner->alloc.malloc ? &inner->alloc : NULL);
  f->counted = ws_countalloc_allocator(&f->counts);
  f->env.alloc.malloc = fa_malloc;
  f->env.alloc.calloc = fa_calloc;
  f->env.alloc.realloc = fa_realloc;
  f->env.alloc.free = fa_free;
  f->env.alloc.user_data = f;
  f->env.now = inner->now ? fe_now : NULL;
  f->env.random = inner->random ? fe_random : NULL;
  f->env.idgen = fe_idgen;
  f->env.idgen_fallback = fe_idgen_fallback;
  f->env.attr_read = fe_attr;
  f->env.user_data = f;
}

/* Both writers are the core's one text writer (core/text.h) and its one
 * JSON escaping rule. */
size_t ws_fault_json_str(char *buf, size_t cap, size_t at, const char *s) {
  for (; *s; s++) {
    char tmp[WS_JSON_ESCAPE_MAX];
    size_t k, n = ws_json_escape((unsigned char)*s, tmp);
    for (k = 0; k < n; k++, at++)
      if (at + 1 < cap) buf[at] = tmp[k];
  }
  return at;
}

size_t ws_fault_trail_json(const ws_fault_event *ev, size_t n, char *buf,
                           size_t cap) {
  ws_text t;
  size_t i;
  ws_text_init(&t, buf, cap);
  ws_text_puts(&t, "[");
  for (i = 0; i < n; i++) {
    const ws_fault_event *e = &ev[i];
    ws_text_puts(&t, i ? ",{\"kind\":" : "{\"kind\":");
    ws_text_json_str(&t, ws_fault_kind_name(e->kind),
                     strlen(ws_fault_kind_name(e->kind)));
    ws_text_puts(&t, ",\"n\":");
    ws_text_int(&t, (long long)e->n);
    ws_text_puts(&t, ",\"site\":");
    ws_text_json_str(&t, e->site, strlen(e->site));
    ws_text_puts(&t, "}");
  }
  ws_text_puts(&t, "]");
  return ws_text_cstr(&t);
}
