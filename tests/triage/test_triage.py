#!/usr/bin/env python3
"""Fast tests of wsgate triage (ctest 'triage'; README "Crash triage").

usage: test_triage.py [--wsgate BIN] [--build DIR] [unittest args...]

Classification of committed sanitizer/harness reports (tests/triage/
fixtures, made by gen_fixtures.sh from the planted defects and a sanitizer
demo), the frame rules, the security rules, bucketing, regression names,
SARIF (against the SARIF 2.1.0 schema when WSGATE_SARIF_SCHEMA names it,
see sarif_schema_test.sh), the command line, and a replay smoke test on the
real build when --build is given.
"""

import copy
import json
import os
import re
import subprocess
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TOOLS = os.path.join(ROOT, "tools")
sys.path.insert(0, TOOLS)

from wsgate_tools import crash  # noqa: E402
from wsgate_tools import sarif  # noqa: E402
from wsgate_tools import triage  # noqa: E402

FIXTURES = os.path.join(HERE, "fixtures")
PY = sys.executable or "/usr/bin/python3"
WSGATE = None
BUILD = None


def load_expected():
    with open(os.path.join(FIXTURES, "expected.json")) as f:
        return json.load(f)


def analyze_fixture(name):
    with open(os.path.join(FIXTURES, name + ".log"), encoding="utf-8") as f:
        text = f.read()
    return crash.analyze(text, crash.SourceMap(["/src/wsgate"]),
                         triage.guess_target(name) or "sanitizers")


def differences(c, e):
    """How Crash c differs from expectation e (a list of strings)."""
    bad = []
    if c is None:
        return ["no crash found"]
    if c.type_line() != e["type"]:
        bad.append("type %r != %r" % (c.type_line(), e["type"]))
    if c.state != e["state"]:
        bad.append("state %r != %r" % (c.state, e["state"]))
    if c.security != e["security"]:
        bad.append("security %r != %r" % (c.security, e["security"]))
    if c.severity != e["severity"]:
        bad.append("severity %r != %r" % (c.severity, e["severity"]))
    loc = list(c.location) if c.location else None
    if "location" in e and loc != e["location"]:
        bad.append("location %r != %r" % (loc, e["location"]))
    if "verdict" in e and c.verdict != e["verdict"]:
        bad.append("verdict %r != %r" % (c.verdict, e["verdict"]))
    return bad


class Classification(unittest.TestCase):
    def test_every_fixture(self):
        exp = load_expected()
        self.assertGreaterEqual(len(exp), 15)
        for name, e in sorted(exp.items()):
            with self.subTest(fixture=name):
                self.assertEqual(differences(analyze_fixture(name), e), [])

    def test_expectations_can_fail(self):
        # The oracle itself: a wrong expected answer is reported.
        c = analyze_fixture("hs_overflow_a")
        e = dict(load_expected()["hs_overflow_a"])
        self.assertEqual(differences(c, e), [])
        e["type"] = "Heap-buffer-overflow READ 1"
        e["security"] = False
        e["state"] = ["ws_handshake_parse", "process_head"]
        self.assertEqual(len(differences(c, e)), 3)
        self.assertEqual(differences(None, e), ["no crash found"])

    def test_no_crash_is_none(self):
        self.assertIsNone(crash.analyze(
            "fuzz_handshake: diagnosed {\"stage\":\"handshake\"}\n"
            "build/asan/fuzz/fuzz_handshake: 1 inputs replayed, promise "
            "kept\n"))

    def test_leak_with_live_sites(self):
        # The harness lists each live block's allocation site under its
        # line ("  live: <site> (<n> bytes)"): the state is the allocation
        # sites and the location the first one's.
        with open(os.path.join(FIXTURES, "frames_leak_nomem.log")) as f:
            lines = [l for l in f.read().splitlines()
                     if not l.startswith("  live: ")]
        at = [i for i, l in enumerate(lines) if "promise broken" in l][0]
        smap = crash.SourceMap(["/src/wsgate"])
        with_sites = lines[:at + 1] + [
            "  live: core/frames.c:431 ws_frames_new (312 bytes)",
            "  live: core/json.c:77 ws_json_parse [cJSON] (40 bytes)",
            "  live: core/frames.c:431 ws_frames_new (8 bytes)"] + \
            lines[at + 1:]
        c = crash.analyze("\n".join(with_sites), smap)
        self.assertEqual(c.type, "Accounting-leak")
        self.assertEqual(c.state, ["ws_frames_new", "ws_json_parse [cJSON]"])
        self.assertEqual(c.location, ("core/frames.c", 431))
        self.assertEqual(len(c.live), 3)
        # Without them: the failure path, named by the injected fault.
        c0 = crash.analyze("\n".join(lines), smap)
        self.assertEqual(c0.type, "Accounting-leak")
        self.assertEqual(c0.state[-1], "after frames_wslay_init [wslay]")
        self.assertEqual(c0.location[0], "core/frames.c")
        self.assertNotEqual(c0.key(), c.key())

    def test_harness_line_wins_over_its_abort(self):
        # libFuzzer's "deadly signal" after the harness's line is the
        # harness aborting: the verdict is the crash, as in the replay.
        lf = analyze_fixture("libfuzzer_ctx_1011")
        rp = analyze_fixture("ctx_1011_a")
        self.assertEqual(lf.key(), rp.key())
        lf2 = analyze_fixture("libfuzzer_frames_uaf")
        self.assertEqual(lf2.category, "Heap-use-after-free")


class Frames(unittest.TestCase):
    smap = crash.SourceMap(["/src/wsgate"])

    def kind(self, line):
        fr = crash.parse_frame(line)
        self.assertIsNotNone(fr, line)
        return crash.frame_kind(fr, self.smap)

    def test_debian_libc_path_form_is_ignored(self):
        # Debian symbolizes libc with source paths: a rule on the exact
        # function name alone would keep these.
        for line in [
                "    #4 0x7f in __pthread_kill_implementation "
                "nptl/./nptl/pthread_kill.c:43:17",
                "    #5 0x7f in raise signal/../sysdeps/posix/raise.c:26:13",
                "    #6 0x7f in abort stdlib/./stdlib/abort.c:79:7",
                "    #7 0x7f in __libc_start_call_main "
                "csu/../sysdeps/nptl/libc_start_call_main.h:58:16",
                "    #9 0x7f in some_libc_helper "
                "string/../sysdeps/x86_64/multiarch/memmove.S:300",
                "    #3 0x7f  (/lib/x86_64-linux-gnu/libc.so.6+0x3c04f) "
                "(BuildId: 93ac61ec5a8eb1396f9fbd350e3169a558528a40)"]:
            with self.subTest(line=line):
                self.assertEqual(self.kind(line), "ignored")

    def test_engine_sanitizer_allocator_harness(self):
        cases = {
            "    #0 0x5 in __interceptor_malloc (/out/fuzz_x+0xa4)": "ignored",
            "    #0 0x5 in __asan_memcpy (/out/fuzz_x+0xa4)": "ignored",
            "    #1 0x5 in fuzzer::Fuzzer::ExecuteCallback(unsigned char "
            "const*, unsigned long) (/out/fuzz_x+0x42)": "ignored",
            "    #2 0x5 in __sanitizer_print_stack_trace (/out/x+0xe8)":
                "ignored",
            "    #3 0x5 in ws_mem_malloc_at /src/wsgate/core/mem.c:90:10":
                "allocator",
            "    #3 0x5 in ca_malloc /src/wsgate/faults/countalloc.c:40:3":
                "allocator",
            "    #4 0x5 in fz_check /src/wsgate/fuzz/common.c:180:3":
                "harness",
            "    #5 0x5 in ws_run /src/wsgate/faults/run.c:60:3": "harness",
            "    #6 0x5 in LLVMFuzzerTestOneInput "
            "/src/wsgate/fuzz/fuzz_frames.c:80:3": "harness",
            "    #7 0x5 in ws_handshake_parse "
            "/src/wsgate/core/handshake.c:622:5": "project",
            "    #8 0x5 in cJSON_ParseWithLength (/usr/lib/x86_64-linux-gnu/"
            "libcjson.so.1+0x5)": "dependency",
        }
        for line, kind in cases.items():
            with self.subTest(line=line):
                self.assertEqual(self.kind(line), kind)

    def test_frame_fields(self):
        fr = crash.parse_frame(
            "    #7 0x55d in form_decode /src/wsgate/core/handshake.c:370:12")
        self.assertEqual((fr.index, fr.func, fr.file, fr.line, fr.column),
                         (7, "form_decode", "/src/wsgate/core/handshake.c",
                          370, 12))
        self.assertEqual(self.smap.relative(fr.file), "core/handshake.c")
        self.assertIsNone(self.smap.relative("/usr/include/x.h"))
        self.assertIsNone(crash.parse_frame("READ of size 1 at 0x6 thread"))

    def test_stack_overflow_cycle(self):
        self.assertEqual(crash._cycle_state(["a", "b", "c", "b", "c", "b",
                                             "c", "b", "c"]), ["b", "c"])
        self.assertEqual(crash._cycle_state(["x", "y", "z", "w"]),
                         ["x", "y", "z"])


class Security(unittest.TestCase):
    def test_rules(self):
        cases = [
            ("Heap-use-after-free\nREAD 8", None, (True, "High")),
            ("Heap-double-free", None, (True, "High")),
            ("Heap-buffer-overflow\nREAD 4", None, (True, "Medium")),
            ("Heap-buffer-overflow\nWRITE 1", None, (True, "High")),
            ("Stack-buffer-overflow\nWRITE 1", None, (True, "High")),
            ("Global-buffer-overflow\nREAD 1", None, (True, None)),
            ("Index-out-of-bounds", None, (True, "Medium")),
            ("Direct-leak", None, (False, None)),
            ("Indirect-leak", None, (False, None)),
            ("Integer-overflow", None, (False, None)),
            ("Stack-overflow", None, (False, None)),
            ("Timeout", None, (False, None)),
            ("Out-of-memory", None, (False, None)),
            ("Null-dereference READ", None, (False, None)),
            ("UNKNOWN READ", "0x7fff12345678", (True, "Medium")),
            ("UNKNOWN READ", "0x10", (False, None)),
            ("Accounting-leak", None, (False, None)),
            ("Close-1011-undiagnosed", None, (False, None)),
            ("Misattributed-fault", None, (False, None)),
            ("Forged-token-accepted", None, (True, "High")),
        ]
        for t, addr, want in cases:
            with self.subTest(type=t):
                self.assertEqual(crash.security_of(t, addr), want)


class Buckets(unittest.TestCase):
    def crashes(self, names):
        return [(n, analyze_fixture(n)) for n in names]

    def test_one_bug_one_bucket(self):
        for names in (["hs_overflow_a", "hs_overflow_b"],
                      ["ctx_1011_a", "ctx_1011_b", "libfuzzer_ctx_1011"],
                      ["frames_uaf_a", "frames_uaf_b",
                       "libfuzzer_frames_uaf"]):
            with self.subTest(files=names):
                bs = crash.bucketize(self.crashes(names))
                self.assertEqual(len(bs), 1, [b["crash"].key() for b in bs])
                self.assertEqual(bs[0]["files"], names)

    def test_two_bugs_two_buckets(self):
        bs = crash.bucketize(self.crashes(
            ["hs_overflow_a", "ctx_1011_a", "hs_overflow_b", "ctx_1011_b"]))
        self.assertEqual([b["files"] for b in bs],
                         [["hs_overflow_a", "hs_overflow_b"],
                          ["ctx_1011_a", "ctx_1011_b"]])

    def test_every_project_defect_its_own_bucket(self):
        names = ["hs_overflow_a", "frames_leak_nomem", "ctx_1011_a",
                 "frames_uaf_a", "hs_overflow_b", "ctx_1011_b",
                 "frames_uaf_b"]
        self.assertEqual(len(crash.bucketize(self.crashes(names))), 4)

    def test_security_flag_is_part_of_the_key(self):
        a = analyze_fixture("hs_overflow_a")
        b = copy.copy(a)
        b.security = not a.security
        self.assertEqual(len(crash.bucketize([("a", a), ("b", b)])), 2)
        self.assertNotEqual(a.bucket_id(), b.bucket_id())


class Regressions(unittest.TestCase):
    def test_names_are_not_ignored(self):
        types = ["Timeout", "Direct-leak", "Heap-buffer-overflow\nREAD 4",
                 "Close-1011-undiagnosed", "Accounting-leak",
                 "Out-of-memory", "Heap-buffer-overflow\nREAD {*}"]
        names = []
        for t in types:
            c = crash.Crash()
            c.type, c.state = t, ["f"]
            n = triage.regression_name(c)
            names.append(n)
            self.assertIsNone(
                re.match(r"^(crash|leak|timeout|oom|slow-unit)-", n), n)
            self.assertTrue(n.endswith(c.bucket_id()[:12]), n)
            self.assertRegex(n, r"^[a-z0-9-]+$")
        self.assertTrue(names[0].startswith("regression-timeout-"))
        if not os.path.isdir(os.path.join(ROOT, ".git")) and \
                not os.path.isfile(os.path.join(ROOT, ".git")):
            self.skipTest("not a git checkout: git check-ignore not run")
        for n in names:
            p = "corpus/regressions/fuzz_session/" + n
            r = subprocess.run(["git", "-C", ROOT, "check-ignore",
                                "--no-index", "-q", p])
            self.assertEqual(r.returncode, 1, "%s is git-ignored" % p)
        # ... and the check can fail: a libFuzzer artifact name outside
        # corpus/ is ignored.
        r = subprocess.run(["git", "-C", ROOT, "check-ignore", "--no-index",
                            "-q", "crash-1234"])
        self.assertEqual(r.returncode, 0)

    def test_run_outcomes(self):
        # A run past --timeout is a Timeout of the target; a death without
        # a report is a Fatal-signal; exit 0 is no crash.
        opts = triage.Options(timeout=3.0)
        smap = crash.SourceMap()
        c = triage.classify_run(opts, smap, "fuzz_frames", None, "", True)
        self.assertEqual((c.type, c.state, c.security),
                         ("Timeout", ["fuzz_frames"], False))
        c = triage.classify_run(opts, smap, "fuzz_jwt", -11, "", False)
        self.assertEqual((c.type, c.state), ("Fatal-signal", ["fuzz_jwt"]))
        self.assertIsNone(triage.classify_run(opts, smap, "fuzz_jwt", 0, "",
                                              False))

    def test_guess_target(self):
        self.assertEqual(triage.guess_target(
            "/x/clusterfuzz-testcase-minimized-fuzz_session-5714"),
            "fuzz_session")
        self.assertEqual(triage.guess_target(
            "out/fuzz_frames/default/crashes/id:000000,sig:06"),
            "fuzz_frames")
        self.assertEqual(triage.guess_target("a/handshake/crash-12ab"),
                         "fuzz_handshake")
        self.assertIsNone(triage.guess_target("/tmp/crash-12ab"))


def fixture_buckets():
    """Buckets of every fixture, through the command line (--log)."""
    logs = [os.path.join(FIXTURES, n + ".log")
            for n in sorted(load_expected())]
    r = subprocess.run([PY, os.path.join(TOOLS, "triage.py"), "--log",
                        "--json", "--source-root", "/src/wsgate"] + logs,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert r.returncode == 0, r.stderr.decode()
    return json.loads(r.stdout)["buckets"]


class Sarif(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.buckets = fixture_buckets()
        cls.log = sarif.to_sarif(cls.buckets)

    def test_one_result_per_bucket(self):
        res = self.log["runs"][0]["results"]
        self.assertEqual(len(res), len(self.buckets))
        self.assertEqual([r["partialFingerprints"]["crashBucket/v1"]
                          for r in res], [b["id"] for b in self.buckets])
        self.assertEqual(sarif.check_github(self.log), [])

    def test_rule_per_category(self):
        run = self.log["runs"][0]
        ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
        self.assertEqual(len(ids), len(set(ids)))
        for r, b in zip(run["results"], self.buckets):
            self.assertEqual(r["ruleId"], sarif.rule_id(b["category"]))
            self.assertEqual(ids[r["ruleIndex"]], r["ruleId"])
        self.assertEqual(sarif.rule_id("Heap-buffer-overflow"),
                         "wsgate/heap-buffer-overflow")

    def test_locations_are_project_files(self):
        for r in self.log["runs"][0]["results"]:
            uri = r["locations"][0]["physicalLocation"]["artifactLocation"][
                "uri"]
            self.assertRegex(uri, r"^(core|faults|cli|fuzz|tests)/")
        by = {b["category"]: b for b in self.buckets}
        self.assertEqual(by["Heap-buffer-overflow"]["location"]["uri"],
                         "core/handshake.c")
        self.assertEqual(by["Heap-use-after-free"]["location"]["uri"],
                         "core/utf8.c")

    def test_security_severity(self):
        for r, b in zip(self.log["runs"][0]["results"], self.buckets):
            sev = r["properties"].get("security-severity")
            if b["security"]:
                self.assertIsNotNone(sev)
                self.assertTrue(0.1 <= float(sev) <= 10.0)
                self.assertEqual(r["level"], "error")
            else:
                self.assertIsNone(sev)
        uaf = [r for r, b in zip(self.log["runs"][0]["results"],
                                 self.buckets)
               if b["category"] == "Heap-use-after-free"][0]
        self.assertGreaterEqual(float(uaf["properties"]["security-severity"]),
                                7.0)

    def test_foreign_bucket_shape(self):
        # The gate's own sweep buckets: no category, first_frame, a
        # lower-case severity, the state as a string.
        log = sarif.to_sarif([{
            "id": "s1", "type": "Heap-buffer-overflow\nREAD 4",
            "state": "a\nb", "security": True, "severity": "medium",
            "target": "fuzz_session",
            "first_frame": {"file": "core/frames.c", "line": 7}}])
        self.assertEqual(sarif.check_github(log), [])
        r = log["runs"][0]["results"][0]
        self.assertEqual(r["ruleId"], "wsgate/heap-buffer-overflow")
        self.assertEqual(r["properties"]["security-severity"], "5.5")
        self.assertEqual(r["locations"][0]["physicalLocation"]["region"],
                         {"startLine": 7})

    def broken(self):
        """Broken copies of the log, each with what check_github must say."""
        out = []
        b = copy.deepcopy(self.log)
        del b["runs"][0]["results"][0]["ruleId"]
        out.append((b, "has no rule"))
        b = copy.deepcopy(self.log)
        b["runs"][0]["results"][0]["locations"][0]["physicalLocation"][
            "artifactLocation"]["uri"] = "/src/wsgate/core/handshake.c"
        out.append((b, "not repository-relative"))
        b = copy.deepcopy(self.log)
        b["runs"][0]["results"][0]["locations"][0]["physicalLocation"][
            "artifactLocation"]["uri"] = \
            "compiler-rt/lib/fuzzer/FuzzerLoop.cpp"
        out.append((b, "outside the project"))
        b = copy.deepcopy(self.log)
        b["runs"][0]["results"][0]["properties"]["security-severity"] = "high"
        out.append((b, "security-severity"))
        b = copy.deepcopy(self.log)
        del b["runs"][0]["results"][0]["locations"]
        out.append((b, "no location"))
        return out

    def test_github_check_can_fail(self):
        for b, what in self.broken():
            with self.subTest(problem=what):
                probs = sarif.check_github(b)
                self.assertTrue(any(what in p for p in probs), probs)

    def test_schema(self):
        path = os.environ.get("WSGATE_SARIF_SCHEMA")
        if not path:
            self.skipTest("WSGATE_SARIF_SCHEMA not set (sarif_schema_test.sh "
                          "installs the schema and sets it)")
        import jsonschema
        with open(path, encoding="utf-8") as f:
            schema = json.load(f)
        v = jsonschema.Draft4Validator(schema)
        errs = [e.message for e in v.iter_errors(self.log)]
        self.assertEqual(errs, [])
        # The validator can fail: a wrong level, a wrong version, a
        # message without text.
        for mutate in (
                lambda l: l["runs"][0]["results"][0].update(level="fatal"),
                lambda l: l.update(version="2.0.0"),
                lambda l: l["runs"][0]["results"][0].update(message={}),
                lambda l: l["runs"][0]["results"][0]["locations"][0][
                    "physicalLocation"]["region"].update(startLine=0)):
            b = copy.deepcopy(self.log)
            mutate(b)
            self.assertTrue(list(v.iter_errors(b)))


class CommandLine(unittest.TestCase):
    def run_triage(self, args, via_wsgate=False):
        cmd = ([WSGATE, "triage"] if via_wsgate else
               [PY, os.path.join(TOOLS, "triage.py")]) + args
        return subprocess.run(cmd, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, env=dict(
                                  os.environ, WSGATE_TOOLS=TOOLS))

    def test_bad_arguments(self):
        for args in ([], ["--runs", "0", "x"], ["--target", "fuzz_nope", "x"],
                     [os.path.join(FIXTURES, "no-such-file")], ["--bogus"]):
            with self.subTest(args=args):
                r = self.run_triage(args)
                self.assertEqual(r.returncode, 2)
                self.assertIn(b"usage:", r.stderr)

    def test_text_report(self):
        r = self.run_triage(["--log", "--source-root", "/src/wsgate",
                             os.path.join(FIXTURES, "hs_overflow_a.log"),
                             os.path.join(FIXTURES, "hs_overflow_b.log")])
        self.assertEqual(r.returncode, 0, r.stderr)
        out = r.stdout.decode()
        self.assertIn("type: Heap-buffer-overflow WRITE 1", out)
        self.assertIn("\n1 bucket\n", out)

    def test_sarif_file(self):
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "f.sarif")
            r = self.run_triage(["--log", "--sarif", p, "--source-root",
                                 "/src/wsgate", FIXTURES])
            self.assertEqual(r.returncode, 0, r.stderr)
            with open(p) as f:
                log = json.load(f)
            self.assertEqual(sarif.check_github(log), [])
            self.assertEqual(len(log["runs"][0]["results"]),
                             len(fixture_buckets()))

    def test_wsgate_triage(self):
        if not WSGATE:
            self.skipTest("--wsgate not given")
        r = self.run_triage(["--log", os.path.join(FIXTURES,
                                                   "ctx_1011_a.log")],
                            via_wsgate=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"type: Close-1011-undiagnosed", r.stdout)
        r = self.run_triage(["--runs", "0", "x"], via_wsgate=True)
        self.assertEqual(r.returncode, 2)

    def test_real_build_replay(self):
        if not BUILD:
            self.skipTest("--build not given")
        seeds = sorted(os.listdir(os.path.join(ROOT, "corpus",
                                               "fuzz_handshake")))[:2]
        with tempfile.TemporaryDirectory() as d:
            r = self.run_triage(["--json", "--build", BUILD, "--no-minimize",
                                 "--runs", "2", "--out", d] +
                                [os.path.join(ROOT, "corpus",
                                              "fuzz_handshake", s)
                                 for s in seeds])
        self.assertEqual(r.returncode, 0, r.stderr)
        res = json.loads(r.stdout)
        self.assertEqual(res["buckets"], [])
        self.assertEqual([f["target"] for f in res["files"]],
                         ["fuzz_handshake"] * len(seeds))
        self.assertTrue(all(f["crash"] is None for f in res["files"]))


def main(argv):
    global WSGATE, BUILD
    rest = [argv[0]]
    i = 1
    while i < len(argv):
        if argv[i] == "--wsgate" and i + 1 < len(argv):
            WSGATE = argv[i + 1]
            i += 2
        elif argv[i] == "--build" and i + 1 < len(argv):
            BUILD = argv[i + 1]
            i += 2
        else:
            rest.append(argv[i])
            i += 1
    prog = unittest.main(argv=rest, exit=False, verbosity=1)
    r = prog.result
    failed = len(r.failures) + len(r.errors)
    skipped = len(r.skipped)
    print("%d passed, %d failed, %d skipped" %
          (r.testsRun - failed - skipped, failed, skipped))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
