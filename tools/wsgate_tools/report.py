"""The gate's report directory: metrics.json, junit.xml, findings.sarif,
summary.md, summary.html, plots/*.svg, and the reports/latest link."""

import datetime
import json
import os
import subprocess

from . import findings as fallback
from . import html as html_writer
from . import junit, plots

METRICS_VERSION = 1


def git_rev(src):
    try:
        return subprocess.run(["git", "-C", src, "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, timeout=10).stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def rel(g, path):
    if not path:
        return path
    r = os.path.relpath(path, g.src)
    return path if r.startswith("..") else r


def metrics_of(g):
    fuzz = {}
    for t, s in g.fuzz_stats.items():
        fuzz[t] = {k: s.get(k) for k in ("seconds", "wall", "execs", "exec_per_s", "cov", "cov_initial", "ft",
                                         "corpus", "new_inputs", "working_corpus", "crashes",
                                         "time_to_first_crash", "command", "rc")}
        fuzz[t]["series"] = [list(x) for x in s.get("series", [])]
        cov = (g.metrics.get("coverage") or {}).get("per_target", {}).get(t)
        if cov:
            fuzz[t]["core_coverage"] = cov
    vd = g.verdict()
    return {
        "version": METRICS_VERSION,
        "verdict": vd,
        "exit_status": {"SHIP": 0, "NO-SHIP": 1}.get(vd, 2),
        "incomplete": g.incomplete,
        "infra_error": g.infra_error,
        "reasons": g.reasons,
        "warnings": g.warnings,
        "loadavg": g.metrics.get("loadavg"),
        "started": g.started.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "wall_s": round(__import__("time").time() - g.t0, 1),
        "budget_s": g.budget,
        "revision": git_rev(g.src),
        "args": {"engine": g.args.engine, "targets": g.targets, "skip": g.args.skip, "jobs": g.args.jobs,
                 "mutants": g.args.mutants, "seed": g.seed},
        "stages": g.stages,
        "checks": {"total": len(g.checks), "failed": sum(c["status"] == "fail" for c in g.checks),
                   "skipped": sum(c["status"] == "skip" for c in g.checks)},
        "tests": g.metrics.get("tests"),
        "replay": g.metrics.get("replay"),
        "sweep": g.metrics.get("sweep"),
        "fuzz": fuzz,
        "fuzz_plan": g.metrics.get("fuzz_plan"),
        "findings": [{k: (rel(g, v) if k in ("log",) else v) for k, v in b.items()} for b in g.buckets],
        "crash_files": [rel(g, os.path.relpath(f, g.report)) for f, _ in g.crash_files],
        "triage_tool": g.metrics.get("triage_tool"),
        "first_finding_s": g.finding_times,
        "coverage": g.metrics.get("coverage"),
        "bench": g.metrics.get("bench"),
        "build": g.metrics.get("build"),
        "mutants": g.metrics.get("mutants"),
        "update_corpus": g.metrics.get("update_corpus"),
        "baseline": g.baseline,
    }


def sarif_of(g):
    """The triage tool's SARIF writer when it is in the tree, else the gate's."""
    try:
        from . import sarif as triage_sarif  # owned by the triage tool
        for name in ("sarif_log", "to_sarif", "build_sarif", "make_sarif"):
            fn = getattr(triage_sarif, name, None)
            if fn:
                return fn(g.buckets)
    except ImportError:
        pass
    return fallback.sarif(g.buckets, tool_version=git_rev(g.src))


def write_plots(g, m):
    d = os.path.join(g.report, "plots")
    os.makedirs(d, exist_ok=True)
    out = {}
    cov = {t: [(x[0], x[1]) for x in f["series"]] for t, f in m["fuzz"].items() if f["series"]}
    corp = {t: [(x[0], x[2]) for x in f["series"]] for t, f in m["fuzz"].items() if f["series"]}
    for name, series, yl in (("coverage", cov, "edges (libFuzzer cov)"), ("corpus", corp, "inputs")):
        svg = plots.line_chart("%s over time per target" % name, series, ylabel=yl)
        with open(os.path.join(d, name + ".svg"), "w", encoding="utf-8") as f:
            f.write(svg)
        out[name] = svg
    return out


def write_all(g):
    m = metrics_of(g)
    with open(os.path.join(g.report, "metrics.json"), "w", encoding="utf-8") as f:
        json.dump(m, f, indent=1, sort_keys=True)
    ts = g.started.strftime("%Y-%m-%dT%H:%M:%S")
    checks = list(g.checks)
    if g.incomplete:
        checks.append(junit.check("gate", "gate complete", "fail", message="incomplete: %s" % g.incomplete,
                                  file="tools/gate.py"))
    for b in g.buckets:
        checks.append(junit.check("findings", "%s in %s" % (b["type"], " / ".join(b["state"])), "fail",
                                  file=(b.get("first_frame") or {}).get("file") or "",
                                  message="%s (%s, bucket %s)" % (b["type"], b.get("target"), b["id"]),
                                  text="reproduce: %s" % b.get("reproducer")))
    junit.write(os.path.join(g.report, "junit.xml"), checks, timestamp=ts)
    with open(os.path.join(g.report, "findings.sarif"), "w", encoding="utf-8") as f:
        json.dump(sarif_of(g), f, indent=1)
    svgs = write_plots(g, m)
    md = summary_md(g, m)
    with open(os.path.join(g.report, "summary.md"), "w", encoding="utf-8") as f:
        f.write(md)
    with open(os.path.join(g.report, "summary.html"), "w", encoding="utf-8") as f:
        f.write(html_writer.summary_html(m, svgs, checks))
    link = os.path.join(g.reports_root, "latest")
    tmp = link + ".tmp-%d" % os.getpid()
    try:
        os.symlink(os.path.basename(g.report), tmp)
        os.replace(tmp, link)
    except OSError:
        pass


def _pct(c, kind):
    v = (c or {}).get(kind, {}).get("percent")
    return "—" if v is None else "%.1f %%" % v


def summary_md(g, m):
    L = []
    vd = m["verdict"]
    why = "; ".join(m["reasons"][:8]) or ("incomplete: %s" % m["incomplete"] if m["incomplete"] else
                                          "every check passed, no finding, coverage not below the baseline")
    L.append("# wsgate release gate: **%s**" % vd)
    L.append("")
    if m["incomplete"]:
        L.append("**INCOMPLETE REPORT** — %s." % m["incomplete"])
        L.append("")
    L.append("Why: %s" % why)
    L.append("")
    for w in m.get("warnings") or []:
        L.append("Warning: %s" % w)
        L.append("")
    L.append("Revision `%s`, started %s, wall %.0f s of a %d s budget, exit status %d." % (
        m["revision"], m["started"], m["wall_s"], m["budget_s"], m["exit_status"]))
    L.append("")
    L.append("## Findings (%d bucket%s)" % (len(m["findings"]), "" if len(m["findings"]) == 1 else "s"))
    L.append("")
    if m["findings"]:
        L.append("| bucket | type | state | security | target | files | reproducible | reproduce |")
        L.append("|---|---|---|---|---|---:|---|---|")
        for b in m["findings"]:
            L.append("| `%s` | %s | %s | %s | %s | %d | %s | `%s` |" % (
                b["id"], b["type"], " / ".join(b["state"]), ("yes, " + b.get("severity", "")) if b.get("security") else "no",
                b.get("target"), len(b.get("files") or []), b.get("reproducible"), b.get("reproducer")))
    else:
        L.append("None.")
    L.append("")
    s = m.get("sweep") or {}
    L.append("## Fault sweep")
    L.append("")
    if s:
        L.append("| inputs | points | absorbed | diagnosed | unexplained | misattributed | leaked | crashed |")
        L.append("|---:|---:|---:|---:|---:|---:|---:|---:|")
        L.append("| " + " | ".join(str(s.get(k, "—")) for k in ("inputs", "points", "absorbed", "diagnosed",
                                                                   "unexplained", "misattributed", "leaked",
                                                                   "crashed")) + " |")
    else:
        L.append("Not run.")
    L.append("")
    L.append("## Fuzzing (%s)" % ((m.get("fuzz_plan") or {}).get("engine") or "not run"))
    L.append("")
    if m["fuzz"]:
        L.append("| target | seconds | execs | exec/s | cov (edges) | core/ lines | corpus | new inputs | crash files |")
        L.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for t, f in m["fuzz"].items():
            L.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                t, f.get("wall"), f.get("execs"), f.get("exec_per_s"), f.get("cov"),
                _pct(f.get("core_coverage"), "lines"), f.get("corpus"), f.get("new_inputs"), f.get("crashes")))
        L.append("")
        L.append("Plots: `plots/coverage.svg`, `plots/corpus.svg`.")
    else:
        L.append("Not run.")
    L.append("")
    cov = m.get("coverage") or {}
    L.append("## Coverage of core/ (llvm-cov, `-merge=1` replay)")
    L.append("")
    if cov.get("campaign"):
        base = (m.get("baseline") or {}).get("coverage", {})
        L.append("Committed corpus: lines %s, branches %s (baseline %s / %s). "
                 "Merged corpus after this campaign: lines %s, branches %s. HTML: `coverage/html/index.html`." % (
                     _pct(cov["seeds"]["totals"], "lines"), _pct(cov["seeds"]["totals"], "branches"),
                     "%.1f %%" % base["lines"] if "lines" in base else "—",
                     "%.1f %%" % base["branches"] if "branches" in base else "—",
                     _pct(cov["campaign"]["totals"], "lines"), _pct(cov["campaign"]["totals"], "branches")))
        L.append("")
        L.append("| file | lines (committed) | branches (committed) | lines (merged) | branches (merged) |")
        L.append("|---|---:|---:|---:|---:|")
        for f in sorted(cov["campaign"]["files"]):
            sd = cov["seeds"]["files"].get(f)
            cd = cov["campaign"]["files"][f]
            L.append("| %s | %s | %s | %s | %s |" % (f, _pct(sd, "lines"), _pct(sd, "branches"),
                                                       _pct(cd, "lines"), _pct(cd, "branches")))
    else:
        L.append("Not measured.")
    L.append("")
    L.append("## Benchmarks")
    L.append("")
    if m.get("bench"):
        L.append("| figure | value | bound | baseline | ratio |")
        L.append("|---|---:|---|---:|---:|")
        for k, f in m["bench"].items():
            L.append("| %s | %g %s | %s | %s | %s |" % (k, f["value"], f["unit"],
                                                       f.get("bound", "") + (" **missed**" if f.get("ok") is False else ""),
                                                       f.get("baseline", "—"), f.get("ratio", "—")))
    else:
        L.append("Not run.")
    L.append("")
    mu = m.get("mutants")
    if mu:
        L.append("## Planted defects")
        L.append("")
        L.append(mutants_md(mu))
        L.append("")
    L.append("## Checks")
    L.append("")
    L.append("%d checks, %d failed, %d skipped (junit.xml). Failed:" % (
        m["checks"]["total"], m["checks"]["failed"], m["checks"]["skipped"]))
    L.append("")
    for c in g.checks:
        if c["status"] == "fail":
            L.append("- %s / %s: %s" % (c["stage"], c["name"], c["message"]))
    L.append("")
    L.append("## Stages")
    L.append("")
    L.append("| stage | status | seconds |")
    L.append("|---|---|---:|")
    for s in m["stages"]:
        L.append("| %s | %s | %s |" % (s["name"], s["status"], s["seconds"]))
    L.append("")
    L.append("Logs in `logs/`, crash files in `crashes/`, everything machine-readable in `metrics.json`.")
    return "\n".join(L) + "\n"


def mutants_md(mu):
    if not mu.get("available"):
        return "tests/mutants/run.sh is not in this tree."
    r = mu.get("result")
    if not r:
        return "run.sh wrote no result (exit %s, see logs/mutants.log)." % mu.get("rc")
    rows = r.get("mutants", []) if isinstance(r, dict) else r
    tot = r.get("totals", {}) if isinstance(r, dict) else {}
    out = []
    if tot:
        pct = lambda x: "n/a" if x is None else "%.0f %%" % (100 * x)
        out.append("Harness alone (sweep + replays + fuzzers): %s / %s killed (%s), median time to detect %s s; "
                   "everything (+ unit tests): %s / %s (%s). Survive the harness: %s." % (
                       tot.get("killed_by_harness"), tot.get("measured"), pct(tot.get("kill_rate_harness")),
                       tot.get("median_ttd_harness_s"), tot.get("killed_by_all"), tot.get("measured"),
                       pct(tot.get("kill_rate_all")), ", ".join(tot.get("survivors_harness") or []) or "none"))
        out.append("")
    keys = ["name", "class", "status", "killed_harness", "ttd_harness_s", "killed_all", "ttd_unit_s"]
    if rows:
        out.append("| " + " | ".join(keys) + " |")
        out.append("|" + "---|" * len(keys))
        for row in rows:
            out.append("| " + " | ".join(str(row.get(k, "")) for k in keys) + " |")
    return "\n".join(out)


def update_baseline(g):
    path = os.path.join(g.src, "reports", "baseline.json")
    old = g.baseline or {}
    new = dict(old)
    cov = (g.metrics.get("coverage") or {}).get("seeds")
    if cov and g.all_targets:
        new["coverage"] = {"lines": cov["totals"]["lines"]["percent"],
                           "branches": cov["totals"]["branches"]["percent"],
                           "measured_over": "committed corpus/ and corpus/regressions/, all five targets"}
    bench = g.metrics.get("bench")
    if bench:
        new["bench"] = {k: f["value"] for k, f in bench.items()}
    new["updated"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    new["revision"] = git_rev(g.src)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(new, f, indent=1, sort_keys=True)
        f.write("\n")
    g.progress.line("baseline: wrote reports/baseline.json")
