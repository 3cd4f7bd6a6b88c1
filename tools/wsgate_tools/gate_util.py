"""Small helpers of the release gate: durations, processes, progress lines."""

import hashlib
import os
import re
import signal
import subprocess
import sys
import threading
import time


class UsageError(Exception):
    """Bad command-line arguments: exit 2 with the usage line."""


class InfraError(Exception):
    """The gate could not do its job (a tool missing, a disk full...): exit 2."""


class Interrupted(Exception):
    """Ctrl-C or SIGTERM: stop, still write the report (marked incomplete)."""


def parse_duration(text):
    """'90', '90s', '2m', '1h', '1m30s' -> seconds (int > 0)."""
    if not isinstance(text, str) or not re.fullmatch(r"(\d+[hms]?)+", text.strip()):
        raise UsageError("bad duration '%s' (examples: 90s, 2m, 10m, 1h)" % text)
    total = 0
    for num, unit in re.findall(r"(\d+)([hms]?)", text.strip()):
        total += int(num) * {"h": 3600, "m": 60, "s": 1, "": 1}[unit]
    if total <= 0:
        raise UsageError("duration must be positive: '%s'" % text)
    return total


def sha1_file(path):
    h = hashlib.sha1()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            h.update(block)
    return h.hexdigest()


def files_in(directory):
    """Regular, non-hidden files of a directory (sorted); [] when it is missing."""
    if not os.path.isdir(directory):
        return []
    return sorted(
        os.path.join(directory, n)
        for n in os.listdir(directory)
        if not n.startswith(".") and os.path.isfile(os.path.join(directory, n))
    )


# Children run in their own process group so that Ctrl-C stops them with us.
_children = set()
_children_lock = threading.Lock()


def kill_children():
    with _children_lock:
        procs = list(_children)
    for p in procs:
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            pass
    deadline = time.time() + 5
    for p in procs:
        try:
            p.wait(timeout=max(0.1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def popen(cmd, **kw):
    p = subprocess.Popen(cmd, start_new_session=True, **kw)
    with _children_lock:
        _children.add(p)
    return p


def forget(p):
    with _children_lock:
        _children.discard(p)


def run(cmd, log=None, env=None, cwd=None, timeout=None, stdin=None, stdout_only=False):
    """Runs cmd; its stdout+stderr go to the file `log` (appended) and are
    returned too (only stdout with stdout_only; stderr then goes to the log
    alone).  Returns (rc, output, seconds); rc is None on timeout."""
    start = time.time()
    p = popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE if stdout_only else subprocess.STDOUT,
              env=env, cwd=cwd, stdin=stdin if stdin is not None else subprocess.DEVNULL)
    try:
        out, err = p.communicate(timeout=timeout)
        rc = p.returncode
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        rc = None
    finally:
        forget(p)
    text = out.decode("utf-8", "replace")
    etext = (err or b"").decode("utf-8", "replace")
    if log:
        os.makedirs(os.path.dirname(log) or ".", exist_ok=True)
        with open(log, "a", encoding="utf-8") as f:
            f.write("$ %s\n%s%s\n" % (" ".join(cmd), text, etext))
    return rc, text, time.time() - start


def run_lines(cmd, on_line, log=None, env=None, cwd=None, timeout=None):
    """Like run(), stdout+stderr merged, but each output line is passed to
    on_line(line) as it comes (for progress).  Returns (rc, output,
    seconds); rc is None on timeout."""
    start = time.time()
    p = popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=cwd,
              stdin=subprocess.DEVNULL)
    lines = []
    timer = None
    if timeout:
        timer = threading.Timer(timeout, lambda: os.killpg(p.pid, signal.SIGKILL))
        timer.daemon = True
        timer.start()
    try:
        for raw in p.stdout:
            line = raw.decode("utf-8", "replace")
            lines.append(line)
            on_line(line.rstrip("\n"))
        rc = p.wait()
        if timer and not timer.is_alive() and rc < 0:
            rc = None
    finally:
        if timer:
            timer.cancel()
        forget(p)
    text = "".join(lines)
    if log:
        os.makedirs(os.path.dirname(log) or ".", exist_ok=True)
        with open(log, "a", encoding="utf-8") as f:
            f.write("$ %s\n%s\n" % (" ".join(cmd), text))
    return rc, text, time.time() - start


def fmt_secs(s):
    s = int(round(s))
    return "%d:%02d" % (s // 60, s % 60)


class Progress:
    """One rewritten status line on a terminal; plain lines otherwise."""

    def __init__(self, stream=None, tty=None):
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.lock = threading.Lock()
        self.start = time.time()
        self.budget = None
        self.last_plain = 0.0
        self.width = 0

    def _prefix(self):
        el = time.time() - self.start
        if self.budget:
            return "[%s / %s, %s left]" % (fmt_secs(el), fmt_secs(self.budget),
                                           fmt_secs(max(0, self.budget - el)))
        return "[%s]" % fmt_secs(el)

    def line(self, text):
        """A line that stays (stage start/end, findings)."""
        with self.lock:
            msg = "gate %s %s" % (self._prefix(), text)
            if self.tty and self.width:
                self.stream.write("\r" + " " * self.width + "\r")
                self.width = 0
            self.stream.write(msg + "\n")
            self.stream.flush()

    def status(self, text, every=10.0):
        """A transient status (exec/s, coverage): rewritten in place on a
        terminal, one plain line every `every` seconds otherwise."""
        with self.lock:
            msg = "gate %s %s" % (self._prefix(), text)
            if self.tty:
                cols = 120
                try:
                    cols = os.get_terminal_size(self.stream.fileno()).columns - 1
                except OSError:
                    pass
                msg = msg[:cols]
                pad = max(0, self.width - len(msg))
                self.stream.write("\r" + msg + " " * pad)
                self.width = len(msg)
                self.stream.flush()
            elif time.time() - self.last_plain >= every:
                self.last_plain = time.time()
                self.stream.write(msg + "\n")
                self.stream.flush()
