/* HTTP/1.1 upgrade handshake (RFC 6455 4.2.1, 4.2.2; RFC 9112; RFC 9110).
 *
 * Zero-copy: every ws_str the parser yields points into the caller's head
 * buffer; the only allocation is the buffer for a percent-decoded query
 * token.  The scanner looks at each byte once as it arrives; the parser then
 * walks the complete head once, keeping what it needs in fixed slots (no
 * per-header storage), and evaluates the cross-header checks afterwards in
 * the documented order (handshake.h). */
#include "handshake.h"

#include <string.h>

#include "b64.h"
#include "buf.h"
#include "crypto.h"
#include "text.h"

/* ---- byte classes ---- */

/* C_TCHAR: RFC 9110 5.6.2 tchar.
 * C_FVAL:  bytes allowed in a field value and, for the scanner, anywhere in a
 *          line: HTAB, SP, VCHAR, obs-text (RFC 9110 5.5).  Everything else
 *          except CR and LF is a control byte that no head may contain.
 * C_URI:   bytes allowed literally in an origin-form target (RFC 3986 3.3,
 *          3.4: unreserved, sub-delims, ':', '@', '/', '?'); '%' is checked
 *          separately because it must start a valid pct-encoded triplet.
 * C_HEX:   HEXDIG. */
#define C_TCHAR 0x01
#define C_FVAL 0x02
#define C_URI 0x04
#define C_HEX 0x08

/* clang-format off */
static const uint8_t k_cls[256] = {
     0,  0,  0,  0,  0,  0,  0,  0,  0,  2,  0,  0,  0,  0,  0,  0,  /* 0x00 */
     0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  /* 0x10 */
     2,  7,  2,  3,  7,  3,  7,  7,  6,  6,  7,  7,  6,  7,  7,  6,  /* 0x20 */
    15, 15, 15, 15, 15, 15, 15, 15, 15, 15,  6,  6,  2,  6,  2,  6,  /* 0x30 */
     6, 15, 15, 15, 15, 15, 15,  7,  7,  7,  7,  7,  7,  7,  7,  7,  /* 0x40 */
     7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  2,  2,  2,  3,  7,  /* 0x50 */
     3, 15, 15, 15, 15, 15, 15,  7,  7,  7,  7,  7,  7,  7,  7,  7,  /* 0x60 */
     7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  2,  3,  2,  7,  0,  /* 0x70 */
     2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  /* 0x80 */
     2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  /* 0x90 */
     2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  /* 0xA0 */
     2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  /* 0xB0 */
     2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  /* 0xC0 */
     2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  /* 0xD0 */
     2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  /* 0xE0 */
     2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  2,  /* 0xF0 */
};
/* clang-format on */

static inline int is_cls(unsigned char c, uint8_t f) {
  return (k_cls[c] & f) != 0;
}
static inline int is_ows(unsigned char c) {
  return c == ' ' || c == '\t';
}
static inline unsigned char lower(unsigned char c) {
  return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

/* ASCII case-insensitive equality (no locale: header names and the tokens
 * compared here are ASCII by definition, RFC 9110 5.1). */
static int eq_ci(const char *a, size_t an, const char *b, size_t bn) {
  size_t i;
  if (an != bn) return 0;
  for (i = 0; i < an; i++)
    if (lower((unsigned char)a[i]) != lower((unsigned char)b[i])) return 0;
  return 1;
}

static int eq_cs(const char *a, size_t an, const char *b, size_t bn) {
  return an == bn && (an == 0 || memcmp(a, b, an) == 0);
}

static int hexval(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  return lower(c) - 'a' + 10;
}

/* ---- the head scanner ---- */

/* Scanner states.  The head ends at the first CRLFCRLF; a head that starts
 * with CRLF is not special-cased here (RFC 9112 2.2 lets a server skip a
 * leading empty line, but the contract rejects it, which the parser does). */
enum {
  SC_LINE = 0, /* inside a line (or at the very start) */
  SC_CR,       /* after a CR inside a line */
  SC_EOL,      /* after CRLF: at the start of a line */
  SC_EOLCR,    /* after CRLF CR: expecting the LF that ends the head */
  SC_DONE,
  SC_BAD_BYTE,
  SC_TOO_LARGE
};

ws_head_status ws_head_scan(ws_head_scanner *s, const uint8_t *buf, size_t len,
                            size_t max_head, size_t *head_len, ws_diag *diag) {
  size_t i = s->pos, lim = len < max_head ? len : max_head;
  int st = s->state;

  *head_len = 0;
  *diag = WS_DIAG_NONE;
  switch (st) { /* a finished scan answers the same way forever */
    case SC_DONE: *head_len = s->pos; return WS_HEAD_DONE;
    case SC_BAD_BYTE: *diag = WS_DIAG_HS_BAD_BYTE; return WS_HEAD_ERROR;
    case SC_TOO_LARGE: *diag = WS_DIAG_HS_HEAD_TOO_LARGE; return WS_HEAD_ERROR;
    default: break;
  }

  while (i < lim) {
    unsigned char c;
    if (st == SC_LINE) {
      /* Hot loop: ordinary line bytes need no state change. */
      while (i < lim && is_cls(buf[i], C_FVAL)) i++;
      if (i == lim) break;
    }
    c = buf[i];
    if (c == '\r') {
      /* A CR right after a CR (inside a line or after CRLF) leaves the first
       * one bare. */
      if (st == SC_LINE)
        st = SC_CR;
      else if (st == SC_EOL)
        st = SC_EOLCR;
      else
        goto bad;
    } else if (c == '\n') {
      /* RFC 9112 2.2: a bare LF is not accepted as a line terminator here;
       * accepting it would let the scanner and a downstream proxy disagree
       * on where the head ends (request smuggling). */
      if (st == SC_CR)
        st = SC_EOL;
      else if (st == SC_EOLCR) {
        s->pos = i + 1;
        s->state = SC_DONE;
        *head_len = s->pos;
        return WS_HEAD_DONE;
      } else
        goto bad;
    } else if (is_cls(c, C_FVAL)) {
      if (st == SC_CR || st == SC_EOLCR) goto bad; /* bare CR (RFC 9112 2.2) */
      st = SC_LINE;
    } else {
      goto bad; /* NUL, other C0 controls, DEL */
    }
    i++;
  }
  s->pos = i;
  s->state = st;
  /* max_head bytes seen without the end of the head: more input cannot make
   * it fit, so answer now instead of waiting (431, RFC 6585 5). */
  if (i >= max_head) {
    s->state = SC_TOO_LARGE;
    *diag = WS_DIAG_HS_HEAD_TOO_LARGE;
    return WS_HEAD_ERROR;
  }
  return WS_HEAD_MORE;

bad:
  s->pos = i;
  s->state = SC_BAD_BYTE;
  *diag = WS_DIAG_HS_BAD_BYTE;
  return WS_HEAD_ERROR;
}

/* ---- header names ---- */

enum {
  H_OTHER = 0,
  H_HOST,
  H_KEY,
  H_VERSION,
  H_AUTHORIZATION,
  H_ORIGIN,
  H_CONTENT_LENGTH, /* last singleton */
  H_UPGRADE,
  H_CONNECTION,
  H_PROTOCOL,
  H_TRANSFER_ENCODING,
  H_COUNT_
};

/* Names are stored inline, not as pointers, so the table needs no
 * relocation and stays in read-only data. */
typedef struct hdr_name {
  char name[24]; /* canonical spelling, also the *detail text */
  size_t n;
} hdr_name;

#define HN_(s) \
  { s, sizeof(s) - 1 }
static const hdr_name k_hdr[H_COUNT_] = {
    {"", 0},
    HN_("Host"),
    HN_("Sec-WebSocket-Key"),
    HN_("Sec-WebSocket-Version"),
    HN_("Authorization"),
    HN_("Origin"),
    HN_("Content-Length"),
    HN_("Upgrade"),
    HN_("Connection"),
    HN_("Sec-WebSocket-Protocol"),
    HN_("Transfer-Encoding"),
};
#undef HN_

/* Which header a name is.  The length check rejects almost every other
 * header before a byte is compared. */
static int hdr_lookup(const char *p, size_t n) {
  int h;
  for (h = 1; h < H_COUNT_; h++)
    if (k_hdr[h].n == n && eq_ci(p, n, k_hdr[h].name, n)) return h;
  return H_OTHER;
}

/* ---- comma lists (RFC 9110 5.6.1) ---- */

/* Next element of a comma list, OWS-trimmed (may be empty).  Returns 0 when
 * the list is exhausted (*pp becomes NULL after the last element). */
static int list_next(const char **pp, const char *end, ws_str *el) {
  const char *p = *pp, *b, *e;
  if (!p) return 0;
  b = p;
  while (p < end && *p != ',') p++;
  e = p;
  while (b < e && is_ows((unsigned char)*b)) b++;
  while (e > b && is_ows((unsigned char)e[-1])) e--;
  el->p = b;
  el->n = (size_t)(e - b);
  *pp = p < end ? p + 1 : NULL; /* past the comma, or exhausted */
  return 1;
}

/* 1 when the comma list v has an element equal to word (ASCII
 * case-insensitive: Connection options and Upgrade protocol names are
 * case-insensitive, RFC 9110 7.6.1, 7.8). */
static int list_has_ci(ws_str v, const char *word, size_t wn) {
  const char *p = v.p, *end = v.p + v.n;
  ws_str el;
  while (list_next(&p, end, &el))
    if (eq_ci(el.p, el.n, word, wn)) return 1;
  return 0;
}

static int is_token(const char *p, size_t n) {
  size_t i;
  if (n == 0) return 0;
  for (i = 0; i < n; i++)
    if (!is_cls((unsigned char)p[i], C_TCHAR)) return 0;
  return 1;
}

/* Sec-WebSocket-Protocol, read as one list across repeated header lines
 * (RFC 9110 5.3), element by element as each line is parsed. */
typedef struct proto_state {
  size_t n_elems;     /* non-empty elements seen */
  int bad;            /* an element is not a token (RFC 6455 4.1) */
  int after_bearer;   /* the previous element was "bearer" */
  ws_str last_bearer; /* that element */
  int have_pair;
  ws_str pair_bearer, pair_token; /* the first "bearer, <t>" pair */
  ws_str selected;                /* first supported offer that is neither */
} proto_state;

static const char k_bearer[] = "bearer";
#define BEARER_N (sizeof(k_bearer) - 1)

static int supported(const ws_config *cfg, ws_str el) {
  size_t i;
  for (i = 0; i < cfg->subprotocols.n; i++)
    if (eq_cs(el.p, el.n, cfg->subprotocols.items[i],
              cfg->subprotocols.lens[i]))
      return 1;
  return 0;
}

static void proto_feed(proto_state *ps, const ws_config *cfg, ws_str v) {
  const char *p = v.p, *end = v.p + v.n;
  ws_str el;
  while (!ps->bad && list_next(&p, end, &el)) {
    if (el.n == 0) continue; /* empty elements are ignored (RFC 9110 5.6.1.2) */
    if (!is_token(el.p, el.n)) {
      ps->bad = 1;
      return;
    }
    ps->n_elems++;
    if (ps->after_bearer) {
      /* The element after "bearer" is a credential, not a subprotocol: it is
       * never selected, even when its text names a supported one. */
      ps->after_bearer = 0;
      if (!ps->have_pair) {
        ps->have_pair = 1;
        ps->pair_bearer = ps->last_bearer;
        ps->pair_token = el;
      }
      continue;
    }
    /* Subprotocol names are compared case-sensitively (RFC 6455 4.1), so
     * only the exact offer "bearer" starts a pair; the client then sees the
     * spelling it offered echoed back. */
    if (eq_cs(el.p, el.n, k_bearer, BEARER_N)) {
      ps->after_bearer = 1;
      ps->last_bearer = el;
      continue;
    }
    if (!ps->selected.p && supported(cfg, el)) ps->selected = el;
  }
}

/* ---- request target (RFC 9112 3.2.1, RFC 3986) ---- */

/* The bytes after the authority: path-abempty [ "?" query ], no fragment,
 * every '%' starts a pct-encoded triplet, nothing outside pchar / '/' /
 * '?'. */
static int path_query_ok(const char *p, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)p[i];
    if (c == '%') {
      if (i + 2 >= n || !is_cls((unsigned char)p[i + 1], C_HEX) ||
          !is_cls((unsigned char)p[i + 2], C_HEX))
        return 0;
      i += 2;
    } else if (!is_cls(c, C_URI)) {
      return 0;
    }
  }
  return 1;
}

/* origin-form = absolute-path [ "?" query ] (RFC 9112 3.2.1). */
static int target_ok(const char *p, size_t n) {
  return n > 0 && p[0] == '/' && path_query_ok(p, n);
}

/* RFC 3986 2.3 unreserved and 2.2 sub-delims: what a reg-name is made of
 * (with pct-encoded triplets). */
static int is_host_char(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || (c && strchr("-._~!$&'()*+,;=", c));
}

/* uri-host [ ":" port ] (RFC 9112 3.2 Host; RFC 3986 3.2.2, 3.2.3), which
 * is also what the authority of an absolute-form target may be: a userinfo
 * ("user@host") is refused (RFC 9110 4.2.4: treat it as an error), as is an
 * empty host (a ws or wss URI always has one, RFC 6455 3), whitespace, and a
 * port that is not a number of at most 65535. */
static int authority_ok(const char *p, size_t n) {
  size_t i = 0, digits;
  unsigned long port = 0;
  if (n == 0) return 0;
  if (p[0] == '[') {
    /* IP-literal: IPv6address or IPvFuture, by the bytes they may hold. */
    for (i = 1; i < n && p[i] != ']'; i++)
      if (!is_host_char((unsigned char)p[i]) && p[i] != ':') return 0;
    if (i >= n || i == 1) return 0;
    i++;
  } else {
    for (; i < n && p[i] != ':'; i++) {
      if (p[i] == '%') {
        if (i + 2 >= n || !is_cls((unsigned char)p[i + 1], C_HEX) ||
            !is_cls((unsigned char)p[i + 2], C_HEX))
          return 0;
        i += 2;
      } else if (!is_host_char((unsigned char)p[i])) {
        return 0;
      }
    }
    if (i == 0) return 0;
  }
  if (i == n) return 1;
  if (p[i++] != ':') return 0;
  /* port = *DIGIT: empty is allowed by the grammar (RFC 3986 3.2.3). */
  for (digits = 0; i < n; i++, digits++) {
    if (p[i] < '0' || p[i] > '9' || digits == 5) return 0;
    port = port * 10 + (unsigned long)(p[i] - '0');
  }
  return port <= 65535;
}

/* absolute-form (RFC 9112 3.2.2; RFC 6455 4.2.1 allows it): scheme "://"
 * authority path-abempty [ "?" query ], for the schemes a WebSocket
 * handshake can be addressed with (ws, wss, and http, https for the
 * request as HTTP sees it; case-insensitive, RFC 3986 3.1).  Sets
 * *authority and *rest (the path and query; may be empty).  Returns 1
 * when target has this form, 0 when it does not look like it, -1 when it
 * does but is invalid. */
static int absolute_form(const char *p, size_t n, ws_str *authority,
                         ws_str *rest) {
  static const char *const schemes[] = {"ws", "wss", "http", "https"};
  size_t i, sn = 0, a;
  for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
    size_t k = strlen(schemes[i]);
    if (n > k + 3 && eq_ci(p, k, schemes[i], k) && memcmp(p + k, "://", 3) == 0)
      sn = k + 3;
  }
  if (sn == 0) return 0;
  for (a = sn; a < n && p[a] != '/' && p[a] != '?'; a++) {
  }
  authority->p = p + sn;
  authority->n = a - sn;
  rest->p = p + a;
  rest->n = n - a;
  if (!authority_ok(authority->p, authority->n)) return -1;
  if (!path_query_ok(rest->p, rest->n)) return -1;
  return 1;
}

/* The raw value of the first query parameter named exactly "access_token"
 * (RFC 6750 2.3).  The name is compared as sent, not percent-decoded. */
static int query_token(ws_str q, ws_str *val) {
  static const char name[] = "access_token";
  const char *p = q.p, *end = q.p + q.n;
  while (p < end) {
    const char *b = p, *eq = NULL;
    while (p < end && *p != '&') {
      if (*p == '=' && !eq) eq = p;
      p++;
    }
    if (eq_cs(b, (size_t)((eq ? eq : p) - b), name, sizeof(name) - 1)) {
      val->p = eq ? eq + 1 : p;
      val->n = eq ? (size_t)(p - eq - 1) : 0;
      return 1;
    }
    p++; /* past '&' */
  }
  return 0;
}

/* Decodes an application/x-www-form-urlencoded value (RFC 6750 2.3 names
 * that format): "%XX" is a byte and '+' a space.  The target was validated,
 * so every '%' has two hex digits.  out needs n + 1 bytes; returns the
 * decoded length (NUL-terminated). */
static size_t form_decode(const char *in, size_t n, char *out) {
  size_t i, o = 0;
  for (i = 0; i < n; i++) {
    if (in[i] == '%' && i + 2 < n) {
      out[o++] = (char)(hexval((unsigned char)in[i + 1]) << 4 |
                        hexval((unsigned char)in[i + 2]));
      i += 2;
    } else if (in[i] == '+') {
      out[o++] = ' ';
    } else {
      out[o++] = in[i];
    }
  }
  out[o] = '\0';
  return o;
}

/* ---- the parser ---- */

/* "Authorization: Bearer <t>" (RFC 6750 2.1; the scheme is case-insensitive,
 * RFC 9110 11.1).  Returns 1 with the token (spaces around it trimmed;
 * possibly empty) when the scheme is Bearer, 0 for any other scheme. */
static int bearer_token(ws_str v, ws_str *tok) {
  const char *p = v.p, *end = v.p + v.n;
  if (v.n < BEARER_N || !eq_ci(v.p, BEARER_N, k_bearer, BEARER_N)) return 0;
  p += BEARER_N;
  if (p < end && !is_ows((unsigned char)*p)) return 0; /* e.g. "Bearerx" */
  while (p < end && is_ows((unsigned char)*p)) p++;
  while (end > p && is_ows((unsigned char)end[-1])) end--;
  tok->p = p;
  tok->n = (size_t)(end - p);
  return 1;
}

/* Content-Length: 0 is the only value an upgrade request may carry; any
 * other, malformed ones included, could leave body bytes that the frame
 * parser would read as frames (RFC 9112 6.3). */
static int zero_length(ws_str v) {
  size_t i;
  if (v.n == 0) return 0;
  for (i = 0; i < v.n; i++)
    if (v.p[i] != '0') return 0;
  return 1;
}

/* The request line: method SP request-target SP HTTP-version CRLF with
 * single SPs (RFC 9112 3).  Fills hs and returns the byte after the CRLF,
 * or NULL with *d set. */
static const char *parse_request_line(const char *p, const char *end,
                                      ws_handshake *hs, ws_diag *d) {
  const char *b = p, *v;
  int major, minor;

  /* Syntax first: method token, SP. */
  while (p < end && is_cls((unsigned char)*p, C_TCHAR)) p++;
  if (p == b || p >= end || *p != ' ') goto malformed;
  hs->method.p = b;
  hs->method.n = (size_t)(p - b);
  /* request-target: any visible bytes here; what origin-form allows is
   * checked after the version and method, so the diagnosis is the more
   * specific one. */
  b = ++p;
  while (p < end && (unsigned char)*p > ' ' && (unsigned char)*p != 0x7f) p++;
  if (p == b || p >= end || *p != ' ') goto malformed;
  hs->target.p = b;
  hs->target.n = (size_t)(p - b);
  /* HTTP-version = "HTTP/" DIGIT "." DIGIT, case-sensitive (RFC 9112 2.3). */
  v = ++p;
  if (end - v < 10 || memcmp(v, "HTTP/", 5) != 0 || v[5] < '0' || v[5] > '9' ||
      v[6] != '.' || v[7] < '0' || v[7] > '9' || v[8] != '\r' || v[9] != '\n')
    goto malformed;
  major = v[5] - '0';
  minor = v[7] - '0';
  /* RFC 6455 4.2.1: "an HTTP/1.1 or higher GET request".  HTTP/2+ use
   * their own upgrade mechanisms (RFC 8441) and never this head. */
  if (major != 1 || minor < 1) {
    *d = WS_DIAG_HS_HTTP_VERSION;
    return NULL;
  }
  hs->http_minor = minor;
  /* Methods are case-sensitive (RFC 9110 9.1). */
  if (!eq_cs(hs->method.p, hs->method.n, "GET", 3)) {
    *d = WS_DIAG_HS_METHOD;
    return NULL;
  }
  {
    ws_str pq = hs->target; /* path and query */
    const char *q;
    int abs = absolute_form(hs->target.p, hs->target.n, &hs->authority, &pq);
    if (abs < 0 || (abs == 0 && !target_ok(pq.p, pq.n))) {
      *d = WS_DIAG_HS_TARGET;
      return NULL;
    }
    q = memchr(pq.p, '?', pq.n);
    hs->path.p = pq.p;
    hs->path.n = q ? (size_t)(q - pq.p) : pq.n;
    hs->query.p = q ? q + 1 : pq.p + pq.n;
    hs->query.n = q ? pq.n - hs->path.n - 1 : 0;
    if (hs->path.n == 0) { /* "ws://host" or "ws://host?q": the path is / */
      hs->path.p = "/";
      hs->path.n = 1;
    }
  }
  return v + 10;

malformed:
  *d = WS_DIAG_HS_REQUEST_LINE;
  return NULL;
}

ws_diag ws_handshake_parse(ws_mem *m, const ws_config *cfg, const char *head,
                           size_t len, ws_handshake *hs, const char **detail) {
  const char *p = head, *end = head + len;
  ws_handshake h;
  ws_str val[H_COUNT_];
  unsigned seen = 0; /* bit per H_* */
  int upgrade_ok = 0, connection_ok = 0;
  proto_state ps;
  ws_diag d = WS_DIAG_NONE;
  const char *det = NULL;

  memset(hs, 0, sizeof(*hs));
  if (detail) *detail = NULL;
  memset(&h, 0, sizeof(h));
  memset(val, 0, sizeof(val));
  memset(&ps, 0, sizeof(ps));

  if (!(p = parse_request_line(p, end, &h, &d))) goto out;

  /* Header section (RFC 9112 5): one pass, one line at a time. */
  for (;;) {
    const char *name, *vb, *ve;
    size_t nn;
    int k;
    if (end - p >= 2 && p[0] == '\r' && p[1] == '\n') break; /* blank line */
    if (p >= end) {
      d = WS_DIAG_HS_HEADER_SYNTAX; /* no blank line: not a scanned head */
      goto out;
    }
    /* obs-fold (RFC 9112 5.2): rejected, not unfolded; also covers
     * whitespace between the request line and the first field (2.2). */
    if (is_ows((unsigned char)*p)) {
      d = WS_DIAG_HS_OBS_FOLD;
      goto out;
    }
    name = p;
    while (p < end && is_cls((unsigned char)*p, C_TCHAR)) p++;
    nn = (size_t)(p - name);
    /* No whitespace is allowed between field name and colon (RFC 9112 5.1:
     * MUST reject with 400). */
    if (nn == 0 || p >= end || *p != ':') {
      d = WS_DIAG_HS_HEADER_SYNTAX;
      goto out;
    }
    p++;
    while (p < end && is_ows((unsigned char)*p)) p++;
    vb = p;
    while (p < end && is_cls((unsigned char)*p, C_FVAL)) p++;
    ve = p;
    while (ve > vb && is_ows((unsigned char)ve[-1])) ve--;
    if (end - p < 2 || p[0] != '\r' || p[1] != '\n') {
      /* The value stopped at a byte that is neither field content nor
       * CRLF: a control byte the scanner would have refused. */
      d = p < end ? WS_DIAG_HS_BAD_BYTE : WS_DIAG_HS_HEADER_SYNTAX;
      goto out;
    }
    p += 2;
    if (++h.n_headers > cfg->max_headers) {
      d = WS_DIAG_HS_TOO_MANY_HEADERS;
      goto out;
    }
    k = hdr_lookup(name, nn);
    if (k == H_OTHER) continue;
    if (k <= H_CONTENT_LENGTH && (seen & (1u << k))) {
      /* Two values for a field that takes one: which one a proxy or the
       * application would use is ambiguous (RFC 9110 5.3). */
      d = WS_DIAG_HS_DUPLICATE_HEADER;
      det = k_hdr[k].name;
      goto out;
    }
    seen |= 1u << k;
    val[k].p = vb;
    val[k].n = (size_t)(ve - vb);
    /* List fields may repeat: each line is folded into the running result,
     * which is the same as reading the comma-joined list. */
    if (k == H_UPGRADE && !upgrade_ok)
      upgrade_ok = list_has_ci(val[k], "websocket", 9);
    else if (k == H_CONNECTION && !connection_ok)
      connection_ok = list_has_ci(val[k], "upgrade", 7);
    else if (k == H_PROTOCOL)
      proto_feed(&ps, cfg, val[k]);
  }

  /* Cross-header checks, in the order handshake.h documents. */
  /* RFC 9112 3.2: a request without Host, or whose Host is not a valid
   * host[:port], MUST get a 400.  With an absolute-form target the server
   * uses the target's authority instead of Host (RFC 9112 3.2.2). */
  if (!(seen & (1u << H_HOST)) || !authority_ok(val[H_HOST].p, val[H_HOST].n)) {
    d = WS_DIAG_HS_HOST;
    goto out;
  }
  h.host = h.authority.p ? h.authority : val[H_HOST];
  if (!upgrade_ok) {
    d = WS_DIAG_HS_UPGRADE;
    goto out;
  }
  if (!connection_ok) {
    d = WS_DIAG_HS_CONNECTION;
    goto out;
  }
  if (!(seen & (1u << H_KEY))) {
    d = WS_DIAG_HS_KEY_MISSING;
    goto out;
  }
  {
    /* RFC 6455 4.1: a base64-encoded 16-byte nonce; 24 characters exactly,
     * and only the canonical spelling (ws_b64_decode). */
    uint8_t nonce[18];
    if (val[H_KEY].n != 24 ||
        ws_b64_decode(val[H_KEY].p, val[H_KEY].n, nonce, sizeof(nonce)) != 16) {
      d = WS_DIAG_HS_KEY_INVALID;
      goto out;
    }
    h.key = val[H_KEY];
  }
  /* RFC 6455 4.2.2 / 4.4: only version 13 is spoken. */
  if (!(seen & (1u << H_VERSION)) ||
      !eq_cs(val[H_VERSION].p, val[H_VERSION].n, "13", 2)) {
    d = WS_DIAG_HS_WS_VERSION;
    goto out;
  }
  if (seen & (1u << H_TRANSFER_ENCODING)) {
    d = WS_DIAG_HS_BODY;
    det = k_hdr[H_TRANSFER_ENCODING].name;
    goto out;
  }
  if ((seen & (1u << H_CONTENT_LENGTH)) &&
      !zero_length(val[H_CONTENT_LENGTH])) {
    d = WS_DIAG_HS_BODY;
    det = k_hdr[H_CONTENT_LENGTH].name;
    goto out;
  }
  if (seen & (1u << H_ORIGIN)) h.origin = val[H_ORIGIN];
  if (cfg->origins_set) {
    /* RFC 6455 10.2: the server may refuse origins it does not expect.
     * Origin serializations are compared ASCII case-insensitively
     * (RFC 6454 6.1 lowercases scheme and host). */
    size_t i;
    int ok = 0;
    if (seen & (1u << H_ORIGIN))
      for (i = 0; i < cfg->origins.n && !ok; i++)
        ok = eq_ci(h.origin.p, h.origin.n, cfg->origins.items[i],
                   cfg->origins.lens[i]);
    if (!ok) {
      d = WS_DIAG_HS_ORIGIN;
      goto out;
    }
  }
  /* 1#token (RFC 6455 4.1): at least one element, all tokens. */
  if ((seen & (1u << H_PROTOCOL)) && (ps.bad || ps.n_elems == 0)) {
    d = WS_DIAG_HS_PROTOCOL_SYNTAX;
    goto out;
  }

  /* Token sources, first found wins (POLICY §3). */
  if ((seen & (1u << H_AUTHORIZATION)) &&
      bearer_token(val[H_AUTHORIZATION], &h.token)) {
    h.token_source = WS_TOKEN_AUTHORIZATION;
  } else if (ps.have_pair) {
    h.token_source = WS_TOKEN_PROTOCOL;
    h.token = ps.pair_token;
  } else {
    ws_str raw;
    if (query_token(h.query, &raw)) {
      if (!(h.token_buf = ws_mem_malloc(m, raw.n + 1))) {
        d = WS_DIAG_HS_NOMEM;
        goto out;
      }
      h.token.p = h.token_buf;
      h.token.n = form_decode(raw.p, raw.n, h.token_buf);
      h.token_source = WS_TOKEN_QUERY;
    }
  }
  /* The server must answer with one of the client's offers or none
   * (RFC 6455 4.1, 4.2.2).  A token taken from the offer pair is
   * acknowledged by selecting "bearer" itself. */
  h.subprotocol =
      h.token_source == WS_TOKEN_PROTOCOL ? ps.pair_bearer : ps.selected;

  *hs = h;
out:
  if (d != WS_DIAG_NONE && detail) *detail = det;
  return d;
}

void ws_handshake_release(ws_mem *m, ws_handshake *hs) {
  if (!hs) return;
  ws_mem_free(m, hs->token_buf);
  memset(hs, 0, sizeof(*hs));
}

/* ---- the 101 response (RFC 6455 4.2.2) ---- */

static const char k_ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
#define WS_GUID_N (sizeof(k_ws_guid) - 1)
/* Longest key ws_accept_key takes: a valid one is 24 bytes; the bound keeps
 * the concatenation on the stack. */
#define ACCEPT_KEY_MAX 128

int ws_accept_key(ws_mem *m, const char *key, size_t klen, char out[29],
                  int *nomem) {
  char cat[ACCEPT_KEY_MAX + WS_GUID_N];
  uint8_t md[20];
  int rc = -1, nm = 0;

  out[0] = '\0';
  if (klen > ACCEPT_KEY_MAX) goto out;
  /* RFC 6455 4.2.2 step 5.4: the key as sent (not decoded), then the GUID. */
  memcpy(cat, key, klen);
  memcpy(cat + klen, k_ws_guid, WS_GUID_N);
  if (ws_crypto_sha1(m, (const uint8_t *)cat, klen + WS_GUID_N, md, &nm) != 0)
    goto out;
  if (ws_b64_encode(md, sizeof(md), out, 29) != 28) goto out;
  rc = 0;
out:
  if (nomem) *nomem = rc != 0 && nm;
  return rc;
}

ws_diag ws_handshake_accept(ws_mem *m, const ws_handshake *hs,
                            struct ws_buf *out) {
  static const char l1[] =
      "HTTP/1.1 101 Switching Protocols\r\n"
      "Upgrade: websocket\r\n"
      "Connection: Upgrade\r\n"
      "Sec-WebSocket-Accept: ";
  static const char lp[] = "\r\nSec-WebSocket-Protocol: ";
  char accept[29];
  int nomem = 0;
  size_t need;

  if (ws_accept_key(m, hs->key.p, hs->key.n, accept, &nomem) != 0) {
    /* Out of memory inside OpenSSL is a resource failure (503, try again);
     * anything else after ws_global_init's warm-up is ours to explain. */
    return nomem ? WS_DIAG_HS_NOMEM : WS_DIAG_HS_INTERNAL;
  }
  need = sizeof(l1) - 1 + 28 + 4;
  if (hs->subprotocol.n) need += sizeof(lp) - 1 + hs->subprotocol.n;
  /* One reservation, so the appends below cannot fail half-way and leave a
   * partial response in out. */
  if (ws_buf_reserve(out, m, need) != 0) return WS_DIAG_HS_NOMEM;
  (void)ws_buf_append(out, m, l1, sizeof(l1) - 1);
  (void)ws_buf_append(out, m, accept, 28);
  if (hs->subprotocol.n) {
    (void)ws_buf_append(out, m, lp, sizeof(lp) - 1);
    (void)ws_buf_append(out, m, hs->subprotocol.p, hs->subprotocol.n);
  }
  (void)ws_buf_append(out, m, "\r\n\r\n", 4);
  return WS_DIAG_NONE;
}

/* ---- error responses ---- */

/* On the one text writer (text.h): bytes, no NUL; 0 when they do not fit. */
typedef ws_text wbuf;

static void w_put(wbuf *w, const char *s, size_t n) {
  ws_text_put(w, s, n);
}

static void w_str(wbuf *w, const char *s) {
  ws_text_puts(w, s);
}

static void w_uint(wbuf *w, size_t v) {
  ws_text_int(w, (long long)v);
}

static const char *reason_phrase(int status) {
  /* RFC 9110 15 (and RFC 6585 5 for 431). */
  switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 426: return "Upgrade Required";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return NULL;
  }
}

size_t ws_http_error_response(ws_diag d, const char *reason, char *out,
                              size_t cap) {
  const ws_diag_info *info = ws_diag_get(d);
  const char *phrase;
  size_t blen = reason ? strlen(reason) : 0;
  wbuf w;

  if (!info || !(phrase = reason_phrase(info->http_status)) || !out) return 0;
  ws_text_init(&w, out, cap);
  w_str(&w, "HTTP/1.1 ");
  w_uint(&w, (size_t)info->http_status);
  w_put(&w, " ", 1);
  w_str(&w, phrase);
  w_str(&w, "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ");
  w_uint(&w, blen);
  /* The connection cannot continue: the client may have sent frames after
   * the head already (RFC 9112 9.6). */
  w_str(&w, "\r\nConnection: close\r\n");
  switch (info->http_status) {
    case 405: /* RFC 9110 15.5.6: MUST list the allowed methods */
      w_str(&w, "Allow: GET\r\n");
      break;
    case 426: /* RFC 9110 15.5.22 and RFC 6455 4.4: what to upgrade to */
      w_str(&w, "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n");
      break;
    case 401: /* RFC 6750 3: no error code when no credentials were sent,
               * invalid_token (3.1) when a token was sent and refused */
      w_str(&w, d == WS_DIAG_AUTH_NO_TOKEN
                    ? "WWW-Authenticate: Bearer\r\n"
                    : "WWW-Authenticate: Bearer error=\"invalid_token\"\r\n");
      break;
    case 503: /* RFC 9110 10.2.3: a resource failure is transient */
      w_str(&w, "Retry-After: 1\r\n");
      break;
    default: break;
  }
  w_put(&w, "\r\n", 2);
  w_put(&w, reason ? reason : "", blen);
  return ws_text_fits(&w) ? w.len : 0;
}
