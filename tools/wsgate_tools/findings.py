"""The gate's own minimal crash classification, used only when the triage
tool (tools/triage.py, `wsgate triage`) is not in the tree.  It produces
buckets in the triage tool's shape:
  {id, type, state [up to 3 frames], security, severity, target, files,
   reproducible "k/n", minimized, first_frame {file, line, function},
   reproducer, session_cmd}
and turns failing sweep points into buckets of the same shape."""

import hashlib
import os
import re

from . import gate_util

SAN_ENV = {
    "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=1:symbolize=1:allocator_may_return_null=1",
    "UBSAN_OPTIONS": "halt_on_error=1:print_stacktrace=1",
}

# sanitizer report kind -> (type, security, severity); after ClusterFuzz's rules
# (use-after-free/double-free high, overflows medium, leaks not security).
KINDS = [
    (r"heap-use-after-free", "Heap-use-after-free", True, "high"),
    (r"double-free|attempting double-free", "Heap-double-free", True, "high"),
    (r"heap-buffer-overflow", "Heap-buffer-overflow", True, "medium"),
    (r"stack-buffer-overflow", "Stack-buffer-overflow", True, "high"),
    (r"global-buffer-overflow", "Global-buffer-overflow", True, "medium"),
    (r"stack-overflow", "Stack-overflow", False, "low"),
    (r"SEGV|unknown-crash", "Segv", True, "medium"),
    (r"detected memory leaks", "Direct-leak", False, "low"),
    (r"runtime error: .*overflow", "Integer-overflow", False, "low"),
    (r"runtime error:", "Undefined-behavior", False, "low"),
    (r"out-of-memory|malloc limit", "Out-of-memory", False, "low"),
    (r"timeout after|ALARM: working on the last Unit", "Timeout", False, "low"),
]
VERDICT_TYPES = {
    "unexplained": "Unexplained-outcome",
    "misattributed": "Misattributed-fault",
    "leaked": "Accounting-leak",
    "internal": "Internal-diagnosis",
    "wrong_outcome": "Wrong-outcome",
    "forged": "Forged-token",
    "unstable": "Unstable-outcome",
    "obligation": "Context-obligation",
    "crashed": "Crash",
}

try:  # the triage tool's names, when it is in the tree, so buckets agree
    from .crash import UNDIAGNOSED_1011 as _U1011
    from .crash import VERDICT_TYPES as _VT
    VERDICT_TYPES = dict(_VT)
    UNDIAGNOSED_1011 = _U1011
except ImportError:
    UNDIAGNOSED_1011 = "Close-1011-undiagnosed"


def normalize(b, replay_bin_of=None, src=None):
    """A bucket of either writer -> one with the members of both: the triage
    tool's (category, location, reliable, why) and the gate's interface
    (first_frame, reproducer, reproducible, session_cmd, minimized)."""
    b = dict(b)
    b.setdefault("state", [])
    b.setdefault("files", [])
    b.setdefault("security", False)
    b["category"] = b.get("category") or re.split(r"[\s]", b["type"])[0]
    ff, loc = b.get("first_frame"), b.get("location")
    if not ff and loc and loc.get("uri"):
        b["first_frame"] = {"file": loc["uri"], "line": loc.get("line"),
                            "function": (b["state"] or [None])[0]}
    if not loc and ff and ff.get("file"):
        b["location"] = {"uri": ff["file"], "line": ff.get("line")}
    if not b.get("reproducible"):
        b["reproducible"] = "reliable" if b.get("reliable", True) else "unreliable"
    b.setdefault("reliable", True)
    if not b.get("minimized") and b.get("representative"):
        b["minimized"] = b["representative"]
    if not b.get("reproducer"):
        inp = b.get("representative") or (b["files"] or [""])[0]
        t = b.get("target")
        b["reproducer"] = "%s %s" % (replay_bin_of(t) if replay_bin_of and t else "fuzz_%s" % t, inp)
    b.setdefault("session_cmd", None)
    b.setdefault("severity", None)
    if src:  # commands and paths relative to the source tree, as a reader runs them
        pre = src.rstrip("/") + "/"
        for k in ("reproducer", "session_cmd", "minimized", "representative"):
            if isinstance(b.get(k), str):
                b[k] = b[k].replace(pre, "")
        b["files"] = [f.replace(pre, "") if isinstance(f, str) else f for f in b["files"]]
    return b


FRAME_RE = re.compile(r"^\s*#\d+ 0x[0-9a-f]+ in (\S+) (\S+?):(\d+)(?::\d+)?\s*$")
IGNORED_FUNCS = re.compile(r"^(__asan|__ubsan|__sanitizer|__interceptor|__lsan|malloc|calloc|realloc|free|"
                           r"fuzzer::|LLVMFuzzer|main$|__libc|_start|abort|raise|ws_fuzz_|fz_)")


def classify_log(text, src):
    """A crash log -> (type, security, severity, frames [(func, relfile, line)])."""
    typ, sec, sev = "Crash", False, "low"
    m = re.search(r"wsgate fuzz: \S+: promise broken \((\w+)\): (.*)", text)
    if m:
        v, why = m.group(1), m.group(2)
        typ = VERDICT_TYPES.get(v, "Harness-" + v)
        if v == "unexplained" and why.startswith("close 1011"):
            typ = UNDIAGNOSED_1011
    else:
        for pat, t, s, sv in KINDS:
            if re.search(pat, text):
                typ, sec, sev = t, s, sv
                break
    m = re.search(r"\b(READ|WRITE) of size (\d+)", text)
    if m and typ.endswith("overflow") or m and typ == "Heap-use-after-free":
        typ = "%s %s %s" % (typ, m.group(1), m.group(2))
    frames = []
    # For a leak the allocation stack is the state; otherwise the first stack.
    block = text
    if typ == "Direct-leak":
        lm = re.search(r"(Direct|Indirect) leak of .*", text)
        if lm:
            block = text[lm.start():]
    for line in block.splitlines():
        fm = FRAME_RE.match(line)
        if not fm:
            if frames and not line.strip():
                break
            continue
        func, path, ln = fm.group(1), fm.group(2), int(fm.group(3))
        rel = os.path.relpath(path, src) if os.path.isabs(path) else path
        if rel.startswith("..") or IGNORED_FUNCS.match(func) or rel.startswith(("fuzz/", "faults/")):
            continue
        frames.append((func, rel, ln))
    return typ, sec, sev, frames


def bucket_id(typ, state, sec):
    return hashlib.sha1(("%s|%s|%s" % (typ, "|".join(state), sec)).encode()).hexdigest()[:16]


def triage_files(files, src, replay_bin_of, log_dir, runs=3):
    """Classifies crash files [(path, target)] by replaying each under the
    sanitizer build `runs` times; returns buckets."""
    buckets = {}
    for path, target in files:
        env = dict(os.environ, **SAN_ENV)
        hits, text0 = 0, ""
        sig0 = None
        for _ in range(runs):
            rc, text, _ = gate_util.run([replay_bin_of(target), path], env=env, timeout=60)
            if rc != 0:
                t, s, sv, fr = classify_log(text, src)
                sig = (t, tuple(f[0] for f in fr[:3]))
                if sig0 is None:
                    sig0, text0 = sig, text
                if sig == sig0:
                    hits += 1
        if sig0 is None:
            typ, sec, sev, frames = "Unreproducible", False, "low", []
            text0 = text
        else:
            typ, sec, sev, frames = classify_log(text0, src)
        state = [f[0] for f in frames[:3]] or ["(no project frame)"]
        bid = bucket_id(typ, state, sec)
        log = os.path.join(log_dir, "triage-%s.log" % bid)
        with open(log, "a", encoding="utf-8") as f:
            f.write("== %s\n%s\n" % (path, text0))
        b = buckets.get(bid)
        if not b:
            ff = {"file": frames[0][1], "line": frames[0][2], "function": frames[0][0]} if frames else None
            b = buckets[bid] = {
                "id": bid, "type": typ, "state": state, "security": sec,
                "severity": sev if sec else ("low" if typ != "Unreproducible" else "none"),
                "target": target, "files": [], "reproducible": "%d/%d" % (hits, runs),
                "minimized": None, "first_frame": ff,
                "reproducer": "%s %s" % (replay_bin_of(target), path),
                "session_cmd": None, "source": "fuzz", "log": log,
            }
        b["files"].append(path)
    return list(buckets.values())


SITE_RE = re.compile(r"^(\S+?):(\d+) (\S+)")


def sweep_buckets(failures):
    """Failing sweep points (wsgate sweep --json-out lines) -> buckets, one per
    (verdict, fault site, outcome diag)."""
    buckets = {}
    for f in failures:
        verdict = f.get("verdict", "failed")
        out = f.get("outcome") or {}
        diag = out.get("diag") if isinstance(out, dict) else None
        typ = VERDICT_TYPES.get(verdict, "Sweep-" + str(verdict))
        why = f.get("why", f.get("reason", ""))
        cmd = f.get("replay") or f.get("command")
        if verdict == "unexplained" and str(why).startswith("close 1011"):
            typ = UNDIAGNOSED_1011
        faults = out.get("faults") if isinstance(out, dict) else None
        site = (faults[-1].get("site") if faults else None) or ""
        m = SITE_RE.match(site)
        ff = {"file": m.group(1), "line": int(m.group(2)), "function": m.group(3)} if m else None
        state = [x for x in (m.group(3) if m else site, "diag:%s" % diag) if x]
        bid = bucket_id(typ, state, False)
        b = buckets.get(bid)
        if not b:
            b = buckets[bid] = {
                "id": bid, "type": typ, "state": state, "security": False, "severity": "low",
                "target": "sweep", "files": [], "reproducible": "deterministic",
                "minimized": None, "first_frame": ff, "reproducer": cmd,
                "session_cmd": cmd, "source": "sweep", "reason": why, "points": 0,
            }
        b["points"] += 1
        inp = f.get("input")
        if inp and inp not in b["files"]:
            b["files"].append(inp)
    return list(buckets.values())


def sarif(buckets, src_uri_base=None, tool_version="0"):
    """A SARIF 2.1.0 log, one result per bucket (fallback writer)."""
    rules, index = [], {}
    results = []
    for b in buckets:
        rid = "wsgate/" + re.sub(r"[^A-Za-z0-9]+", "-", b["type"].split(" ")[0]).strip("-").lower()
        if rid not in index:
            index[rid] = len(rules)
            rules.append({"id": rid, "name": re.sub(r"[^A-Za-z0-9]", "", b["type"].split(" ")[0]) or "Crash",
                          "shortDescription": {"text": b["type"].split(" ")[0]},
                          "properties": {"security-severity": _sev_num(b)}})
        res = {
            "ruleId": rid, "ruleIndex": index[rid],
            "level": "error" if b.get("security") or b.get("source") == "sweep" else "warning",
            "message": {"text": "%s in %s (%s); reproduce: %s" % (
                b["type"], " / ".join(b["state"]), b.get("target"), b.get("reproducer"))},
            "partialFingerprints": {"wsgateBucket/v1": b["id"]},
            "properties": {"security-severity": _sev_num(b), "target": b.get("target"),
                           "reproducible": b.get("reproducible")},
        }
        ff = b.get("first_frame")
        if ff and ff.get("file"):
            res["locations"] = [{"physicalLocation": {
                "artifactLocation": {"uri": ff["file"], "uriBaseId": "SRCROOT"},
                "region": {"startLine": max(1, int(ff.get("line") or 1))}}}]
        results.append(res)
    run = {"tool": {"driver": {"name": "wsgate gate", "version": tool_version,
                               "rules": rules}},
           "results": results}
    if src_uri_base:
        run["originalUriBaseIds"] = {"SRCROOT": {"uri": src_uri_base}}
    return {"$schema": "https://json.schemastore.org/sarif-2.1.0.json", "version": "2.1.0", "runs": [run]}


def _sev_num(b):
    return {"critical": "9.0", "high": "8.0", "medium": "5.5", "low": "3.0", "none": "0.0"}.get(
        str(b.get("severity", "low")).lower(), "3.0")
