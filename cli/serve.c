/* wsgate serve (see serve.h).
 *
 * A connection goes through these phases:
 *   RUN     the session runs: client bytes go to ws_session_recv, server
 *           bytes come from ws_session_send and are written as the socket
 *           takes them.  While output is pending the connection is not read
 *           (EPOLLOUT only), so a client that never reads costs at most one
 *           read's worth of replies.
 *   FLUSH   the session has its outcome; what is left of its output (the
 *           HTTP error or the close frame) is written.
 *   WAIT    the server sent a close frame first: it waits for the client's
 *           close frame (RFC 6455 5.5.1, 7.1.1), reading and parsing frame
 *           headers only, until close_timeout.
 *   LINGER  our side is shut down for writing (FIN); the client's remaining
 *           bytes are read and dropped until it closes too, so that closing
 *           with unread data does not reset the response away.
 * A connection refused at the cap, or whose session could not be allocated,
 * starts in FLUSH with a static 503 and no session.
 *
 * The close handshake is reported in the log line's "close_wait": null when
 * no close frame was sent, "client" when the client closed first and was
 * answered, "answered" when the client answered the server's close,
 * "eof" when it closed TCP without answering, "timeout" when close_timeout
 * passed first, "shutdown" when the shutdown grace period ended it. */
#define _GNU_SOURCE /* accept4, SO_REUSEPORT, sigtimedwait */
#include "serve.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "countalloc.h"
#include "inject.h"
#include "plan.h"
#include "rng.h"
#include "serve_deadline.h"
#include "sysenv.h"
#include "wsgate/wsgate.h"

#define EXIT_USAGE 2
#define READ_CHUNK 65536
#define READS_PER_EVENT 4
#define TICK_MS 100
#define LOG_LINE_MAX 8192

static const char serve_usage[] =
    "usage: wsgate serve [--listen HOST:PORT] [--keys JWKS] [--config JSON]\n"
    "                    [--threads N] [--log FILE] [--max-conns N]\n"
    "                    [--handshake-timeout MS] [--auth-timeout MS]\n"
    "                    [--idle-timeout MS] [--close-timeout MS] [--grace "
    "MS]\n"
    "                    [--stats-interval S] [--fault-rate P --fault-seed S]\n"
    "  --listen defaults to 127.0.0.1:8080 (loopback); port 0 picks a free\n"
    "  port; the bound address is printed as {\"listening\":...} on stdout.\n";

typedef struct serve_opts {
  const char *listen, *keys, *config, *log;
  long threads, max_conns;
  long hs_ms, auth_ms, idle_ms, close_ms, grace_ms, stats_s;
  int has_rate;
  double rate;
  long long fault_seed;
  int has_fault_seed;
} serve_opts;

typedef enum phase { PH_RUN = 0, PH_FLUSH, PH_WAIT, PH_LINGER } phase;

typedef enum close_wait {
  CW_NONE = 0,
  CW_CLIENT,
  CW_ANSWERED,
  CW_EOF,
  CW_TIMEOUT,
  CW_SHUTDOWN
} close_wait;

static const char *const cw_names[] = {NULL,  "client",  "answered",
                                       "eof", "timeout", "shutdown"};

struct worker;

/* Streaming frame-header walker: counts frames of one opcode in a byte
 * stream (the server's text frames; the client's close frame). */
typedef struct fwalk {
  uint8_t hdr[14];
  uint8_t hn, need;
  uint64_t skip;
} fwalk;

/* The client's address, kept in 20 bytes and written out only for the log
 * line (one record per open connection: see "Memory" in the README). */
typedef struct peer_addr {
  uint8_t addr[16]; /* IPv4 in the first 4 */
  uint16_t port;
  uint8_t family; /* AF_INET, AF_INET6, or 0: unknown */
} peer_addr;

typedef struct conn {
  int fd;
  uint32_t ev; /* the epoll events registered */
  uint8_t ph;  /* a phase */
  uint8_t cw;  /* a close_wait */
  uint8_t has_outcome, eof_in, shut_wr, http_done, refused;
  ws_session *s;
  ws_fault_env *fe;   /* with --fault-rate, else NULL */
  size_t live_blocks; /* without faults: the session's blocks (blk_*) */
  /* The outcome stays in the session (read at close, before it is freed);
   * the connection keeps only what it decides on: the close code, and for a
   * refused connection the diagnosis and a static reason. */
  uint16_t close_code;
  ws_diag refuse_diag;
  const char *refuse_reason;
  const uint8_t *pend; /* bytes being written (from ws_session_send) */
  size_t pend_len, pend_off;
  uint64_t t_start, t_upgrade, t_active, t_end;
  uint64_t bytes_in, bytes_out, messages;
  int net_errno;
  uint64_t fault_seed;
  fwalk out_walk, in_walk;
  size_t idx; /* in the worker's list */
  peer_addr peer;
} conn;

/* "a.b.c.d:port" or "[v6]:port" (a buffer of PEER_STR_MAX bytes). */
#define PEER_STR_MAX (INET6_ADDRSTRLEN + 9)
static const char *peer_str(const peer_addr *p, char *buf) {
  char host[INET6_ADDRSTRLEN];
  buf[0] = '\0';
  if (p->family == AF_INET && inet_ntop(AF_INET, p->addr, host, sizeof(host)))
    snprintf(buf, PEER_STR_MAX, "%s:%u", host, (unsigned)p->port);
  else if (p->family == AF_INET6 &&
           inet_ntop(AF_INET6, p->addr, host, sizeof(host)))
    snprintf(buf, PEER_STR_MAX, "[%s]:%u", host, (unsigned)p->port);
  return buf;
}

typedef struct server {
  serve_opts o;
  /* The clock every deadline reads (ms, monotonic): one place to swap. */
  uint64_t (*clock_ms)(void);
  ws_config *cfg;
  ws_keyset *keys;
  ws_sysenv se;
  ws_fault_plan plan;
  int log_fd;
  pthread_mutex_t log_mu;
  char refuse_limit[320], refuse_nomem[320];
  size_t refuse_limit_len, refuse_nomem_len;
  atomic_long open;
  atomic_ulong sessions, messages, refused;
  atomic_ulong by_diag[WS_DIAG_COUNT_];
  struct worker *w;
  long nw;
} server;

typedef struct worker {
  server *srv;
  int idx, ep, lfd, evfd;
  int listening;
  uint64_t listen_pause_until;
  pthread_t th;
  conn **conns;
  size_t n, cap;
  uint64_t seq;
  uint64_t shutdown_at; /* 0 until shutdown begins */
  uint8_t buf[READ_CHUNK];
} worker;

/* epoll data for the two non-connection fds of a worker. */
static char tag_listen, tag_event;

/* ---- helpers ------------------------------------------------------------- */

static uint64_t monotonic_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u;
}

static int usage_err(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
static int usage_err(const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "wsgate: serve: ");
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\n%s", serve_usage);
  return EXIT_USAGE;
}

static int parse_long(const char *s, long lo, long hi, long *out) {
  char *end;
  long v;
  errno = 0;
  v = strtol(s, &end, 10);
  if (errno || end == s || *end || v < lo || v > hi) return -1;
  *out = v;
  return 0;
}

static char *read_all(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  char *buf = NULL, *p;
  size_t cap = 0, n = 0, r;
  if (!f) return NULL;
  do {
    if (n + 4096 > cap) {
      cap = cap ? cap * 2 : 65536;
      if (!(p = realloc(buf, cap))) {
        free(buf);
        fclose(f);
        errno = ENOMEM;
        return NULL;
      }
      buf = p;
    }
    r = fread(buf + n, 1, cap - n, f);
    n += r;
  } while (r > 0);
  if (ferror(f)) {
    free(buf);
    fclose(f);
    return NULL;
  }
  fclose(f);
  *len = n;
  return buf;
}

static long rss_kb(void) {
  long pages = 0, rss = 0;
  FILE *f = fopen("/proc/self/statm", "r");
  if (!f) return -1;
  if (fscanf(f, "%ld %ld", &pages, &rss) != 2) rss = -1;
  fclose(f);
  return rss < 0 ? -1 : rss * (sysconf(_SC_PAGESIZE) / 1024);
}

static void log_line(server *srv, const char *line, size_t n) {
  pthread_mutex_lock(&srv->log_mu);
  while (n > 0) {
    ssize_t w = write(srv->log_fd, line, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      break; /* a log that cannot be written must not stop serving */
    }
    line += w;
    n -= (size_t)w;
  }
  pthread_mutex_unlock(&srv->log_mu);
}

/* Feeds bytes to a walker; returns how many complete frames with opcode op
 * it saw start (their headers). */
static unsigned fwalk_feed(fwalk *w, const uint8_t *p, size_t n, int op) {
  unsigned found = 0;
  while (n > 0) {
    if (w->skip) {
      uint64_t k = w->skip < n ? w->skip : n;
      w->skip -= k;
      p += k;
      n -= (size_t)k;
      continue;
    }
    w->hdr[w->hn++] = *p++;
    n--;
    if (w->hn == 2) {
      uint8_t l = w->hdr[1] & 0x7f;
      w->need = (uint8_t)(2 +
                          (l == 126   ? 2
                           : l == 127 ? 8
                                      : 0) +
                          (w->hdr[1] & 0x80 ? 4 : 0));
    }
    if (w->hn >= 2 && w->hn == w->need) {
      uint8_t l = w->hdr[1] & 0x7f;
      uint64_t len = l;
      int i;
      if (l == 126) len = (uint64_t)w->hdr[2] << 8 | w->hdr[3];
      if (l == 127)
        for (len = 0, i = 2; i < 10; i++) len = len << 8 | w->hdr[i];
      if ((w->hdr[0] & 0x0f) == op) found++;
      w->skip = len;
      w->hn = 0;
      w->need = 0;
    }
  }
  return found;
}

/* ---- connections --------------------------------------------------------- */

static void ep_set(worker *w, conn *c, uint32_t ev) {
  struct epoll_event e;
  if (c->ev == ev) return;
  memset(&e, 0, sizeof(e));
  e.events = ev;
  e.data.ptr = c;
  if (epoll_ctl(w->ep, EPOLL_CTL_MOD, c->fd, &e) == 0) c->ev = ev;
}

static void conn_log(worker *w, conn *c, const ws_outcome *o,
                     size_t live_blocks) {
  server *srv = w->srv;
  char extra[LOG_LINE_MAX / 2], line[LOG_LINE_MAX], peer[PEER_STR_MAX];
  size_t at, n;
  uint64_t now = srv->clock_ms();
  const char *cw = cw_names[c->cw];
  at = (size_t)snprintf(
      extra, sizeof(extra),
      "\"peer\":\"%s\",\"duration_ms\":%llu,\"bytes_in\":%llu,"
      "\"bytes_out\":%llu,\"messages\":%llu,\"close_wait\":%s%s%s",
      peer_str(&c->peer, peer), (unsigned long long)(now - c->t_start),
      (unsigned long long)c->bytes_in, (unsigned long long)c->bytes_out,
      (unsigned long long)c->messages, cw ? "\"" : "", cw ? cw : "null",
      cw ? "\"" : "");
  if (c->pend_len > c->pend_off && at < sizeof(extra))
    at += (size_t)snprintf(extra + at, sizeof(extra) - at,
                           ",\"unsent_bytes\":%zu", c->pend_len - c->pend_off);
  if (c->net_errno && at < sizeof(extra))
    at += (size_t)snprintf(extra + at, sizeof(extra) - at,
                           ",\"net_error\":\"%s\"", strerror(c->net_errno));
  if (c->refused && at < sizeof(extra))
    at +=
        (size_t)snprintf(extra + at, sizeof(extra) - at, ",\"session\":false");
  if (live_blocks && at < sizeof(extra))
    at += (size_t)snprintf(extra + at, sizeof(extra) - at,
                           ",\"live_blocks\":%zu", live_blocks);
  if (c->fe && at < sizeof(extra)) {
    at += (size_t)snprintf(
        extra + at, sizeof(extra) - at,
        ",\"fault_seed\":%llu,\"faults\":", (unsigned long long)c->fault_seed);
    if (at < sizeof(extra))
      at += ws_fault_trail_json(c->fe->trail, c->fe->trail_len, extra + at,
                                sizeof(extra) - at);
  }
  if (at >= sizeof(extra)) { /* cut: keep the line valid JSON */
    snprintf(extra, sizeof(extra), "\"peer\":\"%s\",\"log_truncated\":true",
             peer);
  }
  n = ws_outcome_json(o, extra, line, sizeof(line) - 1);
  if (n >= sizeof(line) - 1) n = sizeof(line) - 2;
  line[n++] = '\n';
  log_line(srv, line, n);
  atomic_fetch_add(&srv->sessions, 1);
  if (o->diag > 0 && o->diag < WS_DIAG_COUNT_)
    atomic_fetch_add(&srv->by_diag[o->diag], 1);
}

/* Closes and frees c.  The session is freed first, so that the log line can
 * say whether it left memory allocated (the counting allocator sees it
 * without LeakSanitizer; the soak counts such lines). */
static void conn_close(worker *w, conn *c) {
  size_t live;
  conn *last;
  ws_outcome o; /* on the stack: idle connections do not carry one */
  memset(&o, 0, sizeof(o));
  if (c->refused) {
    o.stage = WS_STAGE_HANDSHAKE;
    o.diag = c->refuse_diag;
    o.http_status = ws_diag_get(c->refuse_diag)->http_status;
    snprintf(o.reason, sizeof(o.reason), "%s", c->refuse_reason);
  } else if (c->has_outcome && ws_session_outcome(c->s)) {
    o = *ws_session_outcome(c->s);
  }
  epoll_ctl(w->ep, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  if (c->s) ws_session_free(c->s);
  c->s = NULL;
  live = c->fe ? c->fe->counts.live_blocks : c->live_blocks;
  conn_log(w, c, &o, live);
  free(c->fe);
  last = w->conns[--w->n];
  w->conns[c->idx] = last;
  last->idx = c->idx;
  atomic_fetch_sub(&w->srv->open, 1);
  free(c);
}

/* The session has its outcome (it keeps it until freed): move on to
 * flushing. */
static void conn_ended(conn *c, uint64_t now) {
  const ws_outcome *o = ws_session_outcome(c->s);
  if (c->has_outcome || !o) return;
  c->close_code = o->close_code;
  c->has_outcome = 1;
  c->ph = PH_FLUSH;
  c->t_end = now;
  if (o->close_code && o->diag == WS_DIAG_CLOSE_CLIENT) c->cw = CW_CLIENT;
}

/* Writes pending output.  Returns 1 when all is written, 0 when the socket
 * is full, -1 on a socket error (net_errno set). */
static int conn_flush(server *srv, conn *c, uint64_t now) {
  for (;;) {
    if (c->pend_off == c->pend_len) {
      const uint8_t *p;
      size_t n = c->s ? ws_session_send(c->s, &p) : 0;
      if (n == 0) {
        c->pend = NULL;
        c->pend_len = c->pend_off = 0;
        return 1;
      }
      c->pend = p;
      c->pend_len = n;
      c->pend_off = 0;
      if (ws_session_upgraded(c->s)) {
        unsigned m;
        if (!c->http_done) { /* the 101 head comes first, frames after it */
          const uint8_t *e = memmem(p, n, "\r\n\r\n", 4);
          if (e) {
            c->http_done = 1;
            m = fwalk_feed(&c->out_walk, e + 4, n - (size_t)(e + 4 - p), 1);
          } else {
            m = 0;
          }
        } else {
          m = fwalk_feed(&c->out_walk, p, n, 1);
        }
        if (m) {
          c->messages += m;
          atomic_fetch_add(&srv->messages, m);
        }
      }
    }
    while (c->pend_off < c->pend_len) {
      ssize_t k = send(c->fd, c->pend + c->pend_off, c->pend_len - c->pend_off,
                       MSG_NOSIGNAL);
      if (k < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
        c->net_errno = errno;
        return -1;
      }
      c->pend_off += (size_t)k;
      c->bytes_out += (uint64_t)k;
      c->t_active = now;
    }
  }
}

/* After the outcome and a complete flush: what the connection waits for.
 * Returns -1 when c was closed (freed). */
static int conn_after_flush(worker *w, conn *c) {
  if (c->close_code && c->cw == CW_NONE && !c->eof_in) {
    c->ph = PH_WAIT; /* server closed first: the client should answer */
    ep_set(w, c, EPOLLIN | EPOLLRDHUP);
    return 0;
  }
  if (c->eof_in) { /* the client is gone already: nothing to wait for */
    if (c->close_code && c->cw == CW_NONE) c->cw = CW_EOF;
    conn_close(w, c);
    return -1;
  }
  shutdown(c->fd, SHUT_WR);
  c->shut_wr = 1;
  c->ph = PH_LINGER;
  ep_set(w, c, EPOLLIN | EPOLLRDHUP);
  return 0;
}

/* Drives output and the phase after anything happened to c.  Returns 0, or
 * -1 when c was closed (freed). */
static int conn_pump(worker *w, conn *c, uint64_t now) {
  int r;
  if (c->ph == PH_WAIT || c->ph == PH_LINGER) return 0;
  r = conn_flush(w->srv, c, now);
  if (r < 0) {
    if (!c->has_outcome) { /* the peer is gone mid-session */
      ws_session_eof(c->s);
      conn_ended(c, now);
    }
    if (c->close_code && c->cw == CW_NONE) c->cw = CW_EOF;
    conn_close(w, c);
    return -1;
  }
  if (r == 0) {
    ep_set(w, c, EPOLLOUT); /* backpressure: no reading until drained */
    return 0;
  }
  if (c->ph == PH_RUN) {
    ep_set(w, c, EPOLLIN | EPOLLRDHUP);
    return 0;
  }
  return conn_after_flush(w, c);
}

static void conn_read(worker *w, conn *c, uint64_t now) {
  int i;
  for (i = 0; i < READS_PER_EVENT; i++) {
    ssize_t n = recv(c->fd, w->buf, sizeof(w->buf), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      c->net_errno = errno; /* reset by the peer, typically */
      if (c->ph == PH_RUN) {
        ws_session_eof(c->s);
        conn_ended(c, now);
      }
      if (c->close_code && c->cw == CW_NONE) c->cw = CW_EOF;
      conn_close(w, c);
      return;
    }
    if (n == 0) {
      c->eof_in = 1;
      if (c->ph == PH_RUN) {
        ws_session_eof(c->s);
        conn_ended(c, now);
      } else if (c->ph == PH_WAIT) {
        c->cw = CW_EOF;
        conn_close(w, c);
        return;
      } else if (c->ph == PH_LINGER) {
        conn_close(w, c);
        return;
      }
      break;
    }
    c->bytes_in += (uint64_t)n;
    c->t_active = now;
    if (c->ph == PH_RUN) {
      ws_session_recv(c->s, w->buf, (size_t)n);
      if (!c->t_upgrade && ws_session_upgraded(c->s)) c->t_upgrade = now;
      conn_ended(c, now);
      break; /* write the replies before reading more */
    }
    if (c->ph == PH_WAIT && fwalk_feed(&c->in_walk, w->buf, (size_t)n, 8)) {
      c->cw = CW_ANSWERED;
      shutdown(c->fd, SHUT_WR);
      c->shut_wr = 1;
      c->ph = PH_LINGER;
    }
    /* FLUSH is not read (backpressure); LINGER drops what it reads. */
  }
  conn_pump(w, c, now);
}

/* Without faults a session's allocator only counts its live blocks, for the
 * log line's live_blocks (a session that did not free everything).  No
 * header in front of each block (unlike ws_countalloc's, which records the
 * size and the allocation site): an idle session is a few blocks, and a
 * header on each would be a sizeable part of it. */
static void *blk_malloc(size_t n, void *ud) {
  void *p = malloc(n);
  if (p) ++*(size_t *)ud;
  return p;
}

static void *blk_calloc(size_t k, size_t n, void *ud) {
  void *p = calloc(k, n);
  if (p) ++*(size_t *)ud;
  return p;
}

static void *blk_realloc(void *p, size_t n, void *ud) {
  if (!p) return blk_malloc(n, ud);
  return realloc(p, n ? n : 1); /* the block lives on, moved or failed */
}

static void blk_free(void *p, void *ud) {
  if (!p) return;
  free(p);
  --*(size_t *)ud;
}

static void conn_refuse_outcome(conn *c, ws_diag d, const char *reason) {
  c->close_code = 0;
  c->refuse_diag = d;
  c->refuse_reason = reason; /* a literal */
  c->has_outcome = 1;
  c->refused = 1;
  c->ph = PH_FLUSH;
}

static void conn_new(worker *w, int fd, const struct sockaddr_storage *ss,
                     uint64_t now) {
  server *srv = w->srv;
  struct epoll_event e;
  conn *c;
  conn **grown;
  ws_env env;
  int one = 1, rc;

  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (w->n == w->cap) {
    size_t cap = w->cap ? w->cap * 2 : 256;
    if (!(grown = realloc(w->conns, cap * sizeof(*grown)))) {
      close(fd); /* the host is out of memory: nothing can be said */
      return;
    }
    w->conns = grown;
    w->cap = cap;
  }
  if (!(c = calloc(1, sizeof(*c)))) {
    close(fd);
    return;
  }
  c->fd = fd;
  c->t_start = c->t_active = now;
  if (ss->ss_family == AF_INET) {
    const struct sockaddr_in *a = (const void *)ss;
    memcpy(c->peer.addr, &a->sin_addr, 4);
    c->peer.port = ntohs(a->sin_port);
    c->peer.family = AF_INET;
  } else if (ss->ss_family == AF_INET6) {
    const struct sockaddr_in6 *a = (const void *)ss;
    memcpy(c->peer.addr, &a->sin6_addr, 16);
    c->peer.port = ntohs(a->sin6_port);
    c->peer.family = AF_INET6;
  }
  c->idx = w->n;
  w->conns[w->n++] = c;
  memset(&e, 0, sizeof(e));
  e.events = EPOLLIN | EPOLLRDHUP;
  e.data.ptr = c;
  c->ev = e.events;
  atomic_fetch_add(&srv->open, 1);
  if (epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &e) != 0) {
    c->ev = 0;
    conn_refuse_outcome(c, WS_DIAG_HS_NOMEM, "HS_NOMEM: epoll");
    conn_close(w, c);
    return;
  }
  if (atomic_load(&srv->open) > srv->o.max_conns) {
    atomic_fetch_add(&srv->refused, 1);
    conn_refuse_outcome(c, WS_DIAG_HS_CONN_LIMIT, "HS_CONN_LIMIT");
    c->pend = (const uint8_t *)srv->refuse_limit;
    c->pend_len = srv->refuse_limit_len;
    conn_pump(w, c, now);
    return;
  }
  ws_sysenv_fill(&srv->se, &env);
  if (srv->o.has_rate) {
    ws_fault_plan plan = srv->plan;
    uint64_t x = (uint64_t)srv->o.fault_seed ^
                 ((uint64_t)w->idx << 48 | (w->seq & 0xffffffffffffull));
    c->fault_seed = ws_splitmix64(&x);
    ws_fault_plan_set_rate(&plan, srv->o.rate, c->fault_seed);
    if (!(c->fe = malloc(sizeof(*c->fe)))) {
      rc = WS_ERR_NOMEM;
      goto refuse;
    }
    ws_fault_env_init(c->fe, &env, &plan);
    rc = ws_session_new(&c->s, srv->cfg, srv->keys, &c->fe->env);
  } else {
    env.alloc.malloc = blk_malloc;
    env.alloc.calloc = blk_calloc;
    env.alloc.realloc = blk_realloc;
    env.alloc.free = blk_free;
    env.alloc.user_data = &c->live_blocks;
    rc = ws_session_new(&c->s, srv->cfg, srv->keys, &env);
  }
  w->seq++;
  if (rc == WS_OK) return;
refuse:
  /* No session: the table's 503 for HS_NOMEM, written from a static copy. */
  c->s = NULL;
  conn_refuse_outcome(c, WS_DIAG_HS_NOMEM, "HS_NOMEM: session");
  c->pend = (const uint8_t *)srv->refuse_nomem;
  c->pend_len = srv->refuse_nomem_len;
  conn_pump(w, c, now);
}

static void accept_all(worker *w, uint64_t now) {
  int i;
  for (i = 0; i < 64; i++) {
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    int fd = accept4(w->lfd, (struct sockaddr *)&ss, &sl,
                     SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
          errno == ENOMEM) {
        /* Out of descriptors: stop accepting for a moment rather than spin
         * on a listener that stays readable. */
        epoll_ctl(w->ep, EPOLL_CTL_DEL, w->lfd, NULL);
        w->listening = 0;
        w->listen_pause_until = now + 200;
      }
      return;
    }
    conn_new(w, fd, &ss, now);
  }
}

/* Whether c's current deadline has passed (the rules are in
 * serve_deadline.c, where a test drives them with its own clock). */
static int conn_due(const server *srv, const conn *c, uint64_t now) {
  const serve_opts *o = &srv->o;
  ws_deadline_limits l;
  ws_conn_times t;
  l.handshake_ms = (uint64_t)o->hs_ms;
  l.auth_ms = (uint64_t)o->auth_ms;
  l.idle_ms = (uint64_t)o->idle_ms;
  l.close_ms = (uint64_t)o->close_ms;
  t.start = c->t_start;
  t.upgrade = c->t_upgrade;
  t.active = c->t_active;
  t.end = c->t_end;
  t.ended = c->ph != PH_RUN;
  t.upgraded = !t.ended && ws_session_upgraded(c->s);
  t.authenticated = t.upgraded && ws_session_context(c->s) != NULL;
  return ws_deadline_passed(&l, &t, now, NULL);
}

static void conn_expire(worker *w, conn *c, uint64_t now) {
  if (c->ph == PH_RUN) {
    ws_session_timeout(c->s);
    conn_ended(c, now);
    conn_pump(w, c, now);
    return;
  }
  /* close_timeout: in FLUSH the client is not reading, in WAIT it did not
   * answer, in LINGER it did not close. */
  if (c->close_code && c->cw == CW_NONE) c->cw = CW_TIMEOUT;
  conn_close(w, c);
}

static void tick(worker *w, uint64_t now) {
  size_t i = 0;
  server *srv = w->srv;
  if (!w->listening && !w->shutdown_at && now >= w->listen_pause_until &&
      w->lfd >= 0) {
    struct epoll_event e;
    memset(&e, 0, sizeof(e));
    e.events = EPOLLIN;
    e.data.ptr = &tag_listen;
    if (epoll_ctl(w->ep, EPOLL_CTL_ADD, w->lfd, &e) == 0) w->listening = 1;
  }
  while (i < w->n) {
    conn *c = w->conns[i];
    if (w->shutdown_at && now >= w->shutdown_at + (uint64_t)srv->o.grace_ms) {
      if (c->ph == PH_RUN) { /* cannot be: shutdown ended every session */
        ws_session_shutdown(c->s);
        conn_ended(c, now);
      }
      if (c->close_code && c->cw == CW_NONE) c->cw = CW_SHUTDOWN;
      conn_close(w, c); /* c's slot now holds another connection */
      continue;
    }
    if (conn_due(srv, c, now)) {
      size_t n = w->n;
      conn_expire(w, c, now);
      if (w->n < n) continue; /* closed: slot i was refilled */
    }
    i++;
  }
}

static void begin_shutdown(worker *w, uint64_t now) {
  size_t i = 0;
  w->shutdown_at = now;
  if (w->lfd >= 0) {
    epoll_ctl(w->ep, EPOLL_CTL_DEL, w->lfd, NULL);
    close(w->lfd);
    w->lfd = -1;
    w->listening = 0;
  }
  while (i < w->n) {
    conn *c = w->conns[i];
    size_t n = w->n;
    if (c->ph == PH_RUN) {
      ws_session_shutdown(c->s);
      conn_ended(c, now);
      conn_pump(w, c, now);
    }
    if (w->n == n) i++;
  }
}

static void *worker_main(void *arg) {
  worker *w = arg;
  server *srv = w->srv;
  struct epoll_event ev[256];
  uint64_t last_tick = srv->clock_ms();
  for (;;) {
    int n, i, stop = 0;
    uint64_t now;
    if (w->shutdown_at && w->n == 0) break;
    n = epoll_wait(w->ep, ev, 256, TICK_MS);
    now = srv->clock_ms();
    if (n < 0 && errno != EINTR) break;
    for (i = 0; i < n; i++) {
      void *p = ev[i].data.ptr;
      if (p == &tag_listen) {
        if (!w->shutdown_at) accept_all(w, now);
      } else if (p == &tag_event) {
        uint64_t v;
        if (read(w->evfd, &v, sizeof(v)) < 0) { /* already drained */
        }
        stop = 1; /* after the batch: it closes connections in it */
      } else {
        conn *c = p;
        if (c->pend_off < c->pend_len)
          conn_pump(w, c, now); /* output first: never read over it */
        else if (ev[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
          conn_read(w, c, now);
        else if (ev[i].events & EPOLLOUT)
          conn_pump(w, c, now);
      }
    }
    if (stop && !w->shutdown_at) begin_shutdown(w, now);
    if (now - last_tick >= TICK_MS) {
      tick(w, now);
      last_tick = now;
    }
  }
  return NULL;
}

/* ---- start-up ------------------------------------------------------------ */

static int parse_listen(const char *spec, struct sockaddr_storage *ss,
                        socklen_t *sl) {
  char host[128];
  const char *colon;
  long port;
  size_t hl;
  memset(ss, 0, sizeof(*ss));
  if (spec[0] == '[') {
    const char *end = strchr(spec, ']');
    if (!end || end[1] != ':') return -1;
    hl = (size_t)(end - spec - 1);
    colon = end + 1;
    if (hl >= sizeof(host)) return -1;
    memcpy(host, spec + 1, hl);
  } else {
    colon = strrchr(spec, ':');
    if (!colon) return -1;
    hl = (size_t)(colon - spec);
    if (hl >= sizeof(host)) return -1;
    memcpy(host, spec, hl);
  }
  host[hl] = '\0';
  if (parse_long(colon + 1, 0, 65535, &port)) return -1;
  if (spec[0] == '[') {
    struct sockaddr_in6 *a = (void *)ss;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons((uint16_t)port);
    if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1) return -1;
    *sl = sizeof(*a);
  } else {
    struct sockaddr_in *a = (void *)ss;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    if (strcmp(host, "localhost") == 0)
      snprintf(host, sizeof(host), "%s", "127.0.0.1");
    if (inet_pton(AF_INET, host, &a->sin_addr) != 1) return -1;
    *sl = sizeof(*a);
  }
  return 0;
}

static int make_listener(struct sockaddr_storage *ss, socklen_t sl) {
  int one = 1;
  int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
      setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0 ||
      bind(fd, (struct sockaddr *)ss, sl) != 0 || listen(fd, 4096) != 0) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  /* Port 0: the others bind to the port the first one got. */
  getsockname(fd, (struct sockaddr *)ss, &sl);
  return fd;
}

static int parse_serve_args(int argc, char **argv, serve_opts *o) {
  int i;
  long v;
  memset(o, 0, sizeof(*o));
  o->listen = "127.0.0.1:8080";
  o->threads = sysconf(_SC_NPROCESSORS_ONLN);
  if (o->threads < 1) o->threads = 1;
  o->max_conns = 10000;
  o->hs_ms = 10000;
  o->auth_ms = 10000;
  o->idle_ms = 60000;
  o->close_ms = 2000;
  o->grace_ms = 5000;
  o->stats_s = 10;
  for (i = 0; i < argc; i += 2) {
    const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
    struct {
      const char *name;
      long *dst, lo, hi;
    } nums[] = {
        {"--threads", &o->threads, 1, 256},
        {"--max-conns", &o->max_conns, 1, 1000000},
        {"--handshake-timeout", &o->hs_ms, 1, 86400000},
        {"--auth-timeout", &o->auth_ms, 1, 86400000},
        {"--idle-timeout", &o->idle_ms, 1, 86400000},
        {"--close-timeout", &o->close_ms, 1, 600000},
        {"--grace", &o->grace_ms, 0, 600000},
        {"--stats-interval", &o->stats_s, 0, 86400},
    };
    size_t k;
    int matched = 0;
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      fputs(serve_usage, stdout);
      return -1;
    }
    if (!val) return usage_err("unknown argument or missing value: %s", a);
    for (k = 0; k < sizeof(nums) / sizeof(nums[0]); k++) {
      if (strcmp(a, nums[k].name) != 0) continue;
      if (parse_long(val, nums[k].lo, nums[k].hi, &v))
        return usage_err("%s: '%s' is not an integer in [%ld, %ld]", a, val,
                         nums[k].lo, nums[k].hi);
      *nums[k].dst = v;
      matched = 1;
    }
    if (matched) continue;
    if (strcmp(a, "--listen") == 0) {
      o->listen = val;
    } else if (strcmp(a, "--keys") == 0) {
      o->keys = val;
    } else if (strcmp(a, "--config") == 0) {
      o->config = val;
    } else if (strcmp(a, "--log") == 0) {
      o->log = val;
    } else if (strcmp(a, "--fault-rate") == 0) {
      char *end;
      errno = 0;
      o->rate = strtod(val, &end);
      if (errno || end == val || *end || !(o->rate >= 0.0 && o->rate <= 1.0))
        return usage_err("--fault-rate: '%s' is not a probability in [0, 1]",
                         val);
      o->has_rate = 1;
    } else if (strcmp(a, "--fault-seed") == 0) {
      char *end;
      errno = 0;
      o->fault_seed = strtoll(val, &end, 10);
      if (errno || end == val || *end || o->fault_seed < 0)
        return usage_err("--fault-seed: '%s' is not a non-negative integer",
                         val);
      o->has_fault_seed = 1;
    } else {
      return usage_err("unknown argument '%s'", a);
    }
  }
  if (o->has_fault_seed && !o->has_rate)
    return usage_err("--fault-seed needs --fault-rate");
  return 0;
}

static int load_files(server *srv) {
  char err[512], *doc;
  size_t len = 0;
  const serve_opts *o = &srv->o;
  if (o->config) {
    if (!(doc = read_all(o->config, &len))) {
      fprintf(stderr, "wsgate: serve: --config %s: %s\n", o->config,
              strerror(errno));
      return EXIT_USAGE;
    }
    if (ws_config_new(&srv->cfg, doc, len, err, sizeof(err)) != WS_OK) {
      fprintf(stderr, "wsgate: serve: --config %s: %s\n", o->config, err);
      free(doc);
      return EXIT_USAGE;
    }
    free(doc);
  } else if (ws_config_new(&srv->cfg, NULL, 0, err, sizeof(err)) != WS_OK) {
    fprintf(stderr, "wsgate: serve: config: %s\n", err);
    return 1;
  }
  if (o->keys) {
    if (!(doc = read_all(o->keys, &len))) {
      fprintf(stderr, "wsgate: serve: --keys %s: %s\n", o->keys,
              strerror(errno));
      return EXIT_USAGE;
    }
    if (ws_keyset_load(&srv->keys, doc, len, err, sizeof(err)) != WS_OK) {
      fprintf(stderr, "wsgate: serve: --keys %s: %s\n", o->keys, err);
      free(doc);
      return EXIT_USAGE;
    }
    free(doc);
  } else if (ws_keyset_empty(&srv->keys) != WS_OK) {
    fprintf(stderr, "wsgate: serve: out of memory\n");
    return 1;
  }
  return 0;
}

static void print_stats(server *srv, double secs, unsigned long *last_sess,
                        unsigned long *last_msgs, int final) {
  char line[LOG_LINE_MAX];
  size_t at;
  int i, first = 1;
  unsigned long sess = atomic_load(&srv->sessions);
  unsigned long msgs = atomic_load(&srv->messages);
  at = (size_t)snprintf(
      line, sizeof(line),
      "{\"stats\":%s,\"open\":%ld,\"sessions\":%lu,\"sessions_per_s\":%.1f,"
      "\"messages\":%lu,\"messages_per_s\":%.1f,\"refused\":%lu,\"rss_kb\":%ld,"
      "\"outcomes\":{",
      final ? "\"final\"" : "\"periodic\"", atomic_load(&srv->open), sess,
      secs > 0 ? (double)(sess - *last_sess) / secs : 0.0, msgs,
      secs > 0 ? (double)(msgs - *last_msgs) / secs : 0.0,
      atomic_load(&srv->refused), rss_kb());
  for (i = 1; i < WS_DIAG_COUNT_ && at < sizeof(line); i++) {
    unsigned long v = atomic_load(&srv->by_diag[i]);
    if (!v) continue;
    at += (size_t)snprintf(line + at, sizeof(line) - at, "%s\"%s\":%lu",
                           first ? "" : ",", ws_diag_get((ws_diag)i)->code, v);
    first = 0;
  }
  if (at < sizeof(line))
    at += (size_t)snprintf(line + at, sizeof(line) - at, "}}\n");
  if (at >= sizeof(line)) at = sizeof(line) - 1;
  log_line(srv, line, at);
  *last_sess = sess;
  *last_msgs = msgs;
}

int cmd_serve(int argc, char **argv) {
  server *srv;
  struct sockaddr_storage ss;
  socklen_t sl = 0;
  sigset_t sigs;
  char addr[INET6_ADDRSTRLEN + 8];
  int rc, sig;
  long i, started = 0;
  uint64_t t_stats;
  unsigned long last_sess = 0, last_msgs = 0, trimmed_at = 0;

  if (!(srv = calloc(1, sizeof(*srv)))) return 1;
  srv->clock_ms = monotonic_ms;
  rc = parse_serve_args(argc, argv, &srv->o);
  if (rc != 0) {
    free(srv);
    return rc < 0 ? 0 : rc;
  }
  if (parse_listen(srv->o.listen, &ss, &sl) != 0) {
    free(srv);
    return usage_err("--listen: '%s' is not IPV4:PORT or [IPV6]:PORT",
                     srv->o.listen);
  }
  rc = ws_global_init();
  if (rc != WS_OK) {
    fprintf(stderr, "wsgate: init: %s\n", ws_strerror(rc));
    free(srv);
    return 1;
  }
  if ((rc = load_files(srv)) != 0) goto out;
  rc = 1;
  srv->log_fd = 2;
  if (srv->o.log &&
      (srv->log_fd = open(srv->o.log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
                          0644)) < 0) {
    fprintf(stderr, "wsgate: serve: --log %s: %s\n", srv->o.log,
            strerror(errno));
    rc = EXIT_USAGE;
    goto out;
  }
  pthread_mutex_init(&srv->log_mu, NULL);
  ws_fault_plan_init(&srv->plan);
  srv->refuse_limit_len =
      ws_diag_http_response(WS_DIAG_HS_CONN_LIMIT, NULL, srv->refuse_limit,
                            sizeof(srv->refuse_limit));
  srv->refuse_nomem_len =
      ws_diag_http_response(WS_DIAG_HS_NOMEM, "session", srv->refuse_nomem,
                            sizeof(srv->refuse_nomem));
  signal(SIGPIPE, SIG_IGN);
  /* Signals are taken by this thread with sigtimedwait; the workers never
   * see them. */
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, NULL);

  srv->nw = srv->o.threads;
  if (!(srv->w = calloc((size_t)srv->nw, sizeof(worker)))) goto out;
  for (i = 0; i < srv->nw; i++) {
    worker *w = &srv->w[i];
    struct epoll_event e;
    w->srv = srv;
    w->idx = (int)i;
    w->lfd = w->ep = w->evfd = -1;
    if ((w->lfd = make_listener(&ss, sl)) < 0) {
      fprintf(stderr, "wsgate: serve: listen on %s: %s\n", srv->o.listen,
              strerror(errno));
      goto out;
    }
    if ((w->ep = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
        (w->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
      fprintf(stderr, "wsgate: serve: epoll: %s\n", strerror(errno));
      goto out;
    }
    memset(&e, 0, sizeof(e));
    e.events = EPOLLIN;
    e.data.ptr = &tag_listen;
    epoll_ctl(w->ep, EPOLL_CTL_ADD, w->lfd, &e);
    e.data.ptr = &tag_event;
    epoll_ctl(w->ep, EPOLL_CTL_ADD, w->evfd, &e);
    w->listening = 1;
  }
  if (ss.ss_family == AF_INET) {
    struct sockaddr_in *a = (void *)&ss;
    inet_ntop(AF_INET, &a->sin_addr, addr, sizeof(addr));
    printf("{\"listening\":\"%s:%d\",\"threads\":%ld,\"pid\":%ld}\n", addr,
           ntohs(a->sin_port), srv->nw, (long)getpid());
  } else {
    struct sockaddr_in6 *a = (void *)&ss;
    inet_ntop(AF_INET6, &a->sin6_addr, addr, sizeof(addr));
    printf("{\"listening\":\"[%s]:%d\",\"threads\":%ld,\"pid\":%ld}\n", addr,
           ntohs(a->sin6_port), srv->nw, (long)getpid());
  }
  fflush(stdout);
  for (i = 0; i < srv->nw; i++) {
    if (pthread_create(&srv->w[i].th, NULL, worker_main, &srv->w[i]) != 0) {
      fprintf(stderr, "wsgate: serve: cannot start thread %ld\n", i);
      break;
    }
    started++;
  }
  t_stats = srv->clock_ms();
  for (;;) {
    struct timespec ts = {1, 0};
    uint64_t now;
    if (started < srv->nw) break; /* could not start: shut down at once */
    sig = sigtimedwait(&sigs, NULL, &ts);
    if (sig == SIGINT || sig == SIGTERM) break;
    now = srv->clock_ms();
    /* Every session gone after a burst: give the freed heap back to the
     * system (glibc keeps it otherwise), so that RSS follows the load. */
    if (atomic_load(&srv->open) == 0 &&
        atomic_load(&srv->sessions) != trimmed_at) {
      trimmed_at = atomic_load(&srv->sessions);
      malloc_trim(0);
    }
    if (srv->o.stats_s && now - t_stats >= (uint64_t)srv->o.stats_s * 1000u) {
      print_stats(srv, (double)(now - t_stats) / 1000.0, &last_sess, &last_msgs,
                  0);
      t_stats = now;
    }
  }
  for (i = 0; i < started; i++) {
    uint64_t one = 1;
    if (write(srv->w[i].evfd, &one, sizeof(one)) < 0) { /* cannot fail */
    }
  }
  for (i = 0; i < started; i++) pthread_join(srv->w[i].th, NULL);
  {
    uint64_t now = srv->clock_ms();
    print_stats(srv, (double)(now - t_stats) / 1000.0, &last_sess, &last_msgs,
                1);
  }
  rc = started == srv->nw ? 0 : 1;
out:
  if (srv->w) {
    for (i = 0; i < srv->nw; i++) {
      worker *w = &srv->w[i];
      if (w->lfd >= 0) close(w->lfd);
      if (w->ep >= 0) close(w->ep);
      if (w->evfd >= 0) close(w->evfd);
      free(w->conns);
    }
    free(srv->w);
  }
  if (srv->log_fd > 2) close(srv->log_fd);
  ws_keyset_free(srv->keys);
  ws_config_free(srv->cfg);
  free(srv);
  return rc;
}
