#include "serve_deadline.h"

#include <stddef.h>

ws_deadline_kind ws_deadline_next(const ws_deadline_limits *l,
                                  const ws_conn_times *t, uint64_t *at) {
  if (t->ended) {
    *at = t->end + l->close_ms;
    return WS_DL_CLOSE;
  }
  if (!t->upgraded) {
    *at = t->start + l->handshake_ms;
    return WS_DL_HANDSHAKE;
  }
  if (!t->authenticated) {
    *at = t->upgrade + l->auth_ms;
    return WS_DL_AUTH;
  }
  *at = t->active + l->idle_ms;
  return WS_DL_IDLE;
}

int ws_deadline_passed(const ws_deadline_limits *l, const ws_conn_times *t,
                       uint64_t now, ws_deadline_kind *kind) {
  uint64_t at;
  ws_deadline_kind k = ws_deadline_next(l, t, &at);
  if (kind) *kind = k;
  return now >= at;
}
