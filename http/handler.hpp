// request_handler: Tornado's RequestHandler for squall.
//
// A new handler object serves each request. Derive from it and declare the
// verbs you support as coroutines: `task<void> get()`, or with one string
// parameter per capture group of the route (`task<void> get(std::string id)`).
// application::add<H>() finds them at compile time, so a verb H lacks gets
// 405 with an Allow field naming those it has; HEAD falls back to get()
// without the body. Hooks run in Tornado's order: initialize() once built,
// prepare() (after the body is read), the verb, on_finish() after the
// response is queued; set_default_headers() before anything else.
//
// Output: write() buffers; finish() (implicit at the end of the verb)
// sends the response with Content-Length; flush() sends what is buffered
// now, as a chunked response (HTTP/1.1) or close-delimited (HTTP/1.0).
// Errors: throw http_error(status) (get_argument does for a missing
// argument: 400), or call send_error(); any other exception is logged and
// becomes a 500. write_error() renders the error page and can be
// overridden. Views returned by request() and friends stay valid for the
// request's lifetime. Loop thread only. Tests: tests/http/handler_test.cpp.
#pragma once

#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "engine/cancel.hpp"
#include "engine/result.hpp"
#include "engine/stream.hpp"
#include "engine/task.hpp"
#include "http/form.hpp"
#include "http/request.hpp"

namespace squall::http {

namespace detail {
class exchange;
class connection;
}  // namespace detail

// Thrown by a handler to answer with `status` (Tornado's HTTPError).
class http_error : public std::runtime_error {
public:
    explicit http_error(int status, std::string reason = {})
        : std::runtime_error("HTTP " + std::to_string(status) + (reason.empty() ? "" : ": " + reason)),
          status_(status),
          reason_(std::move(reason)) {}
    int status() const noexcept { return status_; }
    // What the error page says; empty: the standard reason phrase.
    const std::string& reason() const noexcept { return reason_; }

private:
    int status_;
    std::string reason_;
};

// A connection a handler took over with detach() (an Upgrade).
struct detached_connection {
    stream* s = nullptr;   // the connection's stream, valid until the verb returns
    std::string buffered;  // bytes the client sent after this request, already read
    // Fires when the server stops gracefully (SIGTERM): a long-lived
    // protocol should say goodbye (WebSocket: close 1001). May be empty.
    cancel_token shutdown;
};

class request_handler {
public:
    virtual ~request_handler() = default;

    // --- hooks --------------------------------------------------------
    virtual void initialize() {}
    virtual void set_default_headers() {}
    virtual task<void> prepare() { co_return; }
    virtual void on_finish() {}
    // The client went away before the response was finished.
    virtual void on_connection_close() {}
    // Renders the body of an error response; the status is already set.
    virtual void write_error(int status, std::string_view reason);
    // Streaming request bodies (Tornado's @stream_request_body): a class
    // that declares `static constexpr bool stream_request_body = true;`
    // has prepare() run as soon as the head is in, then gets the body here
    // piece by piece as it arrives (body() stays empty), then the verb.
    // The next piece is read only when this returns (backpressure), and
    // `Expect: 100-continue` is answered only after prepare() (a handler
    // that finishes in prepare() refuses the body). A malformed or too
    // large body ends the request with the error status (write_error).
    // The pieces are views valid during the call.
    virtual task<void> data_received(std::string_view chunk);

    // --- the request --------------------------------------------------
    const request_head& request() const noexcept;
    std::string_view body() const noexcept;
    const std::vector<std::string>& path_args() const noexcept;
    std::string_view remote_ip() const noexcept;
    // "http" or "https" as the client used it (Tornado's request.protocol;
    // behind trusted proxies what they say, see http/proxy.hpp).
    std::string_view protocol() const noexcept;

    // Tornado's argument accessors: query string and url-encoded or
    // multipart form body (get_argument), or one of them only. Values are
    // decoded. get_argument(name) without a default throws http_error(400)
    // when the argument is missing.
    std::string get_argument(std::string_view name) const;
    std::string get_argument(std::string_view name, std::string_view fallback) const;
    std::vector<std::string> get_arguments(std::string_view name) const;
    std::optional<std::string> get_query_argument(std::string_view name) const;
    std::optional<std::string> get_body_argument(std::string_view name) const;
    // Files of a multipart/form-data body, by field name.
    const std::vector<std::pair<std::string, uploaded_file>>& files() const;
    // The body parsed as JSON; http_error(400) when it is not JSON.
    nlohmann::json json_body() const;

    // --- the response -------------------------------------------------
    void set_status(int status, std::string_view reason = {});
    int get_status() const noexcept;
    void set_header(std::string_view name, std::string_view value);
    void add_header(std::string_view name, std::string_view value);
    void clear_header(std::string_view name);
    void write(std::string_view chunk);
    void write(const char* chunk) { write(std::string_view(chunk)); }
    void write(const std::string& chunk) { write(std::string_view(chunk)); }
    void write(const nlohmann::json& value);  // also sets Content-Type
    task<result<void>> flush();
    void finish();
    void finish(std::string_view chunk);
    void redirect(std::string_view url, bool permanent = false, int status = 0);
    void send_error(int status = 500, std::string_view reason = {});
    bool finished() const noexcept;

    // Cookies (Tornado's get_cookie/set_cookie and the signed variants,
    // HMAC-SHA256 with the application's cookie_secret).
    std::optional<std::string> get_cookie(std::string_view name) const;
    void set_cookie(std::string_view name, std::string_view value, std::string_view attributes = "Path=/");
    void clear_cookie(std::string_view name, std::string_view path = "/");
    std::optional<std::string> get_signed_cookie(std::string_view name, int max_age_days = 31) const;
    void set_signed_cookie(std::string_view name, std::string_view value, std::string_view attributes = "Path=/");

    // Takes the connection over (WebSocket and other Upgrades): writes the
    // response head as it stands (the status, e.g. set_status(101), and
    // the headers set so far; no body, Content-Length or Connection
    // field is added) and hands over the stream with any bytes already
    // read past this request. The server then reads no further requests
    // on the connection and closes it when the verb returns; until then
    // the handler talks to the peer through the stream. Throws
    // std::logic_error after flush() or finish(); an error result when
    // the head could not be written.
    task<result<detached_connection>> detach();

    // Fires when the server stops gracefully (SIGTERM). A request in
    // progress is let finish, within the drain time; one that may wait
    // long (a long poll) can run its wait under this token to answer at
    // once instead. Empty when the server has no graceful stop.
    cancel_token shutdown_token() const noexcept;

    // The application this request runs in, and its settings.
    const class application& app() const noexcept;

private:
    friend class detail::connection;
    detail::exchange* ex_ = nullptr;
};

}  // namespace squall::http
