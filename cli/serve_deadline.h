/* The deadlines of a served connection, as a pure function of its times and
 * the clock reading it is given: wsgate serve calls it with its monotonic
 * clock, tests/test_serve_deadline.c with any clock it likes. */
#ifndef WS_SERVE_DEADLINE_H
#define WS_SERVE_DEADLINE_H

#include <stdint.h>

typedef enum ws_deadline_kind {
  WS_DL_HANDSHAKE = 0, /* request head not complete: HS_TIMEOUT */
  WS_DL_AUTH,          /* open, first-message auth pending: AUTH_TIMEOUT */
  WS_DL_IDLE,          /* open and authenticated: IDLE_TIMEOUT */
  WS_DL_CLOSE          /* outcome made: close handshake / drain wait */
} ws_deadline_kind;

typedef struct ws_deadline_limits {
  uint64_t handshake_ms, auth_ms, idle_ms, close_ms;
} ws_deadline_limits;

/* Times in ms on the caller's clock. */
typedef struct ws_conn_times {
  uint64_t start;   /* accepted */
  uint64_t upgrade; /* the 101 was committed (when upgraded) */
  uint64_t active;  /* last byte read or written */
  uint64_t end;     /* the outcome was made (when ended) */
  int upgraded, authenticated, ended;
} ws_conn_times;

/* Which deadline applies and when it falls (*at).  The handshake deadline
 * counts from accept and the auth one from the upgrade, so bytes trickling
 * in (a slowloris head) do not extend them; only the idle one follows
 * activity. */
ws_deadline_kind ws_deadline_next(const ws_deadline_limits *l,
                                  const ws_conn_times *t, uint64_t *at);

/* 1 when the deadline that applies has passed at now. */
int ws_deadline_passed(const ws_deadline_limits *l, const ws_conn_times *t,
                       uint64_t now, ws_deadline_kind *kind);

#endif
