#!/bin/sh
# make_certs.sh DIR: the certificates squall's TLS tests use, made fresh in
# DIR with the openssl CLI (nothing is checked in):
#   ca.pem/ca.key            a test CA (ECDSA P-256)
#   server.pem/server.key    localhost, 127.0.0.1 and ::1, signed by the CA
#   other.pem/other.key      other.test only (a second SNI certificate, and
#                            a wrong host for a client that dials localhost)
#   expired.pem/expired.key  localhost, valid only in 2020
#   chain.pem                server.pem followed by ca.pem
# Used by tests/engine/tls_test.cpp, tests/tls/*.py and bench/tls_bench.py.
set -eu
dir=$1
mkdir -p "$dir"
cd "$dir"
cat > ca.cnf <<'CNF'
[ ca ]
default_ca = test_ca
[ test_ca ]
dir = .
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = any
copy_extensions = copy
unique_subject = no
email_in_dn = no
[ any ]
commonName = supplied
CNF
: > index.txt
echo 01 > serial
q() { "$@" > /dev/null 2>&1 || { echo "make_certs: failed: $*" >&2; exit 1; }; }
q openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem \
    -days 30 -subj "/CN=squall test CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
issue() {  # name common-name subject-alt-names validity-options...
    name=$1 cn=$2 san=$3
    shift 3
    q openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$name.key" -out "$name.csr" \
        -subj "/CN=$cn" -addext "subjectAltName=$san" -addext "extendedKeyUsage=serverAuth"
    q openssl ca -batch -config ca.cnf -cert ca.pem -keyfile ca.key -in "$name.csr" -out "$name.pem" -notext "$@"
}
issue server localhost "DNS:localhost,IP:127.0.0.1,IP:::1" -days 30
issue other other.test "DNS:other.test" -days 30
issue expired localhost "DNS:localhost,IP:127.0.0.1" -startdate 20200101000000Z -enddate 20200201000000Z
cat server.pem ca.pem > chain.pem
