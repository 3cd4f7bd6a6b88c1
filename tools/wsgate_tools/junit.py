"""JUnit XML for the gate: one <testsuite> per stage, one <testcase> per check.

A check is a dict: stage, classname, name, time (seconds), file (repository-
relative path), status ("pass" | "fail" | "skip"), message, text.  The
attributes written are the ones GitLab, Jenkins and the common GitHub
actions read: testsuite@name/tests/failures/errors/skipped/time,
testcase@classname/name/time/file, failure@message(+type) with the details as
text, skipped@message.
"""

import xml.etree.ElementTree as ET

STATUSES = ("pass", "fail", "skip")

# XML 1.0 forbids most control characters even as character references.
_BAD = {c: None for c in range(0x20) if c not in (0x9, 0xA, 0xD)}


def _clean(s):
    return str(s if s is not None else "").translate(_BAD)


def check(stage, name, status, time=0.0, file="", classname=None, message="", text=""):
    if status not in STATUSES:
        raise ValueError("check status must be one of %s, not %r" % (STATUSES, status))
    return {"stage": stage, "classname": classname or "wsgate.gate." + stage,
            "name": name, "time": float(time), "file": file, "status": status,
            "message": message, "text": text}


def to_xml(checks, suite_name="wsgate gate", timestamp=None):
    stages = []
    for c in checks:
        if c["status"] not in STATUSES:
            raise ValueError("check %s: bad status %r" % (c["name"], c["status"]))
        if c["stage"] not in stages:
            stages.append(c["stage"])
    root = ET.Element("testsuites", name=suite_name)
    tot = {"tests": 0, "failures": 0, "skipped": 0, "time": 0.0}
    for st in stages:
        cs = [c for c in checks if c["stage"] == st]
        fails = sum(c["status"] == "fail" for c in cs)
        skips = sum(c["status"] == "skip" for c in cs)
        t = sum(c["time"] for c in cs)
        attrs = {"name": st, "tests": str(len(cs)), "failures": str(fails),
                 "errors": "0", "skipped": str(skips), "time": "%.3f" % t}
        if timestamp:
            attrs["timestamp"] = timestamp
        suite = ET.SubElement(root, "testsuite", attrs)
        for c in cs:
            tc = ET.SubElement(suite, "testcase", {
                "classname": _clean(c["classname"]), "name": _clean(c["name"]),
                "time": "%.3f" % c["time"], "file": _clean(c["file"])})
            if c["status"] == "fail":
                f = ET.SubElement(tc, "failure", message=_clean(c["message"] or "failed"),
                                  type=_clean(c["stage"]))
                f.text = _clean(c["text"] or c["message"] or "failed")
            elif c["status"] == "skip":
                ET.SubElement(tc, "skipped", message=_clean(c["message"] or "skipped"))
        tot["tests"] += len(cs)
        tot["failures"] += fails
        tot["skipped"] += skips
        tot["time"] += t
    root.set("tests", str(tot["tests"]))
    root.set("failures", str(tot["failures"]))
    root.set("errors", "0")
    root.set("skipped", str(tot["skipped"]))
    root.set("time", "%.3f" % tot["time"])
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write(path, checks, **kw):
    with open(path, "w", encoding="utf-8") as f:
        f.write(to_xml(checks, **kw))


def parse_ctest_junit(path):
    """ctest --output-junit FILE -> [(name, status, time, output)]."""
    tree = ET.parse(path)
    out = []
    for tc in tree.iter("testcase"):
        status = tc.get("status", "")
        if tc.find("failure") is not None or status == "fail":
            st = "fail"
        elif tc.find("skipped") is not None or status in ("notrun", "disabled"):
            st = "skip"
        else:
            st = "pass"
        text = ""
        so = tc.find("system-out")
        if so is not None and so.text:
            text = so.text
        msg = ""
        fe = tc.find("failure")
        if fe is not None:
            msg = fe.get("message", "")
        sk = tc.find("skipped")
        if sk is not None:
            msg = sk.get("message", "") or "skipped"
        out.append((tc.get("name"), st, float(tc.get("time") or 0), text, msg))
    return out
