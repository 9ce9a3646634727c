// connection: one HTTP/1.1 connection, from its first byte to close.
//
// Requests are parsed from leased receive buffers (views; the leases are
// held until the request is finished) and served one after another;
// responses to pipelined requests are gathered and written together, in
// order, before the connection waits for more input, or as soon as they
// pass 64 KiB (so a client that reads nothing holds at most one response
// and that much). A bad request is answered (after the responses before
// it) with Connection: close, then a lingering close; a connection that
// failed (reset, a timeout, a write that did not finish) is closed at
// once. With app_settings::decompress_request a gzip body is inflated
// under max_body before the handler runs (413 past it, 400 if corrupt).
// Deadlines: the whole head within header_timeout, each body read within
// body_timeout, the next request within keepalive_timeout, each write
// within write_timeout. While a handler waits, a close watch notices a
// client that leaves (close_watch.hpp). Loop thread only; owned by its
// serving task.
// Tests: tests/http/handler_test.cpp, tests/http/bad_input_test.cpp,
// tests/http/slow_client_test.cpp, tests/http/fault_injection_test.cpp.
#pragma once

#include <coroutine>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <squall/engine/byte_stream.hpp>
#include <squall/engine/cancel.hpp>
#include <squall/engine/result.hpp>
#include <squall/engine/stream.hpp>
#include <squall/engine/task.hpp>
#include <squall/engine/tls.hpp>
#include <squall/http/detail/file_send.hpp>
#include <squall/http/detail/parser.hpp>
#include <squall/http/detail/verbs.hpp>
#include <squall/http/handler.hpp>

namespace squall::http {
class application;
class request_handler;
struct handler_target;
}  // namespace squall::http

namespace squall::http::detail {

class exchange;
enum class framing : std::uint8_t;  // exchange.hpp

// Tornado's error page: "<html><title>404: Not Found</title>...", the
// reason (empty: the standard phrase) HTML-escaped.
std::string error_page(int status, std::string_view reason);
std::string html_escape(std::string_view text);

class connection {
public:
    // `shutdown` (may be empty): once it fires, an idle keep-alive wait
    // ends at once and a request in progress is answered with
    // Connection: close (a graceful stop: nothing in flight is cut).
    // Over any byte stream (a test_stream in tests); its write timeout is
    // the caller's to set.
    connection(std::unique_ptr<byte_stream> s, const application& app, cancel_token shutdown = {});
    // Over a socket: a stream with `opts` and the app's write timeout;
    // with `tls`, a tls_stream over it once any PROXY header is read.
    connection(unique_fd fd, const application& app, const stream_options& opts, cancel_token shutdown = {},
               std::shared_ptr<tls_context> tls = nullptr);
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;

    task<void> run();
    // The peer's address, looked up on first use (most requests never ask),
    // or the client a PROXY protocol header named; "https" over TLS or when
    // the PROXY header says the client spoke TLS.
    std::string_view remote_ip();
    std::string_view peer_scheme() const noexcept;

    // For the handler: send what the exchange holds now (chunked).
    task<result<void>> flush(exchange& ex);
    cancel_token shutdown_token() const noexcept { return shutdown_; }
    // For the handler: write the head and hand the stream over (Upgrade);
    // the connection then keeps only the request the handler still reads.
    task<result<detached_connection>> detach(exchange& ex);
    // For a file handler: the head with Content-Length: body.length, then
    // the file's bytes (file_send.hpp); finishes the exchange.
    task<result<void>> send_file(exchange& ex, file_body body);
    // Fires when the client leaves while its handler runs (close_watch.hpp).
    cancel_token closed_token() noexcept { return cancel_token(&gone_); }
    // Fires when the client leaves or the server stops gracefully.
    cancel_token wait_token() noexcept { return cancel_token(&stop_wait_); }

private:
    friend class watched_call;
    // The client-gone watch (close_watch.cpp).
    void start_watch();
    task<void> end_watch();
    task<void> watch_close();
    void client_left();

    task<bool> read_proxy_header();
    task<result<parse_event>> pump(bool head);
    task<bool> serve_one(bool first);
    task<bool> read_body();
    task<bool> respond(const handler_target* target, verb v, std::vector<std::string> args);
    task<bool> answer_early(const handler_target& target, int status, std::string_view reason, std::string allow);
    task<void> run_handler(exchange& ex, request_handler& h, const handler_target& target, verb v);
    task<void> stream_body(request_handler& h);
    void queue_response(exchange& ex);
    // The error response; with `target`, its handler's write_error renders
    // the page (as a Tornado handler's 405 does), else error_page().
    void queue_error(int status, std::string_view reason, bool close, std::string_view allow = {},
                     const handler_target* target = nullptr);
    void log_response(int status, std::string_view note);  // the access log entry
    void write_head(exchange& ex, framing f, std::uint64_t content_length = 0);
    void flush_head(exchange& ex, bool no_body);
    void check_declared_length(exchange& ex);
    void append(std::string_view bytes);
    void append_owned(std::string&& bytes);
    bool has_output() const noexcept { return !parts_.empty(); }
    std::size_t output_size() const noexcept;
    // Writes what is gathered; an awaitable, not a coroutine: the write's
    // own task is the only frame (one per response on the hot path).
    class flush_awaitable;
    flush_awaitable flush_output();
    void after_flush(const result<void>& w);
    void release_input() noexcept;
    void release_body_input() noexcept;

    std::unique_ptr<byte_stream> s_;    // null once detach() handed it over
    std::shared_ptr<tls_context> tls_;  // to wrap s_ in, at the start of run()
    const application& app_;
    cancel_token shutdown_;
    request_parser p_;
    std::string remote_ip_;  // empty until remote_ip() is asked
    bool proxied_tls_ = false;
    std::vector<buffer_lease> held_;
    std::string_view rest_;
    clock::time_point head_deadline_{};
    bool idle_wait_ = false;  // waiting for the first byte of a later request
    clock::time_point started_{};
    std::vector<std::string> parts_;
    bool last_small_ = false;
    std::string spare_;
    bool close_ = false;
    bool broken_ = false;                 // a read or write failed: close at once, no lingering
    bool detached_ = false;               // a handler took the stream over (detach())
    std::size_t head_leases_ = 0;         // leases the current head lies in
    request_handler* current_ = nullptr;  // the handler running, and its exchange
    exchange* current_ex_ = nullptr;
    std::optional<cancel_state> watch_stop_;  // ends the close watch
    task<void> watch_;                        // the close watch's pending read
    cancel_state gone_;                       // the client left
    cancel_state stop_wait_;                  // the client left or the server stops

    // Output gathered for pipelined requests before it must be written.
    static constexpr std::size_t max_gathered_output = 64 * 1024;
};

class connection::flush_awaitable {
public:
    flush_awaitable(connection* c, task<result<void>> write) noexcept : c_(c), write_(std::move(write)) {}
    explicit flush_awaitable(result<void> done) noexcept : done_(done) {}  // nothing was written
    bool await_ready() const noexcept { return !write_.valid() || write_.done(); }
    template <class P>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<P> h) noexcept {
        return task<result<void>>::awaiter{write_.handle()}.await_suspend(h);
    }
    result<void> await_resume() {
        if (!write_.valid()) return done_;
        result<void> w = task<result<void>>::awaiter{write_.handle()}.await_resume();
        c_->after_flush(w);
        return w;
    }

private:
    connection* c_ = nullptr;
    task<result<void>> write_;
    result<void> done_;
};

}  // namespace squall::http::detail
