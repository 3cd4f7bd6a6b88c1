/* The judge (judge.h). */
#include "judge.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
  const char *name;
  int failing;
} verdicts[WS_V_COUNT_] = {
#define WS_VERDICT_ROW_(id, name, failing) {name, failing},
    WS_VERDICT_LIST(WS_VERDICT_ROW_)
#undef WS_VERDICT_ROW_
};

const char *ws_verdict_name(ws_verdict v) {
  return (unsigned)v < WS_V_COUNT_ ? verdicts[v].name : "?";
}

int ws_verdict_failing(ws_verdict v) {
  return (unsigned)v < WS_V_COUNT_ ? verdicts[v].failing : 1;
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
  size_t i = 0;
  int k;
  while (i < n) {
    int matched = 0;
    for (k = 0; k < WS_ATTR_COUNT_ && !matched; k++) {
      char key[64];
      size_t kl;
      if (k == WS_ATTR_USER_ID) continue; /* not generated: compared as is */
      kl = (size_t)snprintf(key, sizeof(key), "\"%s\":\"",
                            ws_attr_name((ws_attr)k));
      if (p[i] == '"' && n - i >= kl && memcmp(p + i, key, kl) == 0) {
        vput(b, key, kl);
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

uint8_t *ws_judge_visible(const uint8_t *sent, size_t len, size_t *out_len) {
  vbuf b = {0};
  size_t i = 0;
  const uint8_t *end = NULL;
  size_t k;
  /* A session resumed past its upgrade sends frames only. */
  int http = len >= 5 && memcmp(sent, "HTTP/", 5) == 0;
  for (k = 0; http && k + 4 <= len; k++)
    if (memcmp(sent + k, "\r\n\r\n", 4) == 0) {
      end = sent + k + 4;
      break;
    }
  if (!http) {
    i = 0;
  } else if (!end) {
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

int ws_judge_same(const ws_run_result *a, const ws_run_result *b, int exact) {
  size_t na = 0, nb = 0;
  uint8_t *va, *vb;
  int eq;
  if (a->has_outcome != b->has_outcome || a->outcome.diag != b->outcome.diag ||
      a->outcome.http_status != b->outcome.http_status ||
      a->outcome.close_code != b->outcome.close_code)
    return 0;
  if (exact)
    return a->sent_len == b->sent_len &&
           (a->sent_len == 0 || memcmp(a->sent, b->sent, a->sent_len) == 0);
  va = ws_judge_visible(a->sent, a->sent_len, &na);
  vb = ws_judge_visible(b->sent, b->sent_len, &nb);
  eq = va && vb && na == nb && (na == 0 || memcmp(va, vb, na) == 0);
  free(va);
  free(vb);
  return eq;
}

/* The CTX_ATTR_ rows follow the ws_attr order (diag.h). */
static ws_diag attr_diag(int attr) {
  return (ws_diag)(WS_DIAG_CTX_ATTR_USER_ID + attr);
}

/* Does diagnosis d blame injected fault e (POLICY §4)? */
static int blames(const ws_diag_info *d, const ws_fault_event *e) {
  switch (e->kind) {
    case WS_FAULT_ALLOC:
    case WS_FAULT_RANDOM: return d->cls == WS_CLASS_RESOURCE;
    case WS_FAULT_IDGEN: return d->diag == WS_DIAG_CTX_IDGEN_EXHAUSTED;
    case WS_FAULT_ATTR: return e->attr >= 0 && d->diag == attr_diag(e->attr);
    default: return 0;
  }
}

static void event_text(const ws_fault_event *e, char *buf, size_t cap) {
  snprintf(buf, cap, "%s@%lu (%s)", ws_fault_kind_name(e->kind), e->n, e->site);
}

/* Primary ids read "<prefix>_<digits>_<16 hex>", fallback ids are RFC 4122
 * version 4 UUIDs (ws_idgen_primary_default, ws_idgen_fallback_default). */
static int is_hex(const char *s, size_t n) {
  size_t i;
  for (i = 0; i < n; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
      return 0;
  return 1;
}
static int is_uuid4(const char *s) {
  return strlen(s) == 36 && s[8] == '-' && s[13] == '-' && s[18] == '-' &&
         s[23] == '-' && s[14] == '4' && strchr("89ab", s[19]) && s[19] &&
         is_hex(s, 8) && is_hex(s + 9, 4) && is_hex(s + 14, 4) &&
         is_hex(s + 19, 4) && is_hex(s + 24, 12);
}
static int is_primary_id(const char *s) {
  const char *u1 = strchr(s, '_'), *u2 = u1 ? strchr(u1 + 1, '_') : NULL;
  size_t i;
  if (!u1 || !u2 || u1 == s || u2 == u1 + 1 || strlen(u2 + 1) != 16) return 0;
  for (i = 1; u1 + i < u2; i++)
    if (u1[i] < '0' || u1[i] > '9') return 0;
  return is_hex(u2 + 1, 16);
}

static int trail_has(const ws_outcome *o, ws_attr a) {
  size_t i;
  for (i = 0; i < o->trail_len; i++)
    if (o->trail[i].attr == a) return 1;
  return o->trail_dropped > 0;
}

/* The context factory's duties, in every run that built a context. */
static ws_verdict obligations(const ws_run_result *r, char *why, size_t cap) {
  int a;
  if (!r->has_context) return WS_V_DIAGNOSED;
  /* A copied session's context was read back where it was built. */
  for (a = 0; a < WS_ATTR_COUNT_ && !r->resumed; a++)
    if (!(r->attr_reads & (1u << a))) {
      snprintf(why, cap,
               "the context was built but attribute %s was never read back "
               "through the reader",
               ws_attr_name((ws_attr)a));
      return WS_V_OBLIGATION;
    }
  if (!r->default_idgen) return WS_V_DIAGNOSED;
  /* Ids made once per session: their format says which generator made
   * them, and the trail must agree.  (request_id is renewed per message,
   * so an old trail entry may name an earlier one.) */
  for (a = WS_ATTR_THREAD_ID; a < WS_ATTR_COUNT_; a++) {
    const char *id = r->ids[a];
    int fell_back = trail_has(&r->outcome, (ws_attr)a);
    if (a == WS_ATTR_REQUEST_ID) continue;
    if (fell_back ? !is_uuid4(id) : !is_primary_id(id)) {
      snprintf(why, cap,
               "%s is \"%s\", but the trail %s: the id must come from the "
               "%s generator",
               ws_attr_name((ws_attr)a), id,
               fell_back ? "records a fallback" : "records none",
               fell_back ? "fallback" : "primary");
      return WS_V_OBLIGATION;
    }
  }
  return WS_V_DIAGNOSED;
}

ws_verdict ws_judge(const ws_run_result *clean, const ws_run_result *r,
                    char *why, size_t cap) {
  const ws_outcome *o = &r->outcome;
  const ws_diag_info *d;
  char f[WS_FAULT_SITE_MAX + 64];
  ws_verdict v;
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
  if (d->cls == WS_CLASS_MESSAGE) {
    snprintf(why, cap,
             "the session ended with %s, a message-level diagnosis that must "
             "keep the session open",
             d->code);
    return WS_V_UNEXPLAINED;
  }
  if (o->stage != d->stage) {
    snprintf(why, cap, "%s reported stage %s, but its table row says %s",
             d->code, ws_stage_name(o->stage), ws_stage_name(d->stage));
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
  if (o->http_status == 101 && d->close_code && !o->close_code) {
    snprintf(why, cap, "%s after the upgrade sent no close frame (table: %d)",
             d->code, d->close_code);
    return WS_V_UNEXPLAINED;
  }
  if (strncmp(o->reason, d->code, strlen(d->code)) != 0 &&
      (o->close_code || (o->http_status && o->http_status != 101))) {
    snprintf(why, cap, "the reason sent does not start with %s", d->code);
    return WS_V_UNEXPLAINED;
  }
  if (r->live_blocks || r->live_bytes) {
    size_t at = (size_t)snprintf(
        why, cap, "%zu blocks (%zu bytes) still allocated after free",
        r->live_blocks, r->live_bytes);
    for (i = 0; i < r->n_live_sites && at < cap; i++)
      at += (size_t)snprintf(why + at, cap - at, "\n  live: %s",
                             r->live_sites[i]);
    return WS_V_LEAKED;
  }
  if (r->n_injected == 0 && !r->injected_dropped &&
      d->cls == WS_CLASS_INTERNAL) {
    snprintf(why, cap,
             "%s (class internal) with no fault injected: an internal "
             "failure nothing caused",
             d->code);
    return WS_V_INTERNAL;
  }
  if ((v = obligations(r, why, cap)) != WS_V_DIAGNOSED) return v;
  if (!clean) return WS_V_DIAGNOSED; /* the clean run itself */

  if (o->diag == clean->outcome.diag && ws_judge_same(clean, r, 0)) {
    /* Absorbed.  Only a documented fallback may absorb a fault, and the
     * trail must say so: a failed primary id generation needs its
     * idgen_fallback entry for that id; a failed randomness call needs
     * some new entry; an attribute read has no fallback at all. */
    for (i = 0; i < r->n_injected; i++) {
      const ws_fault_event *e = &r->injected[i];
      int ok = 1;
      if (e->kind == WS_FAULT_ATTR)
        ok = 0;
      else if (e->site_id == WS_SITE_IDGEN_PRIMARY && e->attr >= 0)
        ok = trail_has(o, (ws_attr)e->attr);
      else if (e->kind == WS_FAULT_IDGEN || e->kind == WS_FAULT_RANDOM)
        ok = o->trail_len + o->trail_dropped >
             clean->outcome.trail_len + clean->outcome.trail_dropped;
      if (!ok) {
        event_text(e, f, sizeof(f));
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
    return WS_V_UNSTABLE;
  }
  for (i = 0; i < r->n_injected; i++)
    if (blames(d, &r->injected[i])) return WS_V_DIAGNOSED;
  event_text(&r->injected[0], f, sizeof(f));
  snprintf(why, cap,
           "%s%s ended in %s (class %s, stage %s), which does not blame it", f,
           r->n_injected > 1 ? " and later hits" : "", d->code,
           ws_class_name(d->cls), ws_stage_name(o->stage));
  return WS_V_MISATTRIBUTED;
}
