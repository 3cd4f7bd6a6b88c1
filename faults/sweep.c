/* The exhaustive fault sweep (sweep.h). */
#define _POSIX_C_SOURCE 200809L /* fork, pipe, fdopen, getline */
#include "sweep.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- points ---------------------------------------------------------------
 */

/* What a clean run hit, which fixes the points of one input and chunking. */
typedef struct profile {
  unsigned long hits[WS_FAULT_KINDS_];
  unsigned long site_hits[WS_FAULT_SITES_];
} profile;

static void profile_of(const ws_run_result *r, profile *p) {
  memcpy(p->hits, r->hits, sizeof(p->hits));
  memcpy(p->site_hits, r->site_hits, sizeof(p->site_hits));
}

static unsigned long kind_points(const profile *p, unsigned kinds) {
  unsigned long t = 0;
  int k;
  for (k = 0; k < WS_FAULT_KINDS_; k++)
    if (kinds & (1u << k)) t += p->hits[k];
  return t;
}

static int site_swept(const profile *p, unsigned kinds, int s) {
  return p->site_hits[s] > 0 && (kinds & (1u << ws_fault_site_kind(s)));
}

/* Points, in order: every hit of every selected kind failed once, then the
 * same from there on, then each site that was hit failed at every hit
 * ("idgen.primary@*": one place down for the whole session while the rest
 * works). */
static unsigned long points_of(const profile *p, unsigned kinds) {
  unsigned long t = 2 * kind_points(p, kinds);
  int s;
  for (s = 1; s < WS_FAULT_SITES_; s++)
    t += (unsigned long)site_swept(p, kinds, s);
  return t;
}

static ws_fault_rule point_at(const profile *p, unsigned kinds,
                              unsigned long idx) {
  ws_fault_rule r;
  unsigned long half = kind_points(p, kinds);
  int k, s;
  memset(&r, 0, sizeof(r));
  if (idx >= 2 * half) {
    idx -= 2 * half;
    for (s = 1; s < WS_FAULT_SITES_; s++) {
      if (!site_swept(p, kinds, s)) continue;
      if (idx-- == 0) {
        r.kind = ws_fault_site_kind(s);
        r.site = s;
        r.mode = WS_FAULT_ALL;
        r.n = 1;
        return r;
      }
    }
    return r;
  }
  r.mode = idx >= half ? WS_FAULT_FROM : WS_FAULT_ONCE;
  if (idx >= half) idx -= half;
  for (k = 0; k < WS_FAULT_KINDS_; k++) {
    if (!(kinds & (1u << k))) continue;
    if (idx < p->hits[k]) {
      r.kind = (ws_fault_kind)k;
      r.n = idx + 1;
      return r;
    }
    idx -= p->hits[k];
  }
  return r;
}

/* ---- reporting ------------------------------------------------------------
 */

typedef struct sweep_ctx {
  const ws_sweep_opts *o;
  const char *name;
  size_t chunk; /* this pass's chunking (0: whole) */
  ws_sweep_totals *t;
  unsigned long local[WS_V_COUNT_];
  unsigned long total, failures, unfired;
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

/* s quoted for a POSIX shell ('...' with ' written as '\''). */
static char *shell_quote(const char *s) {
  size_t n = 3, i, at = 0;
  char *q;
  for (i = 0; s[i]; i++) n += s[i] == '\'' ? 4 : 1;
  if (!(q = malloc(n))) return NULL;
  q[at++] = '\'';
  for (i = 0; s[i]; i++) {
    if (s[i] == '\'') {
      memcpy(q + at, "'\\''", 4);
      at += 4;
    } else {
      q[at++] = s[i];
    }
  }
  q[at++] = '\'';
  q[at] = '\0';
  return q;
}

/* A failing point as one JSON line, with the command that replays it from
 * where the sweep ran (the replay prefix names the program as it was run
 * and the --keys/--config/--now of the sweep). */
static void report_failure(sweep_ctx *c, const char *spec, ws_verdict v,
                           const char *why, const char *outcome_json) {
  char *name, *whyq, *cmd, *cmdq, *path;
  char chunk[32] = "";
  size_t need;
  if (!c->o->failures) return;
  path = shell_quote(c->name);
  if (c->chunk) snprintf(chunk, sizeof(chunk), " --chunk %zu", c->chunk);
  need = (c->o->replay ? strlen(c->o->replay) : 16) + strlen(spec) +
         (path ? strlen(path) : 0) + 64;
  cmd = malloc(need);
  if (cmd && path)
    snprintf(cmd, need, "%s%s%s%s < %s",
             c->o->replay ? c->o->replay : "wsgate session", chunk,
             *spec ? " --fault " : "", spec, path);
  name = json_str(c->name);
  whyq = json_str(why ? why : "");
  cmdq = cmd ? json_str(cmd) : NULL;
  if (name && whyq && cmdq)
    fprintf(c->o->failures,
            "{\"input\":\"%s\",\"chunk\":%zu,\"point\":\"%s\",\"verdict\":"
            "\"%s\",\"why\":\"%s\",\"outcome\":%s,\"replay\":\"%s\"}\n",
            name, c->chunk, spec, ws_verdict_name(v), whyq,
            outcome_json && *outcome_json ? outcome_json : "null", cmdq);
  fflush(c->o->failures);
  free(name);
  free(whyq);
  free(cmd);
  free(cmdq);
  free(path);
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

static void add_hits(ws_sweep_totals *t, const profile *p) {
  int k;
  for (k = 0; k < WS_FAULT_KINDS_; k++) t->hits[k] += p->hits[k];
  for (k = 1; k < WS_FAULT_SITES_; k++)
    if (p->site_hits[k]) t->site_points[ws_fault_site_kind(k)]++;
}

static void sink_total(sink *s, const ws_run_result *clean, unsigned long n) {
  profile p;
  int k;
  profile_of(clean, &p);
  if (s->pipe) {
    fprintf(s->pipe, "H %lu %d", n, (int)clean->outcome.diag);
    for (k = 0; k < WS_FAULT_KINDS_; k++) fprintf(s->pipe, " %lu", p.hits[k]);
    for (k = 0; k < WS_FAULT_SITES_; k++)
      fprintf(s->pipe, " %lu", p.site_hits[k]);
    fprintf(s->pipe, "\n");
    fflush(s->pipe);
    return;
  }
  s->c->total = n;
  s->c->clean_diag = (int)clean->outcome.diag;
  if (s->c->chunk == s->c->o->spec.chunk) add_hits(s->c->t, &p);
}

/* Line-based pipe records: a why may hold newlines (a leak's sites). */
static void one_line(char *s) {
  for (; *s; s++)
    if (*s == '\n' || *s == '\t') *s = ' ';
}

static void sink_verdict(sink *s, const char *spec, ws_verdict v, char *why,
                         char *json, int unfired) {
  if (s->pipe) {
    fprintf(s->pipe, "V %d %d\n", (int)v, unfired);
    if (ws_verdict_failing(v)) {
      one_line(why);
      one_line(json);
      fprintf(s->pipe, "F %d\t%s\t%s\t%s\n", (int)v, spec, why, json);
    }
    return;
  }
  record(s->c, *spec == '\0', v);
  s->c->unfired += (unsigned long)unfired;
  if (ws_verdict_failing(v)) report_failure(s->c, spec, v, why, json);
}

static int work(sweep_ctx *c, const uint8_t *data, size_t len,
                unsigned long from, sink *s) {
  const ws_sweep_opts *o = c->o;
  ws_run_spec spec = o->spec;
  ws_run_result clean, r;
  ws_fault_plan plan;
  profile prof;
  char why[1024], json[2048], ps[64];
  unsigned long idx, total;
  int err = 0;
  ws_verdict v;

  spec.input = data;
  spec.len = len;
  spec.chunk = c->chunk;
  spec.on_hit = NULL;
  if (ws_run(&spec, NULL, &clean, &err) != 0) return -1;
  profile_of(&clean, &prof);
  total = points_of(&prof, o->kinds);
  if (from == 0) {
    v = ws_judge(NULL, &clean, why, sizeof(why));
    ws_run_outcome_json(&clean, json, sizeof(json));
    sink_verdict(s, "", v, why, json, 0);
  }
  sink_total(s, &clean, total);
  for (idx = from; idx < total; idx++) {
    int unfired;
    ws_fault_plan_init(&plan);
    plan.rules[0] = point_at(&prof, o->kinds, idx);
    plan.nrules = 1;
    ws_fault_rule_spec(&plan.rules[0], ps, sizeof(ps));
    sink_started(s, idx);
    if (ws_run(&spec, &plan, &r, &err) != 0) {
      ws_run_result_clear(&clean);
      return -1;
    }
    v = ws_judge(&clean, &r, why, sizeof(why));
    /* The clean run reached this hit; a deterministic session reaches it
     * again up to that point, so the fault must have been injected. */
    unfired = r.plan.rule_fired[0] == 0;
    if (unfired && !ws_verdict_failing(v)) {
      snprintf(why, sizeof(why),
               "%s never fired: the run did not reach a hit the clean run "
               "reached (the session is not deterministic)",
               ps);
      v = WS_V_UNSTABLE;
    }
    if (ws_verdict_failing(v))
      ws_run_outcome_json(&r, json, sizeof(json));
    else
      json[0] = '\0';
    sink_verdict(s, ps, v, why, json, unfired);
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
  char spec[64] = "";
  profile prof;

  memset(&prof, 0, sizeof(prof));
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
    rc = work(c, data, len, from, &s);
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
      c->clean_diag = (int)strtol(q, &q, 10);
      for (k = 0; k < WS_FAULT_KINDS_; k++) prof.hits[k] = strtoul(q, &q, 10);
      for (k = 0; k < WS_FAULT_SITES_; k++)
        prof.site_hits[k] = strtoul(q, &q, 10);
      if (from == 0 && c->chunk == c->o->spec.chunk) add_hits(c->t, &prof);
      seen_total = 1;
    } else if (line[0] == 'P') {
      ws_fault_rule r;
      started = (long)strtoul(line + 2, NULL, 10);
      r = point_at(&prof, c->o->kinds, (unsigned long)started);
      ws_fault_rule_spec(&r, spec, sizeof(spec));
    } else if (line[0] == 'V') {
      char *q = line + 2;
      ws_verdict v = (ws_verdict)strtol(q, &q, 10);
      /* Before the total comes the clean run's verdict. */
      record(c, !seen_total, v);
      c->unfired += strtoul(q, &q, 10);
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

/* One pass over one input in one chunking. */
static int sweep_pass(sweep_ctx *c, const uint8_t *data, size_t len) {
  if (c->o->isolate) {
    unsigned long from = 0;
    int crashed_clean = 0;
    for (;;) {
      long at = isolated(c, data, len, from, &crashed_clean);
      if (at < 0) return crashed_clean ? 0 : -1;
      if ((unsigned long)at >= c->total) return 0;
      from = (unsigned long)at + 1;
    }
  } else {
    sink s = {c, NULL};
    return work(c, data, len, 0, &s);
  }
}

/* The clean run in chunking `chunk` must look exactly like the base one. */
static void check_chunking(sweep_ctx *c, const uint8_t *data, size_t len,
                           const ws_run_result *base, size_t chunk) {
  ws_run_spec spec = c->o->spec;
  ws_run_result r;
  char why[160], json[2048], ps[48];
  int err = 0;
  spec.input = data;
  spec.len = len;
  spec.chunk = chunk;
  spec.on_hit = NULL;
  if (ws_run(&spec, NULL, &r, &err) != 0) return;
  if (!ws_judge_same(base, &r, 1)) {
    snprintf(ps, sizeof(ps), "chunk %zu", chunk);
    snprintf(why, sizeof(why),
             "fed in %zu-byte pieces the session ends or answers "
             "differently than fed whole",
             chunk);
    ws_run_outcome_json(&r, json, sizeof(json));
    c->chunk = chunk;
    record(c, 1, WS_V_UNSTABLE);
    report_failure(c, "", WS_V_UNSTABLE, why, json);
  }
  ws_run_result_clear(&r);
}

long ws_sweep_input(const ws_sweep_opts *o, const char *name,
                    const uint8_t *data, size_t len, ws_sweep_totals *t,
                    FILE *out) {
  sweep_ctx c;
  struct timespec t0, t1;
  double ms;
  unsigned long total = 0;
  size_t i;
  int k, clean_diag = 0;
  memset(&c, 0, sizeof(c));
  c.o = o;
  c.name = name;
  c.t = t;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  if (o->n_chunks) {
    /* First the chunked clean runs against the base one. */
    ws_run_spec spec = o->spec;
    ws_run_result base;
    int err = 0;
    spec.input = data;
    spec.len = len;
    spec.on_hit = NULL;
    if (ws_run(&spec, NULL, &base, &err) != 0) return -1;
    for (i = 0; i < o->n_chunks; i++)
      if (o->chunks[i] != o->spec.chunk)
        check_chunking(&c, data, len, &base, o->chunks[i]);
    ws_run_result_clear(&base);
  }
  for (i = 0; i <= o->n_chunks; i++) {
    c.chunk = i == 0 ? o->spec.chunk : o->chunks[i - 1];
    if (i > 0 && c.chunk == o->spec.chunk) continue;
    c.total = 0;
    if (sweep_pass(&c, data, len) != 0) return -1;
    total += c.total;
    if (i == 0) clean_diag = c.clean_diag;
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
       (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
  t->inputs++;
  t->points += total;
  t->unfired += c.unfired;
  for (k = 0; k < WS_V_COUNT_; k++) t->verdicts[k] += c.local[k];
  if (out) {
    char *q = json_str(name);
    const ws_diag_info *d = ws_diag_get((ws_diag)clean_diag);
    fprintf(out,
            "{\"input\":\"%s\",\"clean\":\"%s\",\"points\":%lu,"
            "\"absorbed\":%lu,\"diagnosed\":%lu,\"failures\":%lu,"
            "\"ms\":%.1f}\n",
            q ? q : "?", d ? d->code : "?", total, c.local[WS_V_ABSORBED],
            c.local[WS_V_DIAGNOSED], c.failures, ms);
    free(q);
  }
  if (o->progress) {
    fprintf(o->progress, "sweep: %s: %lu points, %lu failing, %.0f ms\n", name,
            total, c.failures, ms);
    fflush(o->progress);
  }
  return (long)c.failures;
}

unsigned long ws_sweep_failures(const ws_sweep_totals *t) {
  unsigned long n = t->clean_failures;
  int v;
  for (v = 0; v < WS_V_COUNT_; v++)
    if (ws_verdict_failing((ws_verdict)v)) n += t->verdicts[v];
  return n;
}
