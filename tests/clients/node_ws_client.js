// Real-client test with node's `ws` (Debian node-ws 8.11): each case
// connects to a running wsgate serve, authenticates, exchanges messages and
// closes, asserting what the client itself sees (status, close code and
// reason, replies, negotiated extensions).  One JSON line per case on
// stdout with the client's local port, so that check_log.py can match the
// server's outcome line to it.
// usage: node node_ws_client.js URL TOKENS_JSON
'use strict';
const WebSocket = require('ws');
const fs = require('fs');

if (process.argv.length !== 4) {
  process.stderr.write('usage: node node_ws_client.js URL TOKENS_JSON\n');
  process.exit(2);
}
const url = process.argv[2];
const {tokens, expect} = JSON.parse(fs.readFileSync(process.argv[3], 'utf8'));
let failures = 0;

function fail(name, msg) {
  failures++;
  process.stderr.write(`node-ws: ${name}: ${msg}\n`);
}

// Opens a connection; resolves with {ws, port} or {status, body, port}.
function open(name, how, token, extra) {
  return new Promise((resolve, reject) => {
    let u = url, protocols = undefined;
    const headers = {};
    if (how === 'header') headers.Authorization = 'Bearer ' + token;
    else if (how === 'subprotocol') protocols = ['bearer', token];
    else if (how === 'query') u += '?access_token=' + encodeURIComponent(token);
    const ws = new WebSocket(u, protocols, Object.assign({headers}, extra));
    ws.on('unexpected-response', (req, res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({status: res.statusCode, body,
                                   port: req.socket.localPort, headers: res.headers}));
    });
    ws.on('open', () => resolve({ws, port: ws._socket.localPort}));
    ws.on('error', (e) => { if (!ws._req) return; reject(e); });
    ws.on('error', () => {});
  });
}

// Queue of received messages and the close event.
function track(ws) {
  const t = {msgs: [], waiters: [], closed: null, closeWaiters: []};
  ws.on('message', (d, isBinary) => {
    const m = {data: d.toString(), isBinary};
    if (t.waiters.length) t.waiters.shift()(m); else t.msgs.push(m);
  });
  ws.on('close', (code, reason) => {
    t.closed = {code, reason: reason.toString()};
    t.closeWaiters.forEach((f) => f(t.closed));
    t.waiters.forEach((f) => f(null));
  });
  t.next = () => new Promise((r) => t.msgs.length ? r(t.msgs.shift())
                                      : t.closed ? r(null) : t.waiters.push(r));
  t.close = () => new Promise((r) => t.closed ? r(t.closed) : t.closeWaiters.push(r));
  return t;
}

function report(name, port, diag, http, close, reason, messages) {
  process.stdout.write(JSON.stringify({client: 'node-ws', case: name,
    peer: '127.0.0.1:' + port, diag, http_status: http, close_code: close,
    reason, messages}) + '\n');
}

async function exchange(name, t, ws) {
  let n = 0;
  const want = async (what, pred) => {
    const m = await t.next();
    if (!m) return fail(name, `closed while waiting for ${what}`);
    n++;
    let j;
    try { j = JSON.parse(m.data); } catch (e) { return fail(name, `not JSON: ${m.data}`); }
    if (!pred(j)) fail(name, `${what}: got ${m.data}`);
  };
  ws.send('{"type":"ping"}');
  await want('pong', (j) => j.type === 'pong');
  ws.send(JSON.stringify({type: 'user_message', text: 'hello'}));
  await want('ack', (j) => j.type === 'ack' && /^req_/.test(j.request_id));
  // Large (512 KiB) and fragmented (3 frames) user messages.
  ws.send(JSON.stringify({type: 'user_message', text: 'x'.repeat(512 * 1024)}));
  await want('ack for 512 KiB', (j) => j.type === 'ack');
  const msg = JSON.stringify({type: 'user_message', text: 'fragmented é ü 😀'});
  const b = Buffer.from(msg);
  ws.send(b.subarray(0, 10), {fin: false, binary: false});
  ws.send(b.subarray(10, 27), {fin: false, binary: false});
  ws.send(b.subarray(27), {fin: true, binary: false});
  await want('ack for fragmented', (j) => j.type === 'ack');
  ws.send('{"type":"nope"}');
  await want('error', (j) => j.type === 'error' && j.code === 'MSG_UNKNOWN_TYPE');
  return n;
}

async function good(name, how) {
  const r = await open(name, how, tokens[name]);
  if (!r.ws) return fail(name, `HTTP ${r.status}: ${r.body}`);
  const ws = r.ws, t = track(ws);
  // ws offers permessage-deflate by default: wsgate must decline it.
  if (ws.extensions !== '') fail(name, `extensions negotiated: '${ws.extensions}'`);
  if (how === 'subprotocol' && ws.protocol !== 'bearer')
    fail(name, `subprotocol '${ws.protocol}', wanted 'bearer'`);
  const n = await exchange(name, t, ws);
  ws.close(1000, 'bye');
  const c = await t.close();
  if (c.code !== 1000 || c.reason !== 'CLOSE_CLIENT')
    fail(name, `close ${c.code} '${c.reason}', wanted 1000 'CLOSE_CLIENT'`);
  report(name, r.port, 'CLOSE_CLIENT', 101, c.code, c.reason, n);
}

async function bad(name) {
  const r = await open(name, 'header', tokens[name]);
  if (r.ws) { r.ws.terminate(); return fail(name, 'upgraded with a bad token'); }
  const diag = expect[name];
  if (r.status !== 401) fail(name, `status ${r.status}, wanted 401`);
  if (r.body !== diag) fail(name, `body '${r.body}', wanted '${diag}'`);
  if (r.headers['www-authenticate'] !== 'Bearer error="invalid_token"')
    fail(name, `WWW-Authenticate '${r.headers['www-authenticate']}'`);
  report(name, r.port, diag, r.status, null, r.body, 0);
}

// A session the server closes: send what offends, expect code and reason.
async function closed_by_server(name, send, code, diag) {
  const r = await open(name, 'header', tokens.hs256);
  if (!r.ws) return fail(name, `HTTP ${r.status}`);
  const t = track(r.ws);
  send(r.ws);
  const c = await t.close();
  if (c.code !== code || c.reason !== diag)
    fail(name, `close ${c.code} '${c.reason}', wanted ${code} '${diag}'`);
  report(name, r.port, diag, 101, c.code, c.reason, 0);
}

(async () => {
  await good('hs256', 'header');
  await good('rs256', 'subprotocol');
  await good('es256', 'query');
  await good('eddsa', 'header');
  for (const k of ['expired', 'wrong_key', 'alg_none', 'tampered']) await bad(k);
  await closed_by_server('oversize', (ws) =>
    ws.send(JSON.stringify({type: 'user_message', text: 'y'.repeat(1048576)})),
    1009, 'FRAME_TOO_BIG');
  await closed_by_server('binary', (ws) => ws.send(Buffer.from([1, 2, 3])),
    1003, 'FRAME_BINARY');
  await closed_by_server('bad_utf8', (ws) =>
    ws.send(Buffer.from([0x7b, 0xff, 0x7d]), {binary: false}), 1007, 'FRAME_UTF8');
  if (failures) {
    process.stderr.write(`node-ws: ${failures} failure(s)\n`);
    process.exit(1);
  }
})().catch((e) => { process.stderr.write(`node-ws: ${e.stack}\n`); process.exit(1); });
