"""wsgate triage: crash files in, diagnoses out.

For each crash file (a libFuzzer artifact, an AFL++ crashes/ entry, an
OSS-Fuzz/ClusterFuzz testcase, or any input of a fuzz target): find its
target, reproduce it several times under the sanitizer replay build, classify
it (wsgate_tools.crash), minimize it with the libFuzzer build keeping only a
smaller input whose crash state is exactly the same, and collect the
diagnosis trail.  Files are then bucketed by (type, state, security flag).

The gate (another tool) imports run() and uses the buckets it returns.
"""

import os
import re
import shutil
import subprocess
import tempfile
import time

from . import crash as crashlib

TARGETS = ("fuzz_handshake", "fuzz_jwt", "fuzz_context", "fuzz_frames",
           "fuzz_session")
STAGES = ("handshake", "auth", "context", "frames")

# Reports as ClusterFuzz's bots make them: symbolized, UBSan with stacks,
# halting on the first error, leaks detected at exit.  Allocation stacks are
# unwound with DWARF (fast_unwind_on_malloc=0): wslay and cJSON are Debian's
# shared libraries, built without frame pointers, and the fast unwinder stops
# inside them - a block leaked from wslay_frame_context_init then has a
# two-frame stack with no project frame (seen with planted defect 002).
SANITIZER_ENV = {
    "ASAN_OPTIONS": "abort_on_error=1:symbolize=1:detect_leaks=1:"
                    "allocator_may_return_null=1:handle_abort=0:"
                    "detect_stack_use_after_return=0:fast_unwind_on_malloc=0",
    "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1:symbolize=1",
    "LSAN_OPTIONS": "symbolize=1",
}


class Options:
    def __init__(self, **kw):
        ab = lambda p: os.path.abspath(p) if p else p  # noqa: E731
        self.root = ab(kw.get("root"))            # the checkout
        self.build = ab(kw.get("build"))          # sanitizer replay build
        self.fuzz_build = ab(kw.get("fuzz_build"))  # libFuzzer build or None
        self.target = kw.get("target")
        self.runs = kw.get("runs", 10)
        self.timeout = kw.get("timeout", 25.0)
        self.minimize = kw.get("minimize", True)
        self.minimize_runs = kw.get("minimize_runs", 2000)
        self.minimize_timeout = kw.get("minimize_timeout", 60.0)
        self.add_regression = kw.get("add_regression", False)
        self.regressions = ab(kw.get("regressions"))  # corpus/regressions
        self.out = ab(kw.get("out"))              # work/output directory
        self.source_roots = [ab(r) for r in kw.get("source_roots", []) if r]
        self.log = kw.get("log")                  # callable(str) or None


def _say(opts, msg):
    if opts.log:
        opts.log(msg)


def collect_inputs(paths):
    """Files given, and the files under directories given (hidden files and
    AFL++'s README.txt skipped), in sorted order per directory."""
    out = []
    for p in paths:
        if os.path.isdir(p):
            for dirpath, dirnames, filenames in os.walk(p):
                dirnames[:] = sorted(d for d in dirnames
                                     if not d.startswith("."))
                for f in sorted(filenames):
                    if f.startswith(".") or f == "README.txt":
                        continue
                    out.append(os.path.join(dirpath, f))
        else:
            out.append(p)
    return [os.path.abspath(p) for p in out]


def guess_target(path):
    """The target a path names (file name first, then its directories)."""
    parts = os.path.abspath(path).split(os.sep)
    for part in reversed(parts):
        for t in TARGETS:
            if re.search(r"(^|[^a-z])%s([^a-z]|$)" % t, part):
                return t
    for part in reversed(parts[:-1]):
        for t in TARGETS:
            if part == t[len("fuzz_"):]:
                return t
    return None


def replay_binary(opts, target):
    return os.path.join(opts.build, "fuzz", target)


def libfuzzer_binary(opts, target):
    if not opts.fuzz_build:
        return None
    p = os.path.join(opts.fuzz_build, "fuzz", target)
    return p if os.access(p, os.X_OK) else None


def _env(extra=None):
    env = dict(os.environ)
    env.update(SANITIZER_ENV)
    if extra:
        env.update(extra)
    return env


def run_once(opts, binary, path, extra_env=None, args=None):
    """(exit status, combined output, seconds, timed out)."""
    t0 = time.monotonic()
    cmd = [binary] + (args or []) + [path]
    try:
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           env=_env(extra_env), timeout=opts.timeout)
        out = p.stdout.decode("utf-8", "replace")
        return p.returncode, out, time.monotonic() - t0, False
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode("utf-8", "replace")
        return None, out, time.monotonic() - t0, True


def classify_run(opts, smap, target, status, out, timed_out):
    if timed_out:
        c = crashlib.analyze(
            "==0== ERROR: libFuzzer: timeout after %g seconds\n" %
            opts.timeout, smap, target)
        c.summary = "no exit within %g s (--timeout)" % opts.timeout
        return c
    if status == 0:
        return None
    c = crashlib.analyze(out, smap, target)
    if c is None:
        # Died without a report we know: name the signal or exit code.
        sig = -status if status is not None and status < 0 else None
        text = ("==0==ERROR: AddressSanitizer: %s on unknown address 0x0\n" %
                ("ABRT" if sig == 6 else "SEGV" if sig == 11 else "UNKNOWN"))
        c = crashlib.analyze(text, smap, target)
        c.type = "Fatal-signal" if sig else "Unexpected-exit"
        c.state = [target]
        c.security, c.severity = crashlib.security_of(c.type)
        c.summary = ("killed by signal %d" % sig if sig else
                     "exit status %s without a report" % status)
    return c


def reproduce(opts, smap, target, path):
    """Runs the input up to opts.runs times; stops as soon as the answer is
    decided (at least half similar crashes, or no longer reachable).
    Returns (reference Crash or None, reliability dict, last output)."""
    binary = replay_binary(opts, target)
    ref, ref_out = None, ""
    runs = crashed = matching = 0
    need = (opts.runs + 1) // 2
    for _ in range(opts.runs):
        status, out, _secs, to = run_once(opts, binary, path)
        runs += 1
        c = classify_run(opts, smap, target, status, out, to)
        if c is not None:
            crashed += 1
            if ref is None:
                ref, ref_out = c, out
                matching = 1
            elif crashlib.similar(ref, c):
                matching += 1
        if matching >= need:
            break
        if matching + (opts.runs - runs) < need:
            break
    rel = {"runs": runs, "max_runs": opts.runs, "crashed": crashed,
           "matching": matching, "reliable": matching >= need,
           "rule": "reproducible when at least half of up to %d runs give "
                   "a similar crash" % opts.runs}
    return ref, rel, ref_out


def find_target(opts, smap, path):
    """(target, how) from --target, the path, or by trying each."""
    if opts.target:
        return opts.target, "--target"
    t = guess_target(path)
    if t:
        return t, "path"
    for t in TARGETS:
        b = replay_binary(opts, t)
        if not os.access(b, os.X_OK):
            continue
        status, out, _s, to = run_once(opts, b, path)
        if classify_run(opts, smap, t, status, out, to) is not None:
            return t, "tried each target; %s crashed" % t
    return None, "no target named in the path and none crashed on it"


def minimize(opts, smap, target, path, ref, workdir):
    """libFuzzer -minimize_crash=1, kept only when the smaller input's crash
    state (type, state, security flag) is exactly the reference's."""
    fz = libfuzzer_binary(opts, target)
    if not opts.minimize:
        return {"done": False, "note": "--no-minimize"}
    if fz is None:
        return {"done": False,
                "note": "no libFuzzer build (cmake --preset fuzz && cmake "
                        "--build --preset fuzz), or --fuzz-build"}
    size = os.path.getsize(path)
    outp = os.path.join(workdir, "minimized")
    cmd = [fz, "-minimize_crash=1", "-runs=%d" % opts.minimize_runs,
           "-seed=1", "-exact_artifact_path=" + outp, path]
    t0 = time.monotonic()
    try:
        subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, env=_env(),
                       timeout=opts.minimize_timeout, cwd=workdir)
    except subprocess.TimeoutExpired:
        pass
    secs = time.monotonic() - t0
    res = {"done": True, "seconds": round(secs, 2), "original_size": size,
           "command": " ".join(cmd)}
    if not os.path.exists(outp) or os.path.getsize(outp) >= size:
        res.update(kept=False, size=size,
                   note="libFuzzer found no smaller input with a crash")
        return res
    status, out, _s, to = run_once(opts, replay_binary(opts, target), outp)
    c = classify_run(opts, smap, target, status, out, to)
    if c is None or c.key() != ref.key():
        res.update(kept=False, size=size, candidate_size=os.path.getsize(outp),
                   note="the smaller input crashes differently (%s); kept "
                        "the original" % (c.type_line() + " / " +
                                          " > ".join(c.state) if c else
                                          "no crash"))
        return res
    res.update(kept=True, size=os.path.getsize(outp), path=outp)
    return res


# WSGATE_FUZZ_VERBOSE: "<target>: [<run>: ]<verdict> <outcome json>"
_VERBOSE_RE = re.compile(
    r"^(fuzz_[a-z]+): (?:([a-z_ -]+): )?([a-z_]+) (\{.*\})\s*$")


def trail(opts, target, path, crash, workdir):
    """The diagnosis trail: the decoded input (when the target can decode),
    then every judged run the target printed with WSGATE_FUZZ_VERBOSE."""
    import json
    t = {"decoded": None}
    binary = replay_binary(opts, target)
    dec_dir = os.path.join(workdir, "decoded")
    os.makedirs(dec_dir, exist_ok=True)
    status, out, _s, _to = run_once(opts, binary, dec_dir,
                                    args=["--decode", path])
    decoded = None
    if status == 0:
        for line in out.splitlines():
            line = line.strip()
            if line.startswith("{"):
                try:
                    decoded = json.loads(line)
                    break
                except ValueError:
                    pass
    if decoded is not None:
        t["decoded"] = decoded
        t["decoded_files"] = sorted(os.path.join(dec_dir, f)
                                    for f in os.listdir(dec_dir))
        t["command"] = decoded.get("command")
        t["session_outcome"] = _replay_session(opts, t["command"])
    else:
        t["decode_note"] = ("%s has no --decode yet (exit %s): the config, "
                            "fault plan, chunking and client bytes are not "
                            "written out" % (target, status))
    status, out, _s, _to = run_once(opts, binary, path,
                                    extra_env={"WSGATE_FUZZ_VERBOSE": "1"})
    judged = []
    for line in out.splitlines():
        m = _VERBOSE_RE.match(line)
        if not m:
            continue
        try:
            o = json.loads(m.group(4))
        except ValueError:
            continue
        judged.append({"run": m.group(2), "verdict": m.group(3),
                       "outcome": o})
    t["judged_runs"] = judged
    last = crash.outcome if isinstance(crash.outcome, dict) else (
        judged[-1]["outcome"] if judged else None)
    if last:
        st = last.get("stage")
        if crash.type == crashlib.UNDIAGNOSED_1011:
            st = crashlib.where_it_happened(last) or st
        t["stages_reached"] = list(STAGES[:STAGES.index(st) + 1]) \
            if st in STAGES else []
        t["faults"] = last.get("faults", [])
        t["outcome"] = last
    else:
        t["stages_reached"] = []
        t["faults"] = []
        t["outcome"] = None
    t["live"] = crash.live
    return t


def _replay_session(opts, command):
    """Runs the decoded `wsgate session ...` command with the build's
    wsgate; its outcome line, or a note why not."""
    import json
    wsgate = os.path.join(opts.build, "cli", "wsgate")
    if not command or not command.startswith("wsgate ") or \
            not os.access(wsgate, os.X_OK):
        return {"note": "not run (no %s)" % wsgate}
    try:
        # LeakSanitizer off: a leak would abort at exit before stdout is
        # flushed; the outcome's live_blocks tell the leak anyway.
        env = _env({"ASAN_OPTIONS": SANITIZER_ENV["ASAN_OPTIONS"].replace(
            "detect_leaks=1", "detect_leaks=0")})
        p = subprocess.run(["bash", "-c", "exec " + wsgate + command[6:]],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=env, timeout=opts.timeout)
    except subprocess.TimeoutExpired:
        return {"note": "timed out"}
    for line in p.stdout.decode("utf-8", "replace").splitlines():
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                pass
    return {"note": "no outcome (exit %d): %s" % (
        p.returncode, p.stderr.decode("utf-8", "replace").strip()[-300:])}


def regression_name(crash, root=None, dest_dir=None):
    """<type>-<hash of the bucket>: says the bucket, and starts with none
    of libFuzzer's artifact prefixes (crash-, leak-, timeout-, oom-,
    slow-unit-), which .gitignore hides outside corpus/."""
    base = "%s-%s" % (crashlib.slug(crash.type_line()), crash.bucket_id()[:12])
    if re.match(r"^(crash|leak|timeout|oom|slow-unit)-", base):
        base = "regression-" + base
    return base


def git_ignored(root, path):
    try:
        p = subprocess.run(["git", "-C", root, "check-ignore", "-q", path],
                           stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        return p.returncode == 0
    except OSError:
        return False


def add_regression(opts, target, crash, src):
    dest_dir = os.path.join(opts.regressions, target)
    os.makedirs(dest_dir, exist_ok=True)
    name = regression_name(crash)
    dest = os.path.join(dest_dir, name)
    if opts.root and git_ignored(opts.root, dest):
        name = "regression-" + name
        dest = os.path.join(dest_dir, name)
    existed = os.path.exists(dest)
    shutil.copyfile(src, dest)
    res = {"path": dest, "existed": existed}
    if opts.root:
        res["git_ignored"] = git_ignored(opts.root, dest)
    return res


def triage_file(opts, smap, path, workroot):
    t0 = time.monotonic()
    rec = {"file": path, "size": os.path.getsize(path)}
    target, how = find_target(opts, smap, path)
    rec["target"], rec["target_from"] = target, how
    if target is None:
        rec["error"] = how
        rec["seconds"] = round(time.monotonic() - t0, 3)
        return rec, None
    if not os.access(replay_binary(opts, target), os.X_OK):
        rec["error"] = "no replay binary %s (cmake --preset asan && cmake " \
                       "--build --preset asan)" % replay_binary(opts, target)
        rec["seconds"] = round(time.monotonic() - t0, 3)
        return rec, None
    ref, rel, out = reproduce(opts, smap, target, path)
    rec["reproduced"] = rel
    if ref is None:
        rec["crash"] = None
        rec["note"] = "no crash in %d runs" % rel["runs"]
        rec["seconds"] = round(time.monotonic() - t0, 3)
        return rec, None
    crashlib.refine_location(ref, opts.root)
    workdir = tempfile.mkdtemp(prefix="%s-" % os.path.basename(path)[:40],
                               dir=workroot)
    rec["workdir"] = workdir
    with open(os.path.join(workdir, "report.txt"), "w") as f:
        f.write(out)
    rec["log"] = os.path.join(workdir, "report.txt")
    rec["crash"] = ref.to_json(smap)
    rec["minimized"] = minimize(opts, smap, target, path, ref, workdir)
    best = rec["minimized"].get("path") or path
    rec["representative"] = best
    rec["trail"] = trail(opts, target, best, ref, workdir)
    rec["seconds"] = round(time.monotonic() - t0, 3)
    return rec, ref


def run(opts, paths):
    """Triages every input; returns the result dict (files, buckets,
    figures)."""
    smap = crashlib.SourceMap([opts.root] + list(opts.source_roots))
    inputs = collect_inputs(paths)
    os.makedirs(opts.out, exist_ok=True)
    workroot = tempfile.mkdtemp(prefix="triage-", dir=opts.out)
    files, crashes = [], []
    t0 = time.monotonic()
    for p in inputs:
        _say(opts, "triage: %s" % p)
        rec, c = triage_file(opts, smap, p, workroot)
        files.append(rec)
        if c is not None:
            crashes.append((rec, c))
    buckets = []
    for b in crashlib.bucketize([(id(r), c) for r, c in crashes]):
        recs = [r for r, c in crashes if id(r) in b["files"]]
        c = b["crash"]
        # The smallest reproducer stands for the bucket.
        rep = min(recs, key=lambda r: (os.path.getsize(r["representative"]),
                                       r["file"]))
        bucket = {
            "id": b["id"],
            "type": c.type_line(),
            "category": c.category,
            "state": c.state,
            "security": c.security,
            "severity": c.severity,
            "target": rep["target"],
            "location": ({"uri": c.location[0], "line": c.location[1]}
                         if c.location else None),
            "location_note": c.location_note,
            "files": [r["file"] for r in recs],
            "reliable": all(r["reproduced"]["reliable"] for r in recs),
            "representative": rep["representative"],
            "representative_size": os.path.getsize(rep["representative"]),
            "summary": c.summary,
            "verdict": c.verdict,
            "why": c.why,
        }
        for r in recs:
            r["bucket"] = b["id"]
        if opts.add_regression:
            bucket["regression"] = add_regression(opts, rep["target"], c,
                                                  rep["representative"])
        buckets.append(bucket)
    total = time.monotonic() - t0
    return {
        "version": 1,
        "files": files,
        "buckets": buckets,
        "figures": {
            "files": len(files),
            "crashing_files": len(crashes),
            "buckets": len(buckets),
            "seconds_total": round(total, 3),
            "seconds_per_file": round(total / len(files), 3) if files else 0,
        },
        "workdir": workroot,
    }


def classify_logs(smap, logs, target=None):
    """Classification of saved logs, no binaries: [(path, Crash or None)]."""
    out = []
    for p in logs:
        with open(p, encoding="utf-8", errors="replace") as f:
            text = f.read()
        out.append((p, crashlib.analyze(text, smap,
                                        target or guess_target(p))))
    return out
