"""Crash-log analysis for wsgate triage.

Turns the text a crashing run printed (AddressSanitizer, LeakSanitizer,
UndefinedBehaviorSanitizer, libFuzzer, or the harness's own "promise broken"
line) into a classification that follows the rules ClusterFuzz applies, so a
bucket here is the bucket OSS-Fuzz would file:

  * a crash type ("Heap-buffer-overflow\\nREAD 4", "Direct-leak", ...);
  * a crash state: the top three frames after dropping sanitizer runtime,
    libc, allocator, fuzzing-engine and harness frames (a leak: its
    allocation site; a harness verdict: where the session ended);
  * a security flag and a severity;
  * a bucket key (type, state, security flag).

The harness's verdicts (fuzz/common.c: "wsgate fuzz: <target>: promise broken
(<verdict>): <why>" then "  outcome: <json>") are crash types of their own.

Standard library only.  Written for this project from the published rules;
no ClusterFuzz code is used.
"""

import hashlib
import json
import re

MAX_STATE_FRAMES = 3

# ---------------------------------------------------------------------------
# Frames

# "    #3 0x55d1c2 in ws_hs_parse /src/wsgate/core/handshake.c:120:7"
# "    #3 0x7f0a  (/lib/x86_64-linux-gnu/libc.so.6+0x3c04f) (BuildId: ...)"
_FRAME_RE = re.compile(r"^\s*#(\d+)\s+(0x[0-9a-fA-F]+)\s*(.*)$")
_BUILDID_RE = re.compile(r"\s*\(BuildId: [0-9a-fA-F]+\)\s*$")
_MODULE_RE = re.compile(r"^\((.+?)(\+0x[0-9a-fA-F]+)?\)$")
_FILELINE_RE = re.compile(r"^(.*?):(\d+)(?::(\d+))?$")


class Frame:
    """One symbolized (or not) stack frame."""

    __slots__ = ("index", "address", "func", "file", "line", "column",
                 "module", "raw")

    def __init__(self, index, address, func, file, line, column, module,
                 raw):
        self.index = index
        self.address = address
        self.func = func
        self.file = file
        self.line = line
        self.column = column
        self.module = module
        self.raw = raw

    def to_json(self, rel=None):
        d = {"index": self.index, "function": self.func, "file": self.file,
             "line": self.line, "module": self.module}
        if rel is not None:
            d["project_file"] = rel
        return d


def parse_frame(line):
    """A Frame from one stack line, or None when the line is not a frame."""
    m = _FRAME_RE.match(line)
    if not m:
        return None
    rest = _BUILDID_RE.sub("", m.group(3)).strip()
    func = file = module = None
    ln = col = None
    if rest.startswith("in "):
        rest = rest[3:]
        # The function may contain spaces and parentheses (C++ signatures);
        # the location is the last space-separated word.
        head, _, tail = rest.rpartition(" ")
        mm = _MODULE_RE.match(tail)
        fl = _FILELINE_RE.match(tail)
        if head and mm:
            func, module = head, mm.group(1)
        elif head and fl and ("/" in tail or "." in tail):
            func = head
            file = fl.group(1)
            ln = int(fl.group(2))
            col = int(fl.group(3)) if fl.group(3) else None
        elif head and "/" in tail:
            func, file = head, tail  # a source file without a line
        else:
            func = rest
    else:
        mm = _MODULE_RE.match(rest)
        if mm:
            module = mm.group(1)
    if func:
        func = _clean_function(func)
    return Frame(int(m.group(1)), m.group(2), func, file, ln, col, module,
                 line.rstrip("\n"))


def _clean_function(func):
    """Function name without a C++ parameter list or an offset."""
    func = func.strip()
    func = re.sub(r"\+0x[0-9a-fA-F]+$", "", func)
    for ns in ("(anonymous namespace)::",):
        func = func.replace(ns, "")
    # "fuzzer::Fuzzer::ExecuteCallback(unsigned char const*, ...)"
    m = re.match(r"^([^(]+?)\(", func)
    if m and not func.startswith("("):
        func = m.group(1)
    return func.strip()


# ---------------------------------------------------------------------------
# Which frames are not the bug

# Function names (whole name) of the C library, the signal path and the
# process start.
_LIBC_EXACT = {
    "abort", "raise", "exit", "_exit", "gsignal", "tgkill", "pthread_kill",
    "_start", "__chk_fail", "__fortify_fail", "__assert_fail",
    "__pthread_kill_implementation", "__pthread_kill_internal",
    "__libc_start_main", "__libc_start_call_main", "__libc_message",
    "__run_exit_handlers", "__cxa_finalize", "__cxa_atexit",
}
# Function-name prefixes of the libc string/memory routines (the bug is the
# caller's), the allocator entry points and the sanitizer runtime.
_IGNORED_PREFIXES = (
    "__asan", "__lsan", "__ubsan", "__msan", "__tsan", "__hwasan",
    "__sanitizer", "__interceptor_", "___interceptor_", "__interception::",
    "_asan_", "asan_", "__libc_", "__GI_", "__GI___",
    "memcpy", "__memcpy", "memmove", "__memmove", "memset", "__memset",
    "memcmp", "__memcmp", "bcmp", "strlen", "__strlen", "strnlen",
    "strcmp", "__strcmp", "strncmp", "strcpy", "__strcpy", "strncpy",
    "strdup", "__strdup", "strndup",
    "malloc", "calloc", "realloc", "free", "posix_memalign",
    "aligned_alloc", "memalign", "valloc", "reallocarray",
    "operator new", "operator delete",
    # libFuzzer and AFL++'s driver.
    "fuzzer::", "LLVMFuzzerTestOneInput", "LLVMFuzzerRunDriver",
    "__afl_", "afl_",
    # OpenSSL's and cJSON's allocation wrappers: the caller allocated.
    "CRYPTO_malloc", "CRYPTO_zalloc", "CRYPTO_realloc", "CRYPTO_clear_realloc",
    "CRYPTO_free", "CRYPTO_clear_free", "CRYPTO_strdup", "CRYPTO_strndup",
    "CRYPTO_memdup", "cJSON_malloc", "cJSON_free", "internal_malloc",
    "internal_free", "internal_realloc",
)
# Source paths that are the C library's, the toolchain's or the sanitizer
# runtime's.  Debian's libc is symbolized with paths such as
# "csu/../csu/libc-start.c" or "signal/../sysdeps/posix/raise.c", so a rule
# on the function's exact name alone would miss them.
_IGNORED_PATH_RE = re.compile(
    r"(^|/)(sysdeps|csu|nptl|stdlib|signal|string|malloc|libio|posix|"
    r"elf|misc|debug)/|/glibc[-/]|/compiler-rt/|/sanitizer_common/|"
    r"/lib/clang/|/libfuzzer/|/llvm-project/|/usr/include/")
# Modules (when there is no source) of libc and the sanitizer runtime.
_IGNORED_MODULE_RE = re.compile(
    r"(^|/)(libc\.so|libc-[0-9.]+\.so|libpthread|libclang_rt|ld-linux|"
    r"libstdc\+\+|libc\+\+|libgcc_s)")

# The project's own frames that are not the bug: the allocator (the core's
# accounting allocator and the fault layer's counting/failing allocators),
# and the harness (the fuzz targets, their helper and replay main, the
# session runner).  A frame there reports or allocates; the caller is the
# bug.
PROJECT_DIRS = ("core/", "faults/", "fuzz/", "cli/", "tests/", "tools/")
_ALLOCATOR_FILES = ("core/mem.c", "faults/countalloc.c", "faults/inject.c")
_HARNESS_PREFIXES = ("fuzz/", "faults/run.c")


class SourceMap:
    """Maps a frame's file to a repository-relative path, or None.

    Roots are tried in order: the checkout's root, and the roots given on
    the command line (e.g. "/src/wsgate" for an OSS-Fuzz testcase's log)."""

    def __init__(self, roots=()):
        self.roots = []
        for r in roots:
            if r:
                r = r.rstrip("/") + "/"
                if r not in self.roots:
                    self.roots.append(r)

    def relative(self, path):
        if not path:
            return None
        for r in self.roots:
            # A root can hold another (a scratch copy of the tree under the
            # checkout's build/): a path that is no project file relative to
            # one root is tried against the next.
            if path.startswith(r) and path[len(r):].startswith(PROJECT_DIRS):
                return path[len(r):]
        # OSS-Fuzz and ClusterFuzz builds live in /src/<project>/.
        m = re.match(r"^/src/[^/]+/(.*)$", path)
        if m and m.group(1).startswith(PROJECT_DIRS):
            return m.group(1)
        # A relative path as the compiler recorded it.
        if not path.startswith("/") and path.startswith(PROJECT_DIRS):
            return path
        return None


def frame_kind(fr, smap):
    """'project', 'harness', 'allocator', 'dependency' or 'ignored'."""
    rel = smap.relative(fr.file)
    if fr.func in ("main", "LLVMFuzzerTestOneInput"):
        return "harness" if rel is not None else "ignored"
    if rel is not None:
        if rel.startswith(_ALLOCATOR_FILES):
            return "allocator"
        if rel.startswith(_HARNESS_PREFIXES):
            return "harness"
        return "project"
    func = fr.func or ""
    if not func and not fr.file:
        return "ignored"  # module+offset only: nothing to name
    if len(func) < 3 or func in ("<null>", "<unknown>", "main"):
        return "ignored"
    if func in _LIBC_EXACT or func.startswith(_IGNORED_PREFIXES):
        return "ignored"
    if fr.file and _IGNORED_PATH_RE.search(fr.file):
        return "ignored"
    if fr.module and _IGNORED_MODULE_RE.search(fr.module):
        return "ignored"
    return "dependency"


def state_frames(frames, smap):
    """The frames that may stand in a crash state, in order."""
    return [f for f in frames if frame_kind(f, smap) in ("project",
                                                           "dependency")]


# ---------------------------------------------------------------------------
# Crash types

_ASAN_ERROR_RE = re.compile(
    r"ERROR: (?:AddressSanitizer|HWAddressSanitizer): ([A-Za-z_-]+(?: [A-Za-z_-]+)*?)"
    r"(?: on (?:unknown address |address )?(0x[0-9a-fA-F]+|\(nil\)))?(?:[ (:;]|$)")
_ASAN_DOUBLE_FREE_RE = re.compile(r"AddressSanitizer: attempting double-free")
_ASAN_BAD_FREE_RE = re.compile(
    r"AddressSanitizer: attempting free on address which was not malloc")
_ASAN_OVERLAP_RE = re.compile(r"AddressSanitizer: memcpy-param-overlap")
_ACCESS_RE = re.compile(r"^\s*(READ|WRITE|Atomic READ|Atomic WRITE) of size (\d+) at")
_SEGV_KIND_RE = re.compile(r"The signal is caused by a (READ|WRITE|UNKNOWN) memory access")
_LSAN_RE = re.compile(r"ERROR: LeakSanitizer: detected memory leaks")
_DIRECT_LEAK_RE = re.compile(r"^Direct leak of \d+ byte")
_INDIRECT_LEAK_RE = re.compile(r"^Indirect leak of \d+ byte")
_UBSAN_RE = re.compile(r"^(.*?): runtime error: (.*)$")
_LIBFUZZER_RE = re.compile(r"ERROR: libFuzzer: ([a-z-]+(?: [a-z-]+)*)")
_OOM_RE = re.compile(
    r"Sanitizer: (?:allocation-size-too-big|calloc-overflow|out of memory|"
    r"requested allocation size .* exceeds)|libFuzzer: out-of-memory|"
    r"rss limit exhausted|allocator is out of memory")
_PROMISE_RE = re.compile(
    r"^wsgate fuzz: ([A-Za-z0-9_]+): promise broken(?: \(([a-z_]+)\))?: (.*)$")
_OUTCOME_RE = re.compile(r"^\s*outcome: (\{.*\})\s*$")
_LIVE_RE = re.compile(r"^\s*live: (.+?)\s*$")

# UndefinedBehaviorSanitizer messages -> type, most specific first.
_UBSAN_TYPES = [
    (r"division by zero", "Divide-by-zero"),
    (r"outside the range of representable values", "Float-cast-overflow"),
    (r"implicit conversion from type", "Implicit-conversion"),
    (r"through pointer to incorrect function type", "Incorrect-function-pointer-type"),
    (r"out of bounds for type", "Index-out-of-bounds"),
    (r"not a valid value for type '(bool|BOOL)'", "Invalid-bool-value"),
    (r", which is not a valid argument", "Invalid-builtin-use"),
    (r"misaligned address", "Misaligned-address"),
    (r"reached the end of a value-returning function", "No-return-value"),
    (r"null pointer passed as .*, which is declared to never be null", "Invalid-null-argument"),
    (r"load of null pointer", "Null-dereference READ"),
    (r"(binding to|access within|call on) null pointer", "Null-dereference"),
    (r"store to null pointer", "Null-dereference WRITE"),
    (r"with insufficient space for an object of type", "Object-size"),
    (r"((addition|subtraction) of unsigned offset |pointer index expression with base |"
     r"applying (non-)?zero offset( [0-9]+)? to null pointer)", "Pointer-overflow"),
    (r"null pointer returned from function declared to never return null", "Invalid-null-return"),
    (r"shift", "Undefined-shift"),
    (r"execution reached an unreachable program point", "Unreachable code"),
    (r"unsigned integer overflow", "Unsigned-integer-overflow"),
    (r"variable length array bound evaluates to non-positive value", "Non-positive-vla-bound-value"),
    (r"not a valid value for type", "Invalid-enum-value"),
    (r"(integer overflow|(negation|division) of.*cannot be represented in type)", "Integer-overflow"),
]
_UBSAN_TYPES = [(re.compile(p), t) for p, t in _UBSAN_TYPES]

# The harness's verdicts (fuzz/common.c, faults/sweep.c) as crash types.
VERDICT_TYPES = {
    "unexplained": "Unexplained-outcome",
    "misattributed": "Misattributed-fault",
    "leaked": "Accounting-leak",
    "crashed": "Crashed-run",
    "internal": "Internal-without-fault",
    "wrong_outcome": "Wrong-outcome",
    "forged": "Forged-token-accepted",
    "unstable": "Unstable-outcome",
    "obligation": "Broken-obligation",
}
UNDIAGNOSED_1011 = "Close-1011-undiagnosed"
HARNESS_TYPES = set(VERDICT_TYPES.values()) | {UNDIAGNOSED_1011,
                                               "Broken-promise"}

# ---------------------------------------------------------------------------
# Security flag and severity (ClusterFuzz's published rules, restated)

_HIGH = {"Bad-cast", "Heap-double-free", "Heap-use-after-free",
         "Use-after-poison", "Security DCHECK failure",
         # Ours: a token accepted that was not signed as is is an
         # authentication bypass.
         "Forged-token-accepted"}
_MEDIUM = {"Container-overflow", "Heap-buffer-overflow",
           "Incorrect-function-pointer-type", "Index-out-of-bounds",
           "Memcpy-param-overlap", "Non-positive-vla-bound-value",
           "Object-size", "Stack-buffer-overflow", "UNKNOWN",
           "Use-of-uninitialized-value"}
_UBSAN_SECURITY = {"Bad-cast", "Index-out-of-bounds",
                   "Incorrect-function-pointer-type",
                   "Non-positive-vla-bound-value", "Object-size"}
_UBSAN_NOT_SECURITY = {
    "Divide-by-zero", "Float-cast-overflow", "Integer-overflow",
    "Invalid-bool-value", "Invalid-builtin-use", "Invalid-enum-value",
    "Invalid-null-argument", "Invalid-null-return", "Misaligned-address",
    "No-return-value", "Pointer-overflow", "Potential-null-reference",
    "Undefined-shift", "Unsigned-integer-overflow", "Unreachable code",
    "Implicit-conversion"}
_NOT_SECURITY = {"Stack-overflow", "Fatal-signal", "Overwrites-const-input",
                 "Timeout", "Out-of-memory", "Unexpected-exit", "Abrt",
                 "Null-dereference", "Null-dereference READ",
                 "Null-dereference WRITE", "Floating-point-exception",
                 "Unreachable code", "No-crash"}
_GENERIC = {"READ", "WRITE", "UNKNOWN", "UNKNOWN READ", "UNKNOWN WRITE"}


def security_of(crash_type, address=None):
    """(security flag, severity or None) for a crash type."""
    category = crash_type.split("\n")[0]
    first_word = crash_type.split()[0] if crash_type.split() else ""
    if category == "Forged-token-accepted":
        return True, "High"
    if category in HARNESS_TYPES:
        security = False
    elif "-leak" in category or category in _NOT_SECURITY:
        security = False
    elif category in _UBSAN_SECURITY:
        security = True
    elif category in _UBSAN_NOT_SECURITY:
        security = False
    elif category in _GENERIC:
        # A wild access far from NULL is exploitable; near NULL it is not.
        try:
            addr = int(address or "0", 16)
        except ValueError:
            addr = 0
        security = addr >= 0x1000
    else:
        security = True  # whatever is not understood counts as security
    if not security:
        return False, None
    if first_word in _HIGH:
        severity = "High"
    elif first_word in _MEDIUM:
        severity = "Medium"
    else:
        return True, None
    if "WRITE" in crash_type and severity == "Medium":
        severity = "High"
    return True, severity


# ---------------------------------------------------------------------------
# The analysis


class Crash:
    """A classified crash.  `type` uses ClusterFuzz's convention of a newline
    between the category and the access ("Heap-buffer-overflow\\nREAD 4")."""

    def __init__(self):
        self.type = ""
        self.address = None
        self.frames = []  # the crash stack (first stack of the report)
        self.state = []   # up to three names
        self.security = False
        self.severity = None
        self.verdict = None
        self.why = None
        self.outcome = None
        self.live = []    # allocation sites of live blocks (harness leak)
        self.target = None
        self.summary = None
        self.location = None  # (repo-relative path, line) or None
        self.location_note = None

    @property
    def category(self):
        return self.type.split("\n")[0]

    def type_line(self):
        return self.type.replace("\n", " ")

    def key(self):
        return (self.type, "\n".join(self.state), self.security)

    def bucket_id(self):
        return bucket_id(*self.key())

    def to_json(self, smap=None):
        d = {
            "type": self.type_line(),
            "category": self.category,
            "state": self.state,
            "security": self.security,
            "severity": self.severity,
            "bucket": self.bucket_id(),
            "address": self.address,
            "summary": self.summary,
        }
        if self.verdict or self.why:
            d["verdict"] = self.verdict
            d["why"] = self.why
        if self.outcome is not None:
            d["outcome"] = self.outcome
        if self.live:
            d["live"] = self.live
        if self.location:
            d["location"] = {"uri": self.location[0],
                             "line": self.location[1]}
        else:
            d["location"] = None
        if self.location_note:
            d["location_note"] = self.location_note
        d["frames"] = [f.to_json(smap.relative(f.file) if smap else None)
                       for f in self.frames]
        return d


def bucket_id(crash_type, state, security):
    h = hashlib.sha1()
    h.update(("%s\n--\n%s\n--\n%d" % (crash_type, state, bool(security)))
             .encode("utf-8"))
    return h.hexdigest()[:16]


def _normalize_access(crash_type):
    """Access sizes above 16 read "{*}", as ClusterFuzz files them."""
    def sub(m):
        n = int(m.group(2))
        return "%s %s" % (m.group(1), n if n <= 16 else "{*}")
    return re.sub(r"(READ|WRITE) (\d+)$", sub, crash_type)


def _asan_type(kind):
    kind = kind.strip().lower().replace("_", "-")
    if kind in ("segv", "access-violation"):
        return "UNKNOWN"
    if kind == "abrt":
        return "Abrt"
    if kind == "fpe":
        return "Floating-point-exception"
    if kind == "unknown-crash":
        return "UNKNOWN"
    return kind[:1].upper() + kind[1:]


def _stack_after(lines, start):
    """Frames of the stack that begins at or after lines[start]: the first
    run of consecutive frame lines (a blank line or text ends it)."""
    frames = []
    i = start
    while i < len(lines) and parse_frame(lines[i]) is None:
        # Only skip a few header lines (the access line, "freed by ...").
        if i - start > 4:
            return frames, i
        i += 1
    while i < len(lines):
        fr = parse_frame(lines[i])
        if fr is None:
            break
        if frames and fr.index <= frames[-1].index:
            break  # a new stack starts
        frames.append(fr)
        i += 1
    return frames, i


def _cycle_state(names):
    """For a stack overflow: the repeating cycle of frames, as ClusterFuzz
    does (cycles of up to 10 frames repeated 3 times)."""
    n = len(names)
    for start in range(n):
        for length in range(1, 11):
            if start + 3 * length > n:
                break
            c = names[start:start + length]
            if (names[start + length:start + 2 * length] == c and
                    names[start + 2 * length:start + 3 * length] == c):
                return c[:MAX_STATE_FRAMES]
    return names[:MAX_STATE_FRAMES]


def _live_site_name(site):
    """'core/context.c:120 ctx_read [OpenSSL ../x.c:1]' -> 'ctx_read [OpenSSL]'"""
    m = re.match(r"^(\S+?):(\d+)\s+(\S+)(?:\s+\[(\S+)[^\]]*\])?", site)
    if not m:
        return re.sub(r":\d+", "", site)
    return m.group(3) + (" [%s]" % m.group(4) if m.group(4) else "")


def _site_location(site):
    m = re.match(r"^((?:core|faults|cli|fuzz)/\S+?):(\d+)\b", site)
    return (m.group(1), int(m.group(2))) if m else None


def analyze(text, smap=None, target=None):
    """Classifies the output of one run.  Returns a Crash, or None when the
    text shows no crash."""
    smap = smap or SourceMap()
    lines = text.splitlines()
    c = Crash()
    c.target = target
    sanitizer_at = None  # line index where the first sanitizer report begins
    promise_at = None

    for i, line in enumerate(lines):
        if promise_at is None:
            m = _PROMISE_RE.match(line)
            if m:
                promise_at = i
                c.target = c.target or m.group(1)
                c.verdict = m.group(2)
                c.why = m.group(3).strip()
                for j in range(i + 1, min(i + 400, len(lines))):
                    om = _OUTCOME_RE.match(lines[j])
                    if om and c.outcome is None:
                        try:
                            c.outcome = json.loads(om.group(1))
                        except ValueError:
                            c.outcome = {"unparsed": om.group(1)}
                        continue
                    lm = _LIVE_RE.match(lines[j])
                    if lm:
                        c.live.append(lm.group(1))
                        continue
                    if om or lm:
                        continue
                    if c.outcome is not None and not lines[j].startswith("  "):
                        break
                continue
        if sanitizer_at is not None:
            continue
        if (_ASAN_ERROR_RE.search(line) or _LSAN_RE.search(line) or
                _UBSAN_RE.match(line) or _OOM_RE.search(line) or
                _LIBFUZZER_RE.search(line)):
            # libFuzzer's deadly-signal line after the harness's own line is
            # the harness aborting, not a second bug.
            lm = _LIBFUZZER_RE.search(line)
            if lm and lm.group(1) == "deadly signal" and promise_at is not None:
                continue
            am = _ASAN_ERROR_RE.search(line)
            if am and am.group(1).lower() == "abrt" and promise_at is not None:
                continue
            sanitizer_at = i

    if sanitizer_at is not None and (promise_at is None or
                                     sanitizer_at < promise_at or
                                     _OOM_RE.search(lines[sanitizer_at])):
        _analyze_sanitizer(c, lines, sanitizer_at, smap)
    elif promise_at is not None:
        _analyze_verdict(c, lines, promise_at, smap)
    else:
        return None

    c.security, c.severity = security_of(c.type, c.address)
    _locate(c, smap)
    return c


def _analyze_sanitizer(c, lines, at, smap):
    line = lines[at]
    c.summary = line.strip()
    frames_from = at + 1
    if _OOM_RE.search(line):
        c.type = "Out-of-memory"
    elif _LSAN_RE.search(line):
        # Direct leaks are preferred to indirect ones; the stack is the
        # allocation's.
        direct = [j for j in range(at, len(lines))
                  if _DIRECT_LEAK_RE.match(lines[j])]
        indirect = [j for j in range(at, len(lines))
                    if _INDIRECT_LEAK_RE.match(lines[j])]
        if direct:
            c.type, frames_from = "Direct-leak", direct[0] + 1
        elif indirect:
            c.type, frames_from = "Indirect-leak", indirect[0] + 1
        else:
            c.type = "Direct-leak"
    elif _UBSAN_RE.match(line) and "Sanitizer" not in line.split(":")[0]:
        reason = _UBSAN_RE.match(line).group(2)
        c.type = "UNKNOWN"
        for rx, t in _UBSAN_TYPES:
            if rx.search(reason):
                c.type = t
                break
    elif _LIBFUZZER_RE.search(line) and not _ASAN_ERROR_RE.search(line):
        kind = _LIBFUZZER_RE.search(line).group(1)
        c.type = "Fatal-signal"
        for k, t in (("timeout", "Timeout"), ("deadly signal", "Fatal-signal"),
                     ("fuzz target exited", "Unexpected-exit"),
                     ("fuzz target overwrites", "Overwrites-const-input")):
            if kind.startswith(k):
                c.type = t
    elif _ASAN_DOUBLE_FREE_RE.search(line):
        c.type = "Heap-double-free"
    elif _ASAN_BAD_FREE_RE.search(line):
        c.type = "Invalid-free"
    elif _ASAN_OVERLAP_RE.search(line):
        c.type = "Memcpy-param-overlap"
    else:
        am = _ASAN_ERROR_RE.search(line)
        c.type = _asan_type(am.group(1))
        c.address = am.group(2)
        # The access ("READ of size 4") or, for a SEGV, its kind.
        for j in range(at + 1, min(at + 8, len(lines))):
            m = _ACCESS_RE.match(lines[j])
            if m and not c.type.startswith("UNKNOWN"):
                c.type += "\n%s %s" % (m.group(1).upper(), m.group(2))
                frames_from = j + 1
                break
            m = _SEGV_KIND_RE.search(lines[j])
            if m and c.type == "UNKNOWN" and m.group(1) != "UNKNOWN":
                c.type += " " + m.group(1)
        if c.type.startswith("UNKNOWN") and c.address:
            try:
                if int(c.address, 16) < 0x1000:
                    c.type = c.type.replace("UNKNOWN", "Null-dereference")
            except ValueError:
                pass
    c.type = _normalize_access(c.type)
    c.frames, _ = _stack_after(lines, frames_from)
    names = [f.func for f in state_frames(c.frames, smap)]
    if c.type in ("Timeout", "Out-of-memory", "Overwrites-const-input"):
        # The stack is no use for telling these apart; the target is.
        c.state = [c.target or "NULL"]
    elif c.type == "Stack-overflow":
        c.state = _cycle_state(names)
    else:
        c.state = names[:MAX_STATE_FRAMES]
    if not c.state:
        c.state = [c.target or "NULL"]


def _analyze_verdict(c, lines, at, smap):
    c.summary = lines[at].strip()
    why = c.why or ""
    o = c.outcome if isinstance(c.outcome, dict) else {}
    # The core's safety net (core/session.c ws_session_end): a session ended
    # with a code outside the table is still closed, as *_INTERNAL (500 or
    # 1011) with the reason "no diagnosis given".  Whatever the judge called
    # it, that is the 1011 without a diagnosis.
    undiagnosed = "no diagnosis given" in str(o.get("reason") or "")
    if c.verdict is None:
        # fz_require: a check outside a session.
        c.type = "Accounting-leak" if re.search(r"\bleak|live after", why) \
            else "Broken-promise"
    elif c.verdict == "leaked":
        c.type = VERDICT_TYPES["leaked"]
    elif undiagnosed or (c.verdict == "unexplained" and
                         why.startswith("close 1011")):
        c.type = UNDIAGNOSED_1011
    else:
        c.type = VERDICT_TYPES.get(c.verdict, "Broken-promise")
    # The abort's stack (libFuzzer prints one) is kept for the report but is
    # not the state: the frame that reports a broken promise is not the bug.
    c.frames, _ = _stack_after(lines, at + 1)
    stage = o.get("stage") or "no-stage"
    diag = o.get("diag") or "no-diag"
    faults = o.get("faults") or []
    if c.type == "Accounting-leak" and c.live:
        # The allocation sites of the live blocks.
        seen = []
        for s in c.live:
            n = _live_site_name(s)
            if n not in seen:
                seen.append(n)
        c.state = seen[:MAX_STATE_FRAMES]
    elif c.type == "Accounting-leak" and faults:
        # No allocation sites reported: the failure path that leaked is
        # named by where the (last) fault was injected.
        c.state = [stage, diag,
                   "after " + _live_site_name(faults[-1].get("site", "?"))]
    elif c.type == UNDIAGNOSED_1011 and (undiagnosed or
                                         "without a diagnosis" in why):
        # The substituted *_INTERNAL is not a diagnosis, and the outcome's
        # stage is that row's: where the session was comes from what was
        # happening (the faults injected, the trail).
        c.state = [where_it_happened(o) or stage, "no diagnosis"]
    elif c.type == "Misattributed-fault":
        kinds = sorted({f.get("kind", "?") for f in o.get("faults") or []})
        c.state = [stage, diag, "fault " + ",".join(kinds) if kinds
                   else "no fault"]
    elif c.outcome is not None:
        c.state = [stage, diag]
    else:
        # No outcome printed: the why sentence, numbers masked.
        c.state = [re.sub(r"\d+", "N", why)[:80] or "NULL"]


_FILE_STAGES = {"core/handshake.c": "handshake", "core/jwt.c": "auth",
                "core/crypto.c": "auth", "core/keys.c": "auth",
                "core/context.c": "context", "core/frames.c": "frames",
                "core/message.c": "frames", "core/utf8.c": "frames"}


def where_it_happened(outcome):
    """The stage a session was in when it ended, from its last injected
    fault (an id generator, attribute or randomness fault is the context
    factory's; an allocation names its call site) or its trail; None when
    nothing says."""
    faults = outcome.get("faults") or []
    for fl in reversed(faults):
        if fl.get("kind") in ("idgen", "attr", "random"):
            return "context"
        loc = _site_location(fl.get("site", ""))
        if loc and loc[0] in _FILE_STAGES:
            return _FILE_STAGES[loc[0]]
    for ev in outcome.get("trail") or []:
        if str(ev.get("event", "")).startswith("idgen"):
            return "context"
    return None


_STAGE_FILES = {"handshake": "core/handshake.c", "auth": "core/jwt.c",
                "context": "core/context.c", "frames": "core/frames.c"}


def _locate(c, smap):
    """The first project frame of the bug, repository-relative: never a
    frame of the fuzzing engine, the sanitizer runtime or libc."""
    if c.type == "Accounting-leak":
        for s in c.live:
            loc = _site_location(s)
            if loc and not loc[0].startswith(_ALLOCATOR_FILES):
                c.location = loc
                c.location_note = "allocation site of the first live block"
                return
    if c.type == "Accounting-leak" and isinstance(c.outcome, dict):
        for fl in reversed(c.outcome.get("faults") or []):
            loc = _site_location(fl.get("site", ""))
            if loc and loc[0].startswith("core/") and \
                    not loc[0].startswith(_ALLOCATOR_FILES):
                c.location = loc
                c.location_note = ("where the fault was injected on the "
                                   "path that leaked")
                return
    if c.category not in HARNESS_TYPES:
        for f in c.frames:
            if frame_kind(f, smap) == "project" and f.line:
                c.location = (smap.relative(f.file), f.line)
                c.location_note = "first project frame of the crash stack"
                return
    # Harness verdicts: the outcome names where the session ended, not a
    # line; the diagnosis's use in that stage's source is the best guess.
    if c.location is None and isinstance(c.outcome, dict):
        c.location_note = "the stage's source: no frame names the bug"
        st = c.state[0] if c.type == UNDIAGNOSED_1011 and c.state else \
            c.outcome.get("stage")
        f = _STAGE_FILES.get(st)
        if f:
            c.location = (f, 1)
            if c.type != UNDIAGNOSED_1011:
                c.location_hint_diag = c.outcome.get("diag")
    if c.location is None:
        for f in c.frames:
            if frame_kind(f, smap) in ("harness", "project") and f.line:
                c.location = (smap.relative(f.file), f.line)
                c.location_note = "first harness frame: no project frame"
                return
    if c.location is None and c.target:
        c.location = ("fuzz/%s.c" % c.target, 1)
        c.location_note = "the fuzz target: no frame names the bug"


def refine_location(c, source_root):
    """For a harness verdict located by stage: the first line of that
    stage's source that names the outcome's diagnosis (WS_DIAG_<code>)."""
    diag = getattr(c, "location_hint_diag", None)
    if not diag or not c.location or c.location[1] != 1 or not source_root:
        return
    import os
    path = os.path.join(source_root, c.location[0])
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for n, text in enumerate(f, 1):
                if "WS_DIAG_" + diag in text:
                    c.location = (c.location[0], n)
                    c.location_note = ("first use of WS_DIAG_%s in the stage's"
                                       " source" % diag)
                    return
    except OSError:
        return


def similar(a, b):
    """ClusterFuzz counts a rerun as the same crash when type and security
    agree and the states are alike; here: same type and flag, and the
    states equal or differing in at most one frame."""
    if a is None or b is None:
        return False
    if a.type != b.type or a.security != b.security:
        return False
    if a.state == b.state:
        return True
    sa, sb = a.state, b.state
    if len(sa) != len(sb):
        return False
    return sum(1 for x, y in zip(sa, sb) if x != y) <= 1


def slug(text):
    s = re.sub(r"[^A-Za-z0-9]+", "-", text.replace("{*}", "big")).strip("-")
    return s.lower() or "crash"


def bucketize(crashes):
    """Groups (name, Crash) pairs by (type, state, security flag).  Returns
    a list of dicts in first-seen order."""
    buckets = {}
    order = []
    for name, c in crashes:
        k = c.key()
        if k not in buckets:
            buckets[k] = {"id": c.bucket_id(), "crash": c, "files": []}
            order.append(k)
        buckets[k]["files"].append(name)
    return [buckets[k] for k in order]
