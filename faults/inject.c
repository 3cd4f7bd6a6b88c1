#include "inject.h"

#include <stdio.h>
#include <string.h>

__attribute__((noinline)) void ws_fault_injected(ws_fault_env *f,
                                                 ws_fault_kind kind,
                                                 unsigned long n,
                                                 const char *site) {
  ws_fault_event *e;
  if (f->trail_len == WS_FAULT_TRAIL_MAX) {
    f->trail_dropped++;
    return;
  }
  e = &f->trail[f->trail_len++];
  e->kind = kind;
  e->n = n;
  snprintf(e->site, sizeof(e->site), "%s", site);
}

static int hit(ws_fault_env *f, ws_fault_kind kind, const char *site) {
  unsigned long n;
  if (!ws_fault_hit(&f->plan, kind, &n)) return 0;
  ws_fault_injected(f, kind, n, site);
  return 1;
}

/* ---- allocation: the plan in front of the counting allocator ------------- */

static void *fa_malloc(size_t size, void *ud) {
  ws_fault_env *f = ud;
  if (hit(f, WS_FAULT_ALLOC, "alloc")) return NULL;
  return f->counted.malloc(size, f->counted.user_data);
}
static void *fa_calloc(size_t a, size_t b, void *ud) {
  ws_fault_env *f = ud;
  if (hit(f, WS_FAULT_ALLOC, "alloc")) return NULL;
  return f->counted.calloc(a, b, f->counted.user_data);
}
static void *fa_realloc(void *p, size_t size, void *ud) {
  ws_fault_env *f = ud;
  if (hit(f, WS_FAULT_ALLOC, "alloc")) return NULL;
  return f->counted.realloc(p, size, f->counted.user_data);
}
static void fa_free(void *p, void *ud) {
  ws_fault_env *f = ud;
  f->counted.free(p, f->counted.user_data);
}

/* ---- id generators and attribute reads ----------------------------------- */

static const char *kind_tag(ws_id_kind k) {
  return ws_attr_name((ws_attr)k) ? ws_attr_name((ws_attr)k) : "?";
}

static int fe_idgen(const ws_env *env, ws_id_kind k, char *buf, size_t cap) {
  ws_fault_env *f = env->user_data;
  char site[48];
  snprintf(site, sizeof(site), "idgen.primary:%s", kind_tag(k));
  if (hit(f, WS_FAULT_IDGEN, site)) return -1;
  /* The inner generator sees the inner environment (its own user data). */
  return f->inner.idgen ? f->inner.idgen(&f->inner, k, buf, cap)
                        : ws_idgen_primary_default(&f->inner, k, buf, cap);
}

static int fe_idgen_fallback(const ws_env *env, ws_id_kind k, char *buf,
                             size_t cap) {
  ws_fault_env *f = env->user_data;
  char site[48];
  snprintf(site, sizeof(site), "idgen.fallback:%s", kind_tag(k));
  if (hit(f, WS_FAULT_IDGEN, site)) return -1;
  return f->inner.idgen_fallback
             ? f->inner.idgen_fallback(&f->inner, k, buf, cap)
             : ws_idgen_fallback_default(&f->inner, k, buf, cap);
}

static int fe_attr(const ws_env *env, const ws_context *ctx, ws_attr a,
                   const char **v, size_t *n) {
  ws_fault_env *f = env->user_data;
  char site[48];
  snprintf(site, sizeof(site), "attr:%s",
           ws_attr_name(a) ? ws_attr_name(a) : "?");
  if (hit(f, WS_FAULT_ATTR, site)) return -1;
  return f->inner.attr_read ? f->inner.attr_read(&f->inner, ctx, a, v, n)
                            : ws_context_attr_default(ctx, a, v, n);
}

static int64_t fe_now(void *ud) {
  ws_fault_env *f = ud;
  return f->inner.now(f->inner.user_data);
}

static int fe_random(void *ud, uint8_t *buf, size_t len) {
  ws_fault_env *f = ud;
  return f->inner.random(f->inner.user_data, buf, len);
}

void ws_fault_env_init(ws_fault_env *f, const ws_env *inner,
                       const ws_fault_plan *plan) {
  memset(f, 0, sizeof(*f));
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
