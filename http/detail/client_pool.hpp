// The HTTP client's insides: pooled connections, opening them (name,
// TCP, proxy tunnel, TLS), and one request/response exchange on one.
//
// client_pool keeps idle connections per key (origin plus proxy) with the
// time they may idle until; take() closes any that expired or received
// bytes while idle (a response nobody asked for is never read as the next
// one). A sweep timer closes expired ones even when nobody asks. The pool
// owns its idle connections; a taken one belongs to the fetch until it is
// given back (only when exchange() says it is clean). Loop thread only.
// Tests: tests/http/client_pool_test.cpp.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <squall/engine/loop.hpp>
#include <squall/engine/stream.hpp>
#include <squall/engine/sync.hpp>
#include <squall/engine/task.hpp>
#include <squall/engine/tls.hpp>
#include <squall/http/client.hpp>
#include <squall/http/detail/client_url.hpp>
#include <squall/http/detail/response_parser.hpp>

namespace squall::http::detail {

struct client_conn {
    std::unique_ptr<byte_stream> s;  // a socket stream, or TLS over one
    std::string key;
    clock::time_point idle_until{};
    response_parser parser;
};

// Where one hop of a fetch goes: the target, and the proxy if any.
struct hop_plan {
    url_parts target;
    std::optional<url_parts> proxy;
    std::string key;  // the pool key
    bool tunnel() const noexcept { return proxy && target.tls; }
    bool absolute_form() const noexcept { return proxy && !target.tls; }
};
std::optional<hop_plan> make_plan(url_parts target, const std::string& proxy);

class client_pool {
public:
    explicit client_pool(client_options opts);
    ~client_pool();
    client_pool(const client_pool&) = delete;
    client_pool& operator=(const client_pool&) = delete;

    const client_options& options() const noexcept { return opts_; }
    semaphore& slots() noexcept { return slots_; }
    std::unique_ptr<client_conn> take(const std::string& key);
    // Keeps `c` for up to `keep` (capped by idle_timeout); zero closes it.
    void give(std::unique_ptr<client_conn> c, clock::duration keep);
    void close_idle() noexcept;
    std::size_t idle() const noexcept;
    std::uint64_t opened() const noexcept { return opened_; }
    void count_open() noexcept { ++opened_; }
    // One client context per (verify, CA file), made on first use; throws
    // std::runtime_error when the CA file cannot be read.
    std::shared_ptr<tls_context> tls_for(bool verify, const std::string& ca_file);

private:
    void sweep() noexcept;
    void arm_sweep();

    client_options opts_;
    semaphore slots_;
    std::unordered_map<std::string, std::vector<std::unique_ptr<client_conn>>> idle_;
    std::map<std::pair<bool, std::string>, std::shared_ptr<tls_context>> tls_;
    timer_handle sweep_timer_;
    bool sweep_armed_ = false;
    std::uint64_t opened_ = 0;
};

// Opens a connection for `plan`: resolve, connect (connect_timeout),
// CONNECT through the proxy when tunnelling, TLS handshake; fills the dns,
// connect and tls timings. Pointers are borrowed until it finishes.
task<result<std::unique_ptr<client_conn>>> open_connection(client_pool* pool, const hop_plan* plan, const request* req,
                                                           fetch_timings* t);

struct exchange_outcome {
    bool reusable = false;   // clean: may go back to the pool
    clock::duration keep{};  // how long it may idle (Keep-Alive: timeout=)
};

// Sends `req` on `c` and reads the response into `out`. With may_redirect
// a redirect response is read whole without the callbacks. *got_bytes
// tells whether any byte of a response arrived (a reused connection that
// failed before that may be retried). `start` is the fetch's start, for
// the first-byte timing.
task<result<exchange_outcome>> exchange(client_conn* c, const hop_plan* plan, const request* req, bool may_redirect,
                                        response* out, bool* got_bytes, clock::time_point start);

bool is_redirect(int status) noexcept;
// "Proxy-Authorization: Basic ...\r\n" from the proxy URL's userinfo, or "".
std::string proxy_authorization(const url_parts& proxy);
// An engine or TLS error as the client's kind (during the exchange).
std::error_code client_error(std::error_code ec) noexcept;

}  // namespace squall::http::detail
