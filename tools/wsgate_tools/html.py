"""summary.html: one self-contained page (inline CSS and SVG; no scripts,
no external references), verdict first."""

from html import escape

CSS = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:70em;color:#222;line-height:1.4}
h1{margin-bottom:.2em}.ship{color:#fff;background:#2a7d2a;padding:.1em .5em;border-radius:4px}
.noship{color:#fff;background:#b22222;padding:.1em .5em;border-radius:4px}
.other{color:#fff;background:#8a6d00;padding:.1em .5em;border-radius:4px}
.incomplete{border:2px solid #b22222;padding:.5em;background:#fff0f0}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}
th{background:#f3f3f3}td.n{text-align:right}tr.fail td{background:#fde8e8}tr.skip td{color:#777}
code{background:#f4f4f4;padding:0 .2em;font-size:90%}.plots svg{margin-right:1em;border:1px solid #eee}
"""


def _t(rows, head, num=()):
    out = ["<table><tr>" + "".join("<th>%s</th>" % escape(h) for h in head) + "</tr>"]
    for r in rows:
        cls = ""
        if isinstance(r, tuple) and len(r) == 2 and isinstance(r[1], str) and isinstance(r[0], list):
            r, cls = r
        out.append("<tr%s>" % (' class="%s"' % cls if cls else "") + "".join(
            '<td%s>%s</td>' % (' class="n"' if i in num else "", c if isinstance(c, _Raw) else escape(str(c)))
            for i, c in enumerate(r)) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


class _Raw(str):
    pass


def _code(s):
    return _Raw("<code>%s</code>" % escape(str(s)))


def _pct(c, k):
    v = (c or {}).get(k, {}).get("percent")
    return "—" if v is None else "%.1f %%" % v


def summary_html(m, svgs, checks):
    vd = m["verdict"]
    cls = {"SHIP": "ship", "NO-SHIP": "noship"}.get(vd, "other")
    H = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
         "<title>wsgate gate: %s</title><style>%s</style></head><body>" % (escape(vd), CSS)]
    H.append('<h1>wsgate release gate: <span class="%s">%s</span></h1>' % (cls, escape(vd)))
    if m.get("incomplete"):
        H.append('<p class="incomplete"><b>Incomplete report</b>: %s</p>' % escape(m["incomplete"]))
    reasons = m.get("reasons") or []
    if reasons:
        H.append("<p><b>Why:</b></p><ul>" + "".join("<li>%s</li>" % escape(r) for r in reasons[:20]) + "</ul>")
    elif vd == "SHIP":
        H.append("<p><b>Why:</b> every check passed, no finding, coverage not below the baseline.</p>")
    for w in m.get("warnings") or []:
        H.append("<p><b>Warning:</b> %s</p>" % escape(w))
    H.append("<p>Revision <code>%s</code>, started %s, wall %.0f s of a %d s budget, exit status %d.</p>" % (
        escape(str(m["revision"])), escape(m["started"]), m["wall_s"], m["budget_s"], m["exit_status"]))

    H.append("<h2>Findings (%d bucket%s)</h2>" % (len(m["findings"]), "" if len(m["findings"]) == 1 else "s"))
    if m["findings"]:
        H.append(_t([[_code(b["id"]), b["type"], " / ".join(b["state"]),
                      ("yes (%s)" % b.get("severity")) if b.get("security") else "no", b.get("target"),
                      len(b.get("files") or []), b.get("reproducible"), _code(b.get("reproducer"))]
                     for b in m["findings"]],
                    ["bucket", "type", "state", "security", "target", "files", "reproducible", "reproduce"], num=(5,)))
    else:
        H.append("<p>None.</p>")

    s = m.get("sweep") or {}
    H.append("<h2>Fault sweep</h2>")
    keys = ("inputs", "points", "absorbed", "diagnosed", "unexplained", "misattributed", "leaked", "crashed")
    H.append(_t([[s.get(k, "—") for k in keys]], list(keys), num=range(8)) if s else "<p>Not run.</p>")

    H.append("<h2>Fuzzing</h2>")
    if m["fuzz"]:
        H.append(_t([[t, f.get("wall"), f.get("execs"), f.get("exec_per_s"), f.get("cov"),
                      _pct(f.get("core_coverage"), "lines"), f.get("corpus"), f.get("new_inputs"), f.get("crashes")]
                     for t, f in m["fuzz"].items()],
                    ["target", "seconds", "execs", "exec/s", "cov (edges)", "core/ lines", "corpus", "new inputs",
                     "crash files"], num=range(1, 9)))
        H.append('<div class="plots">%s%s</div>' % (svgs.get("coverage", ""), svgs.get("corpus", "")))
    else:
        H.append("<p>Not run.</p>")

    cov = m.get("coverage") or {}
    H.append("<h2>Coverage of core/</h2>")
    if cov.get("campaign"):
        base = (m.get("baseline") or {}).get("coverage", {})
        H.append("<p>Committed corpus: lines %s, branches %s (baseline %s / %s); merged corpus: lines %s, "
                 "branches %s. Full report: coverage/html/index.html.</p>" % (
                     _pct(cov["seeds"]["totals"], "lines"), _pct(cov["seeds"]["totals"], "branches"),
                     escape(str(base.get("lines", "—"))), escape(str(base.get("branches", "—"))),
                     _pct(cov["campaign"]["totals"], "lines"), _pct(cov["campaign"]["totals"], "branches")))
        H.append(_t([[f, _pct(cov["seeds"]["files"].get(f), "lines"), _pct(cov["seeds"]["files"].get(f), "branches"),
                      _pct(cov["campaign"]["files"][f], "lines"), _pct(cov["campaign"]["files"][f], "branches")]
                     for f in sorted(cov["campaign"]["files"])],
                    ["file", "lines (committed)", "branches (committed)", "lines (merged)", "branches (merged)"],
                    num=(1, 2, 3, 4)))
    else:
        H.append("<p>Not measured.</p>")

    H.append("<h2>Benchmarks</h2>")
    if m.get("bench"):
        H.append(_t([([k, "%g %s" % (f["value"], f["unit"]), f.get("bound", ""), f.get("baseline", "—"),
                       f.get("ratio", "—")], "" if f.get("ok", True) else "fail")
                     for k, f in m["bench"].items()], ["figure", "value", "bound", "baseline", "ratio"],
                    num=(1, 3, 4)))
    else:
        H.append("<p>Not run.</p>")

    mu = m.get("mutants")
    if mu and mu.get("result"):
        from .report import mutants_md
        H.append("<h2>Planted defects</h2><pre>%s</pre>" % escape(mutants_md(mu)))

    H.append("<h2>Checks</h2>")
    H.append("<p>%d checks, %d failed, %d skipped.</p>" % (m["checks"]["total"], m["checks"]["failed"],
                                                         m["checks"]["skipped"]))
    H.append(_t([([c["stage"], c["name"], c["status"], "%.2f" % c["time"], c["message"]],
                  c["status"] if c["status"] != "pass" else "")
                 for c in sorted(checks, key=lambda c: c["status"] != "fail")],
                ["stage", "check", "status", "seconds", "message"], num=(3,)))
    H.append("<h2>Stages</h2>")
    H.append(_t([[s["name"], s["status"], s["seconds"]] for s in m["stages"]], ["stage", "status", "seconds"],
                num=(2,)))
    H.append("<p>Logs in logs/, crash files in crashes/, all figures in metrics.json.</p></body></html>")
    return "\n".join(H) + "\n"
