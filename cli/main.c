/* wsgate — the command line.  Each command is one row of the table at the
 * end of this file (name, what it does, its usage line, its options); `wsgate
 * help [CMD]`, `wsgate CMD --help` and the usage printed after a bad argument
 * all come from that row.
 *
 * Exit status: 0 done (session: an outcome was printed; sweep: every point
 * kept the promise), 1 failed (sweep: a point broke the promise; session:
 * no outcome, I/O error, input over --max-input), 2 bad arguments or an
 * unreadable or invalid file, with a message and the command's usage line. */
#define _DEFAULT_SOURCE /* realpath, DT_DIR */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "inject.h"
#include "plan.h"
#include "run.h"
#include "stream.h"
#include "serve.h"
#include "sweep.h"
#include "sysenv.h"
#include "text.h"
#include "wsgate/wsgate.h"

#ifndef WSGATE_VERSION
#define WSGATE_VERSION "unknown"
#endif

#define EXIT_USAGE 2
#define DEFAULT_MAX_INPUT (256ull << 20)

/* ---- the command table (definitions at the end) ---- */

typedef struct command {
  const char *name;
  int (*run)(int argc, char **argv); /* argv: the arguments after the name */
  int needs_init;                    /* ws_global_init before run */
  const char *summary;               /* one line for `wsgate help` */
  const char *synopsis;              /* the usage line(s), without "usage: " */
  /* Each option explained, for `wsgate help CMD` and `CMD --help`; NULL
   * when the command prints its own help when given --help. */
  const char *options;
} command;

static const command *find_command(const char *name);
static void list_commands(FILE *f);

static const char *current = ""; /* the command being run, for messages */

/* A bad argument: what was wrong, then this command's usage line only. */
static int usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...) {
  const command *c = find_command(current);
  va_list ap;
  fprintf(stderr, "wsgate: %s%s", current, *current ? ": " : "");
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  if (c)
    fprintf(stderr, "\nusage: %s\nRun 'wsgate help %s' for the options.\n",
            c->synopsis, c->name);
  else
    fprintf(stderr, "\nRun 'wsgate help' for the commands.\n");
  return EXIT_USAGE;
}

static void print_help(const command *c, FILE *f) {
  fprintf(f, "usage: %s\n\n%s\n", c->synopsis, c->summary);
  if (c->options) fprintf(f, "\n%s", c->options);
}

/* "--help" or "-h" anywhere among a command's arguments. */
static int wants_help(int argc, char **argv) {
  int i;
  for (i = 0; i < argc; i++)
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) return 1;
  return 0;
}

/* ---- files ---- */

/* Reads all of f into a malloc'd buffer of at most max bytes; NULL on error
 * (errno set; EFBIG when longer than max). */
static uint8_t *slurp(FILE *f, size_t max, size_t *len) {
  size_t cap = 65536, n = 0;
  uint8_t *buf = malloc(cap), *p;
  if (!buf) return NULL;
  for (;;) {
    size_t r = fread(buf + n, 1, cap - n, f);
    n += r;
    if (n > max) {
      free(buf);
      errno = EFBIG;
      return NULL;
    }
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

/* Key sets, configs and sweep inputs are small; anything over this is a
 * wrong path, not a document. */
#define MAX_DOCUMENT (64u << 20)

static uint8_t *read_path(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  uint8_t *b;
  struct stat st;
  if (!f) return NULL;
  if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
    fclose(f);
    errno = EISDIR;
    return NULL;
  }
  b = slurp(f, MAX_DOCUMENT, len);
  fclose(f);
  return b;
}

static const char *file_error(int err) {
  return err == EFBIG ? "larger than 64 MiB" : strerror(err);
}

static int parse_ll(const char *s, long long lo, long long hi, long long *out) {
  char *end;
  long long v;
  errno = 0;
  if (!*s || *s == ' ' || *s == '+') return -1;
  v = strtoll(s, &end, 10);
  if (errno || end == s || *end || v < lo || v > hi) return -1;
  *out = v;
  return 0;
}

/* ---- diags ---- */

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

/* wsgate gate / wsgate triage ARGS: the release gate and crash triage are
 * Python programs (tools/gate.py, tools/triage.py; README "Release gate",
 * "Crash triage") run with python3; the tools directory is $WSGATE_TOOLS,
 * else the source tree's.  Exit 2 when python3 cannot be run (an
 * infrastructure error, said so). */
#include <unistd.h> /* execvp */
#ifndef WSGATE_TOOLS_DIR
#define WSGATE_TOOLS_DIR "tools"
#endif
static int exec_tool(const char *name, int argc, char **argv) {
  const char *dir = getenv("WSGATE_TOOLS");
  char script[4096];
  char **args = calloc((size_t)argc + 3, sizeof(*args));
  int i;
  if (!dir || !*dir) dir = WSGATE_TOOLS_DIR;
  if (!args || snprintf(script, sizeof(script), "%s/%s.py", dir, name) >=
                   (int)sizeof(script)) {
    fprintf(stderr, "wsgate: %s: tools directory path too long\n", name);
    free(args);
    return EXIT_USAGE;
  }
  args[0] = "python3";
  args[1] = script;
  for (i = 0; i < argc; i++) args[i + 2] = argv[i];
  execvp("python3", args);
  fprintf(stderr,
          "wsgate: %s: infrastructure error: cannot run python3 %s: %s\n", name,
          script, strerror(errno));
  free(args);
  return EXIT_USAGE;
}

static int exec_gate(int argc, char **argv) {
  return exec_tool("gate", argc, argv);
}

static int cmd_triage(int argc, char **argv) {
  return exec_tool("triage", argc, argv);
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
      return usage_error("unknown argument '%s'", argv[i]);
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
        char e[WS_JSON_ESCAPE_MAX];
        fwrite(e, 1, ws_json_escape((unsigned char)*p, e), stdout);
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

/* ---- options of session and sweep ---- */

typedef struct session_opts {
  const char *keys, *config, *out, *json_out;
  long long now, chunk, seed, max_input;
  int has_now, list_faults;
  ws_fault_plan plan;
  int has_rate, has_fault_seed;
  double rate;
  long long fault_seed;
  unsigned kinds;   /* sweep */
  size_t chunks[4]; /* sweep: chunked passes */
  size_t n_chunks;
  char **positional; /* session: at most one FILE; sweep: the INPUTs */
  int n_positional;
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

/* --chunks: "none", or N[,N...] (at most 4, each 1..2^20). */
static int parse_chunks(const char *v, session_opts *o) {
  const char *p = v;
  o->n_chunks = 0;
  if (strcmp(v, "none") == 0) return 0;
  while (*p) {
    char *end;
    unsigned long n;
    errno = 0;
    if (*p < '0' || *p > '9') return -1;
    n = strtoul(p, &end, 10);
    if (errno || n == 0 || n > (1ul << 20) || o->n_chunks == 4) return -1;
    o->chunks[o->n_chunks++] = (size_t)n;
    p = end;
    if (*p == ',' && p[1])
      p++;
    else if (*p)
      return -1;
  }
  return o->n_chunks ? 0 : -1;
}

/* The options of `session` and `sweep`: sweep takes --kinds and --json-out
 * but no --fault*, --out, --max-input or --list-faults.  Arguments that are
 * not options (or "-") are the positional ones, in order. */
static int parse_args(int sweep, int argc, char **argv, session_opts *o) {
  int i;
  char err[160];
  memset(o, 0, sizeof(*o));
  o->seed = 1;
  o->max_input = (long long)DEFAULT_MAX_INPUT;
  o->kinds = (1u << WS_FAULT_KINDS_) - 1;
  o->chunks[0] = 1; /* the sweep's chunked passes: byte by byte, a prime */
  o->chunks[1] = 7;
  o->n_chunks = 2;
  ws_fault_plan_init(&o->plan);
  if (!(o->positional = calloc((size_t)argc + 1, sizeof(char *)))) {
    fprintf(stderr, "wsgate: out of memory\n");
    return 1;
  }
  for (i = 0; i < argc; i++) {
    const char *a = argv[i], *v;
    if (strncmp(a, "--", 2) != 0 || strcmp(a, "--") == 0) {
      if (strcmp(a, "--") == 0) { /* the rest are positional */
        while (++i < argc) o->positional[o->n_positional++] = argv[i];
        break;
      }
      if (a[0] == '-' && a[1]) return usage_error("unknown option '%s'", a);
      o->positional[o->n_positional++] = argv[i];
      continue;
    }
    if (!sweep && strcmp(a, "--list-faults") == 0) {
      o->list_faults = 1;
      continue;
    }
    if (strcmp(a, "--keys") && strcmp(a, "--config") && strcmp(a, "--now") &&
        strcmp(a, "--chunk") && strcmp(a, "--seed") &&
        (sweep || (strcmp(a, "--out") && strcmp(a, "--fault") &&
                   strcmp(a, "--fault-rate") && strcmp(a, "--fault-seed") &&
                   strcmp(a, "--max-input"))) &&
        (!sweep || (strcmp(a, "--kinds") && strcmp(a, "--json-out") &&
                    strcmp(a, "--chunks"))))
      return usage_error("unknown option '%s'", a);
    if (i + 1 >= argc) return usage_error("%s needs a value", a);
    v = argv[++i];
    if (strcmp(a, "--keys") == 0) {
      o->keys = v;
    } else if (strcmp(a, "--config") == 0) {
      o->config = v;
    } else if (strcmp(a, "--out") == 0) {
      o->out = v;
    } else if (strcmp(a, "--json-out") == 0) {
      o->json_out = v;
    } else if (strcmp(a, "--chunks") == 0) {
      if (parse_chunks(v, o))
        return usage_error(
            "--chunks: '%s' is not 'none' or a list of up to 4 sizes in "
            "[1, 2^20]",
            v);
    } else if (strcmp(a, "--kinds") == 0) {
      if (parse_kinds(v, &o->kinds))
        return usage_error(
            "--kinds: '%s' is not a list of alloc, idgen, attr, random", v);
    } else if (strcmp(a, "--now") == 0) {
      if (parse_ll(v, 0, 253402300799LL, &o->now))
        return usage_error("--now: '%s' is not Unix seconds (0..253402300799)",
                           v);
      o->has_now = 1;
    } else if (strcmp(a, "--chunk") == 0) {
      if (parse_ll(v, 1, 1 << 30, &o->chunk))
        return usage_error("--chunk: '%s' is not a size in [1, 2^30]", v);
    } else if (strcmp(a, "--max-input") == 0) {
      if (parse_ll(v, 0, LLONG_MAX, &o->max_input))
        return usage_error(
            "--max-input: '%s' is not a byte count (0 for no limit)", v);
    } else if (strcmp(a, "--seed") == 0) {
      if (parse_ll(v, 0, LLONG_MAX, &o->seed))
        return usage_error("--seed: '%s' is not a non-negative integer", v);
    } else if (strcmp(a, "--fault") == 0) {
      if (ws_fault_plan_add(&o->plan, v, err, sizeof(err)) != 0)
        return usage_error("--fault: %s", err);
    } else if (strcmp(a, "--fault-rate") == 0) {
      char *end;
      errno = 0;
      o->rate = strtod(v, &end);
      if (errno || end == v || *end || !(o->rate >= 0.0 && o->rate <= 1.0))
        return usage_error("--fault-rate: '%s' is not a probability in [0, 1]",
                           v);
      o->has_rate = 1;
    } else if (strcmp(a, "--fault-seed") == 0) {
      if (parse_ll(v, 0, LLONG_MAX, &o->fault_seed))
        return usage_error("--fault-seed: '%s' is not a non-negative integer",
                           v);
      o->has_fault_seed = 1;
    }
  }
  if (o->has_fault_seed && !o->has_rate)
    return usage_error("--fault-seed needs --fault-rate");
  if (o->has_rate)
    ws_fault_plan_set_rate(&o->plan, o->rate, (uint64_t)o->fault_seed);
  return 0;
}

static void key_warning(void *ud, const char *msg) {
  fprintf(stderr, "wsgate: --keys %s: warning: %s\n", (const char *)ud, msg);
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
      fprintf(stderr, "wsgate: --config %s: %s\n", o->config,
              file_error(errno));
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
      fprintf(stderr, "wsgate: --keys %s: %s\n", o->keys, file_error(errno));
      goto out;
    }
    if (ws_keyset_load_warn(ks, (const char *)doc, dlen, err, sizeof(err),
                            key_warning, (void *)o->keys) != WS_OK) {
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

static void setup_env(const session_opts *o, reseed *rs, ws_env *env) {
  memset(rs, 0, sizeof(*rs));
  rs->se.has_fixed_now = o->has_now;
  rs->se.fixed_now = o->now;
  rs->se.seeded = 1;
  rs->seed = (uint64_t)o->seed;
  rs->se.seed = rs->seed;
  ws_sysenv_fill(&rs->se, env);
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

/* A --fault rule that never fired injected nothing: say so, or a mistyped
 * N reads as "absorbed". */
static void warn_unfired(const ws_run_result *r) {
  size_t i;
  for (i = 0; i < r->plan.nrules; i++) {
    const ws_fault_rule *rule = &r->plan.rules[i];
    unsigned long hits = rule->site == WS_SITE_ANY ? r->hits[rule->kind]
                                                   : r->site_hits[rule->site];
    char spec[64], what[48];
    if (r->plan.rule_fired[i]) continue;
    ws_fault_rule_spec(rule, spec, sizeof(spec));
    if (rule->site == WS_SITE_ANY)
      snprintf(what, sizeof(what), "%s", ws_fault_kind_name(rule->kind));
    else
      ws_fault_site_name(rule->site, what, sizeof(what));
    fprintf(stderr,
            "wsgate: warning: --fault %s never fired: the session made %lu "
            "%s hit%s\n",
            spec, hits, what, hits == 1 ? "" : "s");
  }
}

/* ---- session ---- */

static int cmd_session(int argc, char **argv) {
  session_opts o;
  ws_config *cfg = NULL;
  ws_keyset *ks = NULL;
  ws_stream_spec spec;
  ws_stream_result *r = NULL;
  reseed rs;
  FILE *in = stdin, *out = NULL;
  const char *in_name = "standard input";
  char *line = NULL;
  size_t need;
  int rc, err = 0;

  if ((rc = parse_args(0, argc, argv, &o)) != 0) goto out;
  rc = EXIT_USAGE;
  if (o.n_positional > 1) {
    rc = usage_error("one input FILE at most, got '%s' and '%s'",
                     o.positional[0], o.positional[1]);
    goto out;
  }
  if ((rc = load_setup(&o, &cfg, &ks)) != 0) goto out;
  rc = EXIT_USAGE;
  if (o.n_positional == 1 && strcmp(o.positional[0], "-") != 0) {
    struct stat st;
    in_name = o.positional[0];
    if (!(in = fopen(in_name, "rb"))) {
      fprintf(stderr, "wsgate: session: %s: %s\n", in_name, strerror(errno));
      goto out;
    }
    if (fstat(fileno(in), &st) == 0 && S_ISDIR(st.st_mode)) {
      fprintf(stderr, "wsgate: session: %s: %s\n", in_name, strerror(EISDIR));
      goto out;
    }
  }
  if (o.out && !(out = fopen(o.out, "wb"))) {
    fprintf(stderr, "wsgate: --out %s: %s\n", o.out, strerror(errno));
    goto out;
  }
  rc = 1;
  if (!(r = malloc(sizeof(*r)))) {
    fprintf(stderr, "wsgate: out of memory\n");
    goto out;
  }
  memset(&spec, 0, sizeof(spec));
  setup_env(&o, &rs, &spec.env);
  spec.cfg = cfg;
  spec.keys = ks;
  spec.in = in;
  spec.out = out;
  spec.chunk = (size_t)o.chunk;
  spec.max_input = (unsigned long long)o.max_input;
  if (o.list_faults) spec.on_hit = list_hit;
  if (ws_stream_run(&spec, &o.plan, r, &err) != 0) {
    fprintf(stderr, "wsgate: session: %s\n", ws_strerror(err));
    goto out;
  }
  if (r->read_errno)
    fprintf(stderr, "wsgate: session: reading %s: %s\n", in_name,
            strerror(r->read_errno));
  if (r->write_errno)
    fprintf(stderr, "wsgate: --out %s: %s\n", o.out, strerror(r->write_errno));
  if (!r->run.has_outcome) { /* cannot happen after eof; still never silent */
    fprintf(stderr, "wsgate: session ended without an outcome\n");
    goto out;
  }
  need = ws_run_outcome_json(&r->run, NULL, 0) + 1;
  if (!(line = malloc(need))) goto out;
  ws_run_outcome_json(&r->run, line, need);
  printf("%s\n", line);
  /* Out before anything else can end the process: LeakSanitizer exits at
   * the end of main, before a pipe's buffer would be flushed. */
  fflush(stdout);
  warn_unfired(&r->run);
  if (r->run.live_blocks)
    fprintf(stderr, "wsgate: %zu blocks (%zu bytes) leaked by the session\n",
            r->run.live_blocks, r->run.live_bytes);
  rc = 0;
  if (r->input_limit) {
    fprintf(stderr,
            "wsgate: session: %s is longer than --max-input %lld bytes: the "
            "input was ended there (the outcome above is of the first %lld "
            "bytes)\n",
            in_name, o.max_input, o.max_input);
    rc = 1;
  }
  if (r->read_errno || r->write_errno) rc = 1;
out:
  if (out && fclose(out) != 0 && rc == 0) {
    fprintf(stderr, "wsgate: --out %s: %s\n", o.out, strerror(errno));
    rc = 1;
  }
  if (in && in != stdin) fclose(in);
  free(r);
  free(line);
  free(o.positional);
  ws_keyset_free(ks);
  ws_config_free(cfg);
  return rc;
}

/* ---- sweep ---- */

/* s as one shell word: as is when it has nothing a shell would read, else
 * in single quotes (a ' inside becomes '\''). */
static void shell_word(char *buf, size_t cap, size_t *at, const char *s) {
  const char *p;
  int plain = *s != '\0';
  for (p = s; *p && plain; p++)
    plain = strchr(
                "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                "0123456789_-./,:@%+=",
                *p) != NULL;
  if (plain) {
    *at += (size_t)snprintf(buf + *at, *at < cap ? cap - *at : 0, "%s", s);
    return;
  }
  *at += (size_t)snprintf(buf + *at, *at < cap ? cap - *at : 0, "'");
  for (p = s; *p; p++)
    *at += (size_t)snprintf(buf + *at, *at < cap ? cap - *at : 0, "%s",
                            *p == '\'' ? "'\\''" : (char[2]){*p, 0});
  *at += (size_t)snprintf(buf + *at, *at < cap ? cap - *at : 0, "'");
}

/* The replay prefix printed with each failing point: the program by its
 * absolute path, so the command runs as written from where the sweep ran. */
static void replay_prefix(const session_opts *o, const char *argv0, char *buf,
                          size_t cap) {
  char self[PATH_MAX];
  size_t at = 0;
  const char *prog = "wsgate";
  if (realpath("/proc/self/exe", self) ||
      (strchr(argv0, '/') && realpath(argv0, self)))
    prog = self;
  shell_word(buf, cap, &at, prog);
  at += (size_t)snprintf(buf + at, at < cap ? cap - at : 0, " session");
  if (o->keys) {
    at += (size_t)snprintf(buf + at, at < cap ? cap - at : 0, " --keys ");
    shell_word(buf, cap, &at, o->keys);
  }
  if (o->config) {
    at += (size_t)snprintf(buf + at, at < cap ? cap - at : 0, " --config ");
    shell_word(buf, cap, &at, o->config);
  }
  at += (size_t)snprintf(buf + at, at < cap ? cap - at : 0, " --now %lld",
                         o->now);
  if (o->chunk)
    at += (size_t)snprintf(buf + at, at < cap ? cap - at : 0, " --chunk %lld",
                           o->chunk);
  if (o->seed != 1)
    snprintf(buf + at, at < cap ? cap - at : 0, " --seed %lld", o->seed);
}

static double seconds_since(const struct timespec *t0) {
  struct timespec t1;
  clock_gettime(CLOCK_MONOTONIC, &t1);
  return (double)(t1.tv_sec - t0->tv_sec) +
         (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

typedef struct sweep_run {
  ws_sweep_opts so;
  ws_sweep_totals t;
  unsigned long missing; /* inputs that could not be read */
  int broken;            /* the sweep itself could not run an input */
} sweep_run;

static int name_cmp(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void sweep_path(sweep_run *sr, const char *path, int depth);

/* A directory: its entries in name order (dot files skipped), recursively. */
static void sweep_dir(sweep_run *sr, const char *dir, int depth) {
  DIR *d = opendir(dir);
  struct dirent *e;
  char **names = NULL;
  size_t n = 0, cap = 0, i;
  if (!d) {
    fprintf(stderr, "wsgate: sweep: %s: %s\n", dir, strerror(errno));
    sr->missing++;
    return;
  }
  while ((e = readdir(d)) != NULL) {
    char *full;
    size_t len;
    if (e->d_name[0] == '.') continue;
    if (n == cap) {
      char **p = realloc(names, (cap = cap ? 2 * cap : 64) * sizeof(*p));
      if (!p) break;
      names = p;
    }
    len = strlen(dir) + strlen(e->d_name) + 2;
    if (!(full = malloc(len))) break;
    snprintf(full, len, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/",
             e->d_name);
    names[n++] = full;
  }
  closedir(d);
  if (n) qsort(names, n, sizeof(*names), name_cmp);
  for (i = 0; i < n; i++) {
    sweep_path(sr, names[i], depth + 1);
    free(names[i]);
  }
  free(names);
}

static void sweep_path(sweep_run *sr, const char *path, int depth) {
  struct stat st;
  size_t len = 0;
  uint8_t *in;
  if (stat(path, &st) != 0) {
    fprintf(stderr, "wsgate: sweep: %s: %s\n", path, strerror(errno));
    sr->missing++;
    return;
  }
  if (S_ISDIR(st.st_mode)) {
    if (depth < 16) sweep_dir(sr, path, depth);
    return;
  }
  if (!(in = read_path(path, &len))) {
    fprintf(stderr, "wsgate: sweep: %s: %s\n", path, file_error(errno));
    sr->missing++;
    return;
  }
  if (ws_sweep_input(&sr->so, path, in, len, &sr->t, stdout) < 0) {
    fprintf(stderr, "wsgate: sweep: %s: could not run a session\n", path);
    sr->broken = 1;
  }
  fflush(stdout);
  free(in);
}

static const char *argv0 = "wsgate";

static int cmd_sweep(int argc, char **argv) {
  session_opts o;
  ws_config *cfg = NULL;
  ws_keyset *ks = NULL;
  sweep_run sr;
  reseed rs;
  FILE *jout = NULL;
  char replay[2048];
  struct timespec t0;
  double wall;
  int rc, i, k;

  if ((rc = parse_args(1, argc, argv, &o)) != 0) goto out;
  if (o.n_positional == 0) {
    rc = usage_error("no INPUT files");
    goto out;
  }
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
  memset(&sr, 0, sizeof(sr));
  setup_env(&o, &rs, &sr.so.spec.env);
  sr.so.spec.prepare = reseed_env;
  sr.so.spec.prepare_ud = &rs;
  sr.so.spec.cfg = cfg;
  sr.so.spec.keys = ks;
  sr.so.spec.chunk = (size_t)o.chunk;
  sr.so.kinds = o.kinds;
  memcpy(sr.so.chunks, o.chunks, sizeof(o.chunks));
  sr.so.n_chunks = o.n_chunks;
  sr.so.isolate = 1;
  sr.so.progress = stderr;
  sr.so.failures = jout;
  replay_prefix(&o, argv0, replay, sizeof(replay));
  sr.so.replay = replay;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (i = 0; i < o.n_positional; i++) sweep_path(&sr, o.positional[i], 0);
  wall = seconds_since(&t0);
  printf("{\"inputs\":%lu,\"points\":%lu", sr.t.inputs, sr.t.points);
  for (k = 0; k < WS_V_COUNT_; k++)
    printf(",\"%s\":%lu", ws_verdict_name((ws_verdict)k), sr.t.verdicts[k]);
  printf(
      ",\"clean_failures\":%lu,\"unfired\":%lu,\"missing_inputs\":%lu,"
      "\"hits\":{",
      sr.t.clean_failures, sr.t.unfired, sr.missing);
  for (k = 0; k < WS_FAULT_KINDS_; k++)
    printf("%s\"%s\":%lu", k ? "," : "", ws_fault_kind_name((ws_fault_kind)k),
           sr.t.hits[k]);
  printf("},\"wall_s\":%.2f,\"points_per_s\":%.0f}\n", wall,
         wall > 0 ? (double)sr.t.points / wall : 0.0);
  rc = ws_sweep_failures(&sr.t) || sr.broken ? 1 : 0;
  if (sr.missing) {
    fprintf(stderr, "wsgate: sweep: %lu input%s could not be read\n",
            sr.missing, sr.missing == 1 ? "" : "s");
    if (rc == 0) rc = EXIT_USAGE;
  }
out:
  if (jout && fclose(jout) != 0 && rc == 0) rc = 1;
  free(o.positional);
  ws_keyset_free(ks);
  ws_config_free(cfg);
  return rc;
}

/* ---- help, version, dispatch ---- */

static int cmd_help(int argc, char **argv) {
  const command *c;
  if (argc == 0) {
    printf("usage: wsgate COMMAND [ARGS]\n\nCommands:\n");
    list_commands(stdout);
    printf(
        "\nRun 'wsgate help COMMAND' or 'wsgate COMMAND --help' for a "
        "command's options,\n'wsgate --version' for the version.\n");
    return 0;
  }
  if (argc > 1) return usage_error("one COMMAND at most");
  if (!(c = find_command(argv[0])))
    return usage_error("unknown command '%s'", argv[0]);
  if (!c->options) { /* the command documents itself */
    char help[] = "--help", *av[] = {help, NULL};
    current = c->name;
    return c->run(1, av);
  }
  print_help(c, stdout);
  return 0;
}

static int cmd_version(int argc, char **argv) {
  (void)argv;
  if (argc) return usage_error("takes no arguments");
  printf("wsgate %s\n", WSGATE_VERSION);
  return 0;
}

static const char session_options[] =
    "Reads the bytes a client writes to its connection (the upgrade request,\n"
    "then masked frames) from FILE, or standard input without FILE or with "
    "'-',\n"
    "feeds them to one session as they arrive, and prints its outcome as one\n"
    "JSON line on standard output.\n"
    "\n"
    "Options:\n"
    "  --keys JWKS         key set (RFC 7517) that tokens are verified with. "
    "Each\n"
    "                      skipped key is named in a warning; a set with no "
    "usable\n"
    "                      key is an error. Without it every token is\n"
    "                      AUTH_KEY_UNKNOWN.\n"
    "  --config JSON       session configuration (README: Config); unknown "
    "keys are\n"
    "                      errors. Default: every default.\n"
    "  --now UNIX_SECONDS  the clock that exp and nbf are checked against.\n"
    "                      Default: the system clock.\n"
    "  --chunk N           feed the input in pieces of N bytes (1..2^30). "
    "Default\n"
    "                      65536. The outcome and the server bytes do not "
    "depend\n"
    "                      on it.\n"
    "  --max-input BYTES   read at most BYTES of input; a longer input is "
    "ended\n"
    "                      there, and the command says so and exits 1 after\n"
    "                      printing the outcome. 0: no limit. Default "
    "268435456\n"
    "                      (256 MiB).\n"
    "  --seed S            seed of the generated ids, so they repeat run "
    "after\n"
    "                      run. Default 1.\n"
    "  --out FILE          write the server's bytes to FILE. Default: "
    "discarded.\n"
    "  --fault SPEC        fail hits of a fault kind (alloc, idgen, attr, "
    "random):\n"
    "                      KIND@N the N-th hit, KIND@N+ the N-th and every "
    "later\n"
    "                      one, KIND@* every one. KIND may name one site of "
    "the\n"
    "                      kind, whose hits are counted apart: alloc.core,\n"
    "                      alloc.cjson, alloc.openssl, alloc.wslay, "
    "idgen.primary,\n"
    "                      idgen.fallback, attr.<attribute>. Repeatable. A "
    "rule\n"
    "                      that never fired is reported in a warning.\n"
    "  --fault-rate P      also fail each hit with probability P (0..1).\n"
    "  --fault-seed S      seed of --fault-rate (needs it). Default 0.\n"
    "  --list-faults       print every hit (kind, number, site) on standard "
    "error,\n"
    "                      one JSON line each.\n"
    "\n"
    "Exit status: 0 an outcome was printed; 1 no outcome, a read or write "
    "error,\n"
    "or an input over --max-input; 2 bad arguments or an unreadable or "
    "invalid\n"
    "file (with a message).\n";

static const char sweep_options[] =
    "Runs each INPUT (client bytes, as for 'wsgate session') once clean, "
    "then once\n"
    "per fault hit with that hit failed once and once with it failed from "
    "there\n"
    "on, and judges every run against the promise. One JSON line per input, "
    "then\n"
    "the summary, on standard output; progress on standard error.\n"
    "\n"
    "Arguments and options:\n"
    "  INPUT...            files of client bytes; a directory stands for its "
    "files\n"
    "                      (in name order, recursively, names starting with "
    "'.'\n"
    "                      skipped). An input that cannot be read is "
    "reported, the\n"
    "                      others still run, and the summary counts it "
    "in\n"
    "                      missing_inputs.\n"
    "  --keys JWKS         key set, as for session.\n"
    "  --config JSON       session configuration, as for session.\n"
    "  --now UNIX_SECONDS  one clock for every run. Default: the time the "
    "sweep\n"
    "                      started.\n"
    "  --chunk N           feed each input in pieces of N bytes (1..2^30).\n"
    "  --seed S            seed of the generated ids. Default 1.\n"
    "  --kinds K,...       the fault kinds to sweep (alloc, idgen, attr, "
    "random).\n"
    "                      Default: all.\n"
    "  --chunks N,...      also sweep each input fed in N-byte pieces, after\n"
    "                      checking its clean run looks exactly as fed whole;\n"
    "                      'none' for whole only.  Default: 1,7.\n"
    "  --json-out FILE     write each failing point to FILE as a JSON line, "
    "with\n"
    "                      the 'wsgate session' command that replays it.\n"
    "\n"
    "Exit status: 0 every point kept the promise; 1 a point broke it; 2 bad\n"
    "arguments or files, or an input that could not be read.\n";

static const char diags_options[] =
    "Options:\n"
    "  (none)              one row per diagnosis, as aligned text.\n"
    "  --json              a JSON array: code, stage, class, scope, "
    "http_status,\n"
    "                      close_code, description.\n"
    "  --markdown          the table in the README's format.\n";

static const char help_options[] =
    "Arguments:\n"
    "  COMMAND             the command whose usage and options to print.\n";

static const char version_options[] = "Takes no arguments.\n";

/* One row per command.  A command that documents itself (handles --help)
 * sets options to NULL. */
static const command commands[] = {
    {"session", cmd_session, 1,
     "Run one session over a client byte stream and print its outcome.",
     "wsgate session [--keys JWKS] [--config JSON] [--now T] [--chunk N]\n"
     "                      [--max-input BYTES] [--seed S] [--out FILE]\n"
     "                      [--fault SPEC]... [--fault-rate P [--fault-seed "
     "S]]\n"
     "                      [--list-faults] [FILE | -]",
     session_options},
    {"sweep", cmd_sweep, 1,
     "Fail every fault point of each input once and from there on; judge "
     "each run.",
     "wsgate sweep [--keys JWKS] [--config JSON] [--now T] [--chunk N] "
     "[--seed S]\n"
     "                    [--kinds K,...] [--chunks N,...|none] [--json-out "
     "FILE]\n"
     "                    INPUT...",
     sweep_options},
    {"serve", cmd_serve, 0,
     "Serve WebSocket sessions on a socket, one JSON line per session "
     "(serve --help).",
     "wsgate serve [--listen HOST:PORT] --keys JWKS [--config JSON] ...", NULL},
    {"gate", exec_gate, 0,
     "The release gate: build, test, sweep, fuzz, triage, measure; a "
     "verdict with evidence (gate --help).",
     "wsgate gate [--budget 10m] [OPTIONS]", NULL},
    {"triage", cmd_triage, 0,
     "Reproduce, classify and bucket fuzz crash files (triage --help).",
     "wsgate triage [OPTIONS] CRASH_FILE_OR_DIR...", NULL},
    {"diags", cmd_diags, 0, "Print the diagnosis table.",
     "wsgate diags [--json | --markdown]", diags_options},
    {"help", cmd_help, 0, "Print the commands, or one command's options.",
     "wsgate help [COMMAND]", help_options},
    {"version", cmd_version, 0, "Print the version (also: wsgate --version).",
     "wsgate version", version_options},
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static const command *find_command(const char *name) {
  size_t i;
  for (i = 0; i < N_COMMANDS; i++)
    if (strcmp(commands[i].name, name) == 0) return &commands[i];
  return NULL;
}

static void list_commands(FILE *f) {
  size_t i;
  for (i = 0; i < N_COMMANDS; i++)
    fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
}

int main(int argc, char **argv) {
  const command *c;
  if (argc > 0 && argv[0]) argv0 = argv[0];
  if (argc < 2) {
    fprintf(stderr, "usage: wsgate COMMAND [ARGS]\n\nCommands:\n");
    list_commands(stderr);
    fprintf(stderr, "\nRun 'wsgate help COMMAND' for a command's options.\n");
    return EXIT_USAGE;
  }
  if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
    return cmd_help(0, NULL);
  if (strcmp(argv[1], "--version") == 0) return cmd_version(argc - 2, argv + 2);
  if (!(c = find_command(argv[1])))
    return usage_error("unknown command '%s'", argv[1]);
  current = c->name;
  if (c->options && wants_help(argc - 2, argv + 2)) {
    print_help(c, stdout);
    return 0;
  }
  if (c->needs_init) {
    int rc = ws_global_init();
    if (rc != WS_OK) {
      fprintf(stderr, "wsgate: init: %s\n", ws_strerror(rc));
      return 1;
    }
  }
  return c->run(argc - 2, argv + 2);
}
