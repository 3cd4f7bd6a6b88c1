#include "run.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clone.h"

static void keep(ws_run_result *r, const uint8_t *d, size_t n) {
  if (r->sent_truncated || n == 0) return;
  if (n > r->sent_cap - r->sent_len) {
    /* Grown geometrically: one realloc per drain made the copying quadratic
     * and cost an allocation per server write. */
    size_t cap = r->sent_cap ? r->sent_cap : 256;
    uint8_t *p;
    while (cap - r->sent_len < n && cap <= SIZE_MAX / 2) cap *= 2;
    if (cap - r->sent_len < n || !(p = realloc(r->sent, cap))) {
      r->sent_truncated = 1;
      return;
    }
    r->sent = p;
    r->sent_cap = cap;
  }
  memcpy(r->sent + r->sent_len, d, n);
  r->sent_len += n;
}

static void drain(ws_session *s, ws_run_result *r) {
  const uint8_t *d;
  size_t n;
  while ((n = ws_session_send(s, &d)) > 0) keep(r, d, n);
}

/* ws_session_new itself failed for memory: there is no session, so the
 * program answers as a server would, with the table's static 503. */
static void answer_new_failure(ws_run_result *r) {
  static const char detail[] = "the session could not be allocated";
  ws_outcome *o = &r->outcome;
  char resp[512];
  size_t n =
      ws_diag_http_response(WS_DIAG_HS_NOMEM, detail, resp, sizeof(resp));
  memset(o, 0, sizeof(*o));
  o->stage = WS_STAGE_HANDSHAKE;
  o->diag = WS_DIAG_HS_NOMEM;
  if (n) {
    keep(r, (const uint8_t *)resp, n);
    o->http_status = 503;
    snprintf(o->reason, sizeof(o->reason), "HS_NOMEM: %s", detail);
  }
  r->new_failed = 1;
  r->has_outcome = 1;
}

/* One run in progress (a ws_run, or one session of a ws_run_multi). */
typedef struct run_state {
  const ws_run_spec *spec;
  ws_run_result *r;
  ws_fault_env fe;
  ws_session *s;
  size_t off, piece_no;
  int done;
} run_state;

static int run_start(run_state *st, const ws_run_spec *spec,
                     const ws_fault_plan *plan, ws_run_result *r, int *err) {
  ws_env env;
  int rc;
  memset(r, 0, offsetof(ws_run_result, injected));
  st->spec = spec;
  st->r = r;
  st->s = NULL;
  st->off = st->piece_no = 0;
  st->done = 0;
  if (spec->prepare) spec->prepare(spec->prepare_ud);
  ws_fault_env_init(&st->fe, &spec->env, plan);
  st->fe.on_hit = spec->on_hit;
  st->fe.on_hit_ud = spec->on_hit_ud;
  env = st->fe.env;
  if (spec->wrap) spec->wrap(spec->hook_ud, &env);
  r->default_idgen = !spec->env.idgen && !spec->env.idgen_fallback;
  r->resumed = spec->resume != NULL;
  if (spec->resume)
    rc = ws_session_clone_open(&st->s, spec->resume, &env);
  else
    rc = ws_session_new(&st->s, spec->cfg, spec->keys, &env);
  if (rc == WS_ERR_NOMEM) {
    answer_new_failure(r);
    st->done = 1;
  } else if (rc != WS_OK) {
    if (err) *err = rc;
    return -1;
  }
  return 0;
}

/* Feeds the next piece; returns 1 while input is left. */
static int run_step(run_state *st) {
  const ws_run_spec *spec = st->spec;
  size_t piece = spec->len - st->off, want = spec->chunk;
  if (st->done || !st->s) return 0;
  if (spec->n_chunk_sizes) {
    want = 1u + spec->chunk_sizes[st->piece_no++ % spec->n_chunk_sizes];
  } else if (spec->hold_at && st->off < spec->hold_at) {
    if (!want || want > spec->hold_at - st->off) want = spec->hold_at - st->off;
  } else if (spec->hold_at && spec->hold_chunk) {
    want = spec->hold_chunk;
  }
  if (want && piece > want) piece = want;
  if (piece && ws_session_recv(st->s, spec->input + st->off, piece) < 0) {
    st->off = spec->len; /* ended: the rest is not taken */
  } else {
    st->off += piece;
  }
  drain(st->s, st->r);
  if (st->off >= spec->len) st->done = 1;
  return !st->done;
}

static void note_live(void *ud, const ws_alloc_where *w, size_t size) {
  ws_run_result *r = ud;
  char *d;
  if (r->n_live_sites >= WS_RUN_LIVE_MAX) return;
  d = r->live_sites[r->n_live_sites++];
  if (!w->file)
    snprintf(d, sizeof(r->live_sites[0]), "? (%zu bytes)", size);
  else if (w->dep)
    snprintf(d, sizeof(r->live_sites[0]), "%s:%d %s [%s] (%zu bytes)", w->file,
             w->line, w->func, w->dep, size);
  else
    snprintf(d, sizeof(r->live_sites[0]), "%s:%d %s (%zu bytes)", w->file,
             w->line, w->func, size);
}

void ws_run_keep_session(ws_run_result *r, const ws_session *s) {
  const ws_context *ctx;
  int a;
  if (ws_session_outcome(s)) {
    r->outcome = *ws_session_outcome(s);
    r->has_outcome = 1;
  }
  if (!(ctx = ws_session_context(s))) return;
  r->has_context = 1;
  for (a = 0; a < WS_ATTR_COUNT_; a++) {
    const char *v;
    size_t n;
    if (a == WS_ATTR_USER_ID) continue;
    if (ws_context_attr_default(ctx, (ws_attr)a, &v, &n) == 0 &&
        n <= WS_ID_MAX) {
      memcpy(r->ids[a], v, n);
      r->ids[a][n] = '\0';
    }
  }
}

void ws_run_keep_faults(ws_run_result *r, const ws_fault_env *fe) {
  r->live_blocks = fe->counts.live_blocks;
  r->live_bytes = fe->counts.live_bytes;
  r->peak_bytes = fe->counts.peak_bytes;
  if (r->live_blocks) ws_countalloc_live(&fe->counts, note_live, r);
  r->plan = fe->plan; /* with rule_fired: what each rule did */
  memcpy(r->hits, fe->plan.hits, sizeof(r->hits));
  memcpy(r->site_hits, fe->plan.site_hits, sizeof(r->site_hits));
  r->attr_reads = fe->attr_reads;
  memcpy(r->injected, fe->trail, fe->trail_len * sizeof(fe->trail[0]));
  r->n_injected = fe->trail_len;
  r->injected_dropped = fe->trail_dropped;
}

static void run_finish(run_state *st) {
  ws_run_result *r = st->r;
  if (st->s) {
    ws_session_eof(st->s);
    drain(st->s, r);
    ws_run_keep_session(r, st->s);
    ws_session_free(st->s);
    st->s = NULL;
  }
  ws_run_keep_faults(r, &st->fe);
  if (st->spec->tamper) st->spec->tamper(st->spec->hook_ud, r);
}

int ws_run(const ws_run_spec *spec, const ws_fault_plan *plan, ws_run_result *r,
           int *err) {
  run_state st;
  if (run_start(&st, spec, plan, r, err) != 0) return -1;
  /* An empty input still gets its one (empty) piece: the session sees a
   * recv of nothing, then the end of input. */
  while (run_step(&st)) {
  }
  run_finish(&st);
  return 0;
}

/* Session i waits at its spec's hold_at until every other session is past
 * its upgrade or done (see ws_run_spec.hold_at).  At most one session of a
 * run may hold, so some session can always step. */
static int held(const run_state *st, size_t n, size_t i) {
  size_t j;
  if (!st[i].spec->hold_at || st[i].done || !st[i].s ||
      st[i].off != st[i].spec->hold_at)
    return 0;
  for (j = 0; j < n; j++)
    if (j != i && !st[j].done && !ws_session_upgraded(st[j].s)) return 1;
  return 0;
}

int ws_run_multi(const ws_run_spec *specs, const ws_fault_plan *const *plans,
                 size_t n, ws_run_result *results) {
  run_state st[WS_RUN_MULTI_MAX]; /* on the stack: no allocation per call */
  size_t i, started = 0;
  int more = 1, rc = 0, holding = 0;
  if (n > WS_RUN_MULTI_MAX) return -1;
  for (i = 0; i < n; i++) holding += specs[i].hold_at != 0;
  if (holding > 1) return -1; /* two could wait for each other */
  for (i = 0; i < n; i++, started++)
    if (run_start(&st[i], &specs[i], plans ? plans[i] : NULL, &results[i],
                  NULL) != 0) {
      rc = -1;
      break;
    }
  while (rc == 0 && more) {
    more = 0;
    for (i = 0; i < n; i++) {
      if (held(st, n, i)) {
        more = 1;
        continue;
      }
      more |= run_step(&st[i]);
    }
  }
  for (i = 0; i < started; i++) run_finish(&st[i]);
  return rc;
}

void ws_run_result_clear(ws_run_result *r) {
  free(r->sent);
  r->sent = NULL;
  r->sent_len = r->sent_cap = 0;
}
size_t ws_run_outcome_json(const ws_run_result *r, char *buf, size_t cap) {
  char *extra;
  size_t need, at;
  need = ws_fault_trail_json(r->injected, r->n_injected, NULL, 0) + 64;
  extra = malloc(need);
  if (!extra) {
    if (cap) buf[0] = '\0';
    return 0;
  }
  memcpy(extra, "\"faults\":", 9);
  at = 9 + ws_fault_trail_json(r->injected, r->n_injected, extra + 9, need - 9);
  if (r->live_blocks)
    snprintf(extra + at, need - at, ",\"live_blocks\":%zu,\"live_bytes\":%zu",
             r->live_blocks, r->live_bytes);
  need = r->has_outcome
             ? ws_outcome_json(&r->outcome, extra, buf, cap)
             : (size_t)snprintf(buf, cap, "{\"stage\":null,\"diag\":null,%s}",
                                extra);
  free(extra);
  return need;
}
