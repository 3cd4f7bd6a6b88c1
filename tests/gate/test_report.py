#!/usr/bin/env python3
"""Fast tests of the release gate's report writers and judges (ctest
gate_report): JUnit XML validated by xmllint against tests/gate/junit.xsd,
summary.html self-contained, metrics.json members, SARIF shape (and the
SARIF 2.1.0 schema when WSGATE_SARIF_SCHEMA names it), and the judges that
turn figures into failures (coverage below the baseline, a benchmark bound,
a crash log's bucket, failing sweep points).  Each check is also fed a wrong
answer and must complain.

usage: test_report.py SOURCE_DIR [unittest options]
"""

import datetime
import warnings
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import types
import unittest

if len(sys.argv) < 2 or not os.path.isdir(os.path.join(sys.argv[1], "tools")):
    sys.stderr.write("usage: test_report.py SOURCE_DIR [unittest options]\n")
    sys.exit(2)
SRC = os.path.realpath(sys.argv.pop(1))
warnings.simplefilter("ignore", ResourceWarning)
sys.path.insert(0, os.path.join(SRC, "tools"))

from wsgate_tools import findings, gate_stages, gate_util, junit, report  # noqa: E402
from wsgate_tools.gate_main import Gate, parse_args  # noqa: E402

XSD = os.path.join(SRC, "tests", "gate", "junit.xsd")

ASAN_LOG = """==123==ERROR: AddressSanitizer: heap-use-after-free on address 0x602 at pc 0x55 bp 0x7f sp 0x7f
READ of size 1 at 0x602000000011 thread T0
    #0 0x55d1 in __interceptor_memcpy ../../../../src/libsanitizer/asan/asan_interceptors.cpp:100
    #1 0x55d2 in ws_msg_handle %(src)s/core/message.c:88:5
    #2 0x55d3 in on_text %(src)s/core/session.c:301:10
    #3 0x55d4 in frame_end %(src)s/core/frames.c:306:13
    #4 0x55d5 in LLVMFuzzerTestOneInput %(src)s/fuzz/fuzz_frames.c:40:3
    #5 0x55d6 in main %(src)s/fuzz/replay.c:37:3

SUMMARY: AddressSanitizer: heap-use-after-free core/message.c:88:5 in ws_msg_handle
""" % {"src": SRC}


def xmllint_ok(path):
    p = subprocess.run(["xmllint", "--noout", "--schema", XSD, path], capture_output=True, text=True)
    return p.returncode == 0, p.stderr


def self_contained_problems(html):
    """Anything that would make the page need the network or run code."""
    probs = []
    for pat, what in ((r"<script", "a script"), (r"<link\b", "a <link>"), (r"\bsrc\s*=", "a src attribute"),
                      (r"@import", "a CSS import"), (r"url\(", "a CSS url()"),
                      (r"\bhref\s*=\s*[\"']?(https?:)?//", "an external link")):
        if re.search(pat, html, re.I):
            probs.append(what)
    # The only absolute URL allowed is the SVG namespace name.
    for u in re.findall(r"https?://[^\s\"'<>]+", html):
        if u != "http://www.w3.org/2000/svg":
            probs.append("an absolute URL " + u)
    return probs


METRIC_KEYS = {"version", "verdict", "exit_status", "incomplete", "reasons", "started", "wall_s", "budget_s",
               "stages", "checks", "sweep", "fuzz", "findings", "coverage", "bench", "first_finding_s"}


def metrics_problems(m):
    probs = ["missing member %s" % k for k in sorted(METRIC_KEYS - set(m))]
    if m.get("verdict") not in ("SHIP", "NO-SHIP", "INCOMPLETE", "ERROR"):
        probs.append("verdict %r" % m.get("verdict"))
    if m.get("exit_status") != {"SHIP": 0, "NO-SHIP": 1}.get(m.get("verdict"), 2):
        probs.append("exit_status %r does not match verdict %r" % (m.get("exit_status"), m.get("verdict")))
    for t, f in (m.get("fuzz") or {}).items():
        for k in ("execs", "exec_per_s", "corpus", "series"):
            if k not in f:
                probs.append("fuzz %s lacks %s" % (t, k))
    for b in m.get("findings") or []:
        for k in ("id", "type", "state", "security", "target", "reproducer"):
            if k not in b:
                probs.append("finding lacks %s" % k)
    return probs


def sarif_problems(s):
    probs = []
    if s.get("version") != "2.1.0":
        probs.append("version is not 2.1.0")
    runs = s.get("runs") or []
    if len(runs) != 1:
        return probs + ["expected one run"]
    for r in runs[0].get("results", []):
        for k in ("ruleId", "level", "message", "partialFingerprints"):
            if k not in r:
                probs.append("result lacks %s" % k)
        for loc in r.get("locations", []):
            uri = loc["physicalLocation"]["artifactLocation"]["uri"]
            if uri.startswith("/") or uri.startswith(("fuzz/", "faults/")) or "sanitizer" in uri:
                probs.append("location %s is not the first project frame" % uri)
            if loc["physicalLocation"]["region"].get("startLine", 0) < 1:
                probs.append("startLine < 1")
    return probs


def fake_gate(tmp, verdict_fail=True, incomplete=None):
    """A Gate as the stages leave it, without running anything."""
    args, _ = parse_args(["--budget", "2m", "--reports", os.path.join(tmp, "reports"),
                          "--work", os.path.join(tmp, "work"), "--source", SRC, "--no-tty"])
    g = Gate(args, os.path.join(SRC, "tools"))
    g.progress = gate_util.Progress(stream=open(os.devnull, "w"), tty=False)
    g.checks += [junit.check("tests", "test_a", "pass", 0.5, file="tests/test_a.c"),
                 junit.check("tests", "test_b", "skip", 0.0, file="tests/test_b.c", message="needs ../shared"),
                 junit.check("replay", "fuzz_jwt < corpus/fuzz_jwt", "pass", 0.1, file="fuzz/fuzz_jwt.c"),
                 junit.check("sweep", "sweep default", "pass", 0.4, file="faults/sweep.c")]
    g.stages = [{"name": "tests", "seconds": 0.5, "status": "ok"}]
    g.metrics["sweep"] = {"inputs": 32, "points": 4274, "absorbed": 266, "diagnosed": 4008, "unexplained": 0,
                          "misattributed": 0, "leaked": 0, "crashed": 0}
    g.fuzz_stats["fuzz_frames"] = {"seconds": 10, "wall": 10.2, "execs": 1000, "exec_per_s": 100, "cov": 500,
                                   "corpus": 20, "series": [(0.5, 400, 10), (5.0, 480, 15), (10.0, 500, 20)]}
    g.metrics["bench"] = {"full session HS256": {"value": 40000.0, "unit": "sessions/s", "bound": ">= 20000",
                                                 "ok": True, "baseline": 50000, "ratio": 0.8}}
    if verdict_fail:
        g.checks.append(junit.check("fuzz", "fuzz_frames", "fail", 10.2, file="fuzz/fuzz_frames.c",
                                    message="fuzz_frames: crash after 3 s", text="SUMMARY: <&> \x01"))
        t, sec, sev, frames = findings.classify_log(ASAN_LOG, SRC)
        g.buckets = [findings.normalize({"id": "0123456789abcdef", "type": t, "state": [f[0] for f in frames[:3]], "security": sec,
                      "severity": sev, "target": "fuzz_frames", "files": ["crashes/fuzz_frames-crash-1"],
                      "reproducible": "3/3", "minimized": None,
                      "first_frame": {"file": frames[0][1], "line": frames[0][2], "function": frames[0][0]},
                      "reproducer": "build/asan/fuzz/fuzz_frames crashes/fuzz_frames-crash-1", "session_cmd": None})]
        g.fail("fuzz_frames: crash after 3 s")
    g.incomplete = incomplete
    return g


class Writers(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="gate-test-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def written(self, **kw):
        g = fake_gate(self.tmp, **kw)
        report.write_all(g)
        return g, g.report

    def test_junit_valid_and_complete(self):
        g, d = self.written()
        ok, err = xmllint_ok(os.path.join(d, "junit.xml"))
        self.assertTrue(ok, err)
        x = open(os.path.join(d, "junit.xml")).read()
        # one testcase per check, plus one per finding bucket
        self.assertEqual(x.count("<testcase "), len(g.checks) + len(g.buckets))
        self.assertIn('<failure message="fuzz_frames: crash after 3 s" type="fuzz">', x)
        self.assertIn('<skipped message="needs ../shared"', x)
        self.assertIn('file="fuzz/fuzz_frames.c"', x)
        self.assertIn("0123456789abcdef", x)  # the bucket's own failure

    def test_junit_schema_rejects_a_wrong_file(self):
        bad = os.path.join(self.tmp, "bad.xml")
        for text in ('<testsuites tests="1" failures="0" errors="0"><testsuite name="s" tests="1" failures="0" '
                     'errors="0"><testcase classname="c" name="n" time="1"/></testsuite></testsuites>',  # no file
                     '<testsuites tests="1" failures="1" errors="0"><testsuite name="s" tests="1" failures="1" '
                     'errors="0"><testcase classname="c" name="n" time="1" file="f"><failure/></testcase>'
                     '</testsuite></testsuites>'):  # failure without message
            with open(bad, "w") as f:
                f.write(text)
            self.assertFalse(xmllint_ok(bad)[0], text)

    def test_junit_rejects_bad_status(self):
        with self.assertRaises(ValueError):
            junit.check("x", "y", "passed")

    def test_html_self_contained_verdict_first(self):
        _, d = self.written()
        h = open(os.path.join(d, "summary.html")).read()
        self.assertEqual(self_contained_problems(h), [])
        self.assertIn("<svg", h)
        body = h[h.index("<body>"):]
        self.assertLess(body.index("NO-SHIP"), body.index("Findings"))
        self.assertIn("Heap-use-after-free", h)
        # the checker complains about a page that needs the network
        self.assertNotEqual(self_contained_problems(h.replace("</body>", '<img src="https://x.invalid/a.png"></body>')), [])
        self.assertNotEqual(self_contained_problems(h.replace("<style>", "<style>@import 'x.css';")), [])

    def test_metrics(self):
        _, d = self.written()
        m = json.load(open(os.path.join(d, "metrics.json")))
        self.assertEqual(metrics_problems(m), [])
        self.assertEqual((m["verdict"], m["exit_status"]), ("NO-SHIP", 1))
        self.assertEqual(m["fuzz"]["fuzz_frames"]["series"][-1], [10.0, 500, 20])
        broken = dict(m, exit_status=0)
        del broken["fuzz"]
        self.assertEqual(len(metrics_problems(broken)), 2)

    def test_ship_when_nothing_failed(self):
        g, d = self.written(verdict_fail=False)
        m = json.load(open(os.path.join(d, "metrics.json")))
        self.assertEqual((m["verdict"], m["exit_status"]), ("SHIP", 0))
        self.assertIn("**SHIP**", open(os.path.join(d, "summary.md")).read())

    def test_incomplete_is_never_ship(self):
        g, d = self.written(verdict_fail=False, incomplete="interrupted by a signal")
        m = json.load(open(os.path.join(d, "metrics.json")))
        self.assertEqual((m["verdict"], m["exit_status"]), ("INCOMPLETE", 2))
        md = open(os.path.join(d, "summary.md")).read()
        self.assertIn("INCOMPLETE REPORT", md)
        x = open(os.path.join(d, "junit.xml")).read()
        self.assertIn('name="gate complete"', x)
        self.assertTrue(xmllint_ok(os.path.join(d, "junit.xml"))[0])

    def test_latest_link_and_two_dirs(self):
        g1, d1 = self.written()
        g2, d2 = self.written()
        self.assertNotEqual(d1, d2)  # same second: a second directory, not a shared one
        link = os.path.join(self.tmp, "reports", "latest")
        self.assertEqual(os.path.realpath(link), os.path.realpath(d2))
        self.assertFalse(os.path.isabs(os.readlink(link)))

    def test_sarif(self):
        _, d = self.written()
        s = json.load(open(os.path.join(d, "findings.sarif")))
        self.assertEqual(sarif_problems(s), [])
        res = s["runs"][0]["results"]
        self.assertEqual(len(res), 1)
        loc = res[0]["locations"][0]["physicalLocation"]
        self.assertEqual(loc["artifactLocation"]["uri"], "core/message.c")
        self.assertEqual(loc["region"]["startLine"], 88)
        self.assertIn("0123456789abcdef", json.dumps(res[0]["partialFingerprints"]))
        bad = json.loads(json.dumps(s))
        bad["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] = \
            "fuzz/replay.c"
        self.assertNotEqual(sarif_problems(bad), [])
        schema = os.environ.get("WSGATE_SARIF_SCHEMA")
        if not schema:
            cands = glob.glob(os.path.join(SRC, "build", "*", "**", "sarif-2.1.0*.json"), recursive=True)
            schema = cands[0] if cands else None
        if not schema:
            print("gate_report: SARIF 2.1.0 JSON schema not available (set WSGATE_SARIF_SCHEMA); "
                  "checked the shape only", file=sys.stderr)
            return
        import jsonschema
        v = jsonschema.Draft4Validator(json.load(open(schema)))
        self.assertEqual([e.message for e in v.iter_errors(s)], [])
        bad = json.loads(json.dumps(s))
        bad["runs"][0]["results"][0]["level"] = "fatal"
        self.assertNotEqual(list(v.iter_errors(bad)), [])


class Judges(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="gate-test-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_classify_asan_log(self):
        t, sec, sev, frames = findings.classify_log(ASAN_LOG, SRC)
        self.assertEqual((t, sec, sev), ("Heap-use-after-free READ 1", True, "high"))
        self.assertEqual([f[0] for f in frames[:3]], ["ws_msg_handle", "on_text", "frame_end"])
        self.assertEqual(frames[0][1:], ("core/message.c", 88))

    def test_classify_harness_verdicts(self):
        t = findings.classify_log("wsgate fuzz: fuzz_context: promise broken (unexplained): close 1011 "
                                  "without an internal diagnosis\n", SRC)[0]
        self.assertEqual(t, findings.UNDIAGNOSED_1011)
        t = findings.classify_log("wsgate fuzz: fuzz_session: promise broken (leaked): 1 blocks\n", SRC)[0]
        self.assertEqual(t, findings.VERDICT_TYPES["leaked"])

    def test_sweep_buckets(self):
        fl = [{"input": "a.bin", "verdict": "leaked", "reason": "1 live block",
               "outcome": {"diag": "HS_NOMEM", "faults": [{"kind": "alloc", "site": "core/frames.c:431 ws_frames_new"}]},
               "command": "wsgate session --fault alloc@7 < a.bin"},
              {"input": "b.bin", "verdict": "leaked", "reason": "1 live block",
               "outcome": {"diag": "HS_NOMEM", "faults": [{"kind": "alloc", "site": "core/frames.c:431 ws_frames_new"}]},
               "command": "wsgate session --fault alloc@9 < b.bin"},
              {"input": "a.bin", "verdict": "unexplained", "reason": "close 1011 without an internal diagnosis",
               "outcome": {"diag": None, "faults": [{"kind": "idgen", "site": "faults/inject.c:50 idgen"}]}}]
        bs = findings.sweep_buckets(fl)
        self.assertEqual(sorted(b["type"] for b in bs),
                         sorted([findings.UNDIAGNOSED_1011, findings.VERDICT_TYPES["leaked"]]))
        leak = [b for b in bs if b["type"] == findings.VERDICT_TYPES["leaked"]][0]
        self.assertEqual((leak["points"], leak["files"]), (2, ["a.bin", "b.bin"]))
        self.assertEqual(leak["first_frame"], {"file": "core/frames.c", "line": 431, "function": "ws_frames_new"})

    def stages(self, baseline):
        g = fake_gate(self.tmp, verdict_fail=False)
        g.baseline = baseline
        return g, gate_stages.Stages(g)

    def test_coverage_below_baseline_fails(self):
        cov = {"seeds": {"totals": {"lines": {"percent": 80.0}, "branches": {"percent": 60.0}}},
               "campaign": {"totals": {"lines": {"percent": 85.0}, "branches": {"percent": 70.0}}}}
        g, st = self.stages({"coverage": {"lines": 82.0, "branches": 60.1}})
        st.coverage_check(cov)
        res = {c["name"].split()[1]: c["status"] for c in g.checks if c["stage"] == "coverage"}
        self.assertEqual(res, {"lines": "fail", "branches": "pass"})  # 0.1 pp is within the tolerance
        self.assertEqual(g.verdict(), "NO-SHIP")
        g, st = self.stages({"coverage": {"lines": 80.0, "branches": 60.0}})
        st.coverage_check(cov)
        self.assertEqual(g.verdict(), "SHIP")
        g, st = self.stages(None)
        st.coverage_check(cov)
        self.assertEqual({c["status"] for c in g.checks if c["stage"] == "coverage"}, {"skip"})

    def run_bench(self, strict, hs256):
        g, st = self.stages({"bench": {"full session HS256": 40000.0}})
        g.args.strict_bench = strict
        fake = os.path.join(self.tmp, "bench_session")
        open(fake, "w").close()
        st.b = lambda *rel: fake
        outs = iter([
            (0, "full session HS256            %d sessions/s  (x)\nframes: 64 KiB text   900 MB/s   (x)\n"
                "idle session   6944 bytes  (x)\n" % hs256, 1.0),
            (0, "wall time of the full sweep 0.20 s, 20000 points/s (target: <= 60 s)\n", 1.0)])
        real = gate_util.run
        gate_util.run = lambda *a, **k: next(outs)
        try:
            st.bench()
        finally:
            gate_util.run = real
        return g

    def test_bench_bounds(self):
        g = self.run_bench(False, 30000)
        self.assertEqual(g.metrics["bench"]["full session HS256"]["ratio"], 0.75)
        self.assertEqual({c["status"] for c in g.checks if c["stage"] == "bench"}, {"pass"})
        self.assertEqual(g.verdict(), "SHIP")
        g = self.run_bench(False, 15000)  # missed: advisory by default
        hs = [c for c in g.checks if c["name"].startswith("full session HS256")][0]
        self.assertEqual(hs["status"], "skip")
        self.assertIn("advisory", hs["message"])
        self.assertEqual((g.verdict(), len(g.warnings)), ("SHIP", 1))
        g = self.run_bench(True, 15000)  # --strict-bench
        self.assertEqual(g.verdict(), "NO-SHIP")

    def test_duration_and_options(self):
        self.assertEqual([gate_util.parse_duration(x) for x in ("90", "90s", "2m", "1m30s", "1h")],
                         [90, 90, 120, 90, 3600])
        for bad in ("", "abc", "2x", "0", "-1m"):
            with self.assertRaises(gate_util.UsageError):
                gate_util.parse_duration(bad)
        p = os.path.join(self.tmp, "t.options")
        with open(p, "w") as f:
            f.write("[libfuzzer]\ndict = t.dict\nmax_len = 4096\n[afl]\nmax_len = 1\n")
        self.assertEqual(gate_stages.read_options(p), {"dict": "t.dict", "max_len": "4096"})

    def test_fuzz_progress_line(self):
        m = gate_stages.FUZZ_LINE.match("#65536\tpulse  cov: 760 ft: 2100 corp: 593/40Kb lim: 4096 exec/s: 25059 "
                                        "rss: 60Mb")
        self.assertEqual(m.group(1, 3, 5, 6), ("65536", "760", "593", "25059"))
        self.assertIsNone(gate_stages.FUZZ_LINE.match("INFO: Seed: 1"))

    def test_usage_errors(self):
        for bad in (["--budget", "x"], ["--engine", "honggfuzz"], ["--skip", "lunch"], ["--targets", "fuzz_x"],
                    ["--jobs", "0"], ["--bogus"]):
            with self.assertRaises(gate_util.UsageError, msg=str(bad)):
                parse_args(bad)


if __name__ == "__main__":
    unittest.main(verbosity=1, warnings="ignore")
