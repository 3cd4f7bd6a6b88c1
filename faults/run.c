#include "run.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void keep(ws_run_result *r, const uint8_t *d, size_t n) {
  uint8_t *p;
  if (r->sent_truncated || n == 0) return;
  p = realloc(r->sent, r->sent_len + n);
  if (!p) {
    r->sent_truncated = 1;
    return;
  }
  memcpy(p + r->sent_len, d, n);
  r->sent = p;
  r->sent_len += n;
}

static void drain(ws_session *s, ws_run_result *r) {
  const uint8_t *d;
  size_t n;
  while ((n = ws_session_send(s, &d)) > 0) keep(r, d, n);
}

static void synthesize_new_failure(ws_run_result *r) {
  ws_outcome *o = &r->outcome;
  memset(o, 0, sizeof(*o));
  o->stage = WS_STAGE_HANDSHAKE;
  o->diag = WS_DIAG_HS_NOMEM;
  snprintf(o->reason, sizeof(o->reason),
           "HS_NOMEM: the session object could not be allocated");
  r->new_failed = 1;
  r->has_outcome = 1;
}

int ws_run(const ws_run_spec *spec, const ws_fault_plan *plan, ws_run_result *r,
           int *err) {
  ws_fault_env fe;
  ws_env env;
  ws_session *s = NULL;
  size_t off = 0;
  int rc;

  memset(r, 0, offsetof(ws_run_result, injected));
  if (spec->prepare) spec->prepare(spec->prepare_ud);
  ws_fault_env_init(&fe, &spec->env, plan);
  fe.on_hit = spec->on_hit;
  fe.on_hit_ud = spec->on_hit_ud;
  env = fe.env;
  if (spec->wrap) spec->wrap(spec->hook_ud, &env);
  rc = ws_session_new(&s, spec->cfg, spec->keys, &env);
  if (rc == WS_ERR_NOMEM) {
    synthesize_new_failure(r);
  } else if (rc != WS_OK) {
    if (err) *err = rc;
    return -1;
  } else {
    size_t k = 0;
    do {
      size_t piece = spec->len - off, want = spec->chunk;
      if (spec->n_chunk_sizes)
        want = 1u + spec->chunk_sizes[k++ % spec->n_chunk_sizes];
      if (want && piece > want) piece = want;
      if (piece && ws_session_recv(s, spec->input + off, piece) < 0) break;
      off += piece;
      drain(s, r);
    } while (off < spec->len);
    ws_session_eof(s);
    drain(s, r);
    if (ws_session_outcome(s)) {
      r->outcome = *ws_session_outcome(s);
      r->has_outcome = 1;
    }
    ws_session_free(s);
  }
  r->live_blocks = fe.counts.live_blocks;
  r->live_bytes = fe.counts.live_bytes;
  r->peak_bytes = fe.counts.peak_bytes;
  if (plan) r->plan = *plan;
  memcpy(r->hits, fe.plan.hits, sizeof(r->hits));
  memcpy(r->injected, fe.trail, fe.trail_len * sizeof(fe.trail[0]));
  r->n_injected = fe.trail_len;
  r->injected_dropped = fe.trail_dropped;
  if (spec->tamper) spec->tamper(spec->hook_ud, r);
  return 0;
}

void ws_run_result_clear(ws_run_result *r) {
  free(r->sent);
  r->sent = NULL;
  r->sent_len = 0;
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
