#!/usr/bin/python3
"""Real-client test with python3-websockets 10.4 (Debian): the same cases as
node_ws_client.js, asserted from the client side; one JSON line per case
(with the client's local port) for check_log.py.

usage: py_websockets_client.py URL TOKENS_JSON"""
import asyncio
import json
import sys

import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatusCode
from websockets.legacy.client import WebSocketClientProtocol

failures = 0


def fail(name, msg):
    global failures
    failures += 1
    print(f'websockets: {name}: {msg}', file=sys.stderr)


def report(name, port, diag, http, close, reason, messages):
    print(json.dumps({'client': 'python-websockets', 'case': name,
                      'peer': f'127.0.0.1:{port}', 'diag': diag,
                      'http_status': http, 'close_code': close,
                      'reason': reason, 'messages': messages}), flush=True)


class Probe:
    """Records the local port of the connection attempt, also when the
    handshake is refused (websockets then closes the transport)."""

    def __init__(self):
        self.port = None

    def factory(self, *a, **kw):
        proto = WebSocketClientProtocol(*a, **kw)
        orig = proto.connection_made

        def made(transport):
            self.port = transport.get_extra_info('sockname')[1]
            orig(transport)
        proto.connection_made = made
        return proto


async def good(url, name, token, how):
    probe = Probe()
    kw = {'create_protocol': probe.factory, 'max_size': 2 ** 21}
    if how == 'header':
        kw['extra_headers'] = {'Authorization': 'Bearer ' + token}
    elif how == 'subprotocol':
        kw['subprotocols'] = ['bearer', token]
    else:
        url += '?access_token=' + token
    n = 0
    async with websockets.connect(url, **kw) as ws:
        # websockets offers permessage-deflate by default: it must be
        # declined, so nothing is negotiated.
        if ws.extensions:
            fail(name, f'extensions negotiated: {ws.extensions}')
        if how == 'subprotocol' and ws.subprotocol != 'bearer':
            fail(name, f'subprotocol {ws.subprotocol!r}')

        async def want(what, pred):
            nonlocal n
            m = json.loads(await ws.recv())
            n += 1
            if not pred(m):
                fail(name, f'{what}: got {m}')
        await ws.send('{"type":"ping"}')
        await want('pong', lambda m: m == {'type': 'pong'})
        await ws.send(json.dumps({'type': 'user_message', 'text': 'hi'}))
        await want('ack', lambda m: m['type'] == 'ack'
                   and m['request_id'].startswith('req_'))
        await ws.send(json.dumps({'type': 'user_message',
                                  'text': 'z' * (700 * 1024)}))
        await want('ack 700 KiB', lambda m: m['type'] == 'ack')
        # A fragmented message: websockets sends an iterable as fragments.
        msg = json.dumps({'type': 'user_message', 'text': 'frag ✓ 𝄞'},
                         ensure_ascii=False)
        await ws.send([msg[:7], msg[7:20], msg[20:]])
        await want('ack fragmented', lambda m: m['type'] == 'ack')
        pong = await ws.ping(b'raw-ping')
        await asyncio.wait_for(pong, 5)
        await ws.close(1000, 'bye')
        if ws.close_code != 1000 or ws.close_reason != 'CLOSE_CLIENT':
            fail(name, f'close {ws.close_code} {ws.close_reason!r}')
        report(name, probe.port, 'CLOSE_CLIENT', 101, ws.close_code,
               ws.close_reason, n)


async def bad(url, name, token, diag):
    probe = Probe()
    try:
        async with websockets.connect(
                url, create_protocol=probe.factory,
                extra_headers={'Authorization': 'Bearer ' + token}):
            fail(name, 'upgraded with a bad token')
    except InvalidStatusCode as e:
        if e.status_code != 401:
            fail(name, f'status {e.status_code}')
        www = e.headers.get('WWW-Authenticate') if hasattr(e, 'headers') \
            else None
        if www is not None and www != 'Bearer error="invalid_token"':
            fail(name, f'WWW-Authenticate {www!r}')
        # websockets does not expose the body; the log's reason is the
        # table's code, which check_log compares.
        report(name, probe.port, diag, e.status_code, None, diag, 0)


async def closed_by_server(url, name, token, payload, code, diag):
    probe = Probe()
    async with websockets.connect(
            url, create_protocol=probe.factory, max_size=2 ** 22,
            extra_headers={'Authorization': 'Bearer ' + token}) as ws:
        await ws.send(payload)
        try:
            await asyncio.wait_for(ws.recv(), 10)
            fail(name, 'got a reply instead of a close')
        except ConnectionClosed:
            pass
        if ws.close_code != code or ws.close_reason != diag:
            fail(name, f'close {ws.close_code} {ws.close_reason!r}, '
                       f'wanted {code} {diag!r}')
        report(name, probe.port, diag, 101, ws.close_code, ws.close_reason, 0)


async def main(url, tokens_path):
    d = json.load(open(tokens_path))
    t, expect = d['tokens'], d['expect']
    await good(url, 'hs256', t['hs256'], 'header')
    await good(url, 'rs256', t['rs256'], 'query')
    await good(url, 'es256', t['es256'], 'subprotocol')
    await good(url, 'eddsa', t['eddsa'], 'header')
    for k in ('expired', 'wrong_key', 'alg_none', 'tampered'):
        await bad(url, k, t[k], expect[k])
    big = json.dumps({'type': 'user_message', 'text': 'q' * (1 << 20)})
    await closed_by_server(url, 'oversize', t['hs256'], big, 1009,
                           'FRAME_TOO_BIG')
    await closed_by_server(url, 'binary', t['hs256'], b'\x00\x01', 1003,
                           'FRAME_BINARY')
    await closed_by_server(url, 'binary_zeros', t['eddsa'],
                           bytes(3), 1003, 'FRAME_BINARY')


if __name__ == '__main__':
    if len(sys.argv) != 3:
        print('usage: py_websockets_client.py URL TOKENS_JSON',
              file=sys.stderr)
        sys.exit(2)
    asyncio.run(main(sys.argv[1], sys.argv[2]))
    if failures:
        print(f'websockets: {failures} failure(s)', file=sys.stderr)
        sys.exit(1)
