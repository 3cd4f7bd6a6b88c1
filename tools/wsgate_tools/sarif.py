"""SARIF 2.1.0 from triage buckets, for GitHub code scanning.

One result per crash bucket; one rule per crash category (the first line of
the ClusterFuzz-style type, e.g. "Heap-buffer-overflow"), so a rule id is
stable whatever the access size or the stack; level, message, the first
project frame as the location (repository-relative, never a frame of the
fuzzing engine, the sanitizer runtime or libc), partialFingerprints from the
bucket, and security-severity for security buckets.

Standard library only.
"""

import json
import re

from . import crash

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
TOOL_NAME = "wsgate-triage"

# GitHub reads security-severity as a number in a string: >= 9.0 critical,
# 7.0-8.9 high, 4.0-6.9 medium, 0.1-3.9 low.
_SEVERITY_SCORE = {"Critical": "9.5", "High": "8.0", "Medium": "5.5",
                   "Low": "2.5"}
# A security crash ClusterFuzz gives no severity (a type it does not rank).
_UNRANKED_SECURITY_SCORE = "5.0"

_DESCRIPTIONS = {
    "Heap-buffer-overflow": "A read or write outside a heap block.",
    "Stack-buffer-overflow": "A read or write outside a stack object.",
    "Global-buffer-overflow": "A read or write outside a global object.",
    "Heap-use-after-free": "A heap block used after it was freed.",
    "Heap-double-free": "A heap block freed twice.",
    "Invalid-free": "free() of an address that was not allocated.",
    "Direct-leak": "Memory no longer referenced when the process exits "
                   "(LeakSanitizer).",
    "Indirect-leak": "Memory reachable only from leaked memory.",
    "Integer-overflow": "Signed integer overflow (undefined behaviour).",
    "Stack-overflow": "The stack was exhausted (unbounded recursion).",
    "Timeout": "An input ran longer than the time limit.",
    "Out-of-memory": "An input needed more memory than the limit.",
    "Unexplained-outcome": "A session ended without a diagnosed outcome "
                           "from the table.",
    "Close-1011-undiagnosed": "A session was closed with 1011 without an "
                              "internal diagnosis.",
    "Misattributed-fault": "An injected fault was reported as something "
                           "else (e.g. out of memory as a bad signature).",
    "Accounting-leak": "Session memory still allocated after "
                       "ws_session_free (the accounting allocator).",
    "Forged-token-accepted": "A token was accepted that was not signed as "
                             "presented.",
}


def rule_id(category):
    return "wsgate/" + re.sub(r"[^a-z0-9]+", "-", category.lower()).strip("-")


def _rule_name(category):
    return "".join(p[:1].upper() + p[1:]
                   for p in re.split(r"[^A-Za-z0-9]+", category) if p)


def level_of(bucket):
    """error for security bugs and broken promises, warning otherwise."""
    if bucket["security"] or bucket["category"] in crash.HARNESS_TYPES:
        return "error"
    return "warning"


def security_severity(bucket):
    if not bucket["security"]:
        return None
    return _SEVERITY_SCORE.get(bucket.get("severity") or "",
                               _UNRANKED_SECURITY_SCORE)


def _message(bucket):
    state = " > ".join(bucket["state"])
    sec = ("security, severity %s" % bucket["severity"]
           if bucket["security"] and bucket.get("severity")
           else "security" if bucket["security"] else "not a security bug")
    n = len(bucket["files"])
    text = "%s in %s (%s; %s: %d crash file%s)" % (
        bucket["type"], state, sec, bucket["target"], n, "" if n == 1 else "s")
    if bucket.get("why"):
        text += ". Harness: " + bucket["why"]
    reg = bucket.get("regression") or {}
    if reg.get("relpath"):
        text += ". Regression input: " + reg["relpath"]
    return text


def _norm(b):
    """A bucket in triage's shape, from triage's own or a similar one (the
    gate's sweep buckets: no category, `first_frame` for the location,
    lower-case severities, a state string)."""
    b = dict(b)
    t = str(b.get("type") or "UNKNOWN").replace("\n", " ")
    b["type"] = t
    if not b.get("category"):
        b["category"] = re.sub(r" (READ|WRITE) (\d+|\{\*\})$", "", t) or t
    st = b.get("state")
    if isinstance(st, str):
        st = [x for x in st.split("\n") if x]
    b["state"] = list(st or [])
    b["security"] = bool(b.get("security"))
    sev = b.get("severity")
    b["severity"] = sev.capitalize() if isinstance(sev, str) and sev else None
    b["files"] = list(b.get("files") or [])
    b["target"] = b.get("target") or "?"
    b["id"] = str(b.get("id") or crash.bucket_id(t, "\n".join(b["state"]),
                                                  b["security"]))
    if not b.get("location"):
        ff = b.get("first_frame") or {}
        if ff.get("file"):
            b["location"] = {"uri": ff["file"], "line": ff.get("line") or 1}
    return b


def to_sarif(buckets, tool_version="1", extra_properties=None):
    """The SARIF log (a dict) for a list of triage buckets
    (wsgate_tools.triage.run()["buckets"])."""
    rules, index = [], {}
    results = []
    for b in map(_norm, buckets):
        rid = rule_id(b["category"])
        if rid not in index:
            index[rid] = len(rules)
            props = {"tags": ["fuzzing", "wsgate"]}
            if b["security"]:
                props["tags"].insert(0, "security")
                props["security-severity"] = security_severity(b)
            rules.append({
                "id": rid,
                "name": _rule_name(b["category"]),
                "shortDescription": {"text": b["category"]},
                "fullDescription": {
                    "text": _DESCRIPTIONS.get(
                        b["category"],
                        "%s, as the sanitizer or the harness reported it." %
                        b["category"])},
                "defaultConfiguration": {"level": level_of(b)},
                "properties": props,
            })
        elif b["security"]:
            # A rule's severity is its worst bucket's.
            r = rules[index[rid]]
            s = security_severity(b)
            cur = r["properties"].get("security-severity")
            if cur is None or float(s) > float(cur):
                r["properties"]["security-severity"] = s
                if "security" not in r["properties"]["tags"]:
                    r["properties"]["tags"].insert(0, "security")
        res = {
            "ruleId": rid,
            "ruleIndex": index[rid],
            "level": level_of(b),
            "message": {"text": _message(b)},
            "partialFingerprints": {
                "crashBucket/v1": b["id"],
                "crashState/v1": "%s|%s|%d" % (b["type"], "|".join(b["state"]),
                                               1 if b["security"] else 0),
            },
            "properties": {
                "crash-type": b["type"],
                "crash-state": b["state"],
                "security": b["security"],
                "target": b["target"],
                "files": len(b["files"]),
                "reliable": b.get("reliable", True),
            },
        }
        sev = security_severity(b)
        if sev is not None:
            res["properties"]["security-severity"] = sev
        if b.get("severity"):
            res["properties"]["severity"] = b["severity"]
        loc = b.get("location")
        if loc and loc.get("uri"):
            res["locations"] = [{
                "physicalLocation": {
                    "artifactLocation": {"uri": loc["uri"],
                                         "uriBaseId": "%SRCROOT%"},
                    "region": {"startLine": max(1, int(loc["line"] or 1))},
                },
                "message": {"text": b.get("location_note") or
                            "first project frame"},
            }]
        results.append(res)
    run = {
        "tool": {"driver": {"name": TOOL_NAME, "version": str(tool_version),
                            "semanticVersion": "1.0.0",
                            "rules": rules}},
        "originalUriBaseIds": {"%SRCROOT%": {
            "description": {"text": "the repository root"}}},
        "columnKind": "unicodeCodePoints",
        "results": results,
    }
    if extra_properties:
        run["properties"] = dict(extra_properties)
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}


def write(path, buckets, **kw):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(to_sarif(buckets, **kw), f, indent=2, sort_keys=False)
        f.write("\n")


def check_github(log):
    """Problems GitHub code scanning would have with a SARIF log, beyond
    the schema: a list of strings (empty when fine)."""
    problems = []
    if log.get("version") != "2.1.0":
        problems.append("version is not 2.1.0")
    for run in log.get("runs", []):
        rules = {r["id"] for r in run["tool"]["driver"].get("rules", [])}
        for i, r in enumerate(run.get("results", [])):
            where = "result %d" % i
            if r.get("ruleId") not in rules:
                problems.append("%s: ruleId %r has no rule" %
                                (where, r.get("ruleId")))
            if not r.get("message", {}).get("text"):
                problems.append("%s: no message.text" % where)
            if r.get("level") not in ("none", "note", "warning", "error"):
                problems.append("%s: level %r" % (where, r.get("level")))
            if not r.get("partialFingerprints"):
                problems.append("%s: no partialFingerprints" % where)
            locs = r.get("locations") or []
            if not locs:
                problems.append("%s: no location" % where)
            for loc in locs:
                pl = loc.get("physicalLocation", {})
                uri = pl.get("artifactLocation", {}).get("uri", "")
                if not uri or uri.startswith("/") or "://" in uri:
                    problems.append("%s: uri %r is not repository-relative"
                                    % (where, uri))
                if not uri.startswith(("core/", "faults/", "cli/", "fuzz/",
                                       "tests/", "tools/")):
                    problems.append("%s: uri %r is outside the project" %
                                    (where, uri))
                if re.search(r"(^|/)(compiler-rt|sanitizer_common|"
                             r"libfuzzer|fuzzer|sysdeps|csu|glibc[^/]*)/|"
                             r"libc-start", uri):
                    problems.append("%s: uri %r is the engine's or the "
                                    "runtime's" % (where, uri))
                line = pl.get("region", {}).get("startLine")
                if not isinstance(line, int) or line < 1:
                    problems.append("%s: startLine %r" % (where, line))
            sev = r.get("properties", {}).get("security-severity")
            if sev is not None:
                try:
                    v = float(sev)
                    if not 0.0 <= v <= 10.0:
                        raise ValueError
                except ValueError:
                    problems.append("%s: security-severity %r" % (where, sev))
    return problems
