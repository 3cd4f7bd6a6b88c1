// The peer a user would pick instead of wsgate, for tests/bench_serve.sh:
// a node `ws` (Debian node-ws) server with the same message protocol and
// the same work per session: the upgrade is accepted only with a valid
// HS256 bearer token (verified with node's crypto, exp checked), ids come
// from crypto.randomBytes, {"type":"ping"} -> {"type":"pong"},
// {"type":"user_message"} -> {"type":"ack","request_id":...}, anything else
// -> {"type":"error",...}; binary closes 1003.  permessage-deflate is off
// (wsgate declines it too).
// usage: node node_ws_server.js PORT HS256_KEY_FILE   (PORT 0: any free)
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const {WebSocketServer} = require('ws');

if (process.argv.length !== 4) {
  process.stderr.write('usage: node node_ws_server.js PORT HS256_KEY_FILE\n');
  process.exit(2);
}
const secret = Buffer.from(fs.readFileSync(process.argv[3], 'utf8').trim(),
                           'base64url');

function verify(token) {
  const parts = (token || '').split('.');
  if (parts.length !== 3) return null;
  let head, claims;
  try {
    head = JSON.parse(Buffer.from(parts[0], 'base64url'));
    claims = JSON.parse(Buffer.from(parts[1], 'base64url'));
  } catch (e) { return null; }
  if (head.alg !== 'HS256') return null;
  const mac = crypto.createHmac('sha256', secret)
                  .update(parts[0] + '.' + parts[1]).digest();
  const sig = Buffer.from(parts[2], 'base64url');
  if (sig.length !== mac.length || !crypto.timingSafeEqual(sig, mac)) return null;
  if (typeof claims.exp !== 'number' || claims.exp < Date.now() / 1000) return null;
  if (typeof claims.sub !== 'string' || !claims.sub) return null;
  return claims;
}

const id = (kind) => kind + '_' + Math.floor(Date.now() / 1000) + '_' +
    crypto.randomBytes(8).toString('hex');

const server = http.createServer((req, res) => { res.writeHead(426); res.end(); });
const wss = new WebSocketServer({noServer: true, perMessageDeflate: false});
server.on('upgrade', (req, socket, head) => {
  const m = /^Bearer\s+(\S+)/.exec(req.headers.authorization || '');
  const claims = m && verify(m[1]);
  if (!claims) {
    socket.end('HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n');
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => {
    ws.ctx = {user_id: claims.sub, thread_id: id('thread'),
              websocket_client_id: id('wsc'), run_id: id('run')};
    ws.on('message', (data, isBinary) => {
      if (isBinary) return ws.close(1003, 'binary');
      let msg;
      try { msg = JSON.parse(data); } catch (e) {
        return ws.send('{"type":"error","code":"MSG_BAD_JSON"}');
      }
      if (msg && msg.type === 'ping') ws.send('{"type":"pong"}');
      else if (msg && msg.type === 'user_message')
        ws.send(JSON.stringify({type: 'ack', request_id: id('req')}));
      else ws.send('{"type":"error","code":"MSG_UNKNOWN_TYPE"}');
    });
  });
});
server.listen(Number(process.argv[2]), '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({listening: '127.0.0.1:' + server.address().port,
                                       pid: process.pid}) + '\n');
});
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
