#!/usr/bin/env python3
"""Summarises the results of tests/mutants/run.sh (one JSON object per line
per mutant in RESULTS/<name>.json): a Markdown table on stdout, and on
request the same as JSON and as a mutation-testing-report-schema (Stryker)
report.  Called by run.sh; can be rerun on the results of an earlier run:

  tests/mutants/report.py --results build/mutants/results --src . [--json F] NAME...
"""
import argparse
import datetime
import json
import os
import re
import statistics
import sys

HARNESS_PREFIXES = ("sweep", "replay:", "fuzz:")


def is_harness(det):
    return det == "sweep" or det.startswith(HARNESS_PREFIXES)


def load(results, src, name):
    patch = os.path.join(src, "tests", "mutants", name + ".patch")
    head = []
    with open(patch, encoding="utf-8") as f:
        for line in f:
            if not line.startswith("#"):
                break
            head.append(line[1:].strip())
    cls = head[1][len("class:"):].strip() if len(head) > 1 and head[1].startswith("class:") else "?"
    desc = head[2] if len(head) > 2 else ""
    events = []
    path = os.path.join(results, name + ".json")
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            events = [json.loads(l) for l in f if l.strip()]
    return {"name": name, "class": cls, "description": desc, "events": events,
            "patch": patch}


def judge(m):
    ev = [e for e in m["events"] if e["detector"] != "end"]
    m["complete"] = any(e["detector"] == "end" for e in m["events"])
    broken = [e for e in ev if e["status"] == "failed"]
    m["status"] = "not_run" if not m["complete"] else "compile_error" if broken else "measured"
    m["error"] = broken[0]["detail"] if broken else ""
    dets = [e for e in ev if e["status"] in ("killed", "passed")]
    m["detectors"] = dets
    hk = [e for e in dets if is_harness(e["detector"]) and e["status"] == "killed"]
    uk = [e for e in dets if e["detector"] == "unit" and e["status"] == "killed"]
    m["killed_harness"] = bool(hk)
    m["killed_all"] = bool(hk or uk)
    m["killed_by"] = [e["detector"] for e in dets if e["status"] == "killed"]
    m["ttd_harness_s"] = min(e["secs"] for e in hk) if hk else None
    # Time the harness needs run in the runner's order until its first kill.
    seq = 0.0
    m["ttd_harness_sequential_s"] = None
    for e in dets:
        if not is_harness(e["detector"]):
            continue
        seq += e["secs"]
        if e["status"] == "killed":
            m["ttd_harness_sequential_s"] = round(seq, 2)
            break
    m["ttd_unit_s"] = uk[0]["secs"] if uk else None
    return m


def cell(m, pred):
    es = [e for e in m["detectors"] if pred(e["detector"])]
    if not es:
        return "."
    k = [e for e in es if e["status"] == "killed"]
    if k:
        return "K %.1fs" % min(e["secs"] for e in k)
    return "-"


def table(ms, targets, sweep_mode):
    cols = [("sweep", lambda d: d == "sweep")]
    if sweep_mode:
        cols.append(("--sweep", lambda d: d.startswith("sweep:")))
    cols.append(("replay", lambda d: d.startswith("replay:")))
    for t in targets:
        cols.append((t.replace("fuzz_", "f_"), lambda d, t=t: d == "fuzz:" + t))
    cols.append(("unit", lambda d: d == "unit"))
    head = ["mutant", "class"] + [c[0] for c in cols] + ["harness", "all"]
    rows = []
    for m in ms:
        if m["status"] != "measured":
            rows.append([m["name"], m["class"]] + ["."] * len(cols) +
                        [m["status"], m["status"]])
            continue
        h = "K %.1fs" % m["ttd_harness_s"] if m["killed_harness"] else "SURVIVED"
        a = "K" if m["killed_all"] else "SURVIVED"
        rows.append([m["name"], m["class"]] + [cell(m, c[1]) for c in cols] + [h, a])
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def totals(ms):
    valid = [m for m in ms if m["status"] == "measured"]
    n = len(valid)
    kh = [m for m in valid if m["killed_harness"]]
    ka = [m for m in valid if m["killed_all"]]
    t = [m["ttd_harness_s"] for m in kh]
    ts = [m["ttd_harness_sequential_s"] for m in kh]
    return {
        "mutants": len(ms),
        "measured": n,
        "compile_errors": sum(m["status"] == "compile_error" for m in ms),
        "not_run": sum(m["status"] == "not_run" for m in ms),
        "killed_by_harness": len(kh),
        "killed_by_all": len(ka),
        "kill_rate_harness": round(len(kh) / n, 4) if n else None,
        "kill_rate_all": round(len(ka) / n, 4) if n else None,
        "median_ttd_harness_s": round(statistics.median(t), 2) if t else None,
        "median_ttd_harness_sequential_s": round(statistics.median(ts), 2) if ts else None,
        "max_ttd_harness_s": round(max(t), 2) if t else None,
        "survivors_harness": [m["name"] for m in valid if not m["killed_harness"]],
        "survivors_all": [m["name"] for m in valid if not m["killed_all"]],
    }


SPECIALISED = ("fuzz_handshake", "fuzz_jwt", "fuzz_context", "fuzz_frames")


def fuzz_compare(ms, budget):
    """For each mutant on which fuzz_session and at least one specialised
    target ran and something killed it: fuzz_session's time to detect
    against the fastest specialised target's.  A miss counts as the budget
    (so the ratio is a lower bound, written '>')."""
    rows = []
    for m in ms:
        fz = {e["detector"][5:]: e for e in m["detectors"]
              if e["detector"].startswith("fuzz:")}
        if "fuzz_session" not in fz:
            continue
        spec = [(fz[t]["secs"], t) for t in SPECIALISED
                if t in fz and fz[t]["status"] == "killed"]
        sess = fz["fuzz_session"]
        if not spec and sess["status"] != "killed":
            continue
        r = {"name": m["name"], "class": m["class"],
             "session_s": sess["secs"] if sess["status"] == "killed" else None,
             # Every target's own start-up self-check failed: no input did it.
             "startup": all("setup:" in e["detail"] for e in fz.values()
                            if e["status"] == "killed") and
             all(e["status"] == "killed" for e in fz.values())}
        if spec:
            r["specialised_s"], r["specialised"] = min(spec)
        else:
            r["specialised_s"], r["specialised"] = None, None
        if r["specialised_s"] is None:
            r["ratio"], r["within_5x"] = None, True
        else:
            t_sess = r["session_s"] if r["session_s"] is not None else max(budget, 1)
            # Below 0.1 s both are start-up: compare from 0.1 s.
            r["ratio"] = round(max(t_sess, 0.1) / max(r["specialised_s"], 0.1), 1)
            r["within_5x"] = r["session_s"] is not None and r["ratio"] <= 5
        rows.append(r)
    return rows


def fuzz_table(rows):
    out = ["| mutant | fastest specialised target | its time | fuzz_session | ratio | within 5x |",
           "|---|---|---:|---:|---:|---|"]
    note = " (start-up self-check)"
    for r in rows:
        sp = "K %.1fs" % r["specialised_s"] if r["specialised_s"] is not None else "-"
        se = "K %.1fs" % r["session_s"] if r["session_s"] is not None else "-"
        ratio = "" if r["ratio"] is None else \
            ("%.1f" % r["ratio"] if r["session_s"] is not None else "> %.0f" % r["ratio"])
        out.append("| %s | %s | %s | %s | %s | %s |" % (
            r["name"], r["specialised"] or "(none)", sp, se, ratio,
            ("yes" if r["within_5x"] else "NO") + (note if r["startup"] else "")))
    return "\n".join(out)


def first_change(patch):
    """(file, start line, end line) of the first changed lines in the
    original file, from the first hunk of the patch."""
    path, start, end = None, None, None
    with open(patch, encoding="utf-8") as f:
        lines = f.read().split("\n")
    i = 0
    while i < len(lines):
        l = lines[i]
        if l.startswith("--- a/") and path is None:
            path = l[6:]
        m = re.match(r"^@@ -(\d+)(?:,\d+)? \+\d+(?:,\d+)? @@", l)
        if m and path:
            ln = int(m.group(1))
            i += 1
            while i < len(lines) and lines[i][:1] in (" ", "-", "+"):
                c = lines[i][:1]
                if c in "-+" and start is None:
                    start = ln
                if c == "-":
                    end = ln
                    ln += 1
                elif c == " ":
                    if start is not None:
                        break
                    ln += 1
                i += 1
            break
        i += 1
    if start is None:
        start = 1
    return path, start, max(end or start, start)


def stryker(ms, src, settings):
    files = {}
    tests = [("sweep", "tests/sweep_test.sh over the seed inputs")]
    names = set()
    for m in ms:
        names.update(e["detector"] for e in m["detectors"])
    tests += [(d, d) for d in sorted(names) if d != "sweep"]
    for m in ms:
        path, start, end = first_change(m["patch"])
        if not path:
            continue
        if path not in files:
            with open(os.path.join(src, path), encoding="utf-8") as f:
                source = f.read()
            files[path] = {"language": "c", "source": source, "mutants": []}
        src_lines = files[path]["source"].split("\n")
        end_col = len(src_lines[end - 1]) + 1 if end - 1 < len(src_lines) else 1
        status = {"measured": "Killed" if m["killed_all"] else "Survived",
                  "compile_error": "CompileError", "not_run": "Pending"}[m["status"]]
        r = {
            "id": m["name"],
            "mutatorName": m["class"],
            "description": m["description"] +
            ("" if m["status"] != "measured" else
             " [harness: %s]" % ("killed" if m["killed_harness"] else "SURVIVED")),
            "location": {"start": {"line": start, "column": 1},
                         "end": {"line": end, "column": end_col}},
            "status": status,
            "testsCompleted": len(m["detectors"]),
            "duration": round(sum(e["secs"] for e in m["detectors"]) * 1000),
        }
        if m["killed_by"]:
            r["killedBy"] = m["killed_by"]
            r["statusReason"] = "; ".join(
                "%s: %s" % (e["detector"], e["detail"]) for e in m["detectors"]
                if e["status"] == "killed")[:2000]
        elif m["error"]:
            r["statusReason"] = m["error"]
        files[path]["mutants"].append(r)
    return {
        "schemaVersion": "2",
        "thresholds": {"high": 100, "low": 90},
        "projectRoot": ".",
        "files": files,
        "testFiles": {"harness": {"tests": [{"id": t, "name": n} for t, n in tests]}},
        "config": settings,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--results", required=True)
    ap.add_argument("--src", required=True)
    ap.add_argument("--json")
    ap.add_argument("--stryker")
    ap.add_argument("--budget", type=int, default=0)
    ap.add_argument("--first", type=int, default=0)
    ap.add_argument("--skip-fuzz", type=int, default=0)
    ap.add_argument("--skip-unit", type=int, default=0)
    ap.add_argument("--only-fuzz", type=int, default=0)
    ap.add_argument("--sweep-mode", type=int, default=0)
    ap.add_argument("--targets", default="fuzz_handshake fuzz_jwt fuzz_context fuzz_frames fuzz_session")
    ap.add_argument("--fuzz-broken", default="",
                    help="fuzz targets left out because they do not build unmutated")
    ap.add_argument("mutants", nargs="+")
    a = ap.parse_args()
    if not os.path.isdir(a.results):
        ap.error("no results directory %s" % a.results)
    targets = a.targets.split()
    ms = [judge(load(a.results, a.src, n)) for n in a.mutants]
    tot = totals(ms)
    settings = {"budget_s": a.budget, "first": bool(a.first), "skip_fuzz": bool(a.skip_fuzz),
                "skip_unit": bool(a.skip_unit), "only_fuzz": bool(a.only_fuzz),
                "sweep_mode": bool(a.sweep_mode),
                "fuzz_targets": targets, "fuzz_targets_not_built": a.fuzz_broken.split()}
    print(table(ms, targets, a.sweep_mode))
    print()
    cmp_rows = fuzz_compare(ms, a.budget)
    tot["fuzz_session_vs_specialised"] = cmp_rows
    if cmp_rows:
        print("fuzz_session against the fastest specialised target (libFuzzer, -seed=1, "
              "from the seed corpora; a miss counts as the %d s budget):" % a.budget)
        print()
        print(fuzz_table(cmp_rows))
        print()
        by_input = [r for r in cmp_rows if not r["startup"]]
        print("fuzz_session within 5x of the fastest specialised target: %d / %d "
              "(%d / %d where an input, not every target's start-up self-check, "
              "found it)" % (sum(r["within_5x"] for r in cmp_rows), len(cmp_rows),
                             sum(r["within_5x"] for r in by_input), len(by_input)))
        print()
    if a.only_fuzz:
        print("(--only-fuzz: the harness columns below count the fuzzers alone)")
    pct = lambda x: "n/a" if x is None else "%.0f %%" % (100 * x)
    print("harness alone (sweep + replays + fuzzers): %d / %d killed (%s); "
          "median time to detect %s s (fastest detector), %s s (in the runner's order)"
          % (tot["killed_by_harness"], tot["measured"], pct(tot["kill_rate_harness"]),
             tot["median_ttd_harness_s"], tot["median_ttd_harness_sequential_s"]))
    print("everything (+ unit tests): %d / %d killed (%s)"
          % (tot["killed_by_all"], tot["measured"], pct(tot["kill_rate_all"])))
    if tot["compile_errors"] or tot["not_run"]:
        print("not measured: %d do not build or apply, %d not run"
              % (tot["compile_errors"], tot["not_run"]))
    if a.fuzz_broken.strip():
        print("left out: %s (the fuzz preset does not build it unmutated)" % a.fuzz_broken)
    print("survive the harness: " + (", ".join(tot["survivors_harness"]) or "none"))
    print("survive everything: " + (", ".join(tot["survivors_all"]) or "none"))
    print("K t = killed, t = wall seconds to detection; - = ran, missed; . = not run "
          "(--first, --skip-*)")
    if a.json:
        doc = {"generated": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
               "settings": settings, "totals": tot,
               "mutants": [{k: m[k] for k in ("name", "class", "description", "status", "error",
                                               "killed_harness", "killed_all", "killed_by",
                                               "ttd_harness_s", "ttd_harness_sequential_s",
                                               "ttd_unit_s", "detectors")} for m in ms]}
        with open(a.json, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")
    if a.stryker:
        with open(a.stryker, "w", encoding="utf-8") as f:
            json.dump(stryker(ms, a.src, settings), f, indent=1)
            f.write("\n")
    return 0 if tot["measured"] == tot["mutants"] and not tot["survivors_harness"] else 1


if __name__ == "__main__":
    sys.exit(main())
