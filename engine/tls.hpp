// TLS over wolfSSL for squall's streams: the contexts (certificates,
// policy) a tls_stream's session is made from. wolfSSL's headers stay in
// engine/*.cpp; http/ and ws/ see only this header and tls_stream.hpp.
//
// A tls_stream (engine/tls_stream.hpp) speaks TLS over any byte_stream:
// the ciphertext moves through the stream below exactly as plain bytes do
// and wolfSSL works on memory through its I/O callbacks. A server stream
// handshakes on its first read, under the context's handshake deadline; a
// client stream handshakes in tls_stream::handshake(host), which checks
// the peer's certificate against the system store (or ca_file), sends SNI
// and checks the host name.
//
// Hardened by default, because this wolfSSL build's own defaults are not
// (it offers TLS 1.1, RC4, 3DES, NULL and PSK suites, and 80-bit groups):
// TLS 1.2 at least, TLS 1.3 on, AEAD suites only (AES-GCM,
// ChaCha20-Poly1305) with ECDHE, groups X25519, P-256 and P-384.
//
// A server context holds a default certificate and optional extra ones
// chosen by SNI host name, offers ALPN "http/1.1", resumes sessions with
// tickets, and reload() re-reads its files into a fresh generation used by
// new connections only (connections open keep the one they started with).
// Contexts are shared by the loops of a server: thread-safe.
// Tests: tests/engine/tls_test.cpp, tests/engine/tls_stream_test.cpp, tests/tls/.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>
#include <vector>

#include <squall/engine/time.hpp>

namespace squall {

// PEM files. chain_file (optional) holds intermediates sent after the
// certificate; cert_file may also hold the whole chain, leaf first.
struct tls_certificate {
    std::string cert_file;
    std::string key_file;
    std::string chain_file;
};

struct tls_server_options {
    tls_certificate certificate;  // the default
    // Extra certificates chosen by the SNI host name the client sends
    // (exact, case-insensitive match, or "*.example.com" for one label).
    std::vector<std::pair<std::string, tls_certificate>> sni;
    std::vector<std::string> alpn = {"http/1.1"};
    bool session_tickets = true;
    clock::duration handshake_timeout = std::chrono::seconds(10);
};

struct tls_client_options {
    std::string ca_file;  // PEM; empty: the system's trust store
    bool verify = true;   // false only for tests against self-signed peers
    std::vector<std::string> alpn;
    clock::duration handshake_timeout = std::chrono::seconds(10);
};

namespace detail {
struct tls_generation;
class tls_session;
}  // namespace detail

class tls_context {
public:
    // Load the files now; std::runtime_error (with wolfSSL's reason and the
    // file) if one is missing, unreadable, or the key does not match.
    static std::shared_ptr<tls_context> server(tls_server_options opts);
    static std::shared_ptr<tls_context> client(tls_client_options opts = {});
    ~tls_context();
    tls_context(const tls_context&) = delete;
    tls_context& operator=(const tls_context&) = delete;

    // Re-reads the certificate files (a server's SIGHUP). On failure it
    // throws and the current certificates stay in use.
    void reload();
    bool is_server() const noexcept { return server_; }
    // A client context that checks the peer's certificate, and so needs
    // the host name to check it against.
    bool checks_host() const noexcept { return !server_ && client_opts_.verify; }
    clock::duration handshake_timeout() const noexcept { return handshake_timeout_; }
    // How many times reload() succeeded (for logs and tests).
    unsigned generation() const;

    // For a tls_stream's session: the certificates to start a connection on.
    std::shared_ptr<detail::tls_generation> current() const;

private:
    tls_context() = default;
    bool server_ = false;
    clock::duration handshake_timeout_{};
    tls_server_options server_opts_;
    tls_client_options client_opts_;
    mutable std::mutex mu_;
    std::shared_ptr<detail::tls_generation> current_;
    unsigned reloads_ = 0;
};

// Errors from the TLS layer: wolfSSL's error codes (negative), with its
// reason text as message(), e.g. "ASN date error, current date after" for
// an expired certificate or "peer subject name mismatch".
const std::error_category& tls_category() noexcept;

// squall's own TLS errors, in tls_category() (wolfSSL's codes are negative).
enum class tls_errc {
    // A client tls_stream read before handshake(host), or written or
    // handshaken without a host name while its context checks certificates.
    handshake_first = 1,
};
std::error_code make_error_code(tls_errc e) noexcept;

}  // namespace squall

template <>
struct std::is_error_code_enum<squall::tls_errc> : std::true_type {};
