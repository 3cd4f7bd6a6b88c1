#include "stream.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define STREAM_CHUNK 65536

static void put(const ws_stream_spec *spec, ws_stream_result *r,
                const uint8_t *d, size_t n) {
  if (!spec->out || n == 0) return;
  if (!r->write_errno && fwrite(d, 1, n, spec->out) != n)
    r->write_errno = errno ? errno : EIO;
  if (!r->write_errno) r->out_bytes += n;
}

static void drain(const ws_stream_spec *spec, ws_session *s,
                  ws_stream_result *r) {
  const uint8_t *d;
  size_t n;
  while ((n = ws_session_send(s, &d)) > 0) put(spec, r, d, n);
}

/* ws_session_new failed: no session to write the answer, so the program
 * writes the table's static response and reports it as what was sent (the
 * same answer as ws_run's). */
static void refuse(const ws_stream_spec *spec, ws_stream_result *r) {
  static const char detail[] = "the session could not be allocated";
  ws_outcome *o = &r->run.outcome;
  char resp[512];
  size_t n =
      ws_diag_http_response(WS_DIAG_HS_NOMEM, detail, resp, sizeof(resp));
  memset(o, 0, sizeof(*o));
  o->stage = WS_STAGE_HANDSHAKE;
  o->diag = WS_DIAG_HS_NOMEM;
  r->run.new_failed = 1;
  r->run.has_outcome = 1;
  if (n == 0) return; /* nothing sent: status and reason stay null */
  put(spec, r, (const uint8_t *)resp, n);
  if (r->write_errno) return;
  o->http_status = ws_diag_get(WS_DIAG_HS_NOMEM)->http_status;
  snprintf(o->reason, sizeof(o->reason), "%s: %s",
           ws_diag_get(WS_DIAG_HS_NOMEM)->code, detail);
}

int ws_stream_run(const ws_stream_spec *spec, const ws_fault_plan *plan,
                  ws_stream_result *r, int *err) {
  ws_fault_env *fe;
  ws_session *s = NULL;
  size_t cap = spec->chunk ? spec->chunk : STREAM_CHUNK;
  uint8_t *buf;
  int rc;

  memset(r, 0,
         offsetof(ws_stream_result, run) + offsetof(ws_run_result, injected));
  /* The fault env carries a 64-entry trail: not for the stack. */
  if (!(fe = malloc(sizeof(*fe))) || !(buf = malloc(cap))) {
    free(fe);
    if (err) *err = WS_ERR_NOMEM;
    return -1;
  }
  ws_fault_env_init(fe, &spec->env, plan);
  fe->on_hit = spec->on_hit;
  fe->on_hit_ud = spec->on_hit_ud;
  r->run.default_idgen = !spec->env.idgen && !spec->env.idgen_fallback;
  rc = ws_session_new(&s, spec->cfg, spec->keys, &fe->env);
  if (rc == WS_ERR_NOMEM) {
    refuse(spec, r);
  } else if (rc != WS_OK) {
    free(buf);
    free(fe);
    if (err) *err = rc;
    return -1;
  } else {
    while (!ws_session_outcome(s)) {
      size_t want = cap, got;
      if (spec->max_input) {
        if (r->in_bytes >= spec->max_input) {
          /* One byte more than allowed tells "longer" from "exactly". */
          int c = getc(spec->in);
          if (c != EOF) r->input_limit = 1;
          break;
        }
        if (spec->max_input - r->in_bytes < want)
          want = (size_t)(spec->max_input - r->in_bytes);
      }
      got = fread(buf, 1, want, spec->in);
      if (got > 0) {
        ws_session_recv(s, buf, got);
        r->in_bytes += got;
        drain(spec, s, r);
      }
      if (got < want) {
        if (ferror(spec->in)) r->read_errno = errno ? errno : EIO;
        break;
      }
    }
    ws_session_eof(s);
    drain(spec, s, r);
    ws_run_keep_session(&r->run, s);
    ws_session_free(s);
  }
  ws_run_keep_faults(&r->run, fe);
  free(buf);
  free(fe);
  return 0;
}
