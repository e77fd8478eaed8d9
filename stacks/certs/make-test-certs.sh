#!/usr/bin/env bash
# Regenerates the PUBLIC TEST certificates used by stacks/imported.yaml (see README.md here).
# Never use these files for anything real: their private keys are published in the repository.
set -euo pipefail
cd "$(dirname "$0")"
days=7300  # 20 years, so the examples keep validating

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The CA that issued "bought.example.com" (its key is thrown away).
openssl genpkey -quiet -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$tmp/ca.key"
openssl req -x509 -new -key "$tmp/ca.key" -sha256 -days "$days" \
  -subj "/O=mtlsform test data/CN=mtlsform Test Imported CA" \
  -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -out ca.crt

# The server certificate, and its key as PKCS#1 PEM ("BEGIN RSA PRIVATE KEY", as CLB asks for).
openssl genpkey -quiet -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$tmp/server.key"
openssl req -new -key "$tmp/server.key" -sha256 \
  -subj "/O=mtlsform test data/CN=bought.example.com" -out "$tmp/server.csr"
cat > "$tmp/server.ext" <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:bought.example.com,DNS:www.bought.example.com
EXT
openssl x509 -req -in "$tmp/server.csr" -CA ca.crt -CAkey "$tmp/ca.key" -CAcreateserial \
  -CAserial "$tmp/ca.srl" -sha256 -days "$days" -extfile "$tmp/server.ext" -out server.crt
(umask 077 && openssl rsa -in "$tmp/server.key" -traditional -out server.key 2>/dev/null)

openssl verify -CAfile ca.crt server.crt
