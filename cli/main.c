/* wsgate — command line (CONTRACT 5).
 *
 *   wsgate session [--keys JWKS] [--config JSON] [--now T] [--chunk N]
 *                  [--seed S] [--out FILE] [--fault SPEC]... [--list-faults]
 *                  [--fault-rate P --fault-seed S] < client-bytes
 *   wsgate sweep [--keys JWKS] [--config JSON] [--now T] [--kinds K,...]
 *                [--json-out FILE] INPUT...
 *   wsgate diags [--json | --markdown]
 *
 * session: exit 0 when an outcome was printed (whatever it was).  sweep:
 * exit 0 when every point kept the promise, 1 otherwise.  Both: 2 for bad
 * arguments or unreadable/invalid files, 1 for other failures. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "inject.h"
#include "plan.h"
#include "run.h"
#include "sweep.h"
#include "sysenv.h"
#include "wsgate/wsgate.h"

#define EXIT_USAGE 2

static const char usage[] =
    "usage: wsgate session [--keys JWKS] [--config JSON] [--now UNIX_SECONDS]\n"
    "                      [--chunk N] [--seed S] [--out FILE]\n"
    "                      [--fault KIND@N|KIND@N+|KIND@*]... [--list-faults]\n"
    "                      [--fault-rate P --fault-seed S] < client-bytes\n"
    "       wsgate sweep [--keys JWKS] [--config JSON] [--now T] [--chunk N]\n"
    "                    [--seed S] [--kinds alloc,idgen,attr,random]\n"
    "                    [--json-out FILE] INPUT...\n"
    "       wsgate diags [--json | --markdown]\n"
    "fault kinds: alloc, idgen, attr, random\n";

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

/* wsgate gate ARGS: the release gate, tools/gate.py (README "Release gate")
 * run with python3; the tools directory is $WSGATE_TOOLS, else the source
 * tree's.  Exit 2 when python3 cannot be run (an infrastructure error). */
#include <unistd.h> /* execvp */
#ifndef WSGATE_TOOLS_DIR
#define WSGATE_TOOLS_DIR "tools"
#endif
static int exec_gate(int argc, char **argv) {
  const char *dir = getenv("WSGATE_TOOLS");
  char script[4096];
  char **args = calloc((size_t)argc + 3, sizeof(*args));
  int i;
  if (!dir || !*dir) dir = WSGATE_TOOLS_DIR;
  if (!args || snprintf(script, sizeof(script), "%s/gate.py", dir) >=
                   (int)sizeof(script)) {
    fprintf(stderr, "wsgate: gate: tools directory path too long\n");
    free(args);
    return EXIT_USAGE;
  }
  args[0] = "python3";
  args[1] = script;
  for (i = 0; i < argc; i++) args[i + 2] = argv[i];
  execvp("python3", args);
  fprintf(stderr,
          "wsgate: gate: infrastructure error: cannot run python3 %s: %s\n",
          script, strerror(errno));
  free(args);
  return EXIT_USAGE;
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
  const char *keys, *config, *out, *json_out;
  long long now, chunk, seed;
  int has_now, list_faults;
  ws_fault_plan plan;
  int has_rate, has_fault_seed;
  double rate;
  long long fault_seed;
  unsigned kinds; /* sweep */
} session_opts;

static int parse_kinds(const char *v, unsigned *kinds) {
  const char *p = v;
  *kinds = 0;
  while (*p) {
    size_t n = strcspn(p, ",");
    int k = ws_fault_kind_from_name(p, n);
    if (k < 0) return -1;
    *kinds |= 1u << k;
    p += n;
    if (*p == ',') p++;
  }
  return *kinds ? 0 : -1;
}

/* The options of `session` and `sweep`; sweep allows --kinds and --json-out
 * but no --fault, --out or --list-faults. */
static int parse_args(const char *cmd, int sweep, int *argc, char ***argv,
                      session_opts *o) {
  int i;
  char err[160];
  memset(o, 0, sizeof(*o));
  o->seed = 1;
  o->kinds = (1u << WS_FAULT_KINDS_) - 1;
  ws_fault_plan_init(&o->plan);
  for (i = 0; i < *argc; i += 2) {
    const char *a = (*argv)[i], *v = i + 1 < *argc ? (*argv)[i + 1] : NULL;
    if (sweep && strncmp(a, "--", 2) != 0) break; /* the inputs */
    if (!sweep && strcmp(a, "--list-faults") == 0) {
      o->list_faults = 1;
      i--;
      continue;
    }
    if (!v)
      return die_usage("%s: unknown argument or missing value: %s", cmd, a);
    if (strcmp(a, "--keys") == 0) {
      o->keys = v;
    } else if (strcmp(a, "--config") == 0) {
      o->config = v;
    } else if (!sweep && strcmp(a, "--out") == 0) {
      o->out = v;
    } else if (sweep && strcmp(a, "--json-out") == 0) {
      o->json_out = v;
    } else if (sweep && strcmp(a, "--kinds") == 0) {
      if (parse_kinds(v, &o->kinds))
        return die_usage(
            "%s: --kinds: '%s' is not a list of alloc, idgen, attr, random",
            cmd, v);
    } else if (strcmp(a, "--now") == 0) {
      if (parse_ll(v, 0, 253402300799LL, &o->now))
        return die_usage(
            "%s: --now: '%s' is not Unix seconds (0..253402300799)", cmd, v);
      o->has_now = 1;
    } else if (strcmp(a, "--chunk") == 0) {
      if (parse_ll(v, 1, 1 << 30, &o->chunk))
        return die_usage("%s: --chunk: '%s' is not a size in [1, 2^30]", cmd,
                         v);
    } else if (strcmp(a, "--seed") == 0) {
      if (parse_ll(v, 0, LLONG_MAX, &o->seed))
        return die_usage("%s: --seed: '%s' is not a non-negative integer", cmd,
                         v);
    } else if (!sweep && strcmp(a, "--fault") == 0) {
      if (ws_fault_plan_add(&o->plan, v, err, sizeof(err)) != 0)
        return die_usage("%s: --fault: %s", cmd, err);
    } else if (!sweep && strcmp(a, "--fault-rate") == 0) {
      char *end;
      errno = 0;
      o->rate = strtod(v, &end);
      if (errno || end == v || *end || !(o->rate >= 0.0 && o->rate <= 1.0))
        return die_usage(
            "%s: --fault-rate: '%s' is not a probability in "
            "[0, 1]",
            cmd, v);
      o->has_rate = 1;
    } else if (!sweep && strcmp(a, "--fault-seed") == 0) {
      if (parse_ll(v, 0, LLONG_MAX, &o->fault_seed))
        return die_usage(
            "%s: --fault-seed: '%s' is not a non-negative "
            "integer",
            cmd, v);
      o->has_fault_seed = 1;
    } else {
      return die_usage("%s: unknown argument '%s'", cmd, a);
    }
  }
  if (o->has_fault_seed && !o->has_rate)
    return die_usage("%s: --fault-seed needs --fault-rate", cmd);
  if (o->has_rate)
    ws_fault_plan_set_rate(&o->plan, o->rate, (uint64_t)o->fault_seed);
  *argc -= i;
  *argv += i;
  return 0;
}

/* Config and key set from the options (defaults when not given).  0, or an
 * exit status with the message printed. */
static int load_setup(const session_opts *o, ws_config **cfg, ws_keyset **ks) {
  uint8_t *doc = NULL;
  size_t dlen = 0;
  char err[512];
  int rc = EXIT_USAGE;
  if (o->config) {
    if (!(doc = read_path(o->config, &dlen))) {
      fprintf(stderr, "wsgate: --config %s: %s\n", o->config, strerror(errno));
      goto out;
    }
    if (ws_config_new(cfg, (const char *)doc, dlen, err, sizeof(err)) !=
        WS_OK) {
      fprintf(stderr, "wsgate: --config %s: %s\n", o->config, err);
      goto out;
    }
    free(doc);
    doc = NULL;
  } else if (ws_config_new(cfg, NULL, 0, err, sizeof(err)) != WS_OK) {
    fprintf(stderr, "wsgate: config: %s\n", err);
    goto out;
  }
  if (o->keys) {
    if (!(doc = read_path(o->keys, &dlen))) {
      fprintf(stderr, "wsgate: --keys %s: %s\n", o->keys, strerror(errno));
      goto out;
    }
    if (ws_keyset_load(ks, (const char *)doc, dlen, err, sizeof(err)) !=
        WS_OK) {
      fprintf(stderr, "wsgate: --keys %s: %s\n", o->keys, err);
      goto out;
    }
  } else if (ws_keyset_empty(ks) != WS_OK) {
    fprintf(stderr, "wsgate: out of memory\n");
    rc = 1;
    goto out;
  }
  rc = 0;
out:
  free(doc);
  return rc;
}

/* Each run starts from the same seed, so ids repeat run after run. */
typedef struct reseed {
  ws_sysenv se;
  uint64_t seed;
} reseed;

static void reseed_env(void *ud) {
  reseed *r = ud;
  r->se.seed = r->seed;
}

static void setup_spec(const session_opts *o, ws_config *cfg, ws_keyset *ks,
                       reseed *rs, ws_run_spec *spec) {
  memset(spec, 0, sizeof(*spec));
  memset(rs, 0, sizeof(*rs));
  rs->se.has_fixed_now = o->has_now;
  rs->se.fixed_now = o->now;
  rs->se.seeded = 1;
  rs->seed = (uint64_t)o->seed;
  ws_sysenv_fill(&rs->se, &spec->env);
  spec->prepare = reseed_env;
  spec->prepare_ud = rs;
  spec->cfg = cfg;
  spec->keys = ks;
  spec->chunk = (size_t)o->chunk;
}

/* --list-faults: every hit, one JSON object per line on stderr. */
static void list_hit(void *ud, ws_fault_kind kind, unsigned long n,
                     const char *site, int failed) {
  char q[2 * WS_FAULT_SITE_MAX];
  (void)ud;
  size_t len = ws_fault_json_str(q, sizeof(q), 0, site);
  q[len < sizeof(q) ? len : sizeof(q) - 1] = '\0';
  fprintf(stderr, "{\"kind\":\"%s\",\"n\":%lu,\"site\":\"%s\"%s}\n",
          ws_fault_kind_name(kind), n, q, failed ? ",\"failed\":true" : "");
}

static int cmd_session(int argc, char **argv) {
  session_opts o;
  ws_config *cfg = NULL;
  ws_keyset *ks = NULL;
  ws_run_spec spec;
  ws_run_result r;
  reseed rs;
  uint8_t *in = NULL;
  size_t len = 0;
  FILE *out = NULL;
  char *line = NULL;
  size_t need;
  int rc, err = 0;

  memset(&r, 0, sizeof(r));
  if ((rc = parse_args("session", 0, &argc, &argv, &o)) != 0) return rc;
  if ((rc = load_setup(&o, &cfg, &ks)) != 0) goto out;
  rc = EXIT_USAGE;
  if (o.out && !(out = fopen(o.out, "wb"))) {
    fprintf(stderr, "wsgate: --out %s: %s\n", o.out, strerror(errno));
    goto out;
  }
  rc = 1;
  if (!(in = slurp(stdin, &len))) {
    fprintf(stderr, "wsgate: reading stdin: %s\n", strerror(errno));
    goto out;
  }
  setup_spec(&o, cfg, ks, &rs, &spec);
  spec.input = in;
  spec.len = len;
  if (o.list_faults) spec.on_hit = list_hit;
  if (ws_run(&spec, &o.plan, &r, &err) != 0) {
    fprintf(stderr, "wsgate: session: %s\n", ws_strerror(err));
    goto out;
  }
  if (r.sent_truncated) {
    fprintf(stderr, "wsgate: out of memory keeping the server's bytes\n");
    goto out;
  }
  if (out && r.sent_len && fwrite(r.sent, 1, r.sent_len, out) != r.sent_len) {
    fprintf(stderr, "wsgate: --out %s: write failed\n", o.out);
    goto out;
  }
  if (!r.has_outcome) { /* cannot happen after eof; still never silent */
    fprintf(stderr, "wsgate: session ended without an outcome\n");
    goto out;
  }
  need = ws_run_outcome_json(&r, NULL, 0) + 1;
  if (!(line = malloc(need))) goto out;
  ws_run_outcome_json(&r, line, need);
  printf("%s\n", line);
  if (r.live_blocks)
    fprintf(stderr, "wsgate: %zu blocks (%zu bytes) leaked by the session\n",
            r.live_blocks, r.live_bytes);
  rc = 0;
out:
  if (out && fclose(out) != 0 && rc == 0) {
    fprintf(stderr, "wsgate: --out %s: %s\n", o.out, strerror(errno));
    rc = 1;
  }
  ws_run_result_clear(&r);
  free(line);
  ws_keyset_free(ks);
  ws_config_free(cfg);
  free(in);
  return rc;
}

/* The replay prefix printed with each failing point. */
static void replay_prefix(const session_opts *o, char *buf, size_t cap) {
  int n = snprintf(buf, cap, "wsgate session");
  if (o->keys) n += snprintf(buf + n, cap - (size_t)n, " --keys %s", o->keys);
  if (o->config && (size_t)n < cap)
    n += snprintf(buf + n, cap - (size_t)n, " --config %s", o->config);
  if ((size_t)n < cap)
    n += snprintf(buf + n, cap - (size_t)n, " --now %lld", o->now);
  if (o->chunk && (size_t)n < cap)
    n += snprintf(buf + n, cap - (size_t)n, " --chunk %lld", o->chunk);
  if (o->seed != 1 && (size_t)n < cap)
    snprintf(buf + n, cap - (size_t)n, " --seed %lld", o->seed);
}

static double seconds_since(const struct timespec *t0) {
  struct timespec t1;
  clock_gettime(CLOCK_MONOTONIC, &t1);
  return (double)(t1.tv_sec - t0->tv_sec) +
         (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static int cmd_sweep(int argc, char **argv) {
  session_opts o;
  ws_config *cfg = NULL;
  ws_keyset *ks = NULL;
  ws_sweep_opts so;
  ws_sweep_totals t;
  reseed rs;
  FILE *jout = NULL;
  char replay[1024];
  struct timespec t0;
  double wall;
  int rc, i, k;

  if ((rc = parse_args("sweep", 1, &argc, &argv, &o)) != 0) return rc;
  if (argc == 0) return die_usage("sweep: no INPUT files");
  if (!o.has_now) { /* one clock for every run of the sweep */
    o.now = (long long)time(NULL);
    o.has_now = 1;
  }
  if ((rc = load_setup(&o, &cfg, &ks)) != 0) goto out;
  rc = EXIT_USAGE;
  if (o.json_out && !(jout = fopen(o.json_out, "w"))) {
    fprintf(stderr, "wsgate: --json-out %s: %s\n", o.json_out, strerror(errno));
    goto out;
  }
  memset(&so, 0, sizeof(so));
  memset(&t, 0, sizeof(t));
  setup_spec(&o, cfg, ks, &rs, &so.spec);
  so.kinds = o.kinds;
  so.isolate = 1;
  so.progress = stderr;
  so.failures = jout;
  replay_prefix(&o, replay, sizeof(replay));
  so.replay = replay;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (i = 0; i < argc; i++) {
    size_t len = 0;
    uint8_t *in = read_path(argv[i], &len);
    long f;
    if (!in) {
      fprintf(stderr, "wsgate: sweep: %s: %s\n", argv[i], strerror(errno));
      goto out;
    }
    f = ws_sweep_input(&so, argv[i], in, len, &t, stdout);
    free(in);
    if (f < 0) {
      fprintf(stderr, "wsgate: sweep: %s: could not run a session\n", argv[i]);
      rc = 1;
      goto out;
    }
  }
  wall = seconds_since(&t0);
  printf("{\"inputs\":%lu,\"points\":%lu", t.inputs, t.points);
  for (k = 0; k < WS_V_COUNT_; k++)
    printf(",\"%s\":%lu", ws_verdict_name((ws_verdict)k), t.verdicts[k]);
  printf(",\"clean_failures\":%lu,\"hits\":{", t.clean_failures);
  for (k = 0; k < WS_FAULT_KINDS_; k++)
    printf("%s\"%s\":%lu", k ? "," : "", ws_fault_kind_name((ws_fault_kind)k),
           t.hits[k]);
  printf("},\"wall_s\":%.2f,\"points_per_s\":%.0f}\n", wall,
         wall > 0 ? (double)t.points / wall : 0.0);
  rc = ws_sweep_failures(&t) ? 1 : 0;
out:
  if (jout && fclose(jout) != 0 && rc == 0) rc = 1;
  ws_keyset_free(ks);
  ws_config_free(cfg);
  return rc;
}

/* wsgate triage ARGS: runs tools/triage.py (README "Crash triage") with
 * python3; the tools directory is $WSGATE_TOOLS, else the source tree's. */
#include <unistd.h> /* execvp */
#ifndef WSGATE_TOOLS_DIR
#define WSGATE_TOOLS_DIR "tools"
#endif
static int exec_triage(int argc, char **argv) {
  const char *dir = getenv("WSGATE_TOOLS");
  char script[4096];
  char **args = calloc((size_t)argc + 3, sizeof(*args));
  int i;
  if (!dir || !*dir) dir = WSGATE_TOOLS_DIR;
  if (!args || snprintf(script, sizeof(script), "%s/triage.py", dir) >=
                   (int)sizeof(script)) {
    fprintf(stderr, "wsgate: triage: tools directory path too long\n");
    free(args);
    return 1;
  }
  args[0] = "python3";
  args[1] = script;
  for (i = 0; i < argc; i++) args[i + 2] = argv[i];
  execvp("python3", args);
  fprintf(stderr, "wsgate: triage: cannot run python3 %s: %s\n", script,
          strerror(errno));
  free(args);
  return 1;
}

int main(int argc, char **argv) {
  if (argc >= 2 && strcmp(argv[1], "triage") == 0)
    return exec_triage(argc - 2, argv + 2);
  if (argc < 2) {
    fputs(usage, stderr);
    return EXIT_USAGE;
  }
  if (strcmp(argv[1], "gate") == 0) return exec_gate(argc - 2, argv + 2);
  if (strcmp(argv[1], "diags") == 0) return cmd_diags(argc - 2, argv + 2);
  if (strcmp(argv[1], "session") == 0 || strcmp(argv[1], "sweep") == 0) {
    int rc = ws_global_init();
    if (rc != WS_OK) {
      fprintf(stderr, "wsgate: init: %s\n", ws_strerror(rc));
      return 1;
    }
    return strcmp(argv[1], "session") == 0 ? cmd_session(argc - 2, argv + 2)
                                           : cmd_sweep(argc - 2, argv + 2);
  }
  if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
    fputs(usage, stdout);
    return 0;
  }
  return die_usage("unknown command '%s'", argv[1]);
}
