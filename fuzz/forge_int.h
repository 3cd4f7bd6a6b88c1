/* The option tables shared by the token forge (forge.c), which writes the
 * JSON text of each option, and the decision model (model_jwt.c), which
 * reads what each option means.  One row per option: its text and its
 * meaning side by side, so they cannot drift apart unnoticed. */
#ifndef WS_FUZZ_FORGE_INT_H
#define WS_FUZZ_FORGE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "forge.h"

/* ---- header ---- */

typedef enum {
  FZ_A_OWN,     /* the signing key's own alg */
  FZ_A_NAMED,   /* a supported alg (alg) */
  FZ_A_NONE,    /* "none" */
  FZ_A_UNKNOWN, /* a string that names no supported alg, or not a string */
  FZ_A_MISSING  /* no alg member */
} fz_alg_kind;

typedef struct fz_alg_opt {
  fz_alg_kind kind;
  ws_alg alg;       /* FZ_A_NAMED */
  const char *json; /* the member's value */
  int depth;        /* nesting it adds */
  const char *label;
} fz_alg_opt;

typedef enum {
  FZ_K_OWN,      /* the signing key's kid (foreign keys: a kid not in
                    the set) */
  FZ_K_ABSENT,   /* no kid member */
  FZ_K_SET,      /* kid of set key `key` */
  FZ_K_STRING,   /* a string that is no key's kid */
  FZ_K_NONSTRING /* a number, null, an array */
} fz_kid_kind;

typedef struct fz_kid_opt {
  fz_kid_kind kind;
  int key;
  const char *json;
  int depth;
  const char *label;
} fz_kid_opt;

typedef enum {
  FZ_H_PLAIN,     /* no effect on the verdict */
  FZ_H_DUP,       /* a duplicate member name */
  FZ_H_DUP_ALG,   /* the alg member twice (when there is one) */
  FZ_H_CRIT,      /* crit present */
  FZ_H_B64_FALSE, /* b64 present and not JSON true (with or without crit) */
} fz_hdr_kind;

typedef struct fz_hdr_opt {
  fz_hdr_kind kind;
  const char *json; /* members appended after alg and kid ("" none) */
  int depth;
  const char *label;
} fz_hdr_opt;

/* ---- claims ---- */

typedef enum {
  FZ_V_MISSING, /* member absent */
  FZ_V_INT,     /* base + off, written as an integer */
  FZ_V_FRAC,    /* base + off written as "<n>.5" (n >= 0): ceiling n + 1 */
  FZ_V_TEXT,    /* text, a number whose ceiling is ceil_abs */
  FZ_V_BAD      /* text, not a finite number whose ceiling fits int64 */
} fz_date_kind;

typedef enum {
  FZ_B_ABS,         /* 0 */
  FZ_B_NOW,         /* now */
  FZ_B_NOW_MINUS_L, /* now - leeway */
  FZ_B_NOW_PLUS_L   /* now + leeway */
} fz_date_base;

typedef struct fz_date_opt {
  fz_date_kind kind;
  fz_date_base base;
  int64_t off;
  const char *text;
  int64_t ceil_abs;
  const char *label;
} fz_date_opt;

/* iss: a string value (value != NULL), a non-string or missing, or text
 * that makes the claims invalid JSON (json_bad: a \u0000). */
typedef struct fz_iss_opt {
  const char *json; /* NULL: missing */
  const char *value;
  int json_bad;
  const char *label;
} fz_iss_opt;

typedef enum {
  FZ_AUD_MISSING,
  FZ_AUD_STRING,
  FZ_AUD_ARRAY,
  FZ_AUD_OTHER
} fz_aud_kind;

typedef struct fz_aud_opt {
  fz_aud_kind kind;
  const char *json;
  const char *items[3]; /* STRING: items[0]; ARRAY: NULL = not a string */
  int nitems;
  int depth;
  const char *label;
} fz_aud_opt;

typedef enum {
  FZ_SUB_FIXED, /* json below, decoded to value[0..value_len) */
  FZ_SUB_MISSING,
  FZ_SUB_NONSTRING, /* json below, not a string */
  FZ_SUB_REPEAT,    /* repeat_n copies of repeat (a JSON-safe string) */
  FZ_SUB_TAIL,      /* the spec's tail bytes, escaped */
  FZ_SUB_JSON_BAD   /* json below makes the claims invalid JSON */
} fz_sub_kind;

typedef struct fz_sub_opt {
  fz_sub_kind kind;
  const char *json;
  const char *value;
  size_t value_len;
  const char *repeat;
  size_t repeat_n;
  const char *tail_after; /* FZ_SUB_REPEAT: appended once (may be NULL) */
  int depth;
  const char *label;
} fz_sub_opt;

typedef enum {
  FZ_CLX_PLAIN,      /* extra members with no effect */
  FZ_CLX_BAD,        /* claims not a JSON object, or invalid JSON */
  FZ_CLX_DEEP,       /* extra nesting: depth below */
  FZ_CLX_WRAP_ARRAY, /* the claims object inside an array */
  FZ_CLX_TRAILING,   /* bytes after the object */
  FZ_CLX_SPACE       /* whitespace around the object */
} fz_clx_kind;

typedef struct fz_clx_opt {
  fz_clx_kind kind;
  const char *json; /* members appended (PLAIN, BAD, DEEP) */
  int depth;        /* total nesting of the claims (DEEP), else 0 */
  const char *label;
} fz_clx_opt;

extern const fz_alg_opt fz_alg_opts[FZ_ALG_CHOICES];
extern const fz_kid_opt fz_kid_opts[FZ_KID_CHOICES];
extern const fz_hdr_opt fz_hdr_opts[FZ_HDR_CHOICES];
extern const fz_date_opt fz_exp_opts[FZ_EXP_CHOICES];
extern const fz_date_opt fz_nbf_opts[FZ_NBF_CHOICES];
extern const fz_date_opt fz_iat_opts[FZ_IAT_CHOICES];
extern const fz_iss_opt fz_iss_opts[FZ_ISS_CHOICES];
extern const fz_aud_opt fz_aud_opts[FZ_AUD_CHOICES];
extern const fz_sub_opt fz_sub_opts[FZ_SUB_CHOICES];
extern const fz_clx_opt fz_clx_opts[FZ_CLX_CHOICES];

/* Spec byte positions. */
enum {
  FZ_B_KEY = 0,
  FZ_B_ALG,
  FZ_B_KID,
  FZ_B_HDR,
  FZ_B_TAMPER,
  FZ_B_ARG_HI,
  FZ_B_ARG_LO,
  FZ_B_MODE,
  FZ_B_EXP,
  FZ_B_NBF,
  FZ_B_IAT,
  FZ_B_ISS,
  FZ_B_AUD,
  FZ_B_SUB,
  FZ_B_CLX,
  FZ_B_TAIL_LEN
};

/* The value an INT/FRAC date option stands for (before rounding). */
int64_t fz_date_value(const fz_date_opt *o, int64_t now, int64_t leeway);

#endif
