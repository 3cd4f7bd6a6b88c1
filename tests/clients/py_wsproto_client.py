#!/usr/bin/python3
"""Real-client test with python3-wsproto (Debian), a sans-IO client driven
over a plain socket: it offers permessage-deflate, which wsgate must
decline; it authenticates, exchanges messages (one of them fragmented),
closes, and is refused with bad tokens (reading the 401 body).  One JSON
line per case for check_log.py.

usage: py_wsproto_client.py HOST:PORT TOKENS_JSON"""
import json
import socket
import sys

from wsproto import ConnectionType, WSConnection
from wsproto.events import (AcceptConnection, BytesMessage, CloseConnection,
                            Message, RejectConnection, RejectData, Request,
                            TextMessage)
from wsproto.extensions import PerMessageDeflate

failures = 0


def fail(name, msg):
    global failures
    failures += 1
    print(f'wsproto: {name}: {msg}', file=sys.stderr)


class Client:
    def __init__(self, addr, token):
        host, port = addr.rsplit(':', 1)
        self.sock = socket.create_connection((host, int(port)), timeout=10)
        self.port = self.sock.getsockname()[1]
        self.ws = WSConnection(ConnectionType.CLIENT)
        self.events = []
        self.send(Request(host=addr, target='/chat',
                          extra_headers=[(b'authorization',
                                          b'Bearer ' + token.encode())],
                          extensions=[PerMessageDeflate()]))

    def send(self, ev):
        self.sock.sendall(self.ws.send(ev))

    def next(self):
        while not self.events:
            data = self.sock.recv(65536)
            self.ws.receive_data(data or None)
            self.events.extend(self.ws.events())
            if not data and not self.events:
                return None
        return self.events.pop(0)


def good(addr, name, token):
    c = Client(addr, token)
    ev = c.next()
    if not isinstance(ev, AcceptConnection):
        return fail(name, f'not accepted: {ev}')
    if ev.extensions:
        fail(name, f'extensions negotiated: {ev.extensions}')
    n = 0

    def want(what, pred):
        nonlocal n
        text = ''
        while True:
            e = c.next()
            if not isinstance(e, TextMessage):
                return fail(name, f'{what}: got {e}')
            text += e.data
            if e.message_finished:
                break
        n += 1
        if not pred(json.loads(text)):
            fail(name, f'{what}: got {text}')
    c.send(Message(data='{"type":"ping"}'))
    want('pong', lambda m: m == {'type': 'pong'})
    msg = json.dumps({'type': 'user_message', 'text': 'wsproto ü'})
    c.send(Message(data=msg[:5], message_finished=False))
    c.send(Message(data=msg[5:15], message_finished=False))
    c.send(Message(data=msg[15:], message_finished=True))
    want('ack fragmented', lambda m: m['type'] == 'ack')
    c.send(Message(data='not json'))
    want('error', lambda m: m == {'type': 'error', 'code': 'MSG_BAD_JSON'})
    c.send(CloseConnection(code=1000, reason='bye'))
    e = c.next()
    if not isinstance(e, CloseConnection) or e.code != 1000 \
            or e.reason != 'CLOSE_CLIENT':
        fail(name, f'close: got {e}')
    print(json.dumps({'client': 'python-wsproto', 'case': name,
                      'peer': f'127.0.0.1:{c.port}', 'diag': 'CLOSE_CLIENT',
                      'http_status': 101, 'close_code': getattr(e, 'code', None),
                      'reason': getattr(e, 'reason', None), 'messages': n}),
          flush=True)
    c.sock.close()


def bad(addr, name, token, diag):
    c = Client(addr, token)
    e = c.next()
    if not isinstance(e, RejectConnection):
        return fail(name, f'not rejected: {e}')
    body = b''
    while True:
        d = c.next()
        if d is None:
            break
        if isinstance(d, RejectData):
            body += d.data
            if d.body_finished:
                break
    if e.status_code != 401 or body.decode() != diag:
        fail(name, f'{e.status_code} {body!r}, wanted 401 {diag!r}')
    print(json.dumps({'client': 'python-wsproto', 'case': name,
                      'peer': f'127.0.0.1:{c.port}', 'diag': diag,
                      'http_status': e.status_code, 'close_code': None,
                      'reason': body.decode(), 'messages': 0}), flush=True)
    c.sock.close()


def main():
    if len(sys.argv) != 3:
        print('usage: py_wsproto_client.py HOST:PORT TOKENS_JSON',
              file=sys.stderr)
        return 2
    d = json.load(open(sys.argv[2]))
    t, expect = d['tokens'], d['expect']
    for k in ('hs256', 'rs256', 'es256', 'eddsa'):
        good(sys.argv[1], k, t[k])
    for k in ('expired', 'wrong_key', 'alg_none', 'tampered'):
        bad(sys.argv[1], k, t[k], expect[k])
    if failures:
        print(f'wsproto: {failures} failure(s)', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
