/* wsgate — command line (CONTRACT 5).
 *
 *   wsgate session [--keys JWKS] [--config JSON] [--now T] [--chunk N]
 *                  [--seed S] [--out FILE] < client-bytes
 *   wsgate diags [--json | --markdown]
 *
 * Exit status: 0 when an outcome was printed (whatever it was), 2 for bad
 * arguments or unreadable/invalid files, 1 for other failures. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sysenv.h"
#include "wsgate/wsgate.h"

#define EXIT_USAGE 2

static const char usage[] =
    "usage: wsgate session [--keys JWKS] [--config JSON] [--now UNIX_SECONDS]\n"
    "                      [--chunk N] [--seed S] [--out FILE] < client-bytes\n"
    "       wsgate diags [--json | --markdown]\n";

static int die_usage(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
static int die_usage(const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "wsgate: ");
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\n%s", usage);
  return EXIT_USAGE;
}

/* Reads all of f into a malloc'd buffer; NULL on error (errno set). */
static uint8_t *slurp(FILE *f, size_t *len) {
  size_t cap = 65536, n = 0;
  uint8_t *buf = malloc(cap), *p;
  if (!buf) return NULL;
  for (;;) {
    size_t r = fread(buf + n, 1, cap - n, f);
    n += r;
    if (r == 0) break;
    if (n == cap) {
      if (cap > SIZE_MAX / 2 || !(p = realloc(buf, cap * 2))) {
        free(buf);
        errno = ENOMEM;
        return NULL;
      }
      buf = p;
      cap *= 2;
    }
  }
  if (ferror(f)) {
    free(buf);
    return NULL;
  }
  *len = n;
  return buf;
}

static uint8_t *read_path(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  uint8_t *b;
  if (!f) return NULL;
  b = slurp(f, len);
  fclose(f);
  return b;
}

static int parse_ll(const char *s, long long lo, long long hi, long long *out) {
  char *end;
  long long v;
  errno = 0;
  v = strtoll(s, &end, 10);
  if (errno || end == s || *end || v < lo || v > hi) return -1;
  *out = v;
  return 0;
}

/* The README's table is this output (tests/cli_test.sh compares them). */
static void diags_markdown(void) {
  int i, n = ws_diag_count();
  printf("| code | stage | class | HTTP | close | description |\n");
  printf("|---|---|---|---|---|---|\n");
  for (i = 1; i <= n; i++) {
    const ws_diag_info *d = ws_diag_get((ws_diag)i);
    char http[16] = "", close[16] = "";
    if (d->http_status) snprintf(http, sizeof(http), "%d", d->http_status);
    if (d->close_code == WS_CLOSE_ECHO)
      snprintf(close, sizeof(close), "echo");
    else if (d->close_code)
      snprintf(close, sizeof(close), "%d", d->close_code);
    printf("| `%s` | %s | %s | %s | %s | %s |\n", d->code,
           ws_stage_name(d->stage), ws_class_name(d->cls), http, close,
           d->description);
  }
}

static int cmd_diags(int argc, char **argv) {
  int json = 0, i, n = ws_diag_count();
  for (i = 0; i < argc; i++) {
    if (strcmp(argv[i], "--json") == 0) {
      json = 1;
    } else if (strcmp(argv[i], "--markdown") == 0) {
      diags_markdown();
      return 0;
    } else {
      return die_usage("diags: unknown argument '%s'", argv[i]);
    }
  }
  if (json) printf("[\n");
  for (i = 1; i <= n; i++) {
    const ws_diag_info *d = ws_diag_get((ws_diag)i);
    if (json) {
      char http[16] = "null", close[16] = "null";
      const char *p;
      if (d->http_status) snprintf(http, sizeof(http), "%d", d->http_status);
      if (d->close_code == WS_CLOSE_ECHO)
        snprintf(close, sizeof(close), "\"echo\"");
      else if (d->close_code)
        snprintf(close, sizeof(close), "%d", d->close_code);
      printf(
          "{\"code\":\"%s\",\"stage\":\"%s\",\"class\":\"%s\",\"scope\":\"%s\","
          "\"http_status\":%s,\"close_code\":%s,\"description\":\"",
          d->code, ws_stage_name(d->stage), ws_class_name(d->cls),
          d->cls == WS_CLASS_MESSAGE ? "message" : "session", http, close);
      for (p = d->description; *p; p++) {
        if (*p == '"' || *p == '\\') putchar('\\');
        putchar(*p);
      }
      printf("\"}%s\n", i < n ? "," : "");
    } else {
      char close[16] = "-", http[16] = "-";
      if (d->http_status) snprintf(http, sizeof(http), "%d", d->http_status);
      if (d->close_code == WS_CLOSE_ECHO)
        snprintf(close, sizeof(close), "echo");
      else if (d->close_code)
        snprintf(close, sizeof(close), "%d", d->close_code);
      printf("%-28s %-9s %-8s %-4s %-5s %s\n", d->code, ws_stage_name(d->stage),
             ws_class_name(d->cls), http, close, d->description);
    }
  }
  if (json) printf("]\n");
  return 0;
}

typedef struct session_opts {
  const char *keys, *config, *out;
  long long now, chunk, seed;
  int has_now;
} session_opts;

static int parse_session_args(int argc, char **argv, session_opts *o) {
  int i;
  memset(o, 0, sizeof(*o));
  o->seed = 1;
  for (i = 0; i < argc; i += 2) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--fault") == 0 || strcmp(a, "--list-faults") == 0 ||
        strcmp(a, "--fault-rate") == 0 || strcmp(a, "--fault-seed") == 0)
      return die_usage(
          "session: %s: fault injection is not available in this "
          "build yet (it arrives with the fault layer)",
          a);
    if (!v)
      return die_usage("session: unknown argument or missing value: %s", a);
    if (strcmp(a, "--keys") == 0) {
      o->keys = v;
    } else if (strcmp(a, "--config") == 0) {
      o->config = v;
    } else if (strcmp(a, "--out") == 0) {
      o->out = v;
    } else if (strcmp(a, "--now") == 0) {
      if (parse_ll(v, 0, 253402300799LL, &o->now))
        return die_usage(
            "session: --now: '%s' is not Unix seconds (0..253402300799)", v);
      o->has_now = 1;
    } else if (strcmp(a, "--chunk") == 0) {
      if (parse_ll(v, 1, 1 << 30, &o->chunk))
        return die_usage("session: --chunk: '%s' is not a size in [1, 2^30]",
                         v);
    } else if (strcmp(a, "--seed") == 0) {
      if (parse_ll(v, 0, LLONG_MAX, &o->seed))
        return die_usage("session: --seed: '%s' is not a non-negative integer",
                         v);
    } else {
      return die_usage("session: unknown argument '%s'", a);
    }
  }
  return 0;
}

static int cmd_session(int argc, char **argv) {
  session_opts o;
  ws_config *cfg = NULL;
  ws_keyset *ks = NULL;
  ws_session *s = NULL;
  ws_sysenv se;
  ws_env env;
  uint8_t *in = NULL, *doc = NULL;
  size_t len = 0, dlen = 0, off = 0;
  FILE *out = NULL;
  char err[512], line[1024];
  const ws_outcome *oc;
  const uint8_t *d;
  size_t n;
  int rc = EXIT_USAGE;

  if ((rc = parse_session_args(argc, argv, &o)) != 0) return rc;
  rc = EXIT_USAGE;
  if (o.config) {
    if (!(doc = read_path(o.config, &dlen))) {
      fprintf(stderr, "wsgate: --config %s: %s\n", o.config, strerror(errno));
      goto out;
    }
    if (ws_config_new(&cfg, (const char *)doc, dlen, err, sizeof(err)) !=
        WS_OK) {
      fprintf(stderr, "wsgate: --config %s: %s\n", o.config, err);
      goto out;
    }
    free(doc);
    doc = NULL;
  } else if (ws_config_new(&cfg, NULL, 0, err, sizeof(err)) != WS_OK) {
    fprintf(stderr, "wsgate: config: %s\n", err);
    goto out;
  }
  if (o.keys) {
    if (!(doc = read_path(o.keys, &dlen))) {
      fprintf(stderr, "wsgate: --keys %s: %s\n", o.keys, strerror(errno));
      goto out;
    }
    if (ws_keyset_load(&ks, (const char *)doc, dlen, err, sizeof(err)) !=
        WS_OK) {
      fprintf(stderr, "wsgate: --keys %s: %s\n", o.keys, err);
      goto out;
    }
  } else if (ws_keyset_empty(&ks) != WS_OK) {
    fprintf(stderr, "wsgate: out of memory\n");
    rc = 1;
    goto out;
  }
  if (o.out && !(out = fopen(o.out, "wb"))) {
    fprintf(stderr, "wsgate: --out %s: %s\n", o.out, strerror(errno));
    goto out;
  }
  if (!(in = slurp(stdin, &len))) {
    fprintf(stderr, "wsgate: reading stdin: %s\n", strerror(errno));
    rc = 1;
    goto out;
  }
  memset(&se, 0, sizeof(se));
  se.has_fixed_now = o.has_now;
  se.fixed_now = o.now;
  se.seeded = 1;
  se.seed = (uint64_t)o.seed;
  ws_sysenv_fill(&se, &env);
  if ((rc = ws_session_new(&s, cfg, ks, &env)) != WS_OK) {
    fprintf(stderr, "wsgate: session: %s\n", ws_strerror(rc));
    rc = 1;
    goto out;
  }
  /* Feed whole or in --chunk pieces; drain the server's bytes as we go. */
  do {
    size_t piece = len - off;
    if (o.chunk && piece > (size_t)o.chunk) piece = (size_t)o.chunk;
    if (piece && ws_session_recv(s, in + off, piece) < 0) break;
    off += piece;
    while ((n = ws_session_send(s, &d)) > 0)
      if (out && fwrite(d, 1, n, out) != n) {
        fprintf(stderr, "wsgate: --out %s: write failed\n", o.out);
        rc = 1;
        goto out;
      }
  } while (off < len);
  ws_session_eof(s);
  while ((n = ws_session_send(s, &d)) > 0)
    if (out && fwrite(d, 1, n, out) != n) {
      fprintf(stderr, "wsgate: --out %s: write failed\n", o.out);
      rc = 1;
      goto out;
    }
  oc = ws_session_outcome(s);
  if (!oc) { /* cannot happen after eof; still never silent */
    fprintf(stderr, "wsgate: session ended without an outcome\n");
    rc = 1;
    goto out;
  }
  ws_outcome_json(oc, "\"faults\":[]", line, sizeof(line));
  printf("%s\n", line);
  rc = 0;
out:
  if (out && fclose(out) != 0 && rc == 0) {
    fprintf(stderr, "wsgate: --out %s: %s\n", o.out, strerror(errno));
    rc = 1;
  }
  ws_session_free(s);
  ws_keyset_free(ks);
  ws_config_free(cfg);
  free(in);
  free(doc);
  return rc;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fputs(usage, stderr);
    return EXIT_USAGE;
  }
  if (strcmp(argv[1], "diags") == 0) return cmd_diags(argc - 2, argv + 2);
  if (strcmp(argv[1], "session") == 0) {
    int rc = ws_global_init();
    if (rc != WS_OK) {
      fprintf(stderr, "wsgate: init: %s\n", ws_strerror(rc));
      return 1;
    }
    return cmd_session(argc - 2, argv + 2);
  }
  if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
    fputs(usage, stdout);
    return 0;
  }
  return die_usage("unknown command '%s'", argv[1]);
}
