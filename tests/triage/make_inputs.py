#!/usr/bin/env python3
"""Crash inputs for the planted defects (tests/mutants/*.patch), made
deterministically from the fuzz targets' input formats (fuzz/*.c), so the
end-to-end triage test does not depend on a fuzzer's luck.

usage: make_inputs.py DEFECT OUTDIR [REPLAY_BINARY]
  DEFECT: 001 (fuzz_handshake: a query access_token),
          002 (fuzz_frames: a stream that stops inside a frame, so the
               frame loop still holds wslay's context when it is freed),
          003 (fuzz_context: both id generators failing; needs the planted
               fuzz_context replay binary to pick seeds that build a
               context),
          004 (fuzz_frames: any text message)
Writes several files per defect (several crash files of one bug) named
<target>-<defect>-<n>, and prints their paths.  Exit 2 on bad arguments.
"""

import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))

KIND = {"alloc": 0, "idgen": 1, "attr": 2, "random": 3}
MODE = {"once": 0, "from": 1, "all": 2}

# The common input header (fuzz/common.h): byte 0 = config (bits 0-1),
# a fault plan follows (bit 2), chunk sizes follow (bit 3), the target's own
# bits (5-7); then the plan, then the chunk sizes.
CFG_DEFAULT, CFG_FMA = 0, 1
F_PLAN, F_CHUNKS = 0x04, 0x08


def header(cfg=CFG_DEFAULT, rules=(), chunks=(), bits=0):
    flags = cfg | (F_PLAN if rules else 0) | (F_CHUNKS if chunks else 0) | \
        (bits << 5)
    out = bytes([flags])
    if rules:
        # ws_fault_plan_decode: rule count, then kind, mode, N - 1 each.
        out += bytes([len(rules)])
        for kind, mode, n in rules:
            out += bytes([KIND[kind], MODE[mode], n - 1])
    if chunks:
        out += bytes([len(chunks) - 1]) + bytes(chunks)
    return out


def head(target="/chat?access_token=abc"):
    return ("GET %s HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n" % target).encode()


def d001():
    # The header, then the request bytes.
    return [header() + head("/chat?access_token=abc"),
            header() + head("/chat?x=1&access_token=tok123"),
            header(chunks=(6, 12)) + head("/ws?room=1&access_token=zzzzzzzz")]


def split_header(data):
    """(flags, body) of an input in the common header format."""
    flags, at = data[0], 1
    if flags & F_PLAN and at < len(data):
        n = data[at] % 5
        at += 1 + 3 * n
    if flags & F_CHUNKS and at < len(data):
        at += 1 + 1 + data[at] % 8
    return flags, data[at:]


def context_bodies(binary):
    """{config: token spec} from the committed fuzz_context seeds whose
    fault-free run builds a context and ends in CLOSE_CLIENT (the token spec
    format is fuzz/forge.h's; taking it from the seeds keeps this file
    independent of it)."""
    seeds = os.path.join(ROOT, "corpus", "fuzz_context")
    env = dict(os.environ, WSGATE_FUZZ_VERBOSE="1",
               ASAN_OPTIONS="abort_on_error=1:detect_leaks=0")
    out = {}
    for name in sorted(os.listdir(seeds)):
        with open(os.path.join(seeds, name), "rb") as f:
            data = f.read()
        if not data:
            continue
        flags, body = split_header(data)
        cfg = flags & 3
        if cfg in out or cfg not in (CFG_DEFAULT, CFG_FMA):
            continue
        p = subprocess.run([binary, os.path.join(seeds, name)],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           env=env)
        text = p.stdout.decode("utf-8", "replace")
        if p.returncode == 0 and re.search(
                r'clean: diagnosed \{"stage":"frames","diag":"CLOSE_CLIENT"',
                text):
            out[cfg] = (flags >> 5, body)
        if len(out) == 2:
            break
    return out


def d003(binary):
    # The header (config: header or first-message auth) with the plan, then
    # a token spec that builds a context.
    bodies = context_bodies(binary)
    out = []
    for cfg, rules in ((CFG_DEFAULT, [("idgen", "all", 1)]),
                       (CFG_DEFAULT, [("idgen", "from", 1)]),
                       (CFG_FMA, [("idgen", "all", 1)])):
        if cfg in bodies:
            bits, body = bodies[cfg]
            out.append(header(cfg=cfg, rules=rules, bits=bits) + body)
    return out


def d004():
    # Target bit 0: structured frames, [first byte, length, payload]...
    def frames(*fs):
        out = header(bits=1)
        for b0, payload in fs:
            out += bytes([b0, len(payload)]) + payload
        return out
    return [frames((0x81, b'{"type":"ping"}')),
            frames((0x81, b'{"type":"user_message","text":"hi"}')),
            frames((0x01, b'{"type":'), (0x80, b'"ping"}'))]


def d002():
    """Raw frames (target bits 0) cut short: a frame header announcing more
    payload than follows, at different points of the frame (inside the
    payload, inside the mask, inside an extended length)."""
    mask = bytes([1, 2, 3, 4])
    return [header() + bytes([0x81, 0x8a]) + mask + b"abc",
            header() + bytes([0x82, 0x85]) + mask[:2],
            header() + bytes([0x81, 0xfe, 0x01])]


def main(argv):
    if len(argv) < 2 or argv[0] not in ("001", "002", "003", "004"):
        sys.stderr.write(__doc__)
        return 2
    defect, outdir = argv[0], argv[1]
    target = {"001": "fuzz_handshake", "002": "fuzz_frames",
              "003": "fuzz_context", "004": "fuzz_frames"}[defect]
    if defect == "003":
        if len(argv) < 3 or not os.access(argv[2], os.X_OK):
            sys.stderr.write("make_inputs: %s needs the planted "
                             "fuzz_context replay binary\n" % defect)
            return 2
        inputs = d003(argv[2])
        if not inputs:
            sys.stderr.write("make_inputs: %s: no seed builds a context, or "
                             "no allocation hit reaches the wslay probe\n" %
                             defect)
            return 1
    else:
        inputs = {"001": d001, "002": d002, "004": d004}[defect]()
    os.makedirs(outdir, exist_ok=True)
    for i, data in enumerate(inputs, 1):
        p = os.path.join(outdir, "%s-%s-%d" % (target, defect, i))
        with open(p, "wb") as f:
            f.write(data)
        print(p)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
