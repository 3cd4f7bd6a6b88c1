#!/usr/bin/python3
"""Raw-socket RFC 6455 conformance client for wsgate serve, written for this
project in the spirit of the Autobahn|Testsuite categories 1-7, 9 and 10
(framing, pings/pongs, reserved bits, opcodes, fragmentation, UTF-8, close
handling, limits, auto-fragmentation).  Frames are built byte by byte here,
so the client can send what no library would: RSV bits, reserved opcodes,
unmasked frames, fragmented control frames, bad UTF-8 split across
fragments, bad close codes, oversize messages.

Each case sends its bytes, checks the replies (pongs with their payloads,
acks, error messages) and the server's close code and reason (the reason is
the diagnosis code, README table), then answers the close.  One JSON line
per case on stdout for check_log.py; a summary on stderr.

usage: raw_conformance.py conformance HOST:PORT TOKENS_JSON
       raw_conformance.py misbehave HOST:PORT TOKENS_JSON
           (needs the server started with --handshake-timeout 1000
            --idle-timeout 1500 --close-timeout 1000)
       raw_conformance.py limits HOST:PORT TOKENS_JSON SERVER_PID
           (a server with --max-conns 3, first_message_auth and
            --auth-timeout 1000; ends by sending it SIGTERM)"""
import base64
import json
import os
import signal
import socket
import struct
import sys
import time

MASK = b'\x37\xfa\x21\x3d'
TEXT, BINARY, CLOSE, PING, PONG, CONT = 1, 2, 8, 9, 10, 0
MAX = 1048576  # max_message_bytes (default config)
failures = 0
results = []


def frame(op, payload=b'', fin=True, rsv=0, mask=True, force_len=None):
    """A client frame; force_len=126/127 uses a longer length form than
    needed (not minimally encoded)."""
    if isinstance(payload, str):
        payload = payload.encode()
    n = len(payload)
    b0 = (0x80 if fin else 0) | (rsv << 4) | op
    mbit = 0x80 if mask else 0
    if force_len == 126 or (force_len is None and 126 <= n < 65536):
        head = struct.pack('!BBH', b0, mbit | 126, n)
    elif force_len == 127 or (force_len is None and n >= 65536):
        head = struct.pack('!BBQ', b0, mbit | 127, n)
    else:
        head = struct.pack('!BB', b0, mbit | n)
    if not mask:
        return head + payload
    body = bytes(c ^ MASK[i & 3] for i, c in enumerate(payload)) \
        if n < 4096 else xor_fast(payload)
    return head + MASK + body


def xor_fast(p):
    k = (MASK * (len(p) // 4 + 1))[:len(p)]
    return (int.from_bytes(p, 'big') ^ int.from_bytes(k, 'big')).to_bytes(
        len(p), 'big')


def close_frame(code=None, reason=b''):
    if code is None:
        return frame(CLOSE, b'')
    if isinstance(reason, str):
        reason = reason.encode()
    return frame(CLOSE, struct.pack('!H', code) + reason)


def user_message(total):
    """A user_message JSON text of exactly total bytes."""
    base = '{"type":"user_message","text":""}'
    return base[:-2] + 'a' * (total - len(base)) + '"}'


class Conn:
    def __init__(self, addr, token=None, head=None, timeout=10):
        host, port = addr.rsplit(':', 1)
        self.sock = socket.create_connection((host, int(port)),
                                             timeout=timeout)
        self.port = self.sock.getsockname()[1]
        self.buf = b''
        self.addr = addr
        if head is None:
            key = base64.b64encode(os.urandom(16)).decode()
            auth = f'Authorization: Bearer {token}\r\n' if token else ''
            head = (f'GET /chat HTTP/1.1\r\nHost: {addr}\r\n'
                    'Upgrade: websocket\r\nConnection: Upgrade\r\n'
                    f'Sec-WebSocket-Key: {key}\r\n'
                    'Sec-WebSocket-Version: 13\r\n'
                    'Sec-WebSocket-Extensions: permessage-deflate\r\n'
                    f'{auth}\r\n')
        if head:
            self.sock.sendall(head.encode() if isinstance(head, str) else head)

    def fill(self):
        try:
            d = self.sock.recv(65536)
        except (ConnectionResetError, socket.timeout):
            d = b''
        if not d:
            return False
        self.buf += d
        return True

    def http(self):
        """Reads the HTTP response head (and body for an error)."""
        while b'\r\n\r\n' not in self.buf:
            if not self.fill():
                return None, {}, b''
        head, self.buf = self.buf.split(b'\r\n\r\n', 1)
        lines = head.decode().split('\r\n')
        status = int(lines[0].split()[1])
        hdrs = {}
        for ln in lines[1:]:
            k, v = ln.split(':', 1)
            hdrs[k.strip().lower()] = v.strip()
        body = b''
        if status != 101:
            n = int(hdrs.get('content-length', '0'))
            while len(self.buf) < n and self.fill():
                pass
            body, self.buf = self.buf[:n], self.buf[n:]
        return status, hdrs, body

    def next_frame(self):
        """(opcode, payload, fin) of the next server frame, or None on EOF."""
        while True:
            if len(self.buf) >= 2:
                b0, b1 = self.buf[0], self.buf[1]
                if b1 & 0x80:
                    raise ValueError('server frame is masked')
                if b0 & 0x70:
                    raise ValueError('server frame has RSV bits')
                n, off = b1 & 0x7f, 2
                if n == 126 and len(self.buf) >= 4:
                    n, off = struct.unpack('!H', self.buf[2:4])[0], 4
                elif n == 127 and len(self.buf) >= 10:
                    n, off = struct.unpack('!Q', self.buf[2:10])[0], 10
                elif n >= 126:
                    n = None
                if n is not None and len(self.buf) >= off + n:
                    p = self.buf[off:off + n]
                    self.buf = self.buf[off + n:]
                    return b0 & 0x0f, p, bool(b0 & 0x80)
            if not self.fill():
                return None

    def send(self, data, chunk=None):
        if chunk:
            for i in range(0, len(data), chunk):
                self.sock.sendall(data[i:i + chunk])
        else:
            self.sock.sendall(data)


def fail(name, msg):
    global failures
    failures += 1
    print(f'raw: {name}: {msg}', file=sys.stderr)


def report(client, name, port, diag, http, close, reason, messages):
    results.append(name)
    print(json.dumps({'client': client, 'case': name,
                      'peer': f'127.0.0.1:{port}', 'diag': diag,
                      'http_status': http, 'close_code': close,
                      'reason': reason, 'messages': messages}), flush=True)


def check_reply(name, want, op, p):
    """want: 'ack', 'pong' (JSON), 'error:CODE', or ('pong', bytes)."""
    if isinstance(want, tuple):
        if op != PONG or p != want[1]:
            fail(name, f'wanted control pong {want[1][:20]!r}, got op {op} '
                       f'{p[:40]!r}')
        return 0
    if op != TEXT:
        fail(name, f'wanted {want}, got opcode {op} {p[:40]!r}')
        return 0
    m = json.loads(p)
    if want == 'ack':
        ok = m.get('type') == 'ack' and m.get('request_id', '').startswith(
            'req_')
    elif want == 'pong':
        ok = m == {'type': 'pong'}
    elif want.startswith('error:'):
        ok = m == {'type': 'error', 'code': want[6:]}
    elif want == 'auth_ok':
        ok = m.get('type') == 'auth_ok' and m.get('user_id')
    else:
        ok = False
    if not ok:
        fail(name, f'wanted {want}, got {p[:80]!r}')
    return 1


def run_case(addr, token, name, send, replies, close, diag, chunk=None,
             client='raw'):
    """send: bytes; replies: expected replies in order; close/diag: the
    server's close code and reason, or None when the session must stay open
    (then the client closes with 1000 and expects the echo)."""
    c = Conn(addr, token)
    status, _, _ = c.http()
    if status != 101:
        return fail(name, f'upgrade failed: {status}')
    c.send(send, chunk)
    if close is None:
        c.send(close_frame(1000, 'done'))
        close, diag = 1000, 'CLOSE_CLIENT'
    msgs = 0
    for want in replies:
        f = c.next_frame()
        if f is None:
            return fail(name, f'EOF while waiting for {want}')
        if f[0] == CLOSE:
            code = struct.unpack('!H', f[1][:2])[0] if len(f[1]) >= 2 else None
            return fail(name, f'closed {code} {f[1][2:]!r} while waiting for '
                              f'{want}')
        msgs += check_reply(name, want, f[0], f[1])
    f = c.next_frame()
    while f is not None and f[0] != CLOSE:
        fail(name, f'unexpected frame op {f[0]} {f[1][:60]!r}')
        f = c.next_frame()
    if f is None:
        return fail(name, f'no close frame (wanted {close} {diag})')
    code = struct.unpack('!H', f[1][:2])[0] if len(f[1]) >= 2 else None
    reason = f[1][2:].decode()
    if code != close or reason != diag:
        fail(name, f'close {code} {reason!r}, wanted {close} {diag!r}')
    if diag != 'CLOSE_CLIENT':
        try:
            c.send(close_frame(code))  # answer the server's close
        except OSError:
            pass
    # The server closes the TCP connection after the close handshake.
    c.sock.settimeout(5)
    while c.fill():
        pass
    c.sock.close()
    report(client, name, c.port, diag, 101, code, reason, msgs)


# ---- the cases -------------------------------------------------------------

def conformance_cases():
    P = '{"type":"ping"}'
    cases = []

    def add(cid, send, replies=(), close=None, diag=None, chunk=None):
        cases.append((cid, send, list(replies), close, diag, chunk))

    # 1: framing.  Text messages of the boundary lengths of the three
    # length encodings, written whole and in small pieces; binary closes
    # 1003 (the message protocol is JSON text).
    for i, n in enumerate([125, 126, 127, 128, 65535, 65536, 131072]):
        add(f'1.1.{i + 1}', frame(TEXT, user_message(n)), ['ack'])
    add('1.1.8', frame(TEXT, user_message(65536)), ['ack'], chunk=997)
    add('1.1.9', frame(TEXT, ''), ['error:MSG_BAD_JSON'])
    for i, n in enumerate([0, 125, 126, 65536]):
        add(f'1.2.{i + 1}', frame(BINARY, bytes(n)), [], 1003, 'FRAME_BINARY')
    # 2: pings and pongs.
    add('2.1', frame(PING), [('pong', b'')])
    add('2.2', frame(PING, b'Hello, wsgate'), [('pong', b'Hello, wsgate')])
    add('2.3', frame(PING, bytes(range(8)) + b'\xff\xfe'),
        [('pong', bytes(range(8)) + b'\xff\xfe')])
    add('2.4', frame(PING, b'*' * 125), [('pong', b'*' * 125)])
    add('2.5', frame(PING, b'*' * 126), [], 1002, 'FRAME_BAD_HEADER')
    add('2.6', frame(PING, b'p' * 125), [('pong', b'p' * 125)], chunk=1)
    add('2.7', frame(PONG), [])
    add('2.8', frame(PONG, b'unsolicited'), [])
    add('2.9', frame(PONG, b'x') + frame(PING, b'y'), [('pong', b'y')])
    add('2.10', b''.join(frame(PING, b'%d' % i) for i in range(10)),
        [('pong', b'%d' % i) for i in range(10)])
    add('2.11', b''.join(frame(PING, b'%d' % i) for i in range(10)),
        [('pong', b'%d' % i) for i in range(10)], chunk=1)
    # 3: reserved bits, on every kind of frame, after a good message.
    for rsv in range(1, 8):
        add(f'3.{rsv}', frame(TEXT, P) + frame(TEXT, P, rsv=rsv), ['pong'],
            1002, 'FRAME_RSV')
    add('3.8', frame(PING, b'r', rsv=4), [], 1002, 'FRAME_RSV')
    add('3.9', frame(BINARY, b'\x00', rsv=2), [], 1002, 'FRAME_RSV')
    add('3.10', frame(CLOSE, struct.pack('!H', 1000), rsv=1), [], 1002,
        'FRAME_RSV')
    # 4: reserved opcodes, data (3-7) and control (0xB-0xF).
    for i, op in enumerate([3, 4, 5, 6, 7]):
        add(f'4.1.{i + 1}', frame(TEXT, P) + frame(op, b'abc'), ['pong'],
            1002, 'FRAME_OPCODE')
    for i, op in enumerate([0xB, 0xC, 0xD, 0xE, 0xF]):
        add(f'4.2.{i + 1}', frame(op, b'') + frame(TEXT, P), [], 1002,
            'FRAME_OPCODE')
    # 5: fragmentation.
    msg = json.dumps({'type': 'user_message', 'text': 'fragments'})
    add('5.1', frame(PING, b'a', fin=False) + frame(CONT, b'b'), [], 1002,
        'FRAME_BAD_HEADER')
    add('5.2', frame(PONG, b'a', fin=False) + frame(CONT, b'b'), [], 1002,
        'FRAME_BAD_HEADER')
    add('5.3', frame(TEXT, msg[:9], fin=False) + frame(CONT, msg[9:]),
        ['ack'])
    add('5.4', frame(TEXT, msg[:9], fin=False) + frame(CONT, msg[9:]),
        ['ack'], chunk=1)
    add('5.5', frame(TEXT, msg[:5], fin=False) + frame(PING, b'mid') +
        frame(CONT, msg[5:]), [('pong', b'mid'), 'ack'])
    add('5.6', frame(TEXT, msg[:5], fin=False) + frame(PING, b'1') +
        frame(CONT, msg[5:12], fin=False) + frame(PING, b'2') +
        frame(CONT, msg[12:]), [('pong', b'1'), ('pong', b'2'), 'ack'])
    add('5.7', frame(TEXT, msg[:5], fin=False) + frame(PONG, b'x') +
        frame(CONT, msg[5:]), ['ack'])
    add('5.8', frame(CONT, b'abc'), [], 1002, 'FRAME_CONTINUATION')
    add('5.9', frame(CONT, b'abc', fin=False) + frame(CONT, b'def'), [], 1002,
        'FRAME_CONTINUATION')
    add('5.10', frame(TEXT, msg) + frame(CONT, b'x'), ['ack'], 1002,
        'FRAME_CONTINUATION')
    add('5.11', frame(TEXT, msg[:4], fin=False) + frame(TEXT, msg), [], 1002,
        'FRAME_INTERLEAVED')
    add('5.12', frame(TEXT, msg[:4], fin=False) + frame(BINARY, b'x'), [],
        1002, 'FRAME_INTERLEAVED')
    add('5.13', frame(TEXT, msg[:1], fin=False) +
        b''.join(frame(CONT, ch, fin=False) for ch in msg[1:]) +
        frame(CONT, ''), ['ack'])
    add('5.14', frame(TEXT, '', fin=False) + frame(CONT, msg[:6], fin=False) +
        frame(CONT, '', fin=False) + frame(CONT, msg[6:]), ['ack'])
    add('5.15', frame(TEXT, msg[:4], fin=False) + frame(CONT, msg[4:]) +
        frame(CONT, b'more', fin=False), ['ack'], 1002, 'FRAME_CONTINUATION')
    # 6: UTF-8, validated as bytes arrive, across fragments.
    good = '{"type":"user_message","text":"κόσμε ü € 𝄞"}'.encode()
    add('6.1.1', frame(TEXT, good), ['ack'])
    add('6.1.2', frame(TEXT, good[:1], fin=False) +
        b''.join(frame(CONT, good[i:i + 1], fin=False)
                 for i in range(1, len(good))) + frame(CONT, b''), ['ack'])
    k = good.index('𝄞'.encode())
    add('6.1.3', frame(TEXT, good[:k + 2], fin=False) +
        frame(CONT, good[k + 2:]), ['ack'])  # a 4-byte char split 2+2
    bad_seqs = [
        b'\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited',
        b'\x80', b'\xbf', b'\x80\xbf', b'\xc0\xaf', b'\xe0\x80\xaf',
        b'\xf0\x80\x80\xaf', b'\xf8\x88\x80\x80\xaf', b'\xc1\xbf',
        b'\xed\xa0\x80', b'\xed\xbf\xbf', b'\xed\xa0\x80\xed\xb0\x80',
        b'\xf4\x90\x80\x80', b'\xfe', b'\xff', b'\xfe\xfe\xff\xff',
        b'\xc2', b'\xe2\x82', b'\xf0\x9f\x98', b'\xc0\x80',
    ]
    for i, seq in enumerate(bad_seqs):
        add(f'6.2.{i + 1}',
            frame(TEXT, b'{"type":"user_message","text":"' + seq + b'"}'),
            [], 1007, 'FRAME_UTF8')
    # Bad UTF-8 split across fragments: each half is a valid prefix.
    add('6.3.1', frame(TEXT, b'{"text":"\xe2\x82', fin=False) +
        frame(CONT, b'A"}'), [], 1007, 'FRAME_UTF8')
    add('6.3.2', frame(TEXT, b'{"text":"\xf0', fin=False) +
        frame(CONT, b'\x9f', fin=False) + frame(CONT, b'\x41"}'), [], 1007,
        'FRAME_UTF8')
    add('6.3.3', frame(TEXT, b'{"text":"\xed', fin=False) +
        frame(CONT, b'\xa0\x80"}'), [], 1007, 'FRAME_UTF8')
    # Fail fast: invalid in a middle fragment, the message never finishes.
    add('6.4.1', frame(TEXT, b'{"text":"ok', fin=False) +
        frame(CONT, b'\xff', fin=False), [], 1007, 'FRAME_UTF8')
    add('6.4.2', frame(TEXT, b'{"text":"\xce\xba\xff', fin=False), [], 1007,
        'FRAME_UTF8')
    add('6.4.3', frame(TEXT, good[:5] + b'\xc0\xaf' + b'x' * 1000,
                       fin=False), [], 1007, 'FRAME_UTF8', chunk=3)
    # 7: close handling.
    add('7.1.1', frame(TEXT, P) + close_frame(1000), ['pong'], 1000,
        'CLOSE_CLIENT')
    add('7.1.2', close_frame(1000) + close_frame(1000), [], 1000,
        'CLOSE_CLIENT')
    add('7.1.3', close_frame(1000) + frame(PING, b'late'), [], 1000,
        'CLOSE_CLIENT')
    add('7.1.4', close_frame(1000) + frame(TEXT, P), [], 1000,
        'CLOSE_CLIENT')
    add('7.1.5', frame(TEXT, msg[:4], fin=False) + close_frame(1000), [],
        1000, 'CLOSE_CLIENT')
    add('7.3.1', close_frame(None), [], 1000, 'CLOSE_CLIENT')
    add('7.3.2', frame(CLOSE, b'\x03'), [], 1002, 'FRAME_CLOSE_PAYLOAD')
    add('7.3.3', close_frame(1000, ''), [], 1000, 'CLOSE_CLIENT')
    add('7.3.4', close_frame(1000, 'a reason'), [], 1000, 'CLOSE_CLIENT')
    add('7.3.5', close_frame(1000, 'r' * 123), [], 1000, 'CLOSE_CLIENT')
    add('7.3.6', close_frame(1000, 'r' * 124), [], 1002, 'FRAME_BAD_HEADER')
    add('7.5.1', close_frame(1000, b'\xce\xba\xed\xa0\x80'), [], 1007,
        'FRAME_CLOSE_UTF8')
    valid = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012,
             1013, 1014, 3000, 3999, 4000, 4999]
    for i, code in enumerate(valid):
        # A client's 1011/1013 is answered 1000: the server sends those
        # only with its own internal/resource diagnosis.
        add(f'7.7.{i + 1}', close_frame(code, 'c'), [],
            1000 if code in (1011, 1013) else code, 'CLOSE_CLIENT')
    invalid = [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000,
               65535]
    for i, code in enumerate(invalid):
        add(f'7.9.{i + 1}', close_frame(code), [], 1002, 'FRAME_CLOSE_CODE')
    # 9: limits and volume.  max_message_bytes is 1 MiB (default config).
    for i, n in enumerate([65536, 262144, MAX]):
        add(f'9.1.{i + 1}', frame(TEXT, user_message(n)), ['ack'])
    add('9.1.4', frame(TEXT, user_message(MAX + 1)), [], 1009,
        'FRAME_TOO_BIG')
    big = user_message(MAX).encode()
    add('9.2.1', frame(TEXT, big[:4096], fin=False) +
        b''.join(frame(CONT, big[i:i + 4096], fin=False)
                 for i in range(4096, MAX - 4096, 4096)) +
        frame(CONT, big[MAX - 4096:]), ['ack'])
    add('9.2.2', frame(TEXT, big[:600000], fin=False) +
        frame(CONT, big[600000:] + b'x'), [], 1009, 'FRAME_TOO_BIG')
    add('9.3.1', frame(BINARY, bytes(MAX)), [], 1003, 'FRAME_BINARY')
    add('9.4.1', frame(TEXT, P) * 1000, ['pong'] * 1000)
    add('9.4.2', frame(TEXT, user_message(4096)) * 256, ['ack'] * 256,
        chunk=65536)
    add('9.5.1', frame(TEXT, user_message(300000)), ['ack'], chunk=1000)
    # 10: auto-fragmentation: one message cut into fragments of changing
    # sizes (a fixed pattern), and interleaved with pings.
    m = user_message(20000).encode()
    sizes, parts, i = [1, 7, 64, 125, 126, 1000, 4096], [], 0
    while i < len(m):
        n = sizes[len(parts) % len(sizes)]
        parts.append(m[i:i + n])
        i += n
    add('10.1.1', frame(TEXT, parts[0], fin=False) +
        b''.join(frame(CONT, p, fin=False) for p in parts[1:]) +
        frame(CONT, b''), ['ack'])
    add('10.1.2', frame(TEXT, parts[0], fin=False) +
        b''.join(frame(CONT, p, fin=False) + frame(PING, b'%d' % j)
                 for j, p in enumerate(parts[1:4])) +
        b''.join(frame(CONT, p, fin=False) for p in parts[4:]) +
        frame(CONT, b''), [('pong', b'0'), ('pong', b'1'), ('pong', b'2'),
                           'ack'])
    # RFC 6455 5.1/5.2 beyond those categories: masking and length form.
    add('11.1', frame(TEXT, P, mask=False), [], 1002, 'FRAME_UNMASKED')
    add('11.2', frame(PING, b'u', mask=False), [], 1002, 'FRAME_UNMASKED')
    add('11.3', frame(TEXT, P, force_len=126), [], 1002, 'FRAME_BAD_HEADER')
    add('11.4', frame(TEXT, P, force_len=127), [], 1002, 'FRAME_BAD_HEADER')
    return cases


def conformance(addr, tokens):
    cases = conformance_cases()
    tok = tokens['hs256']
    for cid, send, replies, close, diag, chunk in cases:
        try:
            run_case(addr, tok, cid, send, replies, close, diag, chunk)
        except (OSError, ValueError) as e:
            fail(cid, f'{type(e).__name__}: {e}')
    print(f'raw: conformance: {len(cases)} cases, {len(results)} completed, '
          f'{failures} failure(s)', file=sys.stderr)


def misbehave(addr, tokens):
    """What a client can do to a server: none of it may crash, leak or hang
    it, and each ends in a diagnosis (check_log compares them)."""
    tok = tokens['hs256']
    # Slowloris: a byte of the head every 150 ms; the handshake deadline
    # (1000 ms) is fixed at accept, so it is not reset by each byte.
    c = Conn(addr, head=b'')
    head = f'GET /chat HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\n'
    t0 = time.monotonic()
    for ch in head.encode():
        try:
            c.sock.send(bytes([ch]))
        except OSError:
            break
        if b'\r\n\r\n' in c.buf or time.monotonic() - t0 > 4:
            break
        c.sock.settimeout(0.15)
        try:
            d = c.sock.recv(4096)
            if d:
                c.buf += d
                break
            break
        except socket.timeout:
            pass
    c.sock.settimeout(5)
    status, hdrs, body = c.http()
    if status != 408 or body != b'HS_TIMEOUT':
        fail('slowloris', f'{status} {body!r}, wanted 408 HS_TIMEOUT')
    report('raw-misbehave', 'slowloris', c.port, 'HS_TIMEOUT', status, None,
           body.decode(), None)
    c.sock.close()
    # Idle after the upgrade: 1001 IDLE_TIMEOUT.
    run_idle(addr, tok)
    # Reset in the middle of a frame.
    c = Conn(addr, tok)
    c.http()
    c.send(frame(TEXT, user_message(5000))[:1000])
    time.sleep(0.1)
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                      struct.pack('ii', 1, 0))
    port = c.port
    c.sock.close()
    report('raw-misbehave', 'reset_mid_frame', port, 'FRAME_TRUNCATED', 101,
           None, None, None)
    # Half-closed: a message, then FIN; the reply still arrives.
    c = Conn(addr, tok)
    c.http()
    c.send(frame(TEXT, '{"type":"ping"}'))
    c.sock.shutdown(socket.SHUT_WR)
    f = c.next_frame()
    if not f or f[0] != TEXT or json.loads(f[1]) != {'type': 'pong'}:
        fail('half_close', f'wanted a pong, got {f}')
    if c.next_frame() is not None:
        fail('half_close', 'wanted EOF after the pong')
    report('raw-misbehave', 'half_close', c.port, 'EOF_CLEAN', 101, None,
           None, 1)
    c.sock.close()
    # Half-closed inside a frame.
    c = Conn(addr, tok)
    c.http()
    c.send(frame(TEXT, '{"type":"ping"}')[:5])
    c.sock.shutdown(socket.SHUT_WR)
    if c.next_frame() is not None:
        fail('half_close_mid_frame', 'wanted EOF')
    report('raw-misbehave', 'half_close_mid_frame', c.port,
           'FRAME_TRUNCATED', 101, None, None, 0)
    c.sock.close()
    # A client that never reads: the server stops reading it once its
    # replies are not drained, so the client's writes block after a bounded
    # amount (backpressure), and the idle deadline then ends the session.
    c = Conn(addr, tok)
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    c.http()
    c.sock.setblocking(False)
    chunk = frame(PING, b'z' * 125) * 512
    sent, view = 0, memoryview(chunk)
    t0 = time.monotonic()
    stalled = False
    while time.monotonic() - t0 < 5 and not stalled:
        try:
            k = c.sock.send(view)
            sent += k
            view = view[k:] if k < len(view) else memoryview(chunk)
        except BlockingIOError:
            # Blocked: wait a little in case the server is just slow.
            deadline = time.monotonic() + 0.5
            while time.monotonic() < deadline:
                time.sleep(0.05)
                try:
                    k = c.sock.send(view)
                    sent += k
                    view = view[k:] if k < len(view) else memoryview(chunk)
                    break
                except BlockingIOError:
                    pass
            else:
                stalled = True
    if not stalled or sent > 64 << 20:
        fail('never_reads', f'no backpressure: {sent} bytes accepted')
    # Meanwhile the server serves others.
    run_case(addr, tok, 'during_never_reads', frame(TEXT, '{"type":"ping"}'),
             ['pong'], None, None, client='raw-misbehave')
    time.sleep(3.0)  # idle 1.5 s + close timeout 1 s
    report('raw-misbehave', 'never_reads', c.port, 'IDLE_TIMEOUT', 101, 1001,
           'IDLE_TIMEOUT', None)
    c.sock.close()
    print(f'raw: never_reads: backpressure after {sent} bytes',
          file=sys.stderr)
    # Not HTTP at all, and nothing at all.
    c = Conn(addr, head=b'HELLO\r\n\r\n')
    status, _, body = c.http()
    if status != 400 or body != b'HS_REQUEST_LINE':
        fail('garbage', f'{status} {body!r}')
    report('raw-misbehave', 'garbage', c.port, 'HS_REQUEST_LINE', status, None,
           body.decode(), None)
    c.sock.close()
    c = Conn(addr, head=b'')
    c.sock.shutdown(socket.SHUT_WR)
    if c.fill():
        fail('empty', f'server wrote {c.buf!r}')
    report('raw-misbehave', 'empty', c.port, 'HS_INCOMPLETE', None, None,
           None, None)
    c.sock.close()
    print(f'raw: misbehave: {len(results)} cases, {failures} failure(s)',
          file=sys.stderr)


def run_idle(addr, tok):
    c = Conn(addr, tok)
    c.http()
    f = c.next_frame()
    code = struct.unpack('!H', f[1][:2])[0] if f and f[0] == CLOSE else None
    reason = f[1][2:].decode() if code else None
    if code != 1001 or reason != 'IDLE_TIMEOUT':
        fail('idle', f'close {code} {reason!r}, wanted 1001 IDLE_TIMEOUT')
    c.send(close_frame(1001))
    while c.fill():
        pass
    report('raw-misbehave', 'idle', c.port, 'IDLE_TIMEOUT', 101, code, reason,
           0)
    c.sock.close()


def limits(addr, tokens, pid):
    """first_message_auth server, --max-conns 3, --auth-timeout 1000."""
    tok = tokens['hs256']
    # First-message auth that never comes: 1008 AUTH_TIMEOUT.
    c = Conn(addr)
    status, _, _ = c.http()
    f = c.next_frame()
    code = struct.unpack('!H', f[1][:2])[0] if f and f[0] == CLOSE else None
    reason = f[1][2:].decode() if code else None
    if status != 101 or code != 1008 or reason != 'AUTH_TIMEOUT':
        fail('auth_timeout', f'{status} {code} {reason!r}')
    c.send(close_frame(1008))
    while c.fill():
        pass
    report('raw-limits', 'auth_timeout', c.port, 'AUTH_TIMEOUT', 101, code,
           reason, 0)
    c.sock.close()
    # Three sessions authenticated by their first message, held open.
    held = []
    for i in range(3):
        c = Conn(addr)
        c.http()
        c.send(frame(TEXT, json.dumps({'type': 'auth', 'token': tok})))
        f = c.next_frame()
        if not f or json.loads(f[1]).get('type') != 'auth_ok':
            fail('held', f'no auth_ok: {f}')
        held.append(c)
    # The fourth is refused with the table's 503 before any session.
    c = Conn(addr, tok)
    status, hdrs, body = c.http()
    if status != 503 or body != b'HS_CONN_LIMIT' or 'retry-after' not in hdrs:
        fail('conn_limit', f'{status} {hdrs} {body!r}')
    report('raw-limits', 'conn_limit', c.port, 'HS_CONN_LIMIT', status, None,
           body.decode(), None)
    c.sock.close()
    time.sleep(0.3)
    # Shutdown: SIGTERM; every open session is closed 1001 SERVER_SHUTDOWN.
    os.kill(pid, signal.SIGTERM)
    for c in held:
        f = c.next_frame()
        code = struct.unpack('!H', f[1][:2])[0] if f and f[0] == CLOSE \
            else None
        reason = f[1][2:].decode() if code else None
        if code != 1001 or reason != 'SERVER_SHUTDOWN':
            fail('shutdown', f'close {code} {reason!r}')
        c.send(close_frame(1001))
        while c.fill():
            pass
        report('raw-limits', 'shutdown', c.port, 'SERVER_SHUTDOWN', 101, code,
               reason, 1)
        c.sock.close()
    print(f'raw: limits: {len(results)} cases, {failures} failure(s)',
          file=sys.stderr)


def main(argv):
    modes = {'conformance': 4, 'misbehave': 4, 'limits': 5}
    if len(argv) < 2 or modes.get(argv[1]) != len(argv):
        print(__doc__, file=sys.stderr)
        return 2
    tokens = json.load(open(argv[3]))['tokens']
    if argv[1] == 'conformance':
        conformance(argv[2], tokens)
    elif argv[1] == 'misbehave':
        misbehave(argv[2], tokens)
    else:
        try:
            pid = int(argv[4])
        except ValueError:
            print(__doc__, file=sys.stderr)
            return 2
        limits(argv[2], tokens, pid)
    return 1 if failures or not results else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
