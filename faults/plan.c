#include "plan.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[WS_FAULT_KINDS_] = {
#define WS_FAULT_KIND_NAME_(id, name) name,
    WS_FAULT_KIND_LIST(WS_FAULT_KIND_NAME_)
#undef WS_FAULT_KIND_NAME_
};

/* The sites before the attribute ones: their kind and name after the dot
 * (the random kind has one site, named like the kind). */
static const struct {
  ws_fault_kind kind;
  const char *name;
} fixed_sites[WS_SITE_ATTR_ - 1] = {
    {WS_FAULT_ALLOC, "core"},    {WS_FAULT_ALLOC, "cjson"},
    {WS_FAULT_ALLOC, "openssl"}, {WS_FAULT_ALLOC, "wslay"},
    {WS_FAULT_IDGEN, "primary"}, {WS_FAULT_IDGEN, "fallback"},
    {WS_FAULT_RANDOM, NULL}};

int ws_fault_kind_from_name(const char *name, size_t len) {
  int k;
  for (k = 0; k < WS_FAULT_KINDS_; k++)
    if (strlen(kind_names[k]) == len && memcmp(kind_names[k], name, len) == 0)
      return k;
  return -1;
}

const char *ws_fault_kind_name(ws_fault_kind k) {
  return (unsigned)k < WS_FAULT_KINDS_ ? kind_names[k] : "?";
}

ws_fault_kind ws_fault_site_kind(int site) {
  if (site > 0 && site < WS_SITE_ATTR_) return fixed_sites[site - 1].kind;
  return WS_FAULT_ATTR;
}

const char *ws_fault_site_name(int site, char *buf, size_t cap) {
  const char *sub = NULL;
  if (site > 0 && site < WS_SITE_ATTR_)
    sub = fixed_sites[site - 1].name;
  else if (site >= WS_SITE_ATTR_ && site < WS_FAULT_SITES_)
    sub = ws_attr_name((ws_attr)(site - WS_SITE_ATTR_));
  if (sub)
    snprintf(buf, cap, "%s.%s", kind_names[ws_fault_site_kind(site)], sub);
  else
    snprintf(buf, cap, "%s",
             site > 0 && site < WS_FAULT_SITES_
                 ? kind_names[ws_fault_site_kind(site)]
                 : "?");
  return buf;
}

int ws_fault_target_from_name(const char *name, size_t len, ws_fault_kind *kind,
                              int *site) {
  const char *dot = memchr(name, '.', len);
  size_t kl = dot ? (size_t)(dot - name) : len, sl;
  int k = ws_fault_kind_from_name(name, kl), i;
  if (k < 0) return -1;
  *kind = (ws_fault_kind)k;
  *site = WS_SITE_ANY;
  if (!dot) return 0;
  dot++;
  sl = len - kl - 1;
  for (i = 1; i < WS_FAULT_SITES_; i++) {
    char full[64];
    if (ws_fault_site_kind(i) != *kind) continue;
    ws_fault_site_name(i, full, sizeof(full));
    if (strlen(full) == len && memcmp(full, name, len) == 0 && sl) {
      *site = i;
      return 0;
    }
  }
  return -1;
}

void ws_fault_plan_init(ws_fault_plan *p) {
  memset(p, 0, sizeof(*p));
}

/* "unknown kind or site (alloc, alloc.core, ..., random)", from the lists. */
static const char *kinds_help(void) {
  static _Thread_local char msg[512];
  size_t at;
  int k, i;
  at = (size_t)snprintf(msg, sizeof(msg), "unknown kind or site (");
  for (k = 0; k < WS_FAULT_KINDS_ && at < sizeof(msg); k++) {
    at += (size_t)snprintf(msg + at, sizeof(msg) - at, "%s%s", k ? ", " : "",
                           kind_names[k]);
    for (i = 1; i < WS_FAULT_SITES_ && at < sizeof(msg); i++) {
      char n[64];
      if (ws_fault_site_kind(i) != (ws_fault_kind)k || i == WS_SITE_RANDOM)
        continue;
      at += (size_t)snprintf(msg + at, sizeof(msg) - at, ", %s",
                             ws_fault_site_name(i, n, sizeof(n)));
    }
  }
  if (at < sizeof(msg)) snprintf(msg + at, sizeof(msg) - at, ")");
  return msg;
}

static int plan_err(char *err, size_t errlen, const char *spec,
                    const char *why) {
  if (err && errlen) snprintf(err, errlen, "fault spec '%s': %s", spec, why);
  return -1;
}

int ws_fault_plan_add(ws_fault_plan *p, const char *spec, char *err,
                      size_t errlen) {
  const char *at = strchr(spec, '@'), *num;
  ws_fault_rule r;
  ws_fault_kind kind;
  int site;
  if (!at)
    return plan_err(err, errlen, spec, "expected KIND@N, KIND@N+ or KIND@*");
  if (ws_fault_target_from_name(spec, (size_t)(at - spec), &kind, &site) != 0)
    return plan_err(err, errlen, spec, kinds_help());
  if (p->nrules == WS_FAULT_MAX_RULES)
    return plan_err(err, errlen, spec, "more than 16 fault rules");
  r.kind = kind;
  r.site = site;
  num = at + 1;
  if (strcmp(num, "*") == 0) {
    r.mode = WS_FAULT_ALL;
    r.n = 1;
  } else {
    char *end;
    unsigned long n;
    if (*num < '0' || *num > '9')
      return plan_err(err, errlen, spec, "N must be a positive integer");
    errno = 0;
    n = strtoul(num, &end, 10);
    if (errno == ERANGE)
      return plan_err(err, errlen, spec, "N is out of range (at most 2^64-1)");
    if (n == 0) return plan_err(err, errlen, spec, "hits are numbered from 1");
    if (*end == '+' && end[1] == '\0')
      r.mode = WS_FAULT_FROM;
    else if (*end == '\0')
      r.mode = WS_FAULT_ONCE;
    else
      return plan_err(err, errlen, spec, "expected KIND@N, KIND@N+ or KIND@*");
    r.n = n;
  }
  p->rules[p->nrules++] = r;
  return 0;
}

int ws_fault_plan_set_rate(ws_fault_plan *p, double rate, uint64_t seed) {
  if (!(rate >= 0.0 && rate <= 1.0)) return -1;
  p->rate_ppm = (uint32_t)(rate * 1000000.0 + 0.5);
  p->rng = seed;
  return 0;
}

static int hit(ws_fault_plan *p, ws_fault_kind kind, int site,
               unsigned long *n) {
  unsigned long h = ++p->hits[kind], hs = 0;
  int fail = 0;
  size_t i;
  if (site > 0) hs = ++p->site_hits[site];
  if (n) *n = h;
  for (i = 0; i < p->nrules; i++) {
    const ws_fault_rule *r = &p->rules[i];
    unsigned long at;
    int f;
    if (r->kind != kind || (r->site != WS_SITE_ANY && r->site != site))
      continue;
    at = r->site == WS_SITE_ANY ? h : hs;
    f = r->mode == WS_FAULT_ALL || (r->mode == WS_FAULT_ONCE && at == r->n) ||
        (r->mode == WS_FAULT_FROM && at >= r->n);
    if (f) {
      p->rule_fired[i]++;
      fail = 1;
    }
  }
  if (!fail && p->rate_ppm)
    fail = ws_splitmix64(&p->rng) % 1000000u < p->rate_ppm;
  if (fail) p->injected[kind]++;
  return fail;
}

int ws_fault_hit_site(ws_fault_plan *p, int site, unsigned long *n) {
  if (site <= 0 || site >= WS_FAULT_SITES_) { /* not a site: not a hit */
    if (n) *n = 0;
    return 0;
  }
  return hit(p, ws_fault_site_kind(site), site, n);
}

int ws_fault_hit(ws_fault_plan *p, ws_fault_kind kind, unsigned long *n) {
  return hit(p, kind, WS_SITE_ANY, n);
}

const char *ws_fault_rule_spec(const ws_fault_rule *r, char *buf, size_t cap) {
  char name[64];
  if (r->site == WS_SITE_ANY)
    snprintf(name, sizeof(name), "%s", ws_fault_kind_name(r->kind));
  else
    ws_fault_site_name(r->site, name, sizeof(name));
  if (r->mode == WS_FAULT_ALL)
    snprintf(buf, cap, "%s@*", name);
  else
    snprintf(buf, cap, "%s@%lu%s", name, r->n,
             r->mode == WS_FAULT_FROM ? "+" : "");
  return buf;
}

size_t ws_fault_plan_decode(ws_fault_plan *p, const uint8_t *data, size_t len) {
  size_t used = 0, r, nr;
  ws_fault_plan_init(p);
  if (len == 0) return 0;
  nr = data[used++] % 5;
  for (r = 0; r < nr && used + 3 <= len; r++) {
    ws_fault_rule *rule = &p->rules[p->nrules++];
    unsigned t = data[used] % (WS_FAULT_KINDS_ + WS_FAULT_SITES_ - 1);
    if (t < WS_FAULT_KINDS_) {
      rule->kind = (ws_fault_kind)t;
      rule->site = WS_SITE_ANY;
    } else {
      rule->site = 1 + (int)(t - WS_FAULT_KINDS_);
      rule->kind = ws_fault_site_kind(rule->site);
    }
    rule->mode = (ws_fault_mode)(data[used + 1] % 3);
    rule->n = 1u + data[used + 2];
    used += 3;
  }
  return used;
}
