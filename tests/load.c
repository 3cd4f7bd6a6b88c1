/* wsload: a WebSocket load generator for tests/bench_serve.sh.
 *
 * epoll, many connections per thread, loopback only, bounded in connections
 * and time.  Speaks just enough RFC 6455 for the benchmark: an upgrade with
 * a bearer token, masked text frames, and a frame parser that counts the
 * server's text replies and sees its close.  Works against any server that
 * answers {"type":"ping"} with a pong and {"type":"user_message"} with an
 * ack (wsgate serve, tests/peers/node_ws_server.js).
 *
 * usage: wsload MODE --port P --token T [--conns N] [--secs S]
 *               [--threads T] [--pipeline K] [--interval-ms M]
 * MODE:
 *   msgs      N connections, each keeps K user_messages in flight;
 *             prints messages/s (replies received)
 *   sessions  N concurrent loops of: connect, upgrade with the token, 10
 *             user_messages, close handshake, TCP close; prints sessions/s
 *   rtt       N connections, one ping in flight each; prints p50/p99 round
 *             trip in microseconds.  By default each connection sends its
 *             next ping as soon as the pong arrives (closed loop: every
 *             connection busy, so the round trip is mostly queueing and
 *             p50 is about N / pings per second); with --interval-ms M each
 *             connection sends one ping every M ms (starts spread over the
 *             first M ms), so the server is not saturated and the figure is
 *             the round trip of a ping on a server holding N connections
 *   idle      opens N connections, upgrades them, prints a "ready" line,
 *             holds them for S seconds, closes them
 * One JSON line of results on stdout.  Exit 0, 1 when connections failed,
 * 2 for bad arguments. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum mode { M_MSGS, M_SESSIONS, M_RTT, M_IDLE };
enum cstate { C_CONNECTING, C_HANDSHAKE, C_OPEN, C_CLOSING, C_DONE };

#define SESSION_MSGS 10
#define INBUF 8192

typedef struct lconn {
  int fd;
  enum cstate st;
  uint8_t in[INBUF];
  size_t in_len;
  uint8_t *out; /* unsent bytes (rare: small frames usually go at once) */
  size_t out_len, out_cap;
  int inflight, replies;
  int settled;      /* counted in G.settled (open, or failed before that) */
  uint64_t t_sent;  /* rtt: when the ping went */
  uint64_t next_at; /* rtt with --interval-ms: when the next ping is due */
} lconn;

typedef struct lthread {
  pthread_t th;
  int id, ep, nconns;
  lconn *conns;
  unsigned long messages, sessions, errors, opened;
  uint64_t *rtt;
  size_t nrtt, rtt_cap;
} lthread;

static struct {
  enum mode mode;
  int port, conns, threads, pipeline;
  uint64_t interval_us; /* rtt: 0 = closed loop, else one ping per this */
  double secs;
  const char *token;
  char request[8192];
  size_t request_len;
  uint8_t msg[256], ping[64], close_fr[16];
  size_t msg_len, ping_len, close_len;
  volatile int ready_count;
  volatile int settled; /* connections open or failed before opening */
  volatile uint64_t t_end;
} G;

static uint64_t now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u;
}

/* A masked client frame (fixed mask key: the benchmark is not a client a
 * proxy must be protected from; RFC 6455 10.3). */
static size_t mk_frame(uint8_t *out, int op, const void *p, size_t n) {
  static const uint8_t mask[4] = {0x12, 0x34, 0x56, 0x78};
  size_t i, h = 2;
  out[0] = (uint8_t)(0x80 | op);
  out[1] = (uint8_t)(0x80 | n); /* n < 126 here */
  memcpy(out + h, mask, 4);
  h += 4;
  for (i = 0; i < n; i++) out[h + i] = ((const uint8_t *)p)[i] ^ mask[i & 3];
  return h + n;
}

static int conn_write(lconn *c, const uint8_t *p, size_t n) {
  if (c->out_len == 0) {
    ssize_t k = send(c->fd, p, n, MSG_NOSIGNAL);
    if (k < 0 && errno != EAGAIN) return -1;
    if (k < 0) k = 0;
    p += k;
    n -= (size_t)k;
  }
  if (n) {
    if (c->out_len + n > c->out_cap) {
      size_t cap = (c->out_len + n) * 2;
      uint8_t *q = realloc(c->out, cap);
      if (!q) return -1;
      c->out = q;
      c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, p, n);
    c->out_len += n;
  }
  return 0;
}

static int conn_flush(lconn *c) {
  while (c->out_len) {
    ssize_t k = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL);
    if (k < 0) return errno == EAGAIN ? 0 : -1;
    memmove(c->out, c->out + k, c->out_len - (size_t)k);
    c->out_len -= (size_t)k;
  }
  return 0;
}

static int conn_open(lthread *t, lconn *c) {
  struct sockaddr_in a;
  struct epoll_event e;
  int one = 1;
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)G.port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c->fd < 0) return -1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  c->st = C_CONNECTING;
  c->in_len = c->out_len = 0;
  c->inflight = c->replies = 0;
  if (connect(c->fd, (struct sockaddr *)&a, sizeof(a)) < 0 &&
      errno != EINPROGRESS) {
    close(c->fd);
    c->fd = -1;
    return -1;
  }
  memset(&e, 0, sizeof(e));
  e.events = EPOLLIN | EPOLLOUT;
  e.data.ptr = c;
  if (epoll_ctl(t->ep, EPOLL_CTL_ADD, c->fd, &e) < 0) {
    close(c->fd);
    c->fd = -1;
    return -1;
  }
  t->opened++;
  return 0;
}

static void settle(lconn *c) {
  if (c->settled) return;
  c->settled = 1;
  __sync_fetch_and_add(&G.settled, 1);
}

static void conn_drop(lthread *t, lconn *c) {
  settle(c);
  if (c->fd >= 0) {
    epoll_ctl(t->ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
  }
  c->fd = -1;
  c->st = C_DONE;
}

static void rtt_add(lthread *t, uint64_t us) {
  if (t->nrtt == t->rtt_cap) {
    size_t cap = t->rtt_cap ? t->rtt_cap * 2 : 65536;
    uint64_t *q = realloc(t->rtt, cap * sizeof(*q));
    if (!q) return;
    t->rtt = q;
    t->rtt_cap = cap;
  }
  t->rtt[t->nrtt++] = us;
}

static void session_next(lthread *t, lconn *c, int ok);

/* A connection failed: sessions mode counts it and starts the next one. */
static void conn_fail(lthread *t, lconn *c) {
  if (G.mode == M_SESSIONS) {
    session_next(t, c, 0);
  } else {
    t->errors++;
    conn_drop(t, c);
  }
}

/* Sends what the mode wants in flight now. */
static int conn_feed(lthread *t, lconn *c) {
  (void)t;
  if (G.mode == M_MSGS) {
    /* All the frames this connection may add, in one write. */
    uint8_t batch[1000 * sizeof(G.msg)];
    size_t n = 0;
    while (c->inflight < G.pipeline) {
      memcpy(batch + n, G.msg, G.msg_len);
      n += G.msg_len;
      c->inflight++;
    }
    if (n && conn_write(c, batch, n)) return -1;
  } else if (G.mode == M_RTT && c->inflight == 0) {
    uint64_t now = now_us();
    if (G.interval_us) {
      if (now < c->next_at) return 0; /* thread_main sends it when due */
      /* The schedule is kept even when a pong was late: never a burst. */
      c->next_at += G.interval_us;
      if (c->next_at < now) c->next_at = now + G.interval_us;
    }
    c->t_sent = now;
    if (conn_write(c, G.ping, G.ping_len)) return -1;
    c->inflight = 1;
  } else if (G.mode == M_SESSIONS && c->inflight == 0 && c->replies == 0) {
    uint8_t batch[SESSION_MSGS * sizeof(G.msg)];
    size_t n = 0;
    int i;
    for (i = 0; i < SESSION_MSGS; i++, n += G.msg_len)
      memcpy(batch + n, G.msg, G.msg_len);
    if (conn_write(c, batch, n)) return -1;
    c->inflight = SESSION_MSGS;
  }
  return 0;
}

/* One session finished (sessions mode): count it and start the next. */
static void session_next(lthread *t, lconn *c, int ok) {
  if (ok)
    t->sessions++;
  else
    t->errors++;
  conn_drop(t, c);
  if (now_us() < G.t_end && conn_open(t, c) != 0) t->errors++;
}

static void conn_input(lthread *t, lconn *c) {
  size_t off = 0;
  if (c->st == C_HANDSHAKE) {
    uint8_t *e = memmem(c->in, c->in_len, "\r\n\r\n", 4);
    if (!e) return;
    if (c->in_len < 12 || memcmp(c->in, "HTTP/1.1 101", 12) != 0) {
      conn_fail(t, c);
      return;
    }
    off = (size_t)(e + 4 - c->in);
    c->st = C_OPEN;
    if (G.interval_us)
      c->next_at = now_us() + G.interval_us * (uint64_t)(c - t->conns) /
                                  (uint64_t)t->nconns;
    __sync_fetch_and_add(&G.ready_count, 1);
    settle(c);
    if (conn_feed(t, c)) {
      conn_fail(t, c);
      return;
    }
  }
  for (;;) {
    size_t n, h = 2, avail = c->in_len - off;
    uint8_t *p = c->in + off;
    int op;
    if (avail < 2) break;
    n = p[1] & 0x7f;
    if (n == 126) {
      if (avail < 4) break;
      n = (size_t)p[2] << 8 | p[3];
      h = 4;
    } else if (n == 127) {
      conn_fail(t, c); /* no reply here is that big */
      return;
    }
    if (avail < h + n) break;
    op = p[0] & 0x0f;
    off += h + n;
    if (op == 1) {
      c->inflight--;
      c->replies++;
      t->messages++;
      if (G.mode == M_RTT && G.settled >= G.conns)
        rtt_add(t, now_us() - c->t_sent);
      if (G.mode == M_SESSIONS && c->replies == SESSION_MSGS) {
        if (conn_write(c, G.close_fr, G.close_len)) {
          session_next(t, c, 0);
          return;
        }
        c->st = C_CLOSING;
      }
    } else if (op == 8) {
      if (G.mode == M_SESSIONS && c->st == C_CLOSING) {
        /* Echo received: wait for the server's TCP close. */
        c->st = C_DONE;
      } else {
        conn_fail(t, c); /* the server closed the session */
        return;
      }
    }
  }
  memmove(c->in, c->in + off, c->in_len - off);
  c->in_len -= off;
  if (c->st == C_OPEN && G.mode != M_SESSIONS && now_us() < G.t_end &&
      conn_feed(t, c))
    conn_fail(t, c);
}

static void on_event(lthread *t, lconn *c, uint32_t ev) {
  if (c->st == C_CONNECTING && (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
    int err = 0;
    socklen_t l = sizeof(err);
    struct epoll_event e;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
    if (err) {
      t->errors++;
      if (G.mode == M_SESSIONS)
        session_next(t, c, 0);
      else
        conn_drop(t, c);
      return;
    }
    c->st = C_HANDSHAKE;
    memset(&e, 0, sizeof(e));
    e.events = EPOLLIN;
    e.data.ptr = c;
    epoll_ctl(t->ep, EPOLL_CTL_MOD, c->fd, &e);
    if (conn_write(c, (const uint8_t *)G.request, G.request_len)) {
      conn_fail(t, c);
      return;
    }
  }
  if (ev & EPOLLOUT) conn_flush(c);
  if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
    for (;;) {
      ssize_t k;
      if (c->in_len == INBUF) { /* a reply larger than the buffer */
        conn_fail(t, c);
        return;
      }
      k = recv(c->fd, c->in + c->in_len, INBUF - c->in_len, 0);
      if (k < 0 && errno == EAGAIN) break;
      if (k <= 0) {
        if (G.mode == M_SESSIONS)
          session_next(t, c, c->st == C_DONE);
        else {
          if (now_us() < G.t_end) t->errors++;
          conn_drop(t, c);
        }
        return;
      }
      c->in_len += (size_t)k;
      conn_input(t, c);
      if (c->fd < 0) return;
    }
  }
  if (c->out_len) {
    struct epoll_event e;
    memset(&e, 0, sizeof(e));
    e.events = EPOLLIN | EPOLLOUT;
    e.data.ptr = c;
    epoll_ctl(t->ep, EPOLL_CTL_MOD, c->fd, &e);
  }
}

static void *thread_main(void *arg) {
  lthread *t = arg;
  struct epoll_event ev[512];
  int i;
  for (i = 0; i < t->nconns; i++) {
    t->conns[i].fd = -1;
    if (conn_open(t, &t->conns[i]) != 0) t->errors++;
  }
  for (;;) {
    int n = epoll_wait(t->ep, ev, 512, G.interval_us ? 1 : 50);
    uint64_t now = now_us();
    for (i = 0; i < n; i++) on_event(t, ev[i].data.ptr, ev[i].events);
    if (now >= G.t_end) break;
    /* Paced pings: send those that are due (a scan per millisecond). */
    for (i = 0; G.interval_us && i < t->nconns; i++) {
      lconn *c = &t->conns[i];
      if (c->fd >= 0 && c->st == C_OPEN && c->inflight == 0 &&
          c->next_at <= now && conn_feed(t, c))
        conn_fail(t, c);
    }
  }
  for (i = 0; i < t->nconns; i++) {
    conn_drop(t, &t->conns[i]);
    free(t->conns[i].out);
  }
  return NULL;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static int usage(const char *why) {
  fprintf(stderr,
          "wsload: %s\nusage: wsload msgs|sessions|rtt|idle --port P "
          "--token T [--conns N] [--secs S] [--threads T] [--pipeline K]\n"
          "              [--interval-ms M]\n",
          why);
  return 2;
}

int main(int argc, char **argv) {
  lthread *ts;
  struct rlimit rl;
  int i, per;
  unsigned long msgs = 0, sess = 0, errs = 0, opened = 0, msgs_ready = 0;
  uint64_t t_ready = 0;
  uint64_t t0, *all = NULL;
  size_t nall = 0;
  double el;
  static const char ping[] = "{\"type\":\"ping\"}";
  static const char msg[] = "{\"type\":\"user_message\",\"text\":\"hello\"}";

  if (argc < 2) return usage("no mode");
  if (!strcmp(argv[1], "msgs"))
    G.mode = M_MSGS;
  else if (!strcmp(argv[1], "sessions"))
    G.mode = M_SESSIONS;
  else if (!strcmp(argv[1], "rtt"))
    G.mode = M_RTT;
  else if (!strcmp(argv[1], "idle"))
    G.mode = M_IDLE;
  else
    return usage("unknown mode");
  G.conns = 1;
  G.secs = 3;
  G.threads = 1;
  G.pipeline = 8;
  for (i = 2; i < argc; i += 2) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    char *end;
    long x;
    if (!v) return usage("missing value");
    if (!strcmp(a, "--token")) {
      G.token = v;
      continue;
    }
    if (!strcmp(a, "--secs")) {
      G.secs = strtod(v, &end);
      if (*end || G.secs <= 0 || G.secs > 3600) return usage("bad --secs");
      continue;
    }
    x = strtol(v, &end, 10);
    if (*end || x < 1) return usage("bad number");
    if (!strcmp(a, "--port") && x < 65536)
      G.port = (int)x;
    else if (!strcmp(a, "--conns") && x <= 100000)
      G.conns = (int)x;
    else if (!strcmp(a, "--threads") && x <= 64)
      G.threads = (int)x;
    else if (!strcmp(a, "--pipeline") && x <= 1000)
      G.pipeline = (int)x;
    else if (!strcmp(a, "--interval-ms") && x <= 60000)
      G.interval_us = (uint64_t)x * 1000u;
    else
      return usage("unknown or out-of-range argument");
  }
  if (!G.port || !G.token) return usage("--port and --token are required");
  if (G.threads > G.conns) G.threads = G.conns;
  if (G.interval_us && G.mode != M_RTT)
    return usage("--interval-ms is for rtt only");
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  G.request_len = (size_t)snprintf(
      G.request, sizeof(G.request),
      "GET /chat HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
      "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
      "Sec-WebSocket-Version: 13\r\nAuthorization: Bearer %s\r\n\r\n",
      G.port, G.token);
  if (G.request_len >= sizeof(G.request)) return usage("token too long");
  G.msg_len = mk_frame(G.msg, 1, msg, sizeof(msg) - 1);
  G.ping_len = mk_frame(G.ping, 1, ping, sizeof(ping) - 1);
  G.close_len = mk_frame(G.close_fr, 8, "\x03\xe8", 2);

  t0 = now_us();
  G.t_end = t0 + (uint64_t)(G.secs * 1e6);
  /* msgs, rtt, idle: the clock starts once every connection is open (set
   * below), so that the ramp-up (connect + HS256 of N connections) is not
   * in the rates. */
  if (G.mode != M_SESSIONS) G.t_end = t0 + 3600u * 1000000u;
  ts = calloc((size_t)G.threads, sizeof(*ts));
  if (!ts) return 1;
  per = G.conns / G.threads;
  for (i = 0; i < G.threads; i++) {
    lthread *t = &ts[i];
    t->id = i;
    t->nconns = per + (i < G.conns % G.threads);
    t->conns = calloc((size_t)t->nconns, sizeof(lconn));
    t->ep = epoll_create1(EPOLL_CLOEXEC);
    if (!t->conns || t->ep < 0) return 1;
    pthread_create(&t->th, NULL, thread_main, t);
  }
  if (G.mode != M_SESSIONS) {
    uint64_t give_up = now_us() + 60u * 1000000u;
    while (G.settled < G.conns && now_us() < give_up) usleep(1000);
    t_ready = now_us();
    for (i = 0; i < G.threads; i++) msgs_ready += ts[i].messages;
    if (G.mode == M_IDLE) {
      printf("{\"ready\":%d}\n", G.ready_count);
      fflush(stdout);
    }
    G.t_end = t_ready + (uint64_t)(G.secs * 1e6);
  }
  for (i = 0; i < G.threads; i++) {
    pthread_join(ts[i].th, NULL);
    msgs += ts[i].messages;
    sess += ts[i].sessions;
    errs += ts[i].errors;
    opened += ts[i].opened;
    nall += ts[i].nrtt;
  }
  el = (double)(now_us() - t0) / 1e6;
  if (t_ready) {
    el = (double)(now_us() - t_ready) / 1e6;
    msgs -= msgs_ready;
  }
  if (G.mode == M_RTT && nall) {
    size_t at = 0;
    all = malloc(nall * sizeof(*all));
    for (i = 0; all && i < G.threads; i++) {
      memcpy(all + at, ts[i].rtt, ts[i].nrtt * sizeof(*all));
      at += ts[i].nrtt;
    }
    if (all) qsort(all, nall, sizeof(*all), cmp_u64);
  }
  printf(
      "{\"mode\":\"%s\",\"conns\":%d,\"threads\":%d,\"secs\":%.2f,"
      "\"messages\":%lu,\"messages_per_s\":%.0f,\"sessions\":%lu,"
      "\"sessions_per_s\":%.0f,\"connections\":%lu,\"errors\":%lu",
      argv[1], G.conns, G.threads, el, msgs, msgs / el, sess, sess / el, opened,
      errs);
  if (all)
    printf(",\"rtt_p50_us\":%llu,\"rtt_p99_us\":%llu,\"rtt_samples\":%zu",
           (unsigned long long)all[nall / 2],
           (unsigned long long)all[nall * 99 / 100], nall);
  if (G.mode == M_IDLE) printf(",\"ready\":%d", G.ready_count);
  printf("}\n");
  for (i = 0; i < G.threads; i++) {
    free(ts[i].conns);
    free(ts[i].rtt);
    close(ts[i].ep);
  }
  free(ts);
  free(all);
  return errs ? 1 : 0;
}
