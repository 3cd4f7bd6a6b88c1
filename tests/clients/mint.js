// Mints the JWTs the real-client tests use, with node's own crypto module
// (an implementation independent of wsgate's OpenSSL adapter), from the
// TEST-ONLY keys in tests/keys.  usage: node mint.js KEYS_DIR > tokens.json
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

if (process.argv.length !== 3) {
  process.stderr.write('usage: node mint.js KEYS_DIR > tokens.json\n');
  process.exit(2);
}
const dir = process.argv[2];
const b64u = (b) => Buffer.from(b).toString('base64url');
const now = Math.floor(Date.now() / 1000);

function sign(alg, kid, claims, keyName) {
  const head = b64u(JSON.stringify({alg, kid, typ: 'JWT'}));
  const body = b64u(JSON.stringify(claims));
  const input = Buffer.from(head + '.' + body);
  let sig;
  if (alg === 'HS256') {
    const secret = Buffer.from(
        fs.readFileSync(path.join(dir, keyName + '.key'), 'utf8').trim(),
        'base64url');
    sig = crypto.createHmac('sha256', secret).update(input).digest();
  } else {
    const key = crypto.createPrivateKey(
        fs.readFileSync(path.join(dir, keyName + '.pem')));
    if (alg === 'RS256') sig = crypto.sign('sha256', input, key);
    else if (alg === 'ES256')
      sig = crypto.sign('sha256', input, {key, dsaEncoding: 'ieee-p1363'});
    else if (alg === 'EdDSA') sig = crypto.sign(null, input, key);
    else throw new Error('alg ' + alg);
  }
  return head + '.' + body + '.' + b64u(sig);
}

const ok = (sub) => ({sub, iat: now, exp: now + 3600});
const t = {
  hs256: sign('HS256', 'hs256', ok('alice-hs'), 'hs256'),
  rs256: sign('RS256', 'rs256', ok('alice-rs'), 'rs256'),
  es256: sign('ES256', 'es256', ok('alice-es'), 'es256'),
  eddsa: sign('EdDSA', 'ed25519', ok('alice-ed'), 'ed25519'),
  expired: sign('HS256', 'hs256', {sub: 'eve', exp: now - 3600}, 'hs256'),
  // HS256 under kid hs256 but signed with the HS384 secret.
  wrong_key: sign('HS256', 'hs256', ok('eve'), 'hs384'),
  alg_none: b64u(JSON.stringify({alg: 'none', typ: 'JWT'})) + '.' +
      b64u(JSON.stringify(ok('eve'))) + '.',
};
// Tampered: a valid RS256 token whose claims were changed after signing.
{
  const [h, , s] = t.rs256.split('.');
  t.tampered = h + '.' + b64u(JSON.stringify(ok('mallory'))) + '.' + s;
}
// What wsgate must say about each (POLICY §3, README diagnosis table).
const expect = {
  hs256: null, rs256: null, es256: null, eddsa: null,
  expired: 'AUTH_EXPIRED', wrong_key: 'AUTH_SIG_INVALID',
  alg_none: 'AUTH_ALG_NONE', tampered: 'AUTH_SIG_INVALID',
};
process.stdout.write(JSON.stringify({tokens: t, expect}) + '\n');
