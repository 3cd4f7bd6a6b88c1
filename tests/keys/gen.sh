#!/usr/bin/env bash
# Regenerates the committed TEST-ONLY key material (never use it elsewhere):
# private keys as PEM, HMAC secrets, and the public key set jwks.json that
# tests/testutil.c (tu_keys) and tests/tokens.c use.  Run from this directory;
# the committed files are what the tests expect, so rerun only on purpose.
#
# FOREIGN keys (foreign_hs256.key, foreign_es256.pem) are of kinds the key
# set supports but are deliberately NOT in jwks.json: the token forge
# (fuzz/forge.c) signs with them to check that no token signed by a stranger
# is ever accepted.  `gen.sh foreign` regenerates only those two.
#
# usage: gen.sh [all|foreign]   (default: all)
set -euo pipefail
cd "$(dirname "$0")"
mode=${1:-all}
case "$mode" in
  all | foreign) ;;
  *) echo "usage: gen.sh [all|foreign]" >&2; exit 2 ;;
esac
b64u() { base64 -w0 | tr '+/' '-_' | tr -d '='; }
hexb64u() { xxd -r -p | b64u; }

openssl rand 32 | b64u > foreign_hs256.key
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out foreign_es256.pem
if [ "$mode" = foreign ]; then
  echo "wrote foreign_hs256.key foreign_es256.pem"
  exit 0
fi

openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rs256.pem
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out ps256.pem
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out es256.pem
openssl genpkey -algorithm ED25519 -out ed25519.pem
for h in 256:32 384:48 512:64; do
  openssl rand "${h#*:}" | b64u > "hs${h%%:*}.key"
done

rsa_n() { openssl rsa -in "$1" -noout -modulus | cut -d= -f2 | hexb64u; }
# SubjectPublicKeyInfo DER ends with the raw public key.
ec_xy() { openssl pkey -in "$1" -pubout -outform DER | tail -c 64 | xxd -p | tr -d '\n'; }
ed_x() { openssl pkey -in "$1" -pubout -outform DER | tail -c 32 | b64u; }
xy=$(ec_xy es256.pem)

cat > jwks.json <<JSON
{"keys":[
 {"kty":"oct","kid":"hs256","alg":"HS256","use":"sig","k":"$(cat hs256.key)"},
 {"kty":"oct","kid":"hs384","alg":"HS384","use":"sig","k":"$(cat hs384.key)"},
 {"kty":"oct","kid":"hs512","alg":"HS512","use":"sig","k":"$(cat hs512.key)"},
 {"kty":"RSA","kid":"rs256","alg":"RS256","use":"sig","n":"$(rsa_n rs256.pem)","e":"AQAB"},
 {"kty":"RSA","kid":"ps256","alg":"PS256","use":"sig","n":"$(rsa_n ps256.pem)","e":"AQAB"},
 {"kty":"EC","kid":"es256","alg":"ES256","use":"sig","crv":"P-256","x":"$(echo "${xy:0:64}" | hexb64u)","y":"$(echo "${xy:64:64}" | hexb64u)"},
 {"kty":"OKP","kid":"ed25519","alg":"EdDSA","use":"sig","crv":"Ed25519","x":"$(ed_x ed25519.pem)"}
]}
JSON
echo "wrote jwks.json"
