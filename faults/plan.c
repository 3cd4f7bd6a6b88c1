#include "plan.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[WS_FAULT_KINDS_] = {"alloc", "idgen",
                                                        "attr", "random"};

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

void ws_fault_plan_init(ws_fault_plan *p) {
  memset(p, 0, sizeof(*p));
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
  int kind;
  if (!at)
    return plan_err(err, errlen, spec, "expected KIND@N, KIND@N+ or KIND@*");
  kind = ws_fault_kind_from_name(spec, (size_t)(at - spec));
  if (kind < 0)
    return plan_err(err, errlen, spec, "unknown kind (alloc, idgen, attr)");
  if (p->nrules == WS_FAULT_MAX_RULES)
    return plan_err(err, errlen, spec, "more than 16 fault rules");
  r.kind = (ws_fault_kind)kind;
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

int ws_fault_hit(ws_fault_plan *p, ws_fault_kind kind, unsigned long *n) {
  unsigned long h = ++p->hits[kind];
  int fail = 0;
  size_t i;
  if (n) *n = h;
  for (i = 0; i < p->nrules && !fail; i++) {
    const ws_fault_rule *r = &p->rules[i];
    if (r->kind != kind) continue;
    fail = r->mode == WS_FAULT_ALL || (r->mode == WS_FAULT_ONCE && h == r->n) ||
           (r->mode == WS_FAULT_FROM && h >= r->n);
  }
  if (!fail && p->rate_ppm)
    fail = ws_splitmix64(&p->rng) % 1000000u < p->rate_ppm;
  if (fail) p->injected[kind]++;
  return fail;
}

size_t ws_fault_plan_decode(ws_fault_plan *p, const uint8_t *data, size_t len) {
  size_t used = 0, r, nr;
  ws_fault_plan_init(p);
  if (len == 0) return 0;
  nr = data[used++] % 5;
  for (r = 0; r < nr && used + 3 <= len; r++) {
    ws_fault_rule *rule = &p->rules[p->nrules++];
    rule->kind = (ws_fault_kind)(data[used] % WS_FAULT_KINDS_);
    rule->mode = (ws_fault_mode)(data[used + 1] % 3);
    rule->n = 1u + data[used + 2];
    used += 3;
  }
  return used;
}
