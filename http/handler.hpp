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
// now, framed by the handler's Content-Length when it set one (the bytes
// written must then add up to it exactly: too many or too few fail the
// response and close the connection; unflushed, a mismatch is a 500),
// else as a chunked response (HTTP/1.1) or close-delimited (HTTP/1.0).
// The server writes Content-Length, Transfer-Encoding and Connection
// itself (a handler's Connection: close is honoured); the handler's
// Server, Date and Content-Type replace the defaults; each appears once.
// Errors: throw http_error(status, log_message) (get_argument does for a
// missing argument: 400), or call send_error(); any other exception is
// logged and becomes a 500. write_error() renders the error page and can
// be overridden. Views returned by request() and friends stay valid for
// the request's lifetime. Loop thread only. Tests:
// tests/http/handler_test.cpp, framing_test.cpp, response_safety_test.cpp,
// handler_header_test.cpp (which also checks that no io_uring header leaks in).
#pragma once

#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <squall/engine/cancel.hpp>
#include <squall/engine/result.hpp>
#include <squall/engine/task.hpp>
#include <squall/http/cookies.hpp>
#include <squall/http/form.hpp>
#include <squall/http/request.hpp>

namespace squall {
// engine/byte_stream.hpp: declared only, so that handlers' translation
// units do not take in the engine's io_uring headers (include it to use
// a detached_connection's stream).
class byte_stream;
}  // namespace squall

namespace squall::http {

namespace detail {
class exchange;
class connection;
struct handler_access;
}  // namespace detail

// Thrown by a handler to answer with `status` (Tornado's HTTPError).
// `log_message` goes to the log (and to write_error(), for pages that
// choose to show it): it may carry request data and never reaches the
// default error page. `reason`, when given, is the status line's reason
// phrase and the default page's text (Tornado's reason=), checked as
// set_status() checks it.
class http_error : public std::runtime_error {
public:
    explicit http_error(int status, std::string log_message = {}, std::string reason = {})
        : std::runtime_error("HTTP " + std::to_string(status) + (log_message.empty() ? "" : ": " + log_message)),
          status_(status),
          log_message_(std::move(log_message)),
          reason_(std::move(reason)) {}
    int status() const noexcept { return status_; }
    const std::string& log_message() const noexcept { return log_message_; }
    // The reason phrase; empty: the standard one.
    const std::string& reason() const noexcept { return reason_; }

private:
    int status_;
    std::string log_message_;
    std::string reason_;
};

// A connection a handler took over with detach() (an Upgrade): the
// handler owns the stream from then on.
struct detached_connection {
    std::unique_ptr<byte_stream> stream;  // the connection's stream (plain or TLS)
    std::string buffered;                 // bytes the client sent after this request, already read
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
    // The client went away before the response was finished: its
    // connection broke while the body streamed, or it closed (EOF or
    // reset) while prepare() or the verb waited; connection_closed_token()
    // fires at the same time, and the response is dropped (logged as 499).
    virtual void on_connection_close() {}
    // The ETag of a finished 200 response to GET or HEAD (Tornado's
    // compute_etag): by default a hash of the body; nullopt for none. A
    // matching If-None-Match turns the response into a 304. Not called
    // when the handler set ETag itself or flushed, nor unless
    // app_settings::etag is on (http/detail/transform.hpp).
    virtual std::optional<std::string> compute_etag();
    // Renders the body of an error response; the status and its reason
    // phrase are set. `message` is the http_error's log message, or the
    // reason phrase when there is none: it may carry request data, so a
    // page that shows it escapes it. The default page (Tornado's) shows
    // the reason phrase, HTML-escaped.
    virtual void write_error(int status, std::string_view message);
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
    // multipart form body (get_argument), or one of them only; the last
    // value wins, the plural forms give all (query first). Values are
    // decoded, control characters become spaces and, unless strip::no,
    // surrounding whitespace goes (Tornado's strip=True; clean_argument in
    // form.hpp). get_argument(name) without a default throws
    // http_error(400) when the argument is missing.
    enum class strip : bool { no = false, yes = true };
    std::string get_argument(std::string_view name, strip s = strip::yes) const;
    std::string get_argument(std::string_view name, std::string_view fallback, strip s = strip::yes) const;
    std::vector<std::string> get_arguments(std::string_view name, strip s = strip::yes) const;
    std::optional<std::string> get_query_argument(std::string_view name, strip s = strip::yes) const;
    std::optional<std::string> get_body_argument(std::string_view name, strip s = strip::yes) const;
    std::vector<std::string> get_query_arguments(std::string_view name, strip s = strip::yes) const;
    std::vector<std::string> get_body_arguments(std::string_view name, strip s = strip::yes) const;
    // Files of a multipart/form-data body, by field name.
    const std::vector<std::pair<std::string, uploaded_file>>& files() const;
    // The body parsed as JSON; http_error(400) when it is not JSON.
    nlohmann::json json_body() const;

    // --- the response -------------------------------------------------
    // A reason that is not RFC 9112's reason-phrase (HTAB, SP, VCHAR,
    // obs-text) or holds '<' is replaced by the standard phrase.
    void set_status(int status, std::string_view reason = {});
    int get_status() const noexcept;
    // Names must be tokens; values must not hold control bytes other than
    // HTAB (no response splitting); std::invalid_argument otherwise.
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
    // Location is `url` with bytes a URI may not hold (controls, space,
    // non-ASCII and "<>\^`{|}) percent-encoded.
    void redirect(std::string_view url, bool permanent = false, int status = 0);
    // Clears the response and renders write_error(); `reason` as set_status.
    void send_error(int status = 500, std::string_view reason = {});
    bool finished() const noexcept;

    // Cookies (Tornado's get_cookie/set_cookie and the signed variants,
    // HMAC-SHA256 with the application's cookie_secret, or with
    // cookie_secrets[key_version] for key rotation). Attributes come typed
    // (cookie_options, checked: std::invalid_argument for a bad name,
    // value, attribute or SameSite; see cookies.hpp) or, in the older
    // form, as one attribute string (checked for CR, LF and NUL only). A
    // second cookie with the same name, domain and path replaces the
    // first. set_signed_cookie expires in 30 days unless told otherwise
    // (Tornado's expires_days=30; nullopt: a session cookie).
    std::optional<std::string> get_cookie(std::string_view name) const;
    void set_cookie(std::string_view name, std::string_view value, const cookie_options& opts = {});
    void set_cookie(std::string_view name, std::string_view value, std::string_view attributes);
    void clear_cookie(std::string_view name, std::string_view path = "/", std::string_view domain = {});
    std::optional<std::string> get_signed_cookie(std::string_view name, int max_age_days = 31) const;
    void set_signed_cookie(std::string_view name, std::string_view value, std::optional<double> expires_days = 30,
                           cookie_options opts = {});
    void set_signed_cookie(std::string_view name, std::string_view value, std::string_view attributes);

    // Takes the connection over (WebSocket and other Upgrades): writes the
    // response head as it stands (the status, e.g. set_status(101), and
    // the headers set so far; no body, Content-Length or Connection
    // field is added) and hands over the stream, by unique_ptr, with any
    // bytes already read past this request. The server then reads no
    // further requests on the connection and frees its buffers; the
    // stream lives (and the socket stays open) as long as its new owner
    // keeps it, also after the verb returns. Throws
    // std::logic_error after flush() or finish(); an error result when
    // the head could not be written.
    task<result<detached_connection>> detach();

    // Fires when the server stops gracefully (SIGTERM). A request in
    // progress is let finish, within the drain time; one that may wait
    // long (a long poll) can run its wait under this token to answer at
    // once instead. Empty when the server has no graceful stop.
    cancel_token shutdown_token() const noexcept;
    // Fires when the client leaves while this request's handler waits
    // (Tornado's on_connection_close as a token; noticed within a loop
    // turn of the EOF or reset). wait_token() fires then too, and also
    // when shutdown_token() does: the one to run a long poll's wait under.
    cancel_token connection_closed_token() const noexcept;
    cancel_token wait_token() const noexcept;

    // The application this request runs in, and its settings.
    const class application& app() const noexcept;

private:
    friend class detail::connection;
    friend struct detail::handler_access;  // the file, ETag and template helpers
    void send_error(int status, std::string_view reason, std::string_view message);
    detail::exchange* ex_ = nullptr;
};

}  // namespace squall::http
