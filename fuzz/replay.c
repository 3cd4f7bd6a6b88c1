/* A plain main for any fuzz target, without an engine.
 *
 *   fuzz_<t> FILE|DIR...              run each input once (a broken promise
 *                                     aborts, as under the fuzzer)
 *   fuzz_<t> --decode INPUT OUTDIR    write what the input means as files a
 *                                     plain `wsgate session` can replay:
 *                                     stream.bin, config.json, keys.json;
 *                                     print it as one JSON object
 *   fuzz_<t> --sweep [--chunks N,..] FILE|DIR...
 *                                     the fault sweep over each input's
 *                                     session (every hit of every kind and
 *                                     site, transient and persistent, whole
 *                                     and in N-byte pieces; default 1,7)
 *
 * Directories are walked (hidden files skipped).  ctest replays the seed
 * corpora and the fixed crashes with it.  Exit 0; 1 when the sweep found a
 * failing point; 2 on bad arguments or unreadable paths. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common.h"
#include "inject.h"
#include "plan.h"
#include "sweep.h"
#include "text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Targets that are not built on fz_target_decode (yet) can still replay. */
__attribute__((weak)) int fz_target_decode(const uint8_t *data, size_t size,
                                           fz_case *c) {
  (void)data;
  (void)size;
  (void)c;
  return -2;
}

static uint8_t *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  long n;
  uint8_t *buf;
  if (!f) return NULL;
  if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
      fseek(f, 0, SEEK_SET) != 0) {
    fclose(f);
    return NULL;
  }
  /* Exactly n bytes, so ASan sees a read past the input. */
  buf = malloc(n ? (size_t)n : 1);
  if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
    free(buf);
    fclose(f);
    return NULL;
  }
  fclose(f);
  *len = (size_t)n;
  return buf;
}

typedef int (*file_fn)(void *ud, const char *path, const uint8_t *d, size_t n);

static int each_file(const char *arg, file_fn fn, void *ud,
                     unsigned long *files) {
  struct stat st;
  if (stat(arg, &st) != 0) {
    fprintf(stderr, "%s: %s\n", arg, strerror(errno));
    return -1;
  }
  if (S_ISDIR(st.st_mode)) {
    DIR *d = opendir(arg);
    struct dirent *e;
    if (!d) {
      fprintf(stderr, "%s: %s\n", arg, strerror(errno));
      return -1;
    }
    while ((e = readdir(d)) != NULL) {
      char path[4096];
      if (e->d_name[0] == '.') continue;
      snprintf(path, sizeof(path), "%s/%s", arg, e->d_name);
      if (each_file(path, fn, ud, files) != 0) {
        closedir(d);
        return -1;
      }
    }
    closedir(d);
    return 0;
  } else {
    size_t n = 0;
    uint8_t *buf = read_file(arg, &n);
    int rc;
    if (!buf) {
      fprintf(stderr, "%s: %s\n", arg, strerror(errno ? errno : EIO));
      return -1;
    }
    rc = fn(ud, arg, buf, n);
    free(buf);
    (*files)++;
    return rc;
  }
}

static int replay_one(void *ud, const char *path, const uint8_t *d, size_t n) {
  (void)ud;
  (void)path;
  LLVMFuzzerTestOneInput(d, n);
  return 0;
}

/* ---- --decode -------------------------------------------------------------
 */

static int write_file(const char *dir, const char *name, const void *p,
                      size_t n) {
  char path[4096];
  FILE *f;
  snprintf(path, sizeof(path), "%s/%s", dir, name);
  if (!(f = fopen(path, "wb")) || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
    fprintf(stderr, "%s: %s\n", path, strerror(errno));
    return -1;
  }
  return 0;
}

static void json_str(FILE *out, const char *s) {
  fputc('"', out);
  for (; *s; s++) {
    char e[WS_JSON_ESCAPE_MAX];
    fwrite(e, 1, ws_json_escape((unsigned char)*s, e), out);
  }
  fputc('"', out);
}

/* The plan as `wsgate session` counts it: a resumed input's hits come
 * after the prefix's in a plain replay. */
static void replay_rule(const fz_case *c, const ws_fault_rule *in,
                        ws_fault_rule *r) {
  long off = 0;
  *r = *in;
  if (!c->hit_offset) return;
  off = r->site ? c->site_hit_offset[r->site] : c->hit_offset[r->kind];
  if (r->mode == WS_FAULT_ALL) {
    r->mode = WS_FAULT_FROM;
    r->n = (unsigned long)(off + 1);
  } else if ((long)r->n + off >= 1) {
    r->n = (unsigned long)((long)r->n + off);
  }
}

static int decode(const char *input, const char *outdir) {
  size_t n = 0, len, i;
  uint8_t *d = read_file(input, &n), *stream;
  fz_case c;
  char spec[64], cmd[8192];
  int at, rc;
  if (!d) {
    fprintf(stderr, "%s: %s\n", input, strerror(errno ? errno : EIO));
    return 2;
  }
  rc = fz_target_decode(d, n, &c);
  free(d);
  if (rc == -2) {
    fprintf(stderr, "%s: --decode is not supported by this target\n",
            fz_target_name);
    return 2;
  }
  if (rc != 0) {
    fprintf(stderr, "%s: %s: too short to be an input of this target\n",
            fz_target_name, input);
    return 2;
  }
  if (mkdir(outdir, 0777) != 0 && errno != EEXIST) {
    fprintf(stderr, "%s: %s\n", outdir, strerror(errno));
    fz_case_free(&c);
    return 2;
  }
  len = c.prefix_len + c.spec.len;
  stream = malloc(len ? len : 1);
  if (!stream) {
    fz_case_free(&c);
    return 2;
  }
  if (c.prefix_len) memcpy(stream, c.prefix, c.prefix_len);
  if (c.spec.len) memcpy(stream + c.prefix_len, c.spec.input, c.spec.len);
  rc = write_file(outdir, "stream.bin", stream, len) ||
       write_file(outdir, "config.json", fz_config_json(c.h.cfg),
                  strlen(fz_config_json(c.h.cfg))) ||
       write_file(outdir, "keys.json", fz_keys_json(), strlen(fz_keys_json()));
  free(stream);
  if (rc) {
    fz_case_free(&c);
    return 2;
  }
  at = snprintf(cmd, sizeof(cmd),
                "wsgate session --keys %s/keys.json --config %s/config.json "
                "--now %d --seed %d",
                outdir, outdir, FZ_NOW, FZ_SEED);
  if (c.h.n_chunks == 1)
    at += snprintf(cmd + at, sizeof(cmd) - (size_t)at, " --chunk %u",
                   1u + c.h.chunks[0]);
  for (i = 0; i < c.h.plan.nrules; i++) {
    ws_fault_rule r;
    replay_rule(&c, &c.h.plan.rules[i], &r);
    at += snprintf(cmd + at, sizeof(cmd) - (size_t)at, " --fault %s",
                   ws_fault_rule_spec(&r, spec, sizeof(spec)));
  }
  snprintf(cmd + at, sizeof(cmd) - (size_t)at,
           " --out %s/server.bin < %s/stream.bin", outdir, outdir);
  printf("{\"target\":");
  json_str(stdout, fz_target_name);
  printf(",\"config\":");
  fputs(fz_config_json(c.h.cfg), stdout);
  printf(",\"plan\":[");
  for (i = 0; i < c.h.plan.nrules; i++) {
    printf("%s", i ? "," : "");
    json_str(stdout,
             ws_fault_rule_spec(&c.h.plan.rules[i], spec, sizeof(spec)));
  }
  printf("],\"chunk\":");
  if (c.h.n_chunks == 1)
    printf("%u", 1u + c.h.chunks[0]);
  else
    printf("null");
  printf(",\"chunks\":[");
  for (i = 0; i < c.h.n_chunks; i++)
    printf("%s%u", i ? "," : "", 1u + c.h.chunks[i]);
  printf("],\"interleave\":%s,\"resumed\":%s,\"stream_bytes\":%zu,\"note\":",
         c.h.interleave ? "true" : "false", c.spec.resume ? "true" : "false",
         len);
  json_str(stdout, c.note);
  printf(",\"command\":");
  json_str(stdout, cmd);
  printf("}\n");
  fz_case_free(&c);
  return 0;
}

/* ---- --sweep ---------------------------------------------------------------
 */

typedef struct sweep_ud {
  ws_sweep_opts o;
  ws_sweep_totals t;
  int err;
} sweep_ud;

static int sweep_one(void *ud, const char *path, const uint8_t *d, size_t n) {
  sweep_ud *s = ud;
  fz_case c;
  int rc = fz_target_decode(d, n, &c);
  long failed;
  if (rc == -2) {
    fprintf(stderr, "%s: --sweep is not supported by this target\n",
            fz_target_name);
    s->err = 1;
    return -1;
  }
  if (rc != 0) return 0; /* not a case: nothing to sweep */
  s->o.spec = c.spec;
  s->o.spec.chunk_sizes = NULL; /* the sweep's own chunkings */
  s->o.spec.n_chunk_sizes = 0;
  s->o.spec.chunk = 0;
  failed = ws_sweep_input(&s->o, path, c.spec.input, c.spec.len, &s->t, NULL);
  fz_case_free(&c);
  if (failed < 0) {
    fprintf(stderr, "%s: the sweep could not run\n", path);
    s->err = 1;
    return -1;
  }
  return 0;
}

static int parse_chunks(const char *v, ws_sweep_opts *o) {
  const char *p = v;
  o->n_chunks = 0;
  while (*p) {
    char *end;
    unsigned long n;
    errno = 0;
    n = strtoul(p, &end, 10);
    if (errno || end == p || n == 0 || n > (1u << 20) ||
        o->n_chunks == sizeof(o->chunks) / sizeof(o->chunks[0]))
      return -1;
    o->chunks[o->n_chunks++] = (size_t)n;
    p = end;
    if (*p == ',')
      p++;
    else if (*p)
      return -1;
  }
  return 0;
}

static int usage(const char *argv0) {
  fprintf(stderr,
          "usage: %s FILE|DIR...\n"
          "       %s --decode INPUT OUTDIR\n"
          "       %s --sweep [--chunks N[,N...]] FILE|DIR...\n",
          argv0, argv0, argv0);
  return 2;
}

int main(int argc, char **argv) {
  unsigned long files = 0;
  int i;
  if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
    return usage(argv[0]);
  if (strcmp(argv[1], "--decode") == 0) {
    if (argc != 4) return usage(argv[0]);
    fz_init();
    return decode(argv[2], argv[3]);
  }
  if (strcmp(argv[1], "--sweep") == 0) {
    sweep_ud s;
    unsigned long fails;
    int k;
    memset(&s, 0, sizeof(s));
    s.o.kinds = (1u << WS_FAULT_KINDS_) - 1;
    s.o.isolate = 1;
    s.o.progress = NULL;
    s.o.failures = stdout;
    s.o.replay = "wsgate session";
    s.o.chunks[0] = 1;
    s.o.chunks[1] = 7;
    s.o.n_chunks = 2;
    i = 2;
    if (i + 1 < argc && strcmp(argv[i], "--chunks") == 0) {
      if (parse_chunks(argv[i + 1], &s.o) != 0) {
        fprintf(stderr, "%s: --chunks: '%s' is not a list of sizes\n", argv[0],
                argv[i + 1]);
        return 2;
      }
      i += 2;
    }
    if (i >= argc) return usage(argv[0]);
    fz_init();
    for (; i < argc; i++)
      if (each_file(argv[i], sweep_one, &s, &files) != 0) return 2;
    if (s.err) return 2;
    fails = ws_sweep_failures(&s.t);
    printf("{\"target\":\"%s\",\"inputs\":%lu,\"points\":%lu", fz_target_name,
           s.t.inputs, s.t.points);
    for (k = 0; k < WS_V_COUNT_; k++)
      printf(",\"%s\":%lu", ws_verdict_name((ws_verdict)k), s.t.verdicts[k]);
    printf(",\"clean_failures\":%lu,\"unfired\":%lu}\n", s.t.clean_failures,
           s.t.unfired);
    return fails ? 1 : 0;
  }
  for (i = 1; i < argc; i++)
    if (each_file(argv[i], replay_one, NULL, &files) != 0) return 2;
  printf("%s: %lu inputs replayed, promise kept\n", argv[0], files);
  return 0;
}
