/* The fault plan (POLICY §4): which hits of which fault kinds fail.
 *
 * Per session, so sessions stay independent: a plan is plain data owned by
 * the caller, consulted through ws_fault_hit() at every fault point.
 * Specs: "KIND@N" fails the N-th hit of KIND (1-based), "KIND@N+" the N-th
 * and every later one, "KIND@*" every hit; a rate P with a seed S fails each
 * hit with probability P, reproducibly.  Kinds: alloc, idgen, attr, and
 * random (each call of the environment's randomness source: a getrandom()
 * that fails is a real failure the id generators must survive).  The clock
 * is not a kind: ws_env's now() has no way to fail. */
#ifndef WS_FAULT_PLAN_H
#define WS_FAULT_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "rng.h"
#include "wsgate/wsgate.h" /* WS_ATTR_COUNT_ */

/* The fault kinds: X(ID, NAME).  Everything that lists kinds (names, the
 * parser and its messages, --kinds, the sweep) reads this list. */
#define WS_FAULT_KIND_LIST(X) \
  X(ALLOC, "alloc")           \
  X(IDGEN, "idgen")           \
  X(ATTR, "attr")             \
  X(RANDOM, "random")

typedef enum ws_fault_kind {
#define WS_FAULT_KIND_ENUM_(id, name) WS_FAULT_##id,
  WS_FAULT_KIND_LIST(WS_FAULT_KIND_ENUM_)
#undef WS_FAULT_KIND_ENUM_
      WS_FAULT_KINDS_
} ws_fault_kind;

/* Fault sites: the places of one kind that a rule can name on their own
 * ("idgen.primary@*": the primary generator down for the whole session
 * while the fallback works; "alloc.openssl@3": the third allocation made
 * inside OpenSSL).  Hits are numbered per kind and per site.  The attribute
 * sites follow the ws_attr order: WS_SITE_ATTR_ + attr.  Site numbers run
 * from 1 to WS_FAULT_SITES_ - 1. */
typedef enum ws_fault_site {
  WS_SITE_ANY = 0, /* a rule on the whole kind (a zeroed rule is one) */
  WS_SITE_ALLOC_CORE,
  WS_SITE_ALLOC_CJSON,
  WS_SITE_ALLOC_OPENSSL,
  WS_SITE_ALLOC_WSLAY, /* the boundary probe before wslay's libc malloc */
  WS_SITE_IDGEN_PRIMARY,
  WS_SITE_IDGEN_FALLBACK,
  WS_SITE_RANDOM,
  WS_SITE_ATTR_ /* + ws_attr */
} ws_fault_site;
#define WS_FAULT_SITES_ ((int)WS_SITE_ATTR_ + (int)WS_ATTR_COUNT_)

/* The kind a site belongs to. */
ws_fault_kind ws_fault_site_kind(int site);
/* Writes "alloc.openssl", "attr.thread_id", ... (or the kind's name for
 * WS_SITE_ANY with kind) into buf; returns buf. */
const char *ws_fault_site_name(int site, char *buf, size_t cap);
/* Parses "KIND" (site WS_SITE_ANY) or "KIND.SITE"; 0, or -1 when unknown. */
int ws_fault_target_from_name(const char *name, size_t len, ws_fault_kind *kind,
                              int *site);

typedef enum ws_fault_mode {
  WS_FAULT_ONCE = 0, /* KIND@N */
  WS_FAULT_FROM,     /* KIND@N+ */
  WS_FAULT_ALL       /* KIND@* */
} ws_fault_mode;

#define WS_FAULT_MAX_RULES 16

typedef struct ws_fault_rule {
  ws_fault_kind kind;
  int site; /* WS_SITE_ANY, or a site of kind: n counts that site's hits */
  ws_fault_mode mode;
  unsigned long n;
} ws_fault_rule;

typedef struct ws_fault_plan {
  ws_fault_rule rules[WS_FAULT_MAX_RULES];
  size_t nrules;
  uint32_t rate_ppm; /* 0..1000000: probability per hit, in millionths */
  uint64_t rng;      /* state of the seeded generator for the rate */
  unsigned long hits[WS_FAULT_KINDS_];          /* hits seen so far */
  unsigned long site_hits[WS_FAULT_SITES_];     /* the same, per site */
  unsigned long injected[WS_FAULT_KINDS_];      /* hits failed so far */
  unsigned long rule_fired[WS_FAULT_MAX_RULES]; /* hits each rule failed */
} ws_fault_plan;

/* "alloc" -> WS_FAULT_ALLOC ...; -1 when unknown. */
int ws_fault_kind_from_name(const char *name, size_t len);
const char *ws_fault_kind_name(ws_fault_kind k);

void ws_fault_plan_init(ws_fault_plan *p);
/* Adds one KIND@N | KIND@N+ | KIND@* rule, where KIND may name one site
 * (KIND.SITE, e.g. idgen.primary, alloc.openssl, attr.thread_id).  0, or -1
 * with a message in err (malformed spec, unknown kind or site, N = 0 or
 * above ULONG_MAX, too many rules). */
int ws_fault_plan_add(ws_fault_plan *p, const char *spec, char *err,
                      size_t errlen);
/* Sets the rate (0 <= rate <= 1) and its seed.  0, or -1 when out of range. */
int ws_fault_plan_set_rate(ws_fault_plan *p, double rate, uint64_t seed);

/* Counts one hit at site (of its kind) and returns 1 when it must fail.  *n
 * gets the hit's 1-based number within its kind (for the trail).  A site
 * out of range (WS_SITE_ANY included) is no hit: 0, nothing counted. */
int ws_fault_hit_site(ws_fault_plan *p, int site, unsigned long *n);
/* A hit of kind at no particular site: only whole-kind rules apply. */
int ws_fault_hit(ws_fault_plan *p, ws_fault_kind kind, unsigned long *n);

/* Writes a rule back as its spec ("alloc.openssl@3+"). */
const char *ws_fault_rule_spec(const ws_fault_rule *r, char *buf, size_t cap);

/* Compact binary plan for fuzz targets (leading input bytes choose the
 * plan, as libxml2's fuzzers do).  Layout: byte 0 = number of rules r (mod
 * 5, so 0..4), then r rules of 3 bytes each: target (mod KINDS + SITES - 1:
 * below KINDS a whole kind, else site 1 + byte - KINDS), mode (mod 3), n (1 +
 * byte).  Decodes from data[0..len) and returns the bytes used (at most
 * 13); a short input simply yields fewer rules. */
size_t ws_fault_plan_decode(ws_fault_plan *p, const uint8_t *data, size_t len);

#endif
