#!/usr/bin/env python3
"""Checks the results of tests/triage/e2e.sh.

usage: check_e2e.py OUTDIR MINIMIZED(0|1) [REGRESSION_CHECK...]
  REGRESSION_CHECK: DEFECT|RELPATH|GIT_STATUS|BEFORE|PLANTED|REAL|ALONE_PLANTED|ALONE_REAL
Prints one line per check and "N passed, N failed"; exit 1 on a failure.
"""

import json
import os
import re
import sys

# What each planted defect must be classified as.
EXPECT = {
    "001": {"type": r"^Heap-buffer-overflow WRITE 1$", "security": True,
            "severity": "High", "state_has": "ws_handshake_parse",
            "uri": r"^core/handshake\.c$", "target": "fuzz_handshake"},
    # wslay's frame context is the one block allocated outside ws_mem
    # (libc malloc inside libwslay): LeakSanitizer reports it at exit, its
    # allocation stack unwound through libwslay into the frame loop.
    "002": {"type": r"^Direct-leak$", "security": False,
            "severity": None, "state_has": "frames_wslay_get",
            "uri": r"^core/frames\.c$", "target": "fuzz_frames"},
    # Header auth ends it before the upgrade (500), first-message auth after
    # (1011): one bug, one bucket.
    "003": {"type": r"^Close-1011-undiagnosed$", "security": False,
            "severity": None, "state": ["context", "no diagnosis"],
            "uri": r"^core/context\.c$", "target": "fuzz_context"},
    "004": {"type": r"^Heap-use-after-free READ \d+$", "security": True,
            "severity": "High", "uri": r"^core/", "target": "fuzz_frames"},
}

passed = failed = 0


def check(ok, what, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print("ok   %s" % what)
    else:
        failed += 1
        print("FAIL %s%s" % (what, ": " + detail if detail else ""))


def load(outdir, name):
    with open(os.path.join(outdir, name + ".json")) as f:
        return json.load(f)


def bucket_matches(b, e):
    """The list of ways bucket b differs from expectation e."""
    bad = []
    if not re.search(e["type"], b["type"]):
        bad.append("type %r" % b["type"])
    if b["security"] != e["security"]:
        bad.append("security %r" % b["security"])
    if b["severity"] != e["severity"]:
        bad.append("severity %r" % b["severity"])
    if "verdict" in e and b.get("verdict") != e["verdict"]:
        bad.append("verdict %r" % b.get("verdict"))
    if "state_has" in e and e["state_has"] not in b["state"]:
        bad.append("state %r" % b["state"])
    if "state" in e and b["state"] != e["state"]:
        bad.append("state %r" % b["state"])
    loc = b.get("location") or {}
    if not re.search(e["uri"], loc.get("uri") or ""):
        bad.append("location %r" % loc)
    if b["target"] != e["target"]:
        bad.append("target %r" % b["target"])
    return bad


def main(argv):
    if len(argv) < 2 or argv[1] not in ("0", "1"):
        sys.stderr.write(__doc__)
        return 2
    outdir, minimized = argv[0], argv[1] == "1"

    # The checker itself must be able to fail: a wrong expectation is
    # reported as a mismatch.
    wrong = dict(EXPECT["001"], type=r"^Heap-use-after-free", security=False)
    sample = {"type": "Heap-buffer-overflow WRITE 1", "security": True,
              "severity": "High", "state": ["ws_handshake_parse"],
              "location": {"uri": "core/handshake.c", "line": 1},
              "target": "fuzz_handshake"}
    check(len(bucket_matches(sample, wrong)) == 2 and
          not bucket_matches(sample, EXPECT["001"]),
          "the expectation check rejects a wrong classification")

    for m, e in sorted(EXPECT.items()):
        r = load(outdir, m)
        files = r["files"]
        check(len(files) >= 2 and all(f.get("crash") for f in files),
              "%s: all %d crash files reproduce" % (m, len(files)),
              "; ".join("%s: %s" % (f["file"], f.get("error") or
                                   f.get("note")) for f in files
                        if not f.get("crash")))
        check(all(f["reproduced"]["reliable"] for f in files if
                  f.get("reproduced")),
              "%s: reproducible (at least half of the runs alike)" % m)
        check(len(r["buckets"]) == 1,
              "%s: several files of one bug are one bucket" % m,
              "%d buckets: %s" % (len(r["buckets"]),
                                  [(b["type"], b["state"])
                                   for b in r["buckets"]]))
        if r["buckets"]:
            bad = bucket_matches(r["buckets"][0], e)
            check(not bad, "%s: classified as %s in %s" % (
                m, r["buckets"][0]["type"],
                " > ".join(r["buckets"][0]["state"])), "; ".join(bad))
        check(all("stages_reached" in (f.get("trail") or {}) and
                  "judged_runs" in f["trail"] for f in files
                  if f.get("crash")),
              "%s: every crash has a diagnosis trail" % m)
        # The decoded `wsgate session` command gives the same outcome as
        # the planned run the harness judged (for a harness verdict).
        for f in files:
            t = f.get("trail") or {}
            o = (f.get("crash") or {}).get("outcome")
            if o and t.get("command"):
                so = t.get("session_outcome") or {}
                check(so.get("diag") == o.get("diag") and
                      so.get("close_code") == o.get("close_code") and
                      so.get("http_status") == o.get("http_status"),
                      "%s: %s: the decoded wsgate session command gives the "
                      "same outcome (%s)" % (m, os.path.basename(f["file"]),
                                             o.get("diag")),
                      "%r" % so)
        if minimized:
            mins = [f["minimized"] for f in files if f.get("minimized")]
            kept = [x for x in mins if x.get("kept")]
            check(all(x.get("done") for x in mins),
                  "%s: minimization ran on every file" % m)
            check(all(x["size"] < x["original_size"] for x in kept),
                  "%s: %d of %d minimized inputs kept, each smaller" %
                  (m, len(kept), len(mins)))
            check(all(x.get("kept") or "crashes differently" in
                      x.get("note", "") or "no smaller" in x.get("note", "")
                      for x in mins),
                  "%s: an input not kept says why" % m)

    r = load(outdir, "two-bugs")
    cats = sorted(b["category"] for b in r["buckets"])
    check(cats == ["Close-1011-undiagnosed", "Heap-buffer-overflow"],
          "two bugs planted together are two buckets", repr(cats))
    for b in r["buckets"]:
        m = "001" if b["category"] == "Heap-buffer-overflow" else "003"
        check(all("/inputs/%s/" % m in p for p in b["files"]),
              "two bugs: the %s bucket holds only %s's files" %
              (b["category"], m))

    r = load(outdir, "real")
    check(not r["buckets"] and all(f.get("crash") is None
                                   for f in r["files"]),
          "on the real build none of the %d files crashes" % len(r["files"]))

    for rc in argv[2:]:
        m, rel, st, before, planted, real, alone_p, alone_r = rc.split("|")
        name = os.path.basename(rel)
        check(rel.startswith("corpus/regressions/fuzz_"),
              "%s: regression stored under corpus/regressions/<target>/" % m,
              rel)
        check(not re.match(r"^(crash|leak|timeout|oom|slow-unit)-", name),
              "%s: its name %s says the bucket and no ignore rule matches" %
              (m, name))
        check(st == "??", "%s: git sees it as a new file (not ignored)" % m,
              "status %r" % st)
        print("info %s: replay ctest on the planted build before the "
              "regression was added: %s" % (m, before))
        check(planted == "fail",
              "%s: ... and fails with the regression added" % m)
        check(real == "pass",
              "%s: ... and passes on the real build" % m)
        check(alone_p == "fail" and alone_r == "pass",
              "%s: the stored file alone crashes the planted build, not the "
              "real one" % m, "planted %s, real %s" % (alone_p, alone_r))

    times = os.path.join(outdir, "times")
    if os.path.exists(times):
        for line in open(times):
            name, ms = line.split()
            r = load(outdir, name)
            n = len(r["files"])
            print("time %s: %d files, %.2f s, %.3f s per file" %
                  (name, n, int(ms) / 1000.0, int(ms) / 1000.0 / max(n, 1)))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
