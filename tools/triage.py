#!/usr/bin/env python3
"""wsgate triage - crash files turned into diagnoses (README "Crash triage").

usage: triage.py [options] CRASH_FILE_OR_DIR...
       triage.py --log [--target T] LOG...      (classify saved reports)

Exit status: 0 when every input was triaged (whatever it found), 1 when an
input could not be (no target, no binary), 2 on bad arguments.
"""

import argparse
import json
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from wsgate_tools import crash as crashlib  # noqa: E402
from wsgate_tools import sarif as sariflib  # noqa: E402
from wsgate_tools import triage as triagelib  # noqa: E402

ROOT = os.path.dirname(HERE)


class Parser(argparse.ArgumentParser):
    def error(self, message):
        self.print_usage(sys.stderr)
        sys.stderr.write("triage: %s\n" % message)
        sys.exit(2)


def parse(argv):
    p = Parser(prog="wsgate triage",
               description="Reproduce, classify (ClusterFuzz rules), bucket, "
                           "minimize and explain crash files of the wsgate "
                           "fuzz targets.")
    p.add_argument("inputs", nargs="*", metavar="PATH",
                   help="crash files, or directories of them")
    p.add_argument("--target", choices=triagelib.TARGETS,
                   help="the fuzz target (default: from the name or the "
                        "directory, else try each)")
    p.add_argument("--build", default=os.environ.get("WSGATE_BUILD"),
                   help="sanitizer replay build (default: build/asan)")
    p.add_argument("--fuzz-build", default=os.environ.get("WSGATE_FUZZ_BUILD"),
                   help="libFuzzer build for -minimize_crash (default: "
                        "build/fuzz when it exists)")
    p.add_argument("--runs", type=int, default=10,
                   help="reproduce up to N times (default 10; stops once "
                        "decided)")
    p.add_argument("--timeout", type=float, default=25.0,
                   help="seconds per run before it is a Timeout (default 25)")
    p.add_argument("--no-minimize", action="store_true")
    p.add_argument("--minimize-runs", type=int, default=2000,
                   help="libFuzzer -runs per minimization step (default 2000)")
    p.add_argument("--minimize-timeout", type=float, default=60.0)
    p.add_argument("--add-regression", action="store_true",
                   help="store each bucket's smallest input under "
                        "corpus/regressions/<target>/<type>-<bucket>")
    p.add_argument("--regressions",
                   help="regressions directory (default: corpus/regressions)")
    p.add_argument("--out", help="work directory for reports, minimized and "
                                 "decoded inputs (default: build/triage)")
    p.add_argument("--source-root", action="append", default=[],
                   help="another root whose paths map to the repository "
                        "(repeatable; /src/<project>/ is always tried)")
    p.add_argument("--json", action="store_true", help="JSON on stdout")
    p.add_argument("--sarif", metavar="FILE",
                   help="also write the buckets as SARIF 2.1.0")
    p.add_argument("--log", action="store_true",
                   help="inputs are saved sanitizer/harness reports: "
                        "classify and bucket them, run nothing")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    a = p.parse_args(argv)
    if not a.inputs:
        p.error("no input given")
    if a.runs < 1 or a.runs > 100:
        p.error("--runs must be 1..100")
    if a.timeout <= 0:
        p.error("--timeout must be positive")
    for i in a.inputs:
        if not os.path.exists(i):
            p.error("%s: no such file or directory" % i)
    return a


def _log_buckets(smap, a):
    inputs = triagelib.collect_inputs(a.inputs)
    pairs = triagelib.classify_logs(smap, inputs, a.target)
    files, buckets = [], []
    ok = [(p, c) for p, c in pairs if c is not None]
    for p, c in pairs:
        files.append({"file": p, "crash": c.to_json(smap) if c else None})
    for b in crashlib.bucketize(ok):
        c = b["crash"]
        buckets.append({
            "id": b["id"], "type": c.type_line(), "category": c.category,
            "state": c.state, "security": c.security, "severity": c.severity,
            "target": c.target,
            "location": ({"uri": c.location[0], "line": c.location[1]}
                         if c.location else None),
            "location_note": c.location_note, "files": b["files"],
            "reliable": True, "summary": c.summary, "verdict": c.verdict,
            "why": c.why})
    return {"version": 1, "files": files, "buckets": buckets}


def _text(res, out):
    w = out.write
    for f in res["files"]:
        w("== %s\n" % f["file"])
        if f.get("error"):
            w("   error: %s\n" % f["error"])
            continue
        if "target" in f:
            w("   target: %s (%s)\n" % (f["target"], f["target_from"]))
        rel = f.get("reproduced")
        if rel and not rel["crashed"]:
            w("   no crash in %d runs\n" % rel["runs"])
            continue
        if rel:
            w("   reproduced: %d of %d runs crashed alike (%s)\n" %
              (rel["matching"], rel["runs"],
               "reliable" if rel["reliable"] else "UNRELIABLE"))
        c = f.get("crash")
        if not c:
            w("   no crash%s\n" % (": " + f["note"] if f.get("note") else ""))
            continue
        w("   type: %s\n" % c["type"])
        w("   state: %s\n" % " > ".join(c["state"]))
        w("   security: %s%s\n" % ("yes" if c["security"] else "no",
                                   ", severity " + c["severity"]
                                   if c["severity"] else ""))
        if c.get("location"):
            w("   location: %s:%d (%s)\n" % (c["location"]["uri"],
                                            c["location"]["line"],
                                            c.get("location_note", "")))
        if c.get("why"):
            w("   harness: %s: %s\n" % (c.get("verdict") or "check", c["why"]))
        m = f.get("minimized")
        if m:
            if m.get("kept"):
                w("   minimized: %d -> %d bytes, same state (%s)\n" %
                  (m["original_size"], m["size"], m["path"]))
            else:
                w("   minimized: no (%s)\n" % m.get("note", ""))
        t = f.get("trail")
        if t:
            w("   trail:\n")
            if t.get("command"):
                w("     session: %s\n" % t["command"])
                for p in t.get("decoded_files", []):
                    w("       wrote %s\n" % p)
                d = t.get("decoded") or {}
                if d.get("plan") is not None:
                    w("     fault plan: %s\n" % (", ".join(d["plan"]) or
                                                 "none"))
                if "chunk" in d:
                    w("     chunking: %s\n" % (d["chunk"] or "none"))
            else:
                w("     session: (%s)\n" % t.get("decode_note", ""))
            w("     stages reached: %s\n" %
              (" > ".join(t["stages_reached"]) or "none"))
            so = t.get("session_outcome")
            if so:
                w("     that command gives: %s\n" % json.dumps(so))
            for jr in t.get("judged_runs", []):
                o = jr["outcome"]
                w("     run%s: %s: %s %s (HTTP %s, close %s)\n" %
                  (" " + jr["run"] if jr.get("run") else "", jr["verdict"],
                   o.get("stage"), o.get("diag"), o.get("http_status"),
                   o.get("close_code")))
            for fl in t.get("faults", []):
                w("     fault: %s #%s at %s\n" % (fl.get("kind"), fl.get("n"),
                                                 fl.get("site")))
            if t.get("outcome"):
                w("     outcome: %s\n" % json.dumps(t["outcome"]))
            for s in t.get("live", []):
                w("     live block allocated at %s\n" % s)
        w("   bucket: %s; %.2f s\n" % (f.get("bucket", c["bucket"]),
                                      f.get("seconds", 0)))
    w("\n%d bucket%s\n" % (len(res["buckets"]),
                           "" if len(res["buckets"]) == 1 else "s"))
    for b in res["buckets"]:
        w("-- %s  %s  [%s]\n" % (b["id"], b["type"], " > ".join(b["state"])))
        w("   security: %s; %d file%s; target %s\n" % (
            ("yes, " + (b["severity"] or "unranked")) if b["security"]
            else "no", len(b["files"]), "" if len(b["files"]) == 1 else "s",
            b["target"]))
        if b.get("regression"):
            w("   regression: %s\n" % b["regression"]["path"])
    fig = res.get("figures")
    if fig:
        w("%d file%s in %.2f s (%.3f s per file)\n" % (
            fig["files"], "" if fig["files"] == 1 else "s",
            fig["seconds_total"], fig["seconds_per_file"]))


def main(argv):
    a = parse(argv)
    root = os.environ.get("WSGATE_SOURCE_ROOT", ROOT)
    smap = crashlib.SourceMap([root] + a.source_root)
    if a.log:
        res = _log_buckets(smap, a)
        rc = 0
    else:
        build = a.build or os.path.join(root, "build", "asan")
        fuzz_build = a.fuzz_build
        if fuzz_build is None and os.path.isdir(os.path.join(root, "build",
                                                             "fuzz", "fuzz")):
            fuzz_build = os.path.join(root, "build", "fuzz")
        if not os.path.isdir(os.path.join(build, "fuzz")):
            sys.stderr.write("triage: %s has no fuzz/ (build the asan preset, "
                             "or --build DIR)\n" % build)
            return 2
        opts = triagelib.Options(
            root=root, build=build, fuzz_build=fuzz_build, target=a.target,
            runs=a.runs, timeout=a.timeout, minimize=not a.no_minimize,
            minimize_runs=a.minimize_runs,
            minimize_timeout=a.minimize_timeout,
            add_regression=a.add_regression,
            regressions=a.regressions or os.path.join(root, "corpus",
                                                      "regressions"),
            out=a.out or os.path.join(root, "build", "triage"),
            source_roots=a.source_root,
            log=None if a.quiet or a.json else
            (lambda m: sys.stderr.write(m + "\n")))
        res = triagelib.run(opts, a.inputs)
        for b in res["buckets"]:
            reg = b.get("regression")
            if reg:
                reg["relpath"] = os.path.relpath(reg["path"], root)
        rc = 1 if any(f.get("error") for f in res["files"]) else 0
    if a.sarif:
        sariflib.write(a.sarif, res["buckets"])
    if a.json:
        json.dump(res, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        _text(res, sys.stdout)
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
