/* The token forge: builds JWS/JWT tokens from fuzz input bytes, signed with
 * the private half of every test key (tests/keys, compiled in) or with a
 * FOREIGN key that is not in the key set, then tampered with, and says what
 * the core must answer (model_jwt.h) and whether the result is a token the
 * core may accept at all (pristine).
 *
 * SPEC LAYOUT (fz_token_decode).  Small fixed-width choice bytes first, one
 * byte per choice, each taken modulo its number of options; a missing byte
 * counts as 0, and every choice 0 is the "good" one, so an empty spec is a
 * valid HS256 token that every policy accepts:
 *
 *   byte 0   signing key      % FZ_KEY_COUNT   (fz_key_name: hs256 ... ed25519,
 *                                               foreign-hs256, foreign-es256)
 *   byte 1   header alg       % FZ_ALG_CHOICES (0: the key's own alg; the 7
 *            supported names; "none", wrong case, unknown, empty, missing,
 *            a number, null, an array, a \u-escaped "EdDSA")
 *   byte 2   header kid       % FZ_KID_CHOICES (0: the key's own kid; absent;
 *            each set key's kid; unknown; a number; null; ""; wrong case; an
 *            array)
 *   byte 3   header extras    % FZ_HDR_CHOICES (typ, crit, b64 false/true,
 *            duplicate members, empty crit, jwk, zip); bit
 *            (byte / FZ_HDR_CHOICES) & 1 puts kid before alg
 *   byte 4   tamper           % FZ_TAMPER_COUNT (fz_tamper_name; the
 *            signature ops of enum fz_tamper, e.g. an ECDSA signature whose
 *            check hits the point at infinity)
 *   byte 5-6 tamper argument  big-endian, 16 bits (bit position, byte count,
 *            character position, which other key, ...)
 *   byte 7   claims mode      % 4 == 3: RAW (the tail is the claims text);
 *            otherwise STRUCTURED (bytes 8-14)
 *   byte 8   exp              % FZ_EXP_CHOICES  } each a value at or around a
 *   byte 9   nbf              % FZ_NBF_CHOICES  } boundary relative to the
 *   byte 10  iat              % FZ_IAT_CHOICES  } fixed clock (FZ_NOW) and
 *   byte 11  iss              % FZ_ISS_CHOICES  } the policy's leeway, or a
 *   byte 12  aud              % FZ_AUD_CHOICES  } malformed / missing /
 *   byte 13  sub              % FZ_SUB_CHOICES  } non-string one
 *   byte 14  claims extras    % FZ_CLX_CHOICES (duplicate member, nesting,
 *            not an object, trailing bytes, whitespace, ...)
 *   byte 15  tail length      0..254, or 255: the rest of the input
 *   byte 16  tail             raw claims text (RAW mode) or the bytes of sub
 *            (STRUCTURED mode, sub choice "tail")
 *
 * Claim values that depend on the policy (exp = now - leeway, ...) are
 * written for the policy given to fz_token_decode, so the same spec probes
 * each policy's own boundaries.
 *
 * SIGNING is deterministic: the same spec gives byte-identical tokens in
 * every run and every process.  HMAC, RSASSA-PKCS1-v1_5 and Ed25519 are
 * deterministic by definition.  ES256 uses RFC 6979 nonces (HMAC-SHA-256
 * DRBG over the private key and the message hash; checked against RFC 6979
 * A.2.5 in tests/test_forge.c).  PS256 is encoded here (EMSA-PSS, RFC 8017
 * 9.1.1, MGF1-SHA-256, 32-byte salt) with the salt taken from SHA-256 of
 * (a label, the key, the signing input), then given to OpenSSL's raw RSA
 * private operation.  No process-wide RNG hook is installed.  The header
 * alg decides how the forge signs: a supported alg that suits the key is
 * used; an HMAC alg with an asymmetric key is the classic algorithm
 * confusion (HMAC keyed with the key's public SubjectPublicKeyInfo DER);
 * anything else is signed with the key's own alg.  When the header alone
 * makes the core stop before the signature and rules out a pristine token
 * (no supported alg, alg twice, a kid naming no key of the set or a key of
 * another alg), the forge does not sign: filler bytes derived from the
 * signing input, of the length the signature would have, stand in for it
 * (fz_token.filler), which keeps RSA's ~1 ms off most RSA inputs.
 *
 * Signatures are memoized in a bounded direct-mapped cache keyed by (key,
 * alg, SHA-256 of the signing input).  The cache only saves time: a hit
 * returns the bytes a miss would compute, so results never depend on what
 * ran before.  The forge allocates with libc and must run outside any
 * session, after ws_global_init (fz_forge_init calls it).  Not
 * thread-safe (fuzz targets and tests are single-threaded).
 *
 * ACCEPTANCE ORACLE.  pristine == 1 iff the token's bytes are exactly what
 * the forge produces when it signs the token's signing input with a key OF
 * THE SET, with the alg that key is for (jwks.json), whose header names that
 * alg (one unique "alg" member) and has no kid or that key's kid, all three
 * segments canonical.  If the core accepts a token (ws_jwt_verify returns
 * WS_DIAG_NONE, or a session gets past auth) whose pristine is 0, that is a
 * forged or malleable-signature acceptance: verdict "forged"
 * (fz_jwt_oracle_check in model_jwt.h).  A pristine token may still be
 * rejected (crit, expired, ...): the model says which diagnosis.  For a RAW
 * token (fuzzer bytes used as the token, no forge), fz_token_from_raw sets
 * pristine from fz_token_independently_valid, an independent strict check
 * against the forge's own key material.
 *
 * The signature check of a tampered token rests on one assumption, stated
 * here: a signature that is not byte for byte the forge's deterministic
 * signature of the signing input by the selected key does not verify.  It
 * holds up to negligible probability for every tamper the forge makes (it
 * never makes the ECDSA (r, n - s) twin, which does verify). */
#ifndef WS_FUZZ_FORGE_H
#define WS_FUZZ_FORGE_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h" /* ws_alg */
#include "wsgate/diag.h"

enum {
  FZ_KEY_HS256 = 0,
  FZ_KEY_HS384,
  FZ_KEY_HS512,
  FZ_KEY_RS256,
  FZ_KEY_PS256,
  FZ_KEY_ES256,
  FZ_KEY_ED25519,
  FZ_KEY_SET_COUNT, /* keys 0..6 are the key set (jwks.json, same order) */
  FZ_KEY_FOREIGN_HS256 = FZ_KEY_SET_COUNT, /* not in the key set */
  FZ_KEY_FOREIGN_ES256,
  FZ_KEY_COUNT
};

/* Spec choice counts (the options are listed in forge.c). */
#define FZ_ALG_CHOICES 20
#define FZ_KID_CHOICES 15
#define FZ_HDR_CHOICES 12
#define FZ_EXP_CHOICES 22
#define FZ_NBF_CHOICES 14
#define FZ_IAT_CHOICES 9
#define FZ_ISS_CHOICES 9
#define FZ_AUD_CHOICES 13
#define FZ_SUB_CHOICES 17
#define FZ_CLX_CHOICES 9

enum fz_tamper {
  FZ_T_NONE = 0,
  FZ_T_FLIP_BIT,     /* flip bit (arg % (8 * sig length)) of the signature */
  FZ_T_TRUNCATE,     /* drop 1 + arg % length trailing signature bytes */
  FZ_T_EXTEND,       /* append 1 + (arg & 63) bytes of value arg >> 8 */
  FZ_T_B64_PAD,      /* re-encode the signature with '=' padding */
  FZ_T_B64_STD,      /* ... with the '+' '/' alphabet */
  FZ_T_B64_TRAIL,    /* ... with non-zero trailing bits */
  FZ_T_B64_SPACE,    /* ... with a whitespace character inserted */
  FZ_T_SWAP,         /* another key's signature (its own alg), same input */
  FZ_T_R_ZERO,       /* signature bytes 0..31 (ECDSA r) set to 0 */
  FZ_T_S_ZERO,       /* bytes 32..63 (ECDSA s) set to 0 */
  FZ_T_R_ORDER,      /* r = n, the P-256 group order */
  FZ_T_S_ORDER,      /* s = n */
  FZ_T_R_ORDER_M1,   /* r = n - 1: in range, does not verify */
  FZ_T_S_PRIME,      /* s = p, the P-256 field prime (> n) */
  FZ_T_PAYLOAD_FLIP, /* a payload character changed after signing */
  FZ_T_EC_INFINITY,  /* a 64-byte r||s, both in range, whose ES256 check
                        with the set's ES256 key lands on the point at
                        infinity (u1*G + u2*Q = O: OpenSSL's verify fails
                        with an error, -1, not 0): r = -z/d mod n for the
                        key's private d and z = SHA-256 of the signing
                        input, s derived from the input and the argument */
  FZ_TAMPER_COUNT
};

#define FZ_SPEC_FIXED 16 /* bytes 0..15 above */
#define FZ_TAIL_MAX 4096

typedef struct fz_token {
  char *text; /* the token as sent (malloc'd, NUL-terminated) */
  size_t len;
  int pristine;     /* see ACCEPTANCE ORACLE above */
  ws_diag expect;   /* the AUTH_* diagnosis the contract prescribes
                       (WS_DIAG_NONE: must be accepted) */
  int expect_known; /* 0 when the model cannot predict (raw claims text,
                       raw token) */
  char sub[256];    /* the user id when accepted (NUL-terminated) */
  size_t sub_len;
  /* What the forge did (for the model and for messages). */
  int raw_token;            /* 1: fz_token_from_raw, none of the below is set */
  unsigned policy;          /* the policy the claims and expect were made for */
  uint8_t c[FZ_SPEC_FIXED]; /* the fixed spec bytes, reduced modulo their
                               option counts (c[5], c[6], c[15] as given) */
  int kid_first;            /* header member order */
  int claims_raw;           /* RAW claims mode */
  const uint8_t *tail;      /* points into the spec given to fz_token_decode:
                               valid only while it is */
  size_t tail_len;
  ws_alg header_alg; /* the supported alg the header names, or
                        WS_ALG_NONE_ */
  ws_alg sign_alg;   /* the alg the forge signed with */
  int confused;      /* HMAC keyed with the public key's DER */
  int filler;  /* the header alone decides (no supported alg, alg twice, kid
                  naming no key or a key of another alg): deterministic
                  filler bytes stand in for the signature */
  int sig_key; /* whose signature is in the token before any
                  byte-level tamper (FZ_T_SWAP: the other key) */
  ws_alg sig_alg;
  int input_changed; /* the signing input changed after signing */
  size_t hseg, pseg; /* header and payload segment lengths in text */
  unsigned tamper_arg;
} fz_token;

/* Loads the keys (idempotent); calls ws_global_init first.  Aborts with a
 * message only when the fixed setup cannot be built. */
void fz_forge_init(void);

/* Decodes a token spec from data[0..size) (layout above), builds and signs
 * the token, and runs the model (model_jwt.h) for policy `policy` (%
 * FZ_POLICY_COUNT, the fuzz configs of fuzz/common.c).  Returns the bytes
 * consumed (at most size; a short or empty spec decodes with defaults).
 * On out-of-memory t->text is NULL. */
size_t fz_token_decode(const uint8_t *data, size_t size, unsigned policy,
                       fz_token *t);

/* A RAW token: the bytes as given, pristine = fz_token_independently_valid,
 * expect_known = 0.  t->text NULL when out of memory. */
void fz_token_from_raw(const uint8_t *tok, size_t len, fz_token *t);

void fz_token_free(fz_token *t);

/* 1 iff the token holds only base64url symbols and '.', so that it can be
 * carried unchanged in a request header, a query string or a JSON string
 * (the whitespace and '+' '/' '=' re-encodings are not). */
int fz_token_wire_safe(const fz_token *t);

/* One human-readable line describing the spec and the verdicts, e.g.
 * "key=rs256 alg=PS256 kid=absent hdr=- tamper=flip_bit(17) claims=exp:now-L
 * ... policy=2 pristine=0 expect=AUTH_SIG_INVALID".  Returns buf. */
char *fz_token_describe(const fz_token *t, char *buf, size_t cap);

/* The independent strict checker for raw tokens: 1 iff all three segments
 * are canonical unpadded base64url, the header is a JSON object without
 * duplicate member names whose "alg" is a string naming an algorithm
 * allowed for the key its "kid" (a string) names, or, without kid, for
 * some key of the set, and that key's signature verifies with OpenSSL from
 * the forge's own key material (ECDSA: 64-byte r||s with 0 < r, s < n;
 * PS256: 32-byte salt).  Claims are not looked at.  why (may be NULL)
 * gets the first reason it fails. */
int fz_token_independently_valid(const char *tok, size_t len, char *why,
                                 size_t cap);

/* ---- for the model and the tests ---- */

const char *fz_key_name(int key); /* "hs256", ..., "foreign-es256" */
/* The alg the key is for (jwks.json), and whether it is in the key set. */
ws_alg fz_key_alg(int key);
int fz_key_in_set(int key);
/* RSA keys: the modulus (big-endian) and its length; NULL otherwise. */
const uint8_t *fz_key_rsa_n(int key, size_t *len);
const char *fz_tamper_name(unsigned op);

/* 1 iff sig[0..slen) is byte for byte the forge's signature of
 * input[0..ilen) by key with alg (which must suit the key, or be HMAC). */
int fz_forge_sig_is(int key, ws_alg alg, const uint8_t *input, size_t ilen,
                    const uint8_t *sig, size_t slen);

/* sig over input checked by OpenSSL alone with key's material (no core,
 * no forge cache): EVP_DigestVerify's result, 1 verifies, 0 does not (or a
 * length or ECDSA range check failed first), below 0 OpenSSL reported an
 * error (the ES256 point at infinity, FZ_T_EC_INFINITY).  Tests. */
int fz_forge_verify_openssl(int key, ws_alg alg, const uint8_t *input,
                            size_t ilen, const uint8_t *sig, size_t slen);

/* Signs input with key and alg into sig (cap >= 512); returns the length,
 * 0 when alg cannot be used with key or on failure.  Memoized. */
size_t fz_forge_sign(int key, ws_alg alg, const uint8_t *input, size_t ilen,
                     uint8_t *sig, size_t cap);

/* RFC 6979 deterministic ECDSA P-256 / SHA-256 with private scalar d:
 * writes r||s (64 bytes); 0 or -1. */
int fz_ecdsa_p256_rfc6979(const uint8_t d[32], const uint8_t *msg, size_t mlen,
                          uint8_t rs[64]);

/* Cache statistics and reset (tests, measurements). */
void fz_forge_cache_stats(unsigned long *hits, unsigned long *misses);
void fz_forge_cache_clear(void);

/* Strict unpadded base64url (the forge's own codec, independent of the
 * core's): decode returns the length or -1. */
long fz_b64url_decode(const char *in, size_t n, uint8_t *out, size_t cap);
size_t fz_b64url_encode(const uint8_t *in, size_t n, char *out, size_t cap);

#endif
