#define _POSIX_C_SOURCE 200809L /* fork, pipe, fdopen, getline */
#include "sweep.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *const verdict_names[WS_V_COUNT_] = {
    "absorbed",      "diagnosed", "unexplained",
    "misattributed", "leaked",    "crashed"};

const char *ws_verdict_name(ws_verdict v) {
  return (unsigned)v < WS_V_COUNT_ ? verdict_names[v] : "?";
}

/* ---- what the client sees, ids masked ------------------------------------ */

typedef struct vbuf {
  uint8_t *p;
  size_t n, cap;
  int oom;
} vbuf;

static void vput(vbuf *b, const void *d, size_t n) {
  if (b->oom || n == 0) return;
  if (b->n + n > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    uint8_t *q;
    while (cap < b->n + n) cap *= 2;
    if (!(q = realloc(b->p, cap))) {
      b->oom = 1;
      return;
    }
    b->p = q;
    b->cap = cap;
  }
  memcpy(b->p + b->n, d, n);
  b->n += n;
}

/* Copies a text payload with generated id values replaced by "*".  The core
 * writes them as "<attr>":"<id>" (message.c), and a valid id holds no quote
 * or backslash. */
static void mask_ids(vbuf *b, const uint8_t *p, size_t n) {
  static const char *const keys[] = {"\"thread_id\":\"",
                                     "\"websocket_client_id\":\"",
                                     "\"run_id\":\"", "\"request_id\":\""};
  size_t i = 0, k;
  while (i < n) {
    int matched = 0;
    for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
      size_t kl = strlen(keys[k]);
      if (n - i >= kl && memcmp(p + i, keys[k], kl) == 0) {
        vput(b, keys[k], kl);
        i += kl;
        while (i < n && p[i] != '"') i++;
        vput(b, "*", 1);
        matched = 1;
        break;
      }
    }
    if (!matched) vput(b, p + i++, 1);
  }
}

uint8_t *ws_sweep_visible(const uint8_t *sent, size_t len, size_t *out_len) {
  vbuf b = {0};
  size_t i = 0;
  const uint8_t *end = NULL;
  size_t k;
  for (k = 0; k + 4 <= len; k++)
    if (memcmp(sent + k, "\r\n\r\n", 4) == 0) {
      end = sent + k + 4;
      break;
    }
  if (!end) {
    vput(&b, sent, len);
    i = len;
  } else {
    vput(&b, sent, (size_t)(end - sent));
    i = (size_t)(end - sent);
  }
  /* Server frames: FIN/opcode byte, unmasked length (7, 16 or 64 bit). */
  while (i < len) {
    uint64_t plen;
    size_t hl = 2;
    if (len - i < 2 || (sent[i + 1] & 0x80)) break;
    plen = sent[i + 1] & 0x7f;
    if (plen == 126) {
      if (len - i < 4) break;
      plen = ((uint64_t)sent[i + 2] << 8) | sent[i + 3];
      hl = 4;
    } else if (plen == 127) {
      if (len - i < 10) break;
      plen = 0;
      for (k = 0; k < 8; k++) plen = (plen << 8) | sent[i + 2 + k];
      hl = 10;
    }
    if (plen > len - i - hl) break;
    vput(&b, sent + i, 1);
    if ((sent[i] & 0x0f) == 0x1)
      mask_ids(&b, sent + i + hl, (size_t)plen);
    else
      vput(&b, sent + i + hl, (size_t)plen);
    i += hl + (size_t)plen;
  }
  if (i < len) vput(&b, sent + i, len - i); /* anything unparsed, verbatim */
  if (b.oom) {
    free(b.p);
    return NULL;
  }
  if (!b.p) b.p = malloc(1);
  *out_len = b.n;
  return b.p;
}

/* ---- the judge ----------------------------------------------------------- */

static int visible_equal(const ws_run_result *a, const ws_run_result *b) {
  size_t na = 0, nb = 0;
  uint8_t *va = ws_sweep_visible(a->sent, a->sent_len, &na);
  uint8_t *vb = ws_sweep_visible(b->sent, b->sent_len, &nb);
  int eq = va && vb && na == nb && memcmp(va, vb, na) == 0;
  free(va);
  free(vb);
  return eq;
}

/* Does diag d blame injected fault e (CONTRACT 4)? */
static int blames(const ws_diag_info *d, const ws_fault_event *e) {
  const char *a;
  char want[64];
  size_t i;
  switch (e->kind) {
    case WS_FAULT_ALLOC:
    case WS_FAULT_RANDOM: return d->cls == WS_CLASS_RESOURCE;
    case WS_FAULT_IDGEN: return strcmp(d->code, "CTX_IDGEN_EXHAUSTED") == 0;
    case WS_FAULT_ATTR:
      /* The site ends in "attr:<name>": the diag must be CTX_ATTR_<NAME>. */
      if (!(a = strstr(e->site, "attr:"))) return 0;
      a += 5;
      snprintf(want, sizeof(want), "CTX_ATTR_%s", a);
      for (i = 9; want[i]; i++)
        if (want[i] >= 'a' && want[i] <= 'z') want[i] = (char)(want[i] - 32);
      return strcmp(d->code, want) == 0;
    default: return 0;
  }
}

static void spec_of(const ws_fault_event *e, char *buf, size_t cap) {
  snprintf(buf, cap, "%s@%lu (%s)", ws_fault_kind_name(e->kind), e->n, e->site);
}

ws_verdict ws_sweep_judge(const ws_run_result *clean, const ws_run_result *r,
                          char *why, size_t cap) {
  const ws_outcome *o = &r->outcome;
  const ws_diag_info *d;
  char f[WS_FAULT_SITE_MAX + 48];
  size_t i;

  if (cap) why[0] = '\0';
  if (!r->has_outcome) {
    snprintf(why, cap, "the session ended without an outcome");
    return WS_V_UNEXPLAINED;
  }
  if (!(d = ws_diag_get(o->diag))) {
    if (o->close_code == 1011)
      snprintf(why, cap, "close 1011 without a diagnosis (diag %d)",
               (int)o->diag);
    else
      snprintf(why, cap, "no diagnosis: diag %d is not in the table",
               (int)o->diag);
    return WS_V_UNEXPLAINED;
  }
  if (o->close_code == 1011 && d->cls != WS_CLASS_INTERNAL) {
    snprintf(why, cap, "close 1011 with %s, whose class is %s, not internal",
             d->code, ws_class_name(d->cls));
    return WS_V_UNEXPLAINED;
  }
  if (o->close_code && d->close_code != WS_CLOSE_ECHO &&
      o->close_code != d->close_code) {
    snprintf(why, cap, "close %d, but the table gives %s close %d",
             o->close_code, d->code, d->close_code);
    return WS_V_UNEXPLAINED;
  }
  if (o->http_status && o->http_status != 101 &&
      o->http_status != d->http_status) {
    snprintf(why, cap, "HTTP %d, but the table gives %s HTTP %d",
             o->http_status, d->code, d->http_status);
    return WS_V_UNEXPLAINED;
  }
  if (strncmp(o->reason, d->code, strlen(d->code)) != 0 &&
      (o->close_code || (o->http_status && o->http_status != 101))) {
    snprintf(why, cap, "the reason sent does not start with %s", d->code);
    return WS_V_UNEXPLAINED;
  }
  if (r->live_blocks || r->live_bytes) {
    snprintf(why, cap, "%zu blocks (%zu bytes) still allocated after free",
             r->live_blocks, r->live_bytes);
    return WS_V_LEAKED;
  }
  if (!clean) return WS_V_DIAGNOSED; /* the clean run itself */

  if (o->diag == clean->outcome.diag && visible_equal(clean, r)) {
    /* Absorbed.  A failed id generation (or its randomness) may only be
     * absorbed by the fallback, and the trail must say so. */
    for (i = 0; i < r->n_injected; i++) {
      const ws_fault_event *e = &r->injected[i];
      if ((e->kind == WS_FAULT_IDGEN || e->kind == WS_FAULT_RANDOM) &&
          o->trail_len + o->trail_dropped <=
              clean->outcome.trail_len + clean->outcome.trail_dropped) {
        spec_of(e, f, sizeof(f));
        snprintf(why, cap, "%s was absorbed without a trail entry", f);
        return WS_V_UNEXPLAINED;
      }
    }
    return WS_V_ABSORBED;
  }
  if (r->n_injected == 0) {
    snprintf(why, cap,
             "no fault was injected, yet the result differs from the clean "
             "run (%s): the session is not deterministic",
             ws_diag_get(clean->outcome.diag)
                 ? ws_diag_get(clean->outcome.diag)->code
                 : "?");
    return WS_V_UNEXPLAINED;
  }
  for (i = 0; i < r->n_injected; i++)
    if (blames(d, &r->injected[i])) return WS_V_DIAGNOSED;
  spec_of(&r->injected[0], f, sizeof(f));
  snprintf(why, cap,
           "%s%s ended in %s (class %s, stage %s), which does not "
           "blame it",
           f, r->n_injected > 1 ? " and later hits" : "", d->code,
           ws_class_name(d->cls), ws_stage_name(o->stage));
  return WS_V_MISATTRIBUTED;
}

/* ---- points ---------------------------------------------------------------
 */

typedef struct point {
  ws_fault_kind kind;
  unsigned long n;
  int persistent;
} point;

/* Point idx of a clean run with hits[]: transient points first (every
 * selected kind, every hit), then the persistent ones in the same order. */
static unsigned long points_of(const unsigned long *hits, unsigned kinds) {
  unsigned long t = 0;
  int k;
  for (k = 0; k < WS_FAULT_KINDS_; k++)
    if (kinds & (1u << k)) t += hits[k];
  return 2 * t;
}

static point point_at(const unsigned long *hits, unsigned kinds,
                      unsigned long idx) {
  point p;
  unsigned long half = points_of(hits, kinds) / 2;
  int k;
  memset(&p, 0, sizeof(p));
  p.persistent = idx >= half;
  if (p.persistent) idx -= half;
  for (k = 0; k < WS_FAULT_KINDS_; k++) {
    if (!(kinds & (1u << k))) continue;
    if (idx < hits[k]) {
      p.kind = (ws_fault_kind)k;
      p.n = idx + 1;
      return p;
    }
    idx -= hits[k];
  }
  return p;
}

static void point_spec(const point *p, char *buf, size_t cap) {
  snprintf(buf, cap, "%s@%lu%s", ws_fault_kind_name(p->kind), p->n,
           p->persistent ? "+" : "");
}

/* ---- reporting ------------------------------------------------------------
 */

typedef struct sweep_ctx {
  const ws_sweep_opts *o;
  const char *name;
  ws_sweep_totals *t;
  unsigned long local[WS_V_COUNT_];
  unsigned long total, failures;
  int clean_diag;
} sweep_ctx;

static char *json_str(const char *s) {
  size_t n = ws_fault_json_str(NULL, 0, 0, s) + 1;
  char *b = malloc(n);
  if (!b) return NULL;
  ws_fault_json_str(b, n, 0, s);
  b[n - 1] = '\0';
  return b;
}

/* A failing point as one JSON line, with what replays it. */
static void report_failure(sweep_ctx *c, const char *spec, ws_verdict v,
                           const char *why, const char *outcome_json) {
  char *name, *whyq, *replay;
  if (!c->o->failures) return;
  name = json_str(c->name);
  whyq = json_str(why ? why : "");
  replay = json_str(c->o->replay ? c->o->replay : "wsgate session");
  if (name && whyq && replay)
    fprintf(c->o->failures,
            "{\"input\":\"%s\",\"point\":\"%s\",\"verdict\":\"%s\","
            "\"why\":\"%s\",\"outcome\":%s,\"replay\":\"%s%s%s < %s\"}\n",
            name, spec, ws_verdict_name(v), whyq,
            outcome_json && *outcome_json ? outcome_json : "null", replay,
            *spec ? " --fault " : "", spec, name);
  fflush(c->o->failures);
  free(name);
  free(whyq);
  free(replay);
}

/* Counts the verdict of a point, or of the clean run (clean_run set), which
 * only counts when it fails. */
static void record(sweep_ctx *c, int clean_run, ws_verdict v) {
  if (ws_verdict_failing(v)) {
    c->failures++;
    if (clean_run) c->t->clean_failures++;
  }
  if (!clean_run) c->local[v]++;
}

/* ---- the worker: clean run, then points [from, total) ---------------------
 */

/* Where a worker's events go: straight into the totals (in-process), or
 * as lines down a pipe to the parent (isolated). */
typedef struct sink {
  sweep_ctx *c;
  FILE *pipe;
} sink;

static void sink_started(sink *s, unsigned long idx) {
  if (s->pipe) {
    fprintf(s->pipe, "P %lu\n", idx);
    fflush(s->pipe);
  }
}

static void sink_total(sink *s, const ws_run_result *clean, unsigned long n) {
  int k;
  if (s->pipe) {
    fprintf(s->pipe, "H %lu", n);
    for (k = 0; k < WS_FAULT_KINDS_; k++)
      fprintf(s->pipe, " %lu", clean->hits[k]);
    fprintf(s->pipe, " %d\n", (int)clean->outcome.diag);
    fflush(s->pipe);
    return;
  }
  s->c->total = n;
  s->c->clean_diag = (int)clean->outcome.diag;
  for (k = 0; k < WS_FAULT_KINDS_; k++) s->c->t->hits[k] += clean->hits[k];
}

static void sink_verdict(sink *s, const char *spec, ws_verdict v,
                         const char *why, const char *json) {
  if (s->pipe) {
    fprintf(s->pipe, "V %d\n", (int)v);
    if (ws_verdict_failing(v))
      fprintf(s->pipe, "F %d\t%s\t%s\t%s\n", (int)v, spec, why ? why : "",
              json ? json : "");
    return;
  }
  record(s->c, *spec == '\0', v);
  if (ws_verdict_failing(v)) report_failure(s->c, spec, v, why, json);
}

static int work(const ws_sweep_opts *o, const uint8_t *data, size_t len,
                unsigned long from, sink *s) {
  ws_run_spec spec = o->spec;
  ws_run_result clean, r;
  ws_fault_plan plan;
  char why[320], json[2048], ps[48];
  unsigned long idx, total;
  int err = 0;
  ws_verdict v;

  spec.input = data;
  spec.len = len;
  spec.on_hit = NULL;
  if (ws_run(&spec, NULL, &clean, &err) != 0) return -1;
  total = points_of(clean.hits, o->kinds);
  if (from == 0) {
    v = ws_sweep_judge(NULL, &clean, why, sizeof(why));
    ws_run_outcome_json(&clean, json, sizeof(json));
    sink_verdict(s, "", v, why, json);
  }
  sink_total(s, &clean, total);
  for (idx = from; idx < total; idx++) {
    point p = point_at(clean.hits, o->kinds, idx);
    ws_fault_plan_init(&plan);
    plan.rules[0].kind = p.kind;
    plan.rules[0].mode = p.persistent ? WS_FAULT_FROM : WS_FAULT_ONCE;
    plan.rules[0].n = p.n;
    plan.nrules = 1;
    point_spec(&p, ps, sizeof(ps));
    sink_started(s, idx);
    if (ws_run(&spec, &plan, &r, &err) != 0) {
      ws_run_result_clear(&clean);
      return -1;
    }
    v = ws_sweep_judge(&clean, &r, why, sizeof(why));
    if (ws_verdict_failing(v))
      ws_run_outcome_json(&r, json, sizeof(json));
    else
      json[0] = '\0';
    sink_verdict(s, ps, v, why, json);
    ws_run_result_clear(&r);
  }
  ws_run_result_clear(&clean);
  return 0;
}

/* ---- isolation: a worker process per input, restarted after a crash -------
 */

static void describe_exit(int status, char *buf, size_t cap) {
  if (WIFSIGNALED(status))
    snprintf(buf, cap, "the run died of signal %d", WTERMSIG(status));
  else
    snprintf(buf, cap, "the run exited with status %d",
             WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

/* Runs one worker from point `from`; reads its events.  Returns the index of
 * the point it crashed in, total (done), or -1 (could not run).  Sets
 * *crashed_clean when the clean run itself did not come back. */
static long isolated(sweep_ctx *c, const uint8_t *data, size_t len,
                     unsigned long from, int *crashed_clean) {
  int fds[2], status = 0, seen_total = 0;
  pid_t pid;
  FILE *in;
  char *line = NULL, why[96];
  size_t cap = 0;
  long started = -1, done = -1;
  char spec[48] = "";
  point p = {WS_FAULT_ALLOC, 0, 0};
  unsigned long hits[WS_FAULT_KINDS_] = {0};

  fflush(NULL);
  if (pipe(fds) != 0) return -1;
  pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return -1;
  }
  if (pid == 0) {
    sink s;
    int rc;
    close(fds[0]);
    s.c = c;
    s.pipe = fdopen(fds[1], "w");
    if (!s.pipe) _exit(3);
    rc = work(c->o, data, len, from, &s);
    fprintf(s.pipe, "E\n");
    fflush(s.pipe);
    _exit(rc == 0 ? 0 : 3);
  }
  close(fds[1]);
  if (!(in = fdopen(fds[0], "r"))) {
    close(fds[0]);
    waitpid(pid, &status, 0);
    return -1;
  }
  while (getline(&line, &cap, in) > 0) {
    line[strcspn(line, "\n")] = '\0';
    if (line[0] == 'H') {
      int k;
      char *q = line + 2;
      c->total = strtoul(q, &q, 10);
      for (k = 0; k < WS_FAULT_KINDS_; k++) hits[k] = strtoul(q, &q, 10);
      c->clean_diag = (int)strtol(q, &q, 10);
      if (from == 0)
        for (k = 0; k < WS_FAULT_KINDS_; k++) c->t->hits[k] += hits[k];
      seen_total = 1;
    } else if (line[0] == 'P') {
      started = (long)strtoul(line + 2, NULL, 10);
      p = point_at(hits, c->o->kinds, (unsigned long)started);
      point_spec(&p, spec, sizeof(spec));
    } else if (line[0] == 'V') {
      /* Before the total comes the clean run's verdict. */
      record(c, !seen_total, (ws_verdict)atoi(line + 2));
      if (seen_total) done = started;
    } else if (line[0] == 'F') {
      ws_verdict v = (ws_verdict)atoi(line + 2);
      char *a = strchr(line, '\t'), *b = a ? strchr(a + 1, '\t') : NULL, *e;
      if (a && b && (e = strchr(b + 1, '\t'))) {
        *b = '\0';
        *e = '\0';
        report_failure(c, a + 1, v, b + 1, e + 1);
      }
    } else if (line[0] == 'E') {
      done = (long)c->total;
    }
  }
  free(line);
  fclose(in);
  waitpid(pid, &status, 0);
  if (done == (long)c->total && WIFEXITED(status) && WEXITSTATUS(status) == 0)
    return done;
  describe_exit(status, why, sizeof(why));
  if (!seen_total) {
    *crashed_clean = 1;
    record(c, 1, WS_V_CRASHED);
    report_failure(c, "", WS_V_CRASHED, why, NULL);
    return -1;
  }
  if (started < 0 || started == done) return (long)c->total; /* after work */
  record(c, 0, WS_V_CRASHED);
  report_failure(c, spec, WS_V_CRASHED, why, NULL);
  return started;
}

long ws_sweep_input(const ws_sweep_opts *o, const char *name,
                    const uint8_t *data, size_t len, ws_sweep_totals *t,
                    FILE *out) {
  sweep_ctx c;
  struct timespec t0, t1;
  double ms;
  int k;
  memset(&c, 0, sizeof(c));
  c.o = o;
  c.name = name;
  c.t = t;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  if (o->isolate) {
    unsigned long from = 0;
    int crashed_clean = 0;
    for (;;) {
      long at = isolated(&c, data, len, from, &crashed_clean);
      if (at < 0) {
        if (crashed_clean) break;
        return -1;
      }
      if ((unsigned long)at >= c.total) break;
      from = (unsigned long)at + 1;
    }
  } else {
    sink s = {&c, NULL};
    if (work(o, data, len, 0, &s) != 0) return -1;
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
       (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
  t->inputs++;
  t->points += c.total;
  for (k = 0; k < WS_V_COUNT_; k++) t->verdicts[k] += c.local[k];
  if (out) {
    char *q = json_str(name);
    const ws_diag_info *d = ws_diag_get((ws_diag)c.clean_diag);
    fprintf(out,
            "{\"input\":\"%s\",\"clean\":\"%s\",\"points\":%lu,"
            "\"absorbed\":%lu,\"diagnosed\":%lu,\"failures\":%lu,"
            "\"ms\":%.1f}\n",
            q ? q : "?", d ? d->code : "?", c.total, c.local[WS_V_ABSORBED],
            c.local[WS_V_DIAGNOSED], c.failures, ms);
    free(q);
  }
  if (o->progress) {
    fprintf(o->progress, "sweep: %s: %lu points, %lu failing, %.0f ms\n", name,
            c.total, c.failures, ms);
    fflush(o->progress);
  }
  return (long)c.failures;
}

unsigned long ws_sweep_failures(const ws_sweep_totals *t) {
  return t->verdicts[WS_V_UNEXPLAINED] + t->verdicts[WS_V_MISATTRIBUTED] +
         t->verdicts[WS_V_LEAKED] + t->verdicts[WS_V_CRASHED] +
         t->clean_failures;
}
