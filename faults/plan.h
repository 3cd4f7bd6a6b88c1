/* The fault plan (CONTRACT 4): which hits of which fault kinds fail.
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

typedef enum ws_fault_kind {
  WS_FAULT_ALLOC = 0,
  WS_FAULT_IDGEN,
  WS_FAULT_ATTR,
  WS_FAULT_RANDOM, /* each call of env->random (the id generators' source) */
  WS_FAULT_KINDS_
} ws_fault_kind;

typedef enum ws_fault_mode {
  WS_FAULT_ONCE = 0, /* KIND@N */
  WS_FAULT_FROM,     /* KIND@N+ */
  WS_FAULT_ALL       /* KIND@* */
} ws_fault_mode;

#define WS_FAULT_MAX_RULES 16

typedef struct ws_fault_rule {
  ws_fault_kind kind;
  ws_fault_mode mode;
  unsigned long n;
} ws_fault_rule;

typedef struct ws_fault_plan {
  ws_fault_rule rules[WS_FAULT_MAX_RULES];
  size_t nrules;
  uint32_t rate_ppm; /* 0..1000000: probability per hit, in millionths */
  uint64_t rng;      /* state of the seeded generator for the rate */
  unsigned long hits[WS_FAULT_KINDS_];     /* hits seen so far */
  unsigned long injected[WS_FAULT_KINDS_]; /* hits failed so far */
} ws_fault_plan;

/* "alloc" -> WS_FAULT_ALLOC ...; -1 when unknown. */
int ws_fault_kind_from_name(const char *name, size_t len);
const char *ws_fault_kind_name(ws_fault_kind k);

void ws_fault_plan_init(ws_fault_plan *p);
/* Adds one KIND@N | KIND@N+ | KIND@* rule.  0, or -1 with a message in err
 * (malformed spec, unknown kind, N = 0, too many rules). */
int ws_fault_plan_add(ws_fault_plan *p, const char *spec, char *err,
                      size_t errlen);
/* Sets the rate (0 <= rate <= 1) and its seed.  0, or -1 when out of range. */
int ws_fault_plan_set_rate(ws_fault_plan *p, double rate, uint64_t seed);

/* Counts one hit of kind and returns 1 when it must fail.  *n gets the hit's
 * 1-based number (for the trail). */
int ws_fault_hit(ws_fault_plan *p, ws_fault_kind kind, unsigned long *n);

/* Compact binary plan for fuzz targets (leading input bytes choose the
 * plan, as libxml2's fuzzers do).  Layout: byte 0 = number of rules r (mod
 * 5, so 0..4), then r rules of 3 bytes each: kind (mod 4), mode (mod 3),
 * n (1 + byte).  Decodes from data[0..len) and returns the bytes used (at
 * most 13); a short input simply yields fewer rules. */
size_t ws_fault_plan_decode(ws_fault_plan *p, const uint8_t *data, size_t len);

#endif
