"""The TLS policy as a scanner sees it: examples/hello probed with openssl.

Usage: scan_test.py <path to build/examples/hello>

What testssl.sh checks, done directly with `openssl s_client` (one
handshake per probe, so it runs in seconds): every protocol below TLS 1.2
is refused; of every TLS 1.2 suite OpenSSL knows (at security level 0, so
RC4, 3DES, NULL, export, CBC, PSK, anonymous and static-RSA suites are
offered too), only ECDHE with AES-GCM or ChaCha20-Poly1305 is accepted; of
every TLS 1.3 suite, only AEAD ones; of the groups, only X25519, P-256 and
P-384 (in TLS 1.3 and in TLS 1.2). Prints the accepted lists.
"""
import os
import shutil
import subprocess
import sys
import tempfile

from tls_testing import check, finish, free_port, make_certs, wait_listening


def handshake(port, *args):
    """True if openssl s_client completes a handshake with these options."""
    r = subprocess.run(
        ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port, "-servername", "localhost"] + list(args),
        input=b"", capture_output=True, timeout=20)
    out = r.stdout.decode(errors="replace")
    # A finished handshake prints the negotiated cipher; a refused one
    # prints "Cipher is (NONE)" or nothing.
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("New, ") and "Cipher is" in line:
            return "(NONE)" not in line
    return False


def openssl_ciphers(spec, version_flag):
    r = subprocess.run(["openssl", "ciphers", version_flag, spec], capture_output=True, text=True, check=True)
    return [c for c in r.stdout.strip().split(":") if c]


def main():
    hello = sys.argv[1]
    tmp = tempfile.mkdtemp(prefix="squall-tls-scan-")
    proc = None
    try:
        certs = make_certs(tmp)
        port = free_port()
        proc = subprocess.Popen(
            [hello, "--port", str(port), "--cert", os.path.join(certs, "server.pem"),
             "--key", os.path.join(certs, "server.key")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_listening(port, proc)
        weak = "ALL:COMPLEMENTOFALL:@SECLEVEL=0"

        check(handshake(port, "-tls1_3"), "TLS 1.3 accepted")
        check(handshake(port, "-tls1_2"), "TLS 1.2 accepted")
        for flag, name in [("-tls1_1", "TLS 1.1"), ("-tls1", "TLS 1.0"), ("-ssl3", "SSL 3")]:
            # -ssl3 is compiled out of Debian's OpenSSL: then s_client fails
            # as it must, and the server refuses it anyway.
            check(not handshake(port, flag, "-cipher", weak), name + " refused")

        accepted12 = [c for c in openssl_ciphers(weak, "-tls1_2")
                      if not c.startswith("TLS_") and handshake(port, "-tls1_2", "-cipher", c + ":@SECLEVEL=0")]
        print("     TLS 1.2 suites accepted: " + " ".join(accepted12))
        check(accepted12, "some TLS 1.2 suite accepted")
        for c in accepted12:
            aead = "GCM" in c or "CHACHA20" in c
            check(c.startswith("ECDHE-") and aead and "PSK" not in c, "TLS 1.2 suite %s is ECDHE + AEAD" % c)

        suites13 = ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256",
                    "TLS_AES_128_CCM_SHA256", "TLS_AES_128_CCM_8_SHA256"]
        accepted13 = [s for s in suites13 if handshake(port, "-tls1_3", "-ciphersuites", s)]
        print("     TLS 1.3 suites accepted: " + " ".join(accepted13))
        check(set(accepted13) == set(suites13[:3]), "TLS 1.3: AES-GCM and ChaCha20-Poly1305 only")

        groups = ["X25519", "P-256", "P-384", "P-521", "X448", "ffdhe2048", "ffdhe3072",
                  "secp192r1", "secp224r1", "secp256k1", "brainpoolP256r1"]
        for ver in ["-tls1_3", "-tls1_2"]:
            ok = []
            for g in groups:
                try:
                    if handshake(port, ver, "-groups", g):
                        ok.append(g)
                except subprocess.SubprocessError:
                    pass
            print("     groups accepted (%s): %s" % (ver, " ".join(ok)))
            # TLS 1.3 takes any of the three; in TLS 1.2 wolfSSL picks the
            # ephemeral curve to match the certificate's (P-256 here).
            want = "X25519" if ver == "-tls1_3" else "P-256"
            check(set(ok) <= {"X25519", "P-256", "P-384"} and want in ok,
                  "groups %s: only X25519, P-256, P-384" % ver)
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    finish()


if __name__ == "__main__":
    main()
