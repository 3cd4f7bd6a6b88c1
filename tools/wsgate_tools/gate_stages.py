"""The release gate's stages.  Each stage appends checks (junit.check dicts)
to gate.checks and its figures to gate.metrics; a stage that cannot run
(a tool missing) raises gate_util.InfraError."""

import fcntl
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time

from . import findings as fallback
from . import gate_util
from .gate_util import InfraError, Interrupted
from .junit import check

TARGETS = ["fuzz_handshake", "fuzz_jwt", "fuzz_context", "fuzz_frames", "fuzz_session"]
SAN_ENV = {
    "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=1:symbolize=1",
    "UBSAN_OPTIONS": "halt_on_error=1:print_stacktrace=1",
}
# Benchmark bounds (README "Benchmark"): figure -> (op, bound, unit).
BENCH_BOUNDS = {
    "full session HS256": (">=", 20000, "sessions/s"),
    "frames: 64 KiB text": (">=", 500, "MB/s"),
    "idle session": ("<=", 8192, "bytes"),
    "sweep wall time": ("<=", 60, "s"),
}
FUZZ_LINE = re.compile(r"^#(\d+)\s+(INITED|NEW|REDUCE|pulse|DONE|RELOAD)\s+cov: (\d+) ft: (\d+) "
                       r"corp: (\d+)/\S+.*?exec/s: (\d+)")


def read_options(path):
    """A libFuzzer .options file ([libfuzzer] key = value) -> dict."""
    opts, section = {}, None
    if not os.path.exists(path):
        return opts
    for line in open(path, encoding="utf-8"):
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]").strip()
        elif "=" in line and section == "libfuzzer":
            k, v = line.split("=", 1)
            opts[k.strip()] = v.strip()
    return opts


class Stages:
    def __init__(self, gate):
        self.g = gate

    # -- helpers ---------------------------------------------------------
    def b(self, preset, *rel):
        return os.path.join(self.g.src, "build", preset, *rel)

    def log(self, name):
        return os.path.join(self.g.report, "logs", name)

    def rel(self, path):
        try:
            r = os.path.relpath(path, self.g.src)
        except ValueError:
            return path
        return path if r.startswith("..") else r

    def san_env(self):
        return dict(os.environ, **SAN_ENV)

    def corpus_dirs(self, t):
        return [os.path.join(self.g.src, "corpus", t), os.path.join(self.g.src, "corpus", "regressions", t)]

    # -- 1. builds -------------------------------------------------------
    def presets(self):
        a = self.g.args
        p = [("asan", ["-DWSGATE_WERROR=ON"], None), ("tsan", ["-DWSGATE_WERROR=ON"], ["test_threads"])]
        if "fuzz" not in a.skip:
            if a.engine == "afl":
                p += [("afl", [], TARGETS), ("afl-cmplog", [], TARGETS)]
            else:
                p.append(("fuzz", ["-DWSGATE_WERROR=ON"], None))
        if "coverage" not in a.skip:
            # The CLI of the coverage preset may not link; the gate needs only the targets.
            p.append(("coverage", [], TARGETS))
        if "bench" not in a.skip:
            p.append(("release", [], None))
        return p

    def needs_configure(self, preset, defs):
        """Configure only a new tree or one whose cache lacks our -D values:
        re-running `cmake --preset` rewrites generated headers and so
        rebuilds the fuzz targets (cmake --build re-configures by itself
        when a CMakeLists.txt changed)."""
        cache = self.b(preset, "CMakeCache.txt")
        if not os.path.exists(cache):
            return True
        text = open(cache, encoding="utf-8", errors="replace").read()
        for d in defs:
            k, _, v = d[2:].partition("=")
            if not re.search(r"^%s:[A-Z]+=%s$" % (re.escape(k), re.escape(v)), text, re.M):
                return True
        return False

    def build(self):
        cmake = shutil.which("cmake")
        if not cmake:
            raise InfraError("cmake not found (run .ci/deps)")
        for preset, defs, targets in self.presets():
            self.g.progress.line("build: %s" % preset)
            env = dict(os.environ)
            if preset == "afl-cmplog":
                env["AFL_LLVM_CMPLOG"] = "1"
            logf = self.log("build-%s.log" % preset)
            rc, out, t1 = 0, "", 0.0
            if self.needs_configure(preset, defs):
                rc, out, t1 = gate_util.run([cmake, "--preset", preset] + defs, log=logf, env=env,
                                            cwd=self.g.src)
            t2 = 0.0
            if rc == 0:
                cmd = [cmake, "--build", "--preset", preset, "-j%d" % self.g.args.jobs]
                if targets:
                    cmd += ["--target"] + targets
                rc, out, t2 = gate_util.run(cmd, log=logf, env=env, cwd=self.g.src)
            self.g.interrupted_check()
            ok = rc == 0
            errs = "\n".join(l for l in out.splitlines() if "error" in l.lower())[-4000:]
            self.g.checks.append(check("build", "build %s" % preset, "pass" if ok else "fail", t1 + t2,
                                       file="CMakePresets.json",
                                       message="" if ok else "cmake --build --preset %s failed (%s)" % (preset, self.rel(logf)),
                                       text=errs or out[-4000:]))
            self.g.metrics.setdefault("build", {})[preset] = {"ok": ok, "seconds": round(t1 + t2, 2)}
            if not ok:
                self.g.fail("build of preset %s failed" % preset)

    # -- 2. tests --------------------------------------------------------
    def tests(self):
        ctest = shutil.which("ctest")
        if not ctest:
            raise InfraError("ctest not found")
        # The corpus replays and fuzz-corpus sweeps of ctest are stages of their
        # own here (every corpus through every target), so ctest skips them.
        runs = [("asan", ["-E", "^(replay_fuzz_|sweep_fuzz_)"], "ctest-asan"),
                ("tsan", ["-R", "^test_threads$"], "ctest-tsan")]
        for preset, extra, name in runs:
            xml = os.path.join(self.g.report, "logs", name + ".xml")
            if not os.path.isdir(self.b(preset)):
                self.g.checks.append(check("tests", name, "fail", message="build/%s missing" % preset))
                self.g.fail("tests of %s not run (no build)" % preset)
                continue
            self.g.progress.line("tests: ctest --preset %s %s" % (preset, " ".join(extra)))
            rc, out, secs = gate_util.run([ctest, "--preset", preset, "-j%d" % self.g.args.jobs,
                                           "--output-junit", xml] + extra,
                                          log=self.log(name + ".log"), cwd=self.g.src)
            self.g.interrupted_check()
            from .junit import parse_ctest_junit
            try:
                cases = parse_ctest_junit(xml)
            except Exception as e:  # no XML: ctest itself failed
                cases = []
                self.g.checks.append(check("tests", name, "fail", secs, message="ctest wrote no JUnit (%s)" % e,
                                           text=out[-4000:]))
                self.g.fail("ctest --preset %s did not run" % preset)
            for (tn, st, t, text, msg) in cases:
                self.g.checks.append(check("tests", tn, st, t, file=self.test_file(tn),
                                           classname="wsgate.ctest.%s" % preset,
                                           message=("ctest %s failed" % tn) if st == "fail" else msg,
                                           text=text[-6000:]))
                if st == "fail":
                    self.g.fail("test %s (%s) failed" % (tn, preset))
                    self.g.found("tests")
            if rc not in (0, 8) and rc is not None and not cases:
                self.g.fail("ctest %s exited %s" % (preset, rc))
        n = [c for c in self.g.checks if c["stage"] == "tests"]
        self.g.metrics["tests"] = {"total": len(n), "failed": sum(c["status"] == "fail" for c in n),
                                   "skipped": sum(c["status"] == "skip" for c in n)}

    def test_file(self, name):
        for cand in ("tests/%s.c" % name, "tests/%s_test.sh" % name, "tests/%s.sh" % name,
                     "tests/%s/run.sh" % name):
            if os.path.exists(os.path.join(self.g.src, cand)):
                return cand
        m = re.match(r"replay_(fuzz_\w+)", name)
        if m:
            return "fuzz/%s.c" % m.group(1)
        return "tests/CMakeLists.txt"

    # -- 2b. replays -----------------------------------------------------
    def replay(self):
        dirs = []
        for t in TARGETS:
            dirs += [d for d in self.corpus_dirs(t) if gate_util.files_in(d)]
        total = 0
        for t in TARGETS:
            bin_ = self.b("asan", "fuzz", t)
            for d in dirs:
                self.g.interrupted_check()
                name = "%s < %s" % (t, self.rel(d))
                if not os.path.exists(bin_):
                    self.g.checks.append(check("replay", name, "fail", file="fuzz/%s.c" % t,
                                               message="replay binary missing (build asan)"))
                    self.g.fail("replay binary %s missing" % t)
                    break
                rc, out, secs = gate_util.run([bin_, d], env=self.san_env(), timeout=300)
                n = len(gate_util.files_in(d))
                total += n
                if rc == 0:
                    self.g.checks.append(check("replay", name, "pass", secs, file="fuzz/%s.c" % t))
                    continue
                bad = self.crashing_files(bin_, d)
                for f in bad:
                    # A copy in the report: the evidence stays with it.
                    keep = os.path.join(self.g.report, "crashes", "replay-%s-%s" % (t, os.path.basename(f)))
                    shutil.copyfile(f, keep)
                    self.g.add_crash(keep, t, "replay")
                msg = "%s broke the promise on %d of %d inputs of %s" % (t, len(bad), n, self.rel(d))
                with open(self.log("replay-%s-%s.log" % (t, os.path.basename(d))), "w") as f:
                    f.write(out)
                self.g.checks.append(check("replay", name, "fail", secs, file="fuzz/%s.c" % t,
                                           message=msg, text=self.summary_lines(out)))
                self.g.fail(msg)
        self.g.metrics["replay"] = {"runs": len([c for c in self.g.checks if c["stage"] == "replay"]),
                                    "inputs": total,
                                    "failed": sum(c["status"] == "fail" for c in self.g.checks if c["stage"] == "replay")}

    def crashing_files(self, bin_, d, limit=3):
        bad = []
        for f in gate_util.files_in(d):
            rc, _, _ = gate_util.run([bin_, f], env=self.san_env(), timeout=60)
            if rc != 0:
                bad.append(f)
                if len(bad) >= limit:
                    break
        return bad

    @staticmethod
    def summary_lines(out):
        keep = [l for l in out.splitlines()
                if re.search(r"wsgate fuzz|ERROR: |SUMMARY: |runtime error|outcome:|#\d+ 0x", l)]
        return "\n".join(keep[:40])

    # -- 3. the fault sweep ---------------------------------------------
    def sweep(self):
        ws, seeds = self.b("asan", "cli", "wsgate"), self.b("asan", "tests", "seeds")
        work = os.path.join(self.g.report, "work", "sweep")
        os.makedirs(work, exist_ok=True)
        totals = {}
        failures = []
        if not (os.path.exists(ws) and os.path.exists(seeds)):
            self.g.checks.append(check("sweep", "sweep", "fail", message="build/asan wsgate or seeds missing"))
            self.g.fail("sweep not run (no asan build)")
            return
        rc, out, _ = gate_util.run([seeds, os.path.join(work, "seeds")], log=self.log("sweep.log"))
        if rc != 0:
            raise InfraError("tests/seeds could not write the seed inputs: " + out[-300:])
        keys = os.path.join(self.g.src, "tests", "keys", "jwks.json")
        for group in sorted(os.listdir(os.path.join(work, "seeds"))):
            gd = os.path.join(work, "seeds", group)
            ins = sorted(glob.glob(os.path.join(gd, "*.bin")))
            if not ins:
                continue
            self.g.interrupted_check()
            self.g.progress.line("sweep: %s (%d inputs, every kind)" % (group, len(ins)))
            fo = os.path.join(work, group + ".failures.jsonl")
            cmd = [ws, "sweep", "--keys", keys, "--now", "1700000000", "--json-out", fo]
            if os.path.exists(os.path.join(gd, "config.json")):
                cmd += ["--config", os.path.join(gd, "config.json")]
            rc, out, secs = gate_util.run(cmd + ins, env=self.san_env(), timeout=600)
            with open(os.path.join(work, group + ".out"), "w") as f:
                f.write(out)
            summ = {}
            for line in reversed(out.splitlines()):
                if line.startswith("{") and '"points"' in line and '"input"' not in line:
                    try:
                        summ = json.loads(line)
                    except ValueError:
                        pass
                    break
            for k, v in summ.items():
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    totals[k] = totals.get(k, 0) + v
            fl = []
            if os.path.exists(fo):
                for line in open(fo, encoding="utf-8"):
                    if line.strip():
                        try:
                            fl.append(json.loads(line))
                        except ValueError:
                            pass
            failures += fl
            ok = rc == 0 and not fl and bool(summ)
            msg = ""
            if not ok:
                counts = ", ".join("%s %s" % (k, summ.get(k, "?")) for k in
                                   ("unexplained", "misattributed", "leaked", "crashed", "clean_failures"))
                msg = "sweep of %s: %d failing points (%s), exit %s" % (group, len(fl), counts, rc)
                self.g.fail(msg)
            text = "\n".join(json.dumps(x)[:600] for x in fl[:10]) or out[-2000:]
            self.g.checks.append(check("sweep", "sweep %s" % group, "pass" if ok else "fail", secs,
                                       file="faults/sweep.c", message=msg, text="" if ok else text))
        totals.pop("wall_s", None)
        totals.pop("points_per_s", None)
        self.g.metrics["sweep"] = totals
        if failures:
            self.g.found("sweep")
        for b in fallback.sweep_buckets(failures):
            self.g.sweep_buckets.append(b)
        # The fuzz seed corpus through the sweep: the replay binaries' --sweep mode.
        for t in TARGETS:
            bin_ = self.b("asan", "fuzz", t)
            name = "sweep %s corpus" % t
            rc, out, _ = gate_util.run([bin_, "--help"], timeout=30) if os.path.exists(bin_) else (2, "", 0)
            if "--sweep" not in out:
                self.g.checks.append(check("sweep", name, "skip", file="fuzz/%s.c" % t,
                                           message="the replay binary has no --sweep mode yet"))
                continue
            dirs = [d for d in self.corpus_dirs(t) if os.path.isdir(d)]
            g = self.g
            g.progress.line("sweep: %s --sweep over its corpus" % t)
            # Under a short budget one chunked pass (7-byte pieces) besides the whole
            # input; otherwise the replay binary's default (1- and 7-byte pieces).
            chunks = ["--chunks", "7"] if g.budget < 300 else []
            g.metrics.setdefault("sweep_fuzz_chunks", chunks[1] if chunks else "default (1,7)")
            rc, out, secs = gate_util.run([bin_, "--sweep"] + chunks + dirs, env=self.san_env(), timeout=900,
                                          log=self.log("sweep-%s.log" % t))
            if rc == 2 and "not supported by this target" in out:
                g.checks.append(check("sweep", name, "skip", secs, file="fuzz/%s.c" % t,
                                      message="%s has no --sweep mode (not on the shared decoder yet)" % t))
                continue
            summ = {}
            for line in out.splitlines():
                if line.startswith("{") and '"points"' in line:
                    try:
                        summ = json.loads(line)
                    except ValueError:
                        pass
            g.metrics.setdefault("sweep_fuzz", {})[t] = summ
            bad = {k: v for k, v in summ.items() if k not in ("target", "inputs", "points", "absorbed",
                                                              "diagnosed", "unfired") and v}
            ok = rc == 0 and bool(summ) and not bad
            msg = "" if ok else "%s --sweep over its corpus: %s (exit %s)" % (
                t, ", ".join("%s %s" % kv for kv in bad.items()) or "no summary", rc)
            if not ok:
                g.fail(msg)
                g.found("sweep")
                for v in bad or {"crashed": 1}:
                    typ = fallback.VERDICT_TYPES.get(v, "Sweep-" + v)
                    state = [t, "fuzz-corpus sweep", v]
                    g.sweep_buckets.append({
                        "id": fallback.bucket_id(typ, state, False), "type": typ, "state": state,
                        "security": False, "severity": "low", "target": t, "files": [self.rel(d) for d in dirs],
                        "reproducible": "deterministic", "minimized": None, "first_frame": None,
                        "reproducer": "%s --sweep %s" % (self.rel(bin_), " ".join(self.rel(d) for d in dirs)),
                        "session_cmd": None, "source": "sweep", "points": bad.get(v, 0)})
            g.checks.append(check("sweep", name, "pass" if ok else "fail", secs, file="fuzz/%s.c" % t,
                                  message=msg, text="" if ok else self.summary_lines(out) or out[-3000:]))

    # -- 4. fuzzing ------------------------------------------------------
    def fuzz_seconds(self):
        g = self.g
        n = len(g.targets)
        rounds = -(-n // g.args.jobs)
        elapsed = time.time() - g.t0
        reserve = 30 + 0.08 * g.budget + (120 if g.args.mutants else 0)
        left = g.budget - elapsed - reserve
        per = max(g.args.min_fuzz, int(left / rounds)) if rounds else 0
        return per

    def fuzz(self):
        g = self.g
        per = self.fuzz_seconds()
        g.metrics["fuzz_plan"] = {"seconds_per_target": per, "parallel": g.args.jobs, "engine": g.args.engine}
        g.progress.line("fuzz: %d targets, %d s each, %d at a time (%s)" % (len(g.targets), per, g.args.jobs,
                                                                         g.args.engine))
        queue = list(g.targets)
        lock = threading.Lock()
        errors = []

        def worker(slot):
            while True:
                with lock:
                    if not queue or g.stopping or g.stop_requested:
                        return
                    t = queue.pop(0)
                try:
                    if g.args.engine == "afl":
                        self.fuzz_afl(t, per)
                    else:
                        self.fuzz_one(t, per, slot)
                except Exception as e:  # noqa: BLE001 - reported as an infrastructure error
                    errors.append((t, e))

        threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(g.args.jobs)]
        for th in threads:
            th.start()
        while any(th.is_alive() for th in threads):
            for th in threads:
                th.join(timeout=0.5)
            self.fuzz_status()
            if g.stop_requested:
                g.stopping = True
                gate_util.kill_children()
        for th in threads:
            th.join()
        self.merge_working_corpus()
        g.interrupted_check()
        if errors:
            raise InfraError("fuzzing %s: %s" % (errors[0][0], errors[0][1]))

    def fuzz_status(self):
        live = [(t, s) for t, s in self.g.fuzz_stats.items() if s.get("running")]
        if not live:
            return
        parts = []
        for t, s in live:
            rem = max(0, s["seconds"] - (time.time() - s["start"]))
            parts.append("%s %s left %s exec/s cov %s corp %s" % (
                t, gate_util.fmt_secs(rem), s.get("exec_per_s", 0), s.get("cov", 0), s.get("corpus", 0)))
        self.g.progress.status("fuzz: " + " | ".join(parts) + " | findings %d" % len(self.g.crash_files))

    def fuzz_one(self, t, secs, slot):
        g = self.g
        bin_ = self.b("fuzz", "fuzz", t)
        if not os.path.exists(bin_):
            g.checks.append(check("fuzz", t, "fail", file="fuzz/%s.c" % t, message="libFuzzer binary missing"))
            g.fail("fuzz binary %s missing" % t)
            return
        opts = read_options(self.b("fuzz", "fuzz", t + ".options")) or \
            read_options(os.path.join(g.src, "fuzz", t + ".options"))
        rundir = os.path.join(g.run_work, t)
        os.makedirs(rundir, exist_ok=True)
        wc = os.path.join(g.work, "corpus", t)
        os.makedirs(wc, exist_ok=True)
        crashdir = os.path.join(g.report, "crashes")
        os.makedirs(crashdir, exist_ok=True)
        cmd = [bin_, "-max_total_time=%d" % secs, "-print_final_stats=1", "-timeout=10",
               "-rss_limit_mb=2560", "-seed=%d" % (g.seed + slot), "-artifact_prefix=%s/%s-" % (crashdir, t),
               "-reload=0"]
        if opts.get("max_len"):
            cmd.append("-max_len=%s" % opts["max_len"])
        if opts.get("dict"):
            d = self.b("fuzz", "fuzz", opts["dict"])
            if os.path.exists(d):
                cmd.append("-dict=%s" % d)
        cmd += [rundir] + [d for d in self.corpus_dirs(t) if os.path.isdir(d)] + [wc]
        st = g.fuzz_stats[t] = {"running": True, "start": time.time(), "seconds": secs, "series": [],
                                "command": " ".join(self.rel(c) for c in cmd)}
        logf = self.log("fuzz-%s.log" % t)
        before = set(os.listdir(crashdir))
        env = dict(os.environ, **SAN_ENV)
        with open(logf, "w", encoding="utf-8") as log:
            p = gate_util.popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                                stdin=subprocess.DEVNULL)
            try:
                for raw in p.stdout:
                    line = raw.decode("utf-8", "replace")
                    log.write(line)
                    m = FUZZ_LINE.match(line)
                    if m:
                        st.update(execs=int(m.group(1)), cov=int(m.group(3)), ft=int(m.group(4)),
                                  corpus=int(m.group(5)), exec_per_s=int(m.group(6)))
                        st["series"].append((round(time.time() - st["start"], 1), int(m.group(3)),
                                             int(m.group(5))))
                        if m.group(2) == "INITED":
                            st["cov_initial"] = int(m.group(3))
                    elif line.startswith("stat::"):
                        k, _, v = line[6:].partition(":")
                        try:
                            st["stat_" + k.strip()] = int(v.strip())
                        except ValueError:
                            pass
                rc = p.wait()
            finally:
                gate_util.forget(p)
        st["running"] = False
        st["wall"] = round(time.time() - st["start"], 1)
        st["rc"] = rc
        st["execs"] = st.get("stat_number_of_executed_units", st.get("execs", 0))
        st["exec_per_s"] = st.get("stat_average_exec_per_sec", st.get("exec_per_s", 0))
        st["new_inputs"] = len(gate_util.files_in(rundir))
        new = sorted(set(os.listdir(crashdir)) - before)
        new = [n for n in new if n.startswith(t + "-")]
        for n in new:
            g.add_crash(os.path.join(crashdir, n), t, "fuzz")
        st["crashes"] = len(new)
        interrupted = g.stop_requested and not new
        if new or (rc not in (0, None) and not interrupted):
            kinds = ", ".join(sorted({n[len(t) + 1:].split("-")[0] for n in new})) or "exit %s" % rc
            msg = "%s: %s after %.0f s (%s executions)" % (t, kinds, st["wall"], st["execs"])
            g.fail(msg)
            g.checks.append(check("fuzz", t, "fail", st["wall"], file="fuzz/%s.c" % t, message=msg,
                                  text=self.summary_lines(open(logf, encoding="utf-8", errors="replace").read())))
            st["time_to_first_crash"] = st["wall"]
        elif interrupted:
            g.checks.append(check("fuzz", t, "skip", st["wall"], file="fuzz/%s.c" % t,
                                  message="interrupted after %.0f s" % st["wall"]))
        else:
            g.checks.append(check("fuzz", t, "pass", st["wall"], file="fuzz/%s.c" % t))
        g.progress.line("fuzz: %s done: %s executions, %s exec/s, cov %s, %d new inputs, %d crash files" % (
            t, st["execs"], st["exec_per_s"], st.get("cov", "?"), st["new_inputs"], len(new)))

    @staticmethod
    def afl_stats(out):
        """AFL++'s fuzzer_stats as a dict (empty before its first write)."""
        stats = {}
        sf = os.path.join(out, "default", "fuzzer_stats")
        try:
            with open(sf, encoding="utf-8", errors="replace") as f:
                for line in f:
                    k, _, v = line.partition(":")
                    stats[k.strip()] = v.strip()
        except OSError:
            pass
        return stats

    @staticmethod
    def afl_num(stats, key, kind=int):
        try:
            return kind(stats.get(key, 0) or 0)
        except ValueError:
            return 0

    @classmethod
    def afl_rate(cls, stats):
        """Executions per second over the whole run (AFL++'s own
        execs_per_sec is a recent-window figure, odd in its first write)."""
        return round(cls.afl_num(stats, "execs_done") / max(1, cls.afl_num(stats, "run_time")), 1)

    def fuzz_afl(self, t, secs):
        """AFL++ with a CMPLOG binary beside the plain one, the target's
        dictionary and its max_len (-G: AFL++ has no .options either), the
        same starting corpus as libFuzzer's; progress from fuzzer_stats while
        it runs; crashes copied into the report, new queue entries (not the
        imported seeds) into the run's directory for the working corpus."""
        g = self.g
        afl = shutil.which("afl-fuzz")
        bin_, cmplog = self.b("afl", "fuzz", t), self.b("afl-cmplog", "fuzz", t)
        if not afl or not os.path.exists(bin_) or not os.path.exists(cmplog):
            raise InfraError("afl-fuzz, build/afl/fuzz/%s or build/afl-cmplog/fuzz/%s missing" % (t, t))
        inp = os.path.join(g.run_work, t + "-in")
        out = os.path.join(g.run_work, t + "-afl")
        os.makedirs(inp, exist_ok=True)
        for d in self.corpus_dirs(t) + [os.path.join(g.work, "corpus", t)]:
            for f in gate_util.files_in(d):
                shutil.copy(f, os.path.join(inp, gate_util.sha1_file(f)))
        if not gate_util.files_in(inp):
            with open(os.path.join(inp, "empty"), "wb") as f:
                f.write(b"\0")
        cmd = [afl, "-V", str(secs), "-i", inp, "-o", out, "-c", cmplog, "-s", str(g.seed)]
        opts = read_options(self.b("afl", "fuzz", t + ".options")) or \
            read_options(os.path.join(g.src, "fuzz", t + ".options"))
        if opts.get("max_len"):
            cmd += ["-G", str(opts["max_len"])]
        if opts.get("dict") and os.path.exists(self.b("afl", "fuzz", opts["dict"])):
            cmd += ["-x", self.b("afl", "fuzz", opts["dict"])]
        cmd += ["--", bin_]
        env = dict(os.environ, AFL_SKIP_CPUFREQ="1", AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES="1",
                   AFL_NO_UI="1", AFL_NO_AFFINITY="1",
                   # CMPLOG on the inputs this run finds, not on every imported
                   # seed: on a few hundred seeds the CMPLOG stage alone takes
                   # a short budget (measured: 555 against 11,000 exec/s).
                   AFL_CMPLOG_ONLY_NEW="1",
                   ASAN_OPTIONS="abort_on_error=1:symbolize=0:detect_leaks=0",
                   UBSAN_OPTIONS="halt_on_error=1:abort_on_error=1")
        st = g.fuzz_stats[t] = {"running": True, "start": time.time(), "seconds": secs, "series": [],
                                "command": " ".join(self.rel(c) for c in cmd)}
        logf = self.log("fuzz-%s.log" % t)
        with open(logf, "w", encoding="utf-8") as log:
            log.write("$ %s\n" % " ".join(cmd))
            log.flush()
            p = gate_util.popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, stdin=subprocess.DEVNULL)
            try:
                deadline = time.time() + secs + 120
                while True:
                    try:
                        rc = p.wait(timeout=2)
                        break
                    except subprocess.TimeoutExpired:
                        pass
                    stats = self.afl_stats(out)
                    if stats:
                        st.update(execs=self.afl_num(stats, "execs_done"),
                                  exec_per_s=self.afl_rate(stats),
                                  cov=self.afl_num(stats, "edges_found"),
                                  corpus=self.afl_num(stats, "corpus_count"))
                        st["series"].append((round(time.time() - st["start"], 1), st["cov"], st["corpus"]))
                    if time.time() > deadline:
                        os.killpg(p.pid, signal.SIGKILL)
                        rc = p.wait()
                        break
            finally:
                gate_util.forget(p)
        st.update(running=False, wall=round(time.time() - st["start"], 1), rc=rc)
        stats = self.afl_stats(out)
        st["execs"] = self.afl_num(stats, "execs_done")
        st["exec_per_s"] = self.afl_rate(stats)
        st["corpus"] = self.afl_num(stats, "corpus_count")
        st["cov"] = self.afl_num(stats, "edges_found")
        st["cov_initial"] = st["series"][0][1] if st["series"] else None
        crashdir = os.path.join(g.report, "crashes")
        os.makedirs(crashdir, exist_ok=True)
        new = [f for f in gate_util.files_in(os.path.join(out, "default", "crashes")) if not f.endswith("README.txt")]
        for f in new:
            dst = os.path.join(crashdir, "%s-afl-%s" % (t, gate_util.sha1_file(f)))
            shutil.copy(f, dst)
            g.add_crash(dst, t, "fuzz")
        qdir = os.path.join(out, "default", "queue")
        rundir = os.path.join(g.run_work, t)
        os.makedirs(rundir, exist_ok=True)
        for f in gate_util.files_in(qdir):
            if ",orig:" in os.path.basename(f):
                continue  # an imported seed, not a new input
            shutil.copy(f, os.path.join(rundir, gate_util.sha1_file(f)))
        st["new_inputs"] = len(gate_util.files_in(rundir))
        st["crashes"] = len(new)
        if new:
            msg = "%s: %d AFL++ crash files after %.0f s (%s executions)" % (t, len(new), st["wall"], st["execs"])
            g.fail(msg)
            g.checks.append(check("fuzz", t, "fail", st["wall"], file="fuzz/%s.c" % t, message=msg))
            st["time_to_first_crash"] = st["wall"]
        elif not stats:
            msg = "%s: afl-fuzz wrote no fuzzer_stats (exit %s); see logs/fuzz-%s.log" % (t, rc, t)
            g.fail(msg)
            g.checks.append(check("fuzz", t, "fail", st["wall"], file="fuzz/%s.c" % t, message=msg,
                                  text=self.summary_lines(open(logf, encoding="utf-8", errors="replace").read())))
        else:
            g.checks.append(check("fuzz", t, "pass", st["wall"], file="fuzz/%s.c" % t))
        g.progress.line("fuzz: %s done (afl): %s executions, %s exec/s, edges %s, %d new inputs, %d crash files" % (
            t, st["execs"], st["exec_per_s"], st["cov"], st["new_inputs"], len(new)))

    def merge_working_corpus(self):
        """New inputs of this run -> the working corpus kept between runs
        (named by SHA-1, written by rename, under an exclusive lock)."""
        g = self.g
        os.makedirs(g.work, exist_ok=True)
        with open(os.path.join(g.work, "lock"), "w") as lk:
            fcntl.flock(lk, fcntl.LOCK_EX)
            added = 0
            for t in g.targets:
                dst = os.path.join(g.work, "corpus", t)
                os.makedirs(dst, exist_ok=True)
                for f in gate_util.files_in(os.path.join(g.run_work, t)):
                    name = gate_util.sha1_file(f)
                    final = os.path.join(dst, name)
                    if os.path.exists(final):
                        continue
                    tmp = os.path.join(dst, ".tmp-%d-%s" % (os.getpid(), name))
                    shutil.copyfile(f, tmp)
                    os.rename(tmp, final)
                    added += 1
                g.fuzz_stats.setdefault(t, {})["working_corpus"] = len(gate_util.files_in(dst))
            g.metrics.setdefault("fuzz_plan", {})["added_to_working_corpus"] = added

    def update_corpus(self):
        """--update-corpus: libFuzzer -merge=1 into the committed corpus/<t>
        (only inputs that add coverage; libFuzzer names them by SHA-1)."""
        g = self.g
        for t in g.targets:
            bin_ = self.b("fuzz", "fuzz", t)
            dst = os.path.join(g.src, "corpus", t)
            before = len(gate_util.files_in(dst))
            srcs = [d for d in (os.path.join(g.run_work, t), os.path.join(g.work, "corpus", t)) if os.path.isdir(d)]
            art = os.path.join(g.report, "work", "update-corpus-artifacts")
            os.makedirs(art, exist_ok=True)
            rc, out, secs = gate_util.run([bin_, "-merge=1", "-artifact_prefix=%s/" % art, dst] + srcs, env=dict(os.environ, **SAN_ENV),
                                          log=self.log("update-corpus-%s.log" % t), timeout=900)
            after = len(gate_util.files_in(dst))
            g.metrics.setdefault("update_corpus", {})[t] = {"before": before, "after": after, "rc": rc}
            g.progress.line("update-corpus: %s %d -> %d inputs" % (t, before, after))

    # -- 5. triage and coverage -----------------------------------------
    def triage(self):
        g = self.g
        files = list(g.crash_files)
        buckets = []
        tool = os.path.join(g.tools, "triage.py")
        if files:
            g.progress.line("triage: %d crash files" % len(files))
        if files and os.path.exists(tool) and not g.args.builtin_triage:
            by_target = {}
            for f, t in files:
                by_target.setdefault(t, []).append(f)
            for t, fs in by_target.items():
                quick = g.budget < 600
                cap = 3 if quick else 10
                if len(fs) > cap:  # the rest are kept in crashes/, listed in metrics.json
                    # fuzzer finds first (new inputs), then replays of the committed corpus
                    fs = sorted(fs, key=lambda f: os.path.basename(f).startswith("replay-"))
                    g.metrics.setdefault("untriaged", {})[t] = [self.rel(f) for f in fs[cap:]]
                    fs = fs[:cap]
                cmd = ["/usr/bin/python3", tool, "--json", "--quiet", "--target", t,
                       "--build", self.b("asan"), "--out", os.path.join(g.report, "work", "triage", t),
                       "--runs", "3" if quick else "10", "--minimize-timeout", "15" if quick else "60"]
                if os.path.isdir(self.b("fuzz")):
                    cmd += ["--fuzz-build", self.b("fuzz")]
                rc, out, secs = gate_util.run(cmd + fs, log=self.log("triage.log"), cwd=g.src, timeout=1800,
                                              stdout_only=True)
                try:
                    data = json.loads(out[out.index("{"):])
                except ValueError:
                    data = None
                if data is None:
                    g.progress.line("triage: tools/triage.py gave no JSON (exit %s); using the gate's own" % rc)
                    buckets += fallback.triage_files([(f, t) for f in fs], g.src, self.replay_bin, self.log("."))
                    continue
                bs = data.get("buckets", []) if isinstance(data, dict) else data
                for b in bs:
                    b.setdefault("target", t)
                    b.setdefault("source", "fuzz")
                buckets += bs
            g.metrics["triage_tool"] = "tools/triage.py"
        elif files:
            buckets = fallback.triage_files(files, g.src, self.replay_bin, self.log("."))
            g.metrics["triage_tool"] = "gate built-in (tools/triage.py absent)"
        # One bucket per id across targets (triage runs per target).
        merged = {}
        for b in (fallback.normalize(b, self.replay_bin, g.src) for b in buckets + g.sweep_buckets):
            if b["id"] in merged:
                m = merged[b["id"]]
                m["files"] = m["files"] + [f for f in b["files"] if f not in m["files"]]
                if b.get("target") and b["target"] not in str(m.get("target")).split(","):
                    m["target"] = "%s,%s" % (m["target"], b["target"])
            else:
                merged[b["id"]] = b
        g.buckets = list(merged.values())
        if g.buckets:
            g.fail("%d finding bucket%s" % (len(g.buckets), "" if len(g.buckets) == 1 else "s"))

    def replay_bin(self, t):
        return self.b("asan", "fuzz", t)

    def coverage(self):
        g = self.g
        profdata = shutil.which("llvm-profdata-14") or shutil.which("llvm-profdata")
        cov = shutil.which("llvm-cov-14") or shutil.which("llvm-cov")
        if not (profdata and cov):
            raise InfraError("llvm-profdata/llvm-cov not found (llvm-14)")
        work = os.path.join(g.report, "work", "coverage")
        os.makedirs(os.path.join(work, "artifacts"), exist_ok=True)
        ignore = "^%s/(faults|fuzz|tests)/|^/usr/" % re.escape(g.src)
        objects = []
        result = {"per_target": {}}
        # The stage keeps to what is left of the budget (at least a minute):
        # on a planted or real memory bug many corpus inputs crash, and
        # libFuzzer's merge restarts the binary after each one.
        replays = 2 * len(g.targets)
        stage_end = time.time() + max(60, g.budget - (time.time() - g.t0))
        for kind in ("seeds", "campaign"):
            raws = []
            for t in g.targets:
                bin_ = self.b("coverage", "fuzz", t)
                if not os.path.exists(bin_):
                    raise InfraError("build/coverage/fuzz/%s missing" % t)
                if bin_ not in objects:
                    objects.append(bin_)
                dirs = [d for d in self.corpus_dirs(t) if os.path.isdir(d)]
                if kind == "campaign":
                    dirs += [d for d in (os.path.join(g.run_work, t), os.path.join(g.work, "corpus", t))
                             if os.path.isdir(d)]
                merged = os.path.join(work, "merge-%s-%s" % (kind, t))
                shutil.rmtree(merged, ignore_errors=True)
                os.makedirs(merged)
                pat = os.path.join(work, "%s-%s-%%p.profraw" % (kind, t))
                env = dict(os.environ, LLVM_PROFILE_FILE=pat, ASAN_OPTIONS="detect_leaks=0")
                # A planted or real memory bug can hang an uninstrumented binary
                # (a corrupted heap): per-input and overall time limits.
                rc, out, _ = gate_util.run([bin_, "-merge=1", "-timeout=10",
                                            "-artifact_prefix=%s/" % os.path.join(work, "artifacts"), merged] + dirs,
                                           env=env,
                                           log=self.log("coverage-%s.log" % kind),
                                           timeout=max(10, min(240, (stage_end - time.time()) / replays)))
                replays -= 1
                if rc is None:
                    g.progress.line("coverage: %s replay (%s) timed out; its profile is partial" % (t, kind))
                    g.metrics.setdefault("coverage_timeouts", []).append("%s/%s" % (kind, t))
                shutil.rmtree(merged, ignore_errors=True)
                g.interrupted_check()
                mine = glob.glob(os.path.join(work, "%s-%s-*.profraw" % (kind, t)))
                raws += mine
                if kind == "campaign" and mine:
                    pd = os.path.join(work, "%s-%s.profdata" % (kind, t))
                    gate_util.run([profdata, "merge", "-sparse"] + mine + ["-o", pd])
                    s = self.cov_export(cov, pd, [bin_], ignore)
                    if s:
                        result["per_target"][t] = s["totals"]
            if not raws:
                raise InfraError("coverage: no profiles written")
            pd = os.path.join(work, "%s.profdata" % kind)
            rc, out, _ = gate_util.run([profdata, "merge", "-sparse"] + raws + ["-o", pd], log=self.log("coverage.log"))
            if rc != 0:
                raise InfraError("llvm-profdata merge failed: " + out[-300:])
            result[kind] = self.cov_export(cov, pd, objects, ignore)
        html = os.path.join(g.report, "coverage", "html")
        args = ["-instr-profile=%s" % os.path.join(work, "campaign.profdata"), objects[0]]
        for o in objects[1:]:
            args += ["-object", o]
        gate_util.run([cov, "show", "-format=html", "-output-dir=%s" % html, "-ignore-filename-regex=%s" % ignore,
                       "-show-branches=count"] + args, log=self.log("coverage.log"))
        for f in glob.glob(os.path.join(work, "*.profraw")):
            os.remove(f)
        g.metrics["coverage"] = result
        self.coverage_check(result)

    def cov_export(self, cov, profdata, objects, ignore):
        args = ["-instr-profile=%s" % profdata, objects[0]]
        for o in objects[1:]:
            args += ["-object", o]
        rc, out, _ = gate_util.run([cov, "export", "-summary-only", "-ignore-filename-regex=%s" % ignore] + args,
                                   log=self.log("coverage.log"), stdout_only=True)
        if rc != 0:
            return None
        try:
            data = json.loads(out)["data"][0]
        except (ValueError, KeyError, IndexError):
            # e.g. a profile left short by a replay that was stopped: no
            # figure (the comparison says so), not a gate error.
            self.g.progress.line("coverage: llvm-cov export gave no summary (see logs/coverage.log)")
            return None
        pick = lambda s: {k: {"covered": s[k]["covered"], "count": s[k]["count"],
                              "percent": round(s[k]["percent"], 2)} for k in ("lines", "branches", "functions")}
        files = {self.rel(f["filename"]): pick(f["summary"]) for f in data["files"]
                 if f["summary"]["lines"]["count"] > 0}
        return {"totals": pick(data["totals"]), "files": files}

    def coverage_check(self, result):
        g = self.g
        base = (g.baseline or {}).get("coverage", {})
        seeds = result.get("seeds") or {}
        camp = result.get("campaign") or {}
        tol = 0.2
        for kind in ("lines", "branches"):
            now = seeds.get("totals", {}).get(kind, {}).get("percent")
            ref = base.get(kind)
            name = "core/ %s coverage of the committed corpus vs baseline" % kind
            if ref is None or now is None:
                g.checks.append(check("coverage", name, "skip", file="reports/baseline.json",
                                      message="no baseline (run with --update-baseline)" if ref is None else "no figure"))
                continue
            if not g.all_targets:  # a subset covers less than the baseline's five
                g.checks.append(check("coverage", name, "skip", file="reports/baseline.json",
                                      message="--targets %s: the baseline is of all five targets (%.2f %% now, "
                                      "%.2f %% in the baseline)" % (",".join(g.targets), now, ref)))
                continue
            ok = now + tol >= ref
            msg = "" if ok else "%s coverage %.2f %% is below the baseline %.2f %%" % (kind, now, ref)
            if not ok:
                g.fail(msg)
            g.checks.append(check("coverage", name, "pass" if ok else "fail", file="reports/baseline.json",
                                  message=msg, text="campaign: %s %%" % camp.get("totals", {}).get(kind, {}).get("percent")))

    # -- 6. benchmarks and mutants --------------------------------------
    def bench(self):
        g = self.g
        bs = self.b("release", "tests", "bench_session")
        if not os.path.exists(bs):
            raise InfraError("build/release/tests/bench_session missing")
        secs = "1" if g.budget < 300 else "2"
        g.progress.line("bench: bench_session %s, bench_sweep.sh" % secs)
        g.metrics["loadavg"] = [round(x, 2) for x in os.getloadavg()]
        rc, out, t1 = gate_util.run([bs, secs], log=self.log("bench.log"), timeout=300)
        figs = {}
        for line in out.splitlines():
            m = re.match(r"^(.+?)\s{2,}(\d+(?:\.\d+)?) (sessions/s|MB/s|bytes)\b", line)
            if m:
                figs[m.group(1).strip()] = {"value": float(m.group(2)), "unit": m.group(3)}
        rc2, out2, t2 = gate_util.run(["bash", os.path.join(g.src, "tests", "bench_sweep.sh"), self.b("release"),
                                       os.path.join(g.report, "work", "bench-sweep")],
                                      log=self.log("bench.log"), timeout=600)
        m = re.search(r"wall time of the full sweep ([\d.]+) s, (\d+) points/s", out2)
        if m:
            figs["sweep wall time"] = {"value": float(m.group(1)), "unit": "s"}
            figs["sweep points/s"] = {"value": float(m.group(2)), "unit": "points/s"}
        base = (g.baseline or {}).get("bench", {})
        for k, f in figs.items():
            if k in base and base[k]:
                f["baseline"] = base[k]
                f["ratio"] = round(f["value"] / base[k], 3)
        g.metrics["bench"] = figs
        if rc != 0 or not figs:
            g.checks.append(check("bench", "bench_session", "fail", t1, file="tests/bench_session.c",
                                  message="bench_session failed (exit %s)" % rc, text=out[-2000:]))
            g.fail("bench_session failed")
        for k, (op, bound, unit) in BENCH_BOUNDS.items():
            f = figs.get(k)
            name = "%s %s %s %s" % (k, op, bound, unit)
            fil = "tests/bench_sweep.sh" if k.startswith("sweep") else "tests/bench_session.c"
            if not f:
                g.checks.append(check("bench", name, "fail", file=fil, message="figure not measured"))
                g.fail("benchmark figure %s missing" % k)
                continue
            ok = f["value"] >= bound if op == ">=" else f["value"] <= bound
            f["bound"] = "%s %s" % (op, bound)
            f["ok"] = ok
            msg = "" if ok else "%s: %g %s, bound %s %g" % (k, f["value"], unit, op, bound)
            status = "pass" if ok else "fail"
            if not ok and g.args.strict_bench:
                g.fail(msg)
            elif not ok:
                # Timing on a shared machine is not evidence against the code:
                # reported, gated only with --strict-bench.
                status = "skip"
                f["advisory"] = True
                msg += " (advisory: load average %s; --strict-bench gates on it)" % g.metrics.get("loadavg")
                g.warnings.append(msg)
            g.checks.append(check("bench", name, status, file=fil, message=msg,
                                  text="measured %g %s" % (f["value"], unit)))

    def mutants(self):
        g = self.g
        run = os.path.join(g.src, "tests", "mutants", "run.sh")
        if not os.path.exists(run):
            g.checks.append(check("mutants", "planted defects", "skip", file="tests/mutants/run.sh",
                                  message="tests/mutants/run.sh is not in this tree"))
            g.metrics["mutants"] = {"available": False}
            return
        js = os.path.join(g.report, "mutants.json")
        cmd = ["bash", run, "--json", js, "--first", "--budget", str(g.args.mutant_budget),
               "--work", os.path.join(g.work, "mutants")]
        names = [n for n in g.args.mutant_list.split(",") if n]
        if names:
            cmd += ["--only"] + names
        g.progress.line("mutants: %s" % " ".join(self.rel(c) for c in cmd))
        os.makedirs(g.work, exist_ok=True)
        # One scratch tree kept between runs (incremental builds); one gate at a time uses it.
        with open(os.path.join(g.work, "mutants.lock"), "w") as lk:
            fcntl.flock(lk, fcntl.LOCK_EX)
            # run.sh logs "[hh:mm:ss] [i/n] NAME" per mutant and "  NAME: KILLED ..."
            # per detector: shown as progress lines (the stage takes minutes).
            def show(line):
                m = re.match(r"^\[\d\d:\d\d:\d\d\] (\[\d+/\d+\] .*|  \S+: KILLED .*|baseline.*)$", line)
                if m:
                    g.progress.line("mutants: " + m.group(1).strip())
            rc, out, secs = gate_util.run_lines(cmd, show, log=self.log("mutants.log"), cwd=g.src,
                                                timeout=6 * 3600)
        data = None
        if os.path.exists(js):
            try:
                data = json.load(open(js))
            except ValueError:
                data = None
        g.metrics["mutants"] = {"available": True, "rc": rc, "seconds": round(secs, 1), "result": data}
        # The kill rate is evidence about the harness, not a property of the
        # release: survivors never make the verdict NO-SHIP by themselves.  A
        # run that could not measure does: its usual cause is the unmutated
        # tree failing a detector in a clean copy of itself (run.sh's
        # baseline), a failing check like any other.
        if data is not None:
            g.checks.append(check("mutants", "planted defects", "pass", secs, file="tests/mutants/run.sh",
                                  text=out[-3000:]))
        else:
            last = [ln for ln in out.splitlines() if ln.strip()][-1:] or ["no output"]
            msg = "the planted-defect run measured nothing (run.sh exit %s): %s" % (rc, last[0][:300])
            g.fail(msg)
            g.checks.append(check("mutants", "planted defects", "fail", secs, file="tests/mutants/run.sh",
                                  message=msg, text=out[-3000:]))
