// http::client: an asynchronous HTTP/1.1 client with a per-origin
// keep-alive pool (Tornado's AsyncHTTPClient).
//
// `auto r = co_await c.fetch(req);` yields result<response>: a complete,
// valid response of any status, or an error in client_category() whose
// kind (client_errc, error_kind()) says what failed: dns, connect, tls, timeout,
// protocol (the server broke HTTP/1.1 framing: shared/BAD_INPUT.md),
// decoding, body_too_large, header_too_large, too_many_redirects,
// insecure_redirect, bad_request, canceled. request_timeout bounds the
// whole exchange (queue, connect, redirects, every read), so a server
// that drips bytes times out as surely as one that never answers.
//
// The pool keeps idle connections per origin (scheme, host, port, proxy),
// closes them before the server's Keep-Alive timeout, never reuses one
// with bytes left over or a body not read to its end, and retries an
// idempotent request once on a new connection when a reused one turns out
// closed. At most max_clients fetches are in flight; the others queue.
//
// Ownership and threads: a client belongs to the loop that created it and
// must outlive its fetches; requests are taken by value. The callbacks
// run on the loop; the chunk a streaming_callback gets is borrowed until
// its task finishes, and the next read waits for that task (backpressure).
// Cancel: fetch honours its task's cancel token (client_errc::canceled).
// Tests: tests/http/client_framing_test.cpp (scripted hostile servers),
// tests/http/client_pool_test.cpp, tests/http/client_features_test.cpp,
// tests/http/client_timings_test.cpp (timings, pooled HTTPS reuse),
// tests/http/client_peers_test.py (nginx, h2o, Tornado, node, proxies).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <squall/engine/result.hpp>
#include <squall/engine/task.hpp>
#include <squall/engine/time.hpp>

namespace squall::http {

enum class client_errc {
    bad_request = 1,     // an unusable URL, method or field in the request
    dns,                 // the host name did not resolve
    connect,             // no connection (refused, unreachable, reset while connecting)
    tls,                 // the TLS handshake failed (certificate, host, protocol)
    timeout,             // connect_timeout or request_timeout passed
    protocol,            // the response broke HTTP/1.1 (framing, fields, EOF inside it)
    decoding,            // invalid or too deeply chained Content-Encoding
    body_too_large,      // past max_body_size (decoded size when decompressing)
    header_too_large,    // past max_header_size or the field count
    too_many_redirects,  // more than max_redirects
    insecure_redirect,   // https -> http without allow_insecure_redirect
    proxy,               // the proxy refused the CONNECT tunnel
    canceled,            // the fetch's task was cancelled
    aborted,             // a streaming or producer callback failed
    closed,              // the connection closed or reset before the response began
};
const std::error_category& client_category() noexcept;
std::error_code make_error_code(client_errc e) noexcept;
// The kind of any error fetch() gives. A TLS failure keeps the TLS layer's
// code (tls_category(), engine/tls.hpp), whose message names the reason
// (expired, host mismatch, untrusted); its kind is client_errc::tls.
client_errc error_kind(std::error_code ec) noexcept;

using field_list = std::vector<std::pair<std::string, std::string>>;

// Case-insensitive look-up in a field list.
std::optional<std::string_view> find_field(const field_list& fields, std::string_view name) noexcept;

struct fetch_timings {
    using ns = std::chrono::nanoseconds;
    ns queue{}, dns{}, connect{}, tls{}, first_byte{}, total{};
};

struct response {
    int status = 0;
    std::string reason;
    field_list headers;
    std::string body;           // empty when a streaming_callback took it
    std::string effective_url;  // after redirects
    fetch_timings timings;      // of the whole fetch (connect parts: the last hop)
    bool reused_connection = false;
    std::optional<std::string_view> header(std::string_view name) const noexcept { return find_field(headers, name); }
};

struct request {
    std::string url;
    std::string method = "GET";
    field_list headers;
    std::string body;
    // Uploads produced piece by piece: each call yields the next piece,
    // an empty one ends the body (sent chunked unless a Content-Length is
    // among the headers). Such a request is never retried nor re-sent.
    std::function<task<result<std::string>>()> body_producer;
    clock::duration connect_timeout = std::chrono::seconds(20);
    clock::duration request_timeout = std::chrono::seconds(20);
    bool follow_redirects = true;
    unsigned max_redirects = 5;
    bool allow_insecure_redirect = false;  // https -> http
    bool decompress_response = true;       // Accept-Encoding: gzip, decoded here
    // Body pieces as they arrive (decoded); the next read waits for it.
    std::function<task<result<void>>(std::string_view)> streaming_callback;
    // The final response's head (status, reason, headers), before its body.
    std::function<void(const response&)> header_callback;
    std::string auth_username, auth_password;  // basic auth
    std::string user_agent = "squall";
    std::uint64_t max_body_size = 100 * 1024 * 1024;  // Tornado's default
    std::size_t max_header_size = 64 * 1024;
    bool validate_cert = true;
    std::string ca_file;  // PEM; empty: the system's trust store
    std::string proxy;    // "http://[user:pass@]host:port"; empty: none
};

struct client_options {
    std::size_t max_clients = 10;  // fetches in flight; more wait in a queue
    std::size_t max_idle_per_origin = 64;
    clock::duration idle_timeout = std::chrono::seconds(30);
};

namespace detail {
class client_pool;
}

class client {
public:
    explicit client(client_options opts = {});
    ~client();
    client(const client&) = delete;
    client& operator=(const client&) = delete;

    task<result<response>> fetch(request req);
    task<result<response>> fetch(std::string url);
    // Closes every idle connection now.
    void close_idle() noexcept;
    // For tests and metrics.
    std::size_t idle_connections() const noexcept;
    std::uint64_t connections_opened() const noexcept;

private:
    std::unique_ptr<detail::client_pool> pool_;
};

}  // namespace squall::http

template <>
struct std::is_error_code_enum<squall::http::client_errc> : std::true_type {};
