"""`wsgate gate`: the release gate (see README "Release gate")."""

import argparse
import datetime
import json
import os
import shutil
import signal
import sys
import time

from . import gate_util, report
from .gate_stages import TARGETS, Stages
from .gate_util import InfraError, Interrupted, UsageError

STAGES = ["build", "tests", "replay", "sweep", "fuzz", "triage", "coverage", "bench", "mutants"]
USAGE = ("usage: wsgate gate [--budget DURATION] [--engine libfuzzer|afl] [--mutants] [--update-baseline]\n"
         "                   [--mutant-list N,...] [--update-corpus] [--strict-bench] [--skip STAGE,...] [--targets T,...] [--jobs N]\n"
         "                   [--reports DIR] [--work DIR] [--source DIR] [--seed N] [--min-fuzz SECS]")


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def parse_args(argv):
    p = _Parser(prog="wsgate gate", usage=USAGE.split("usage: ", 1)[1], add_help=False,
                description="The release gate: builds, tests, replays, sweeps, fuzzes, triages, "
                            "measures coverage and benchmarks, and writes a verdict with its evidence "
                            "to reports/<UTC timestamp>/ (reports/latest). Exit 0 SHIP, 1 NO-SHIP, "
                            "2 usage or infrastructure error.")
    p.add_argument("-h", "--help", action="store_true", help="this help")
    p.add_argument("--budget", default="10m", help="time budget of the whole gate (default 10m; CI: 2m)")
    p.add_argument("--engine", default="libfuzzer", help="libfuzzer (default) or afl (AFL++ with CMPLOG)")
    p.add_argument("--mutants", action="store_true", help="also run the planted-defect set (tests/mutants/run.sh)")
    p.add_argument("--mutant-budget", default="20", help="seconds per fuzz target and mutant with --mutants")
    p.add_argument("--mutant-list", default="", help="with --mutants: only these (comma-separated names or "
                   "numbers; default: every planted defect)")
    p.add_argument("--strict-bench", action="store_true", help="a missed benchmark bound is NO-SHIP "
                   "(default: reported as advisory; timings on a shared machine are noise)")
    p.add_argument("--update-baseline", action="store_true", help="write this run's coverage and benchmark "
                   "figures to reports/baseline.json")
    p.add_argument("--update-corpus", action="store_true", help="merge new coverage-adding inputs into the "
                   "committed corpus/ (libFuzzer -merge=1, names by SHA-1)")
    p.add_argument("--skip", default="", help="stages to skip, comma-separated: " + ",".join(STAGES))
    p.add_argument("--targets", default=",".join(TARGETS), help="fuzz targets (default: all five)")
    p.add_argument("--jobs", default=None, help="parallel fuzzers and build jobs (default: 2)")
    p.add_argument("--reports", default=None, help="reports root (default: SOURCE/reports)")
    p.add_argument("--work", default=None, help="working corpus kept between runs (default: "
                   "$WSGATE_GATE_WORK or SOURCE/build/gate-work)")
    p.add_argument("--source", default=None, help="source tree (default: the tree holding this tool)")
    p.add_argument("--seed", default="1", help="libFuzzer -seed of the first fuzzer (default 1)")
    p.add_argument("--min-fuzz", default="5", help="least seconds per fuzz target (default 5)")
    p.add_argument("--builtin-triage", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--no-tty", action="store_true", help="plain progress lines even on a terminal")
    a = p.parse_args(argv)
    if a.help:
        return a, p
    a.budget_s = gate_util.parse_duration(a.budget)
    if a.engine not in ("libfuzzer", "afl"):
        raise UsageError("--engine must be libfuzzer or afl, not '%s'" % a.engine)
    a.skip = [s for s in a.skip.split(",") if s]
    for s in a.skip:
        if s not in STAGES:
            raise UsageError("--skip: unknown stage '%s' (stages: %s)" % (s, ", ".join(STAGES)))
    a.targets = [t for t in a.targets.split(",") if t]
    for t in a.targets:
        if t not in TARGETS:
            raise UsageError("--targets: unknown target '%s' (targets: %s)" % (t, ", ".join(TARGETS)))
    if not a.targets:
        raise UsageError("--targets: empty")
    for name in ("seed", "min_fuzz", "mutant_budget"):
        v = getattr(a, name)
        if not str(v).isdigit():
            raise UsageError("--%s must be a non-negative integer, not '%s'" % (name.replace("_", "-"), v))
        setattr(a, name, int(v))
    if a.jobs is None:
        a.jobs = 2
    elif not str(a.jobs).isdigit() or int(a.jobs) < 1:
        raise UsageError("--jobs must be a positive integer, not '%s'" % a.jobs)
    a.jobs = int(a.jobs)
    return a, p


class Gate:
    def __init__(self, args, tools_dir):
        self.args = args
        self.tools = tools_dir
        self.src = os.path.realpath(args.source or os.path.dirname(tools_dir))
        if not os.path.exists(os.path.join(self.src, "CMakePresets.json")):
            raise UsageError("--source %s is not a wsgate source tree (no CMakePresets.json)" % self.src)
        self.budget = args.budget_s
        self.targets = args.targets
        # The coverage baseline is of all five targets' corpora: compared
        # and written only when every target ran.
        self.all_targets = sorted(set(args.targets)) == sorted(TARGETS)
        self.seed = args.seed
        self.reports_root = os.path.realpath(args.reports or os.path.join(self.src, "reports"))
        self.work = os.path.realpath(args.work or os.environ.get("WSGATE_GATE_WORK")
                                     or os.path.join(self.src, "build", "gate-work"))
        self.t0 = time.time()
        self.started = datetime.datetime.now(datetime.timezone.utc)
        self.run_id = self.started.strftime("%Y%m%dT%H%M%SZ")
        self.report = self._make_report_dir()
        self.run_id = os.path.basename(self.report)
        self.run_work = os.path.join(self.work, "runs", self.run_id)
        os.makedirs(self.run_work, exist_ok=True)
        for d in ("logs", "crashes", "work"):
            os.makedirs(os.path.join(self.report, d), exist_ok=True)
        self.progress = gate_util.Progress(tty=False if args.no_tty else None)
        self.progress.budget = self.budget
        self.checks, self.reasons, self.stages, self.warnings = [], [], [], []
        self.metrics = {}
        self.crash_files = []
        self.buckets, self.sweep_buckets = [], []
        self.fuzz_stats = {}
        self.finding_times = {}
        self.stop_requested = self.stopping = False
        self.incomplete = None
        self.infra_error = None
        self.baseline = self._load_baseline()

    def _make_report_dir(self):
        os.makedirs(self.reports_root, exist_ok=True)
        base = os.path.join(self.reports_root, self.run_id)
        for i in range(1000):
            d = base if i == 0 else "%s-%d" % (base, i)
            try:
                os.mkdir(d)  # atomic: two gates at once get two directories
                return d
            except FileExistsError:
                continue
        raise InfraError("cannot create a report directory under %s" % self.reports_root)

    def _load_baseline(self):
        p = os.path.join(self.src, "reports", "baseline.json")
        if not os.path.exists(p):
            return None
        try:
            return json.load(open(p, encoding="utf-8"))
        except ValueError as e:
            raise InfraError("reports/baseline.json is not JSON: %s" % e)

    def fail(self, reason):
        self.reasons.append(reason)

    def found(self, source):
        """Records when the first finding of each source appeared."""
        self.finding_times.setdefault(source, round(time.time() - self.t0, 1))

    def add_crash(self, path, target, source):
        self.crash_files.append((path, target))
        self.found(source)
        self.progress.line("FINDING: %s (%s, %s)" % (os.path.relpath(path, self.report), target, source))

    def interrupted_check(self):
        if self.stop_requested:
            raise Interrupted()

    def run_stage(self, name, fn):
        if name in self.args.skip:
            self.stages.append({"name": name, "seconds": 0, "status": "skipped"})
            return
        self.progress.line("stage %s" % name)
        start = time.time()
        status = "ok"
        try:
            fn()
        except Interrupted:
            status = "interrupted"
            raise
        except InfraError:
            status = "error"
            raise
        finally:
            self.stages.append({"name": name, "seconds": round(time.time() - start, 2), "status": status})
            self.progress.line("stage %s: %s in %.1f s" % (name, status, time.time() - start))

    def verdict(self):
        failed_checks = [c for c in self.checks if c["status"] == "fail"]
        if self.infra_error:
            return "ERROR"
        if self.reasons or failed_checks or self.buckets:
            return "NO-SHIP"
        if self.incomplete:
            return "INCOMPLETE"
        return "SHIP"


def main(argv, tools_dir):
    try:
        args, parser = parse_args(argv)
    except UsageError as e:
        sys.stderr.write("wsgate gate: %s\n%s\n" % (e, USAGE))
        return 2
    if args.help:
        parser.print_help()
        return 0
    try:
        g = Gate(args, tools_dir)
    except UsageError as e:
        sys.stderr.write("wsgate gate: %s\n%s\n" % (e, USAGE))
        return 2
    except (InfraError, OSError) as e:
        sys.stderr.write("wsgate gate: infrastructure error: %s\n" % e)
        return 2

    def on_signal(signum, frame):
        if g.stop_requested:  # a second Ctrl-C: stop the children now
            gate_util.kill_children()
        g.stop_requested = True
        g.progress.line("interrupted (%s): stopping, the report will be marked incomplete"
                        % signal.Signals(signum).name)
        gate_util.kill_children()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    g.progress.line("report: %s" % g.report)
    st = Stages(g)
    order = [("build", st.build), ("tests", st.tests), ("replay", st.replay), ("sweep", st.sweep),
             ("fuzz", st.fuzz), ("triage", st.triage), ("coverage", st.coverage), ("bench", st.bench),
             ("mutants", st.mutants if args.mutants else None)]
    try:
        for name, fn in order:
            if fn is None:
                continue
            if name == "build" and not any(p[0] for p in st.presets()):
                continue
            g.run_stage(name, fn)
            if name == "build" and g.reasons:
                g.progress.line("build failed: later stages need the builds; stopping")
                g.incomplete = "build failed"
                break
    except Interrupted:
        g.incomplete = "interrupted by a signal"
    except InfraError as e:
        g.infra_error = str(e)
        g.incomplete = "infrastructure error: %s" % e
    except Exception as e:  # noqa: BLE001 - a bug in the gate is an infrastructure error, still report
        import traceback
        g.infra_error = "gate internal error: %r" % e
        g.incomplete = g.infra_error
        traceback.print_exc()
    finally:
        gate_util.kill_children()
    # Crashes found before an interruption still get a bucket each.
    if g.crash_files and not g.buckets and "triage" not in args.skip:
        try:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            st.triage()
        except Exception as e:  # noqa: BLE001
            g.progress.line("triage after interruption failed: %s" % e)
    if not g.buckets and g.sweep_buckets:
        from .findings import normalize
        g.buckets = [normalize(b, st.replay_bin, g.src) for b in g.sweep_buckets]
    try:
        if args.update_corpus and not g.incomplete:
            st.update_corpus()
        if args.update_baseline and not g.incomplete:
            report.update_baseline(g)
    except Exception as e:  # noqa: BLE001
        g.infra_error = "updating: %s" % e
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    report.write_all(g)
    shutil.rmtree(g.run_work, ignore_errors=True)
    v = g.verdict()
    g.progress.line("verdict: %s%s -> %s" % (v, (" (%s)" % g.incomplete) if g.incomplete else "",
                                             os.path.join(g.report, "summary.md")))
    if v == "SHIP":
        return 0
    if v == "NO-SHIP":
        return 1
    if g.infra_error:
        sys.stderr.write("wsgate gate: infrastructure error: %s\n" % g.infra_error)
    return 2
