#include <squall/http/detail/connection.hpp>

#include <algorithm>
#include <charconv>
#include <optional>
#include <spdlog/spdlog.h>

#include <squall/engine/proxy_protocol.hpp>
#include <squall/engine/server.hpp>
#include <squall/engine/tls_stream.hpp>
#include <squall/http/application.hpp>
#include <squall/http/detail/date.hpp>
#include <squall/http/detail/exchange.hpp>
#include <squall/http/detail/gzip.hpp>
#include <squall/http/detail/transform.hpp>
#include <squall/http/status.hpp>

namespace squall::http::detail {
namespace {

using namespace std::chrono_literals;

// How long a new connection caught by a graceful stop before its first
// byte still gets for it.
constexpr auto first_request_grace = 1s;

stream_options stream_options_for(const app_settings& s, stream_options o) {
    o.write_timeout = s.write_timeout;
    return o;
}

parser_limits limits_for(const app_settings& s) { return s; }

bool has_body(const request_head& h) noexcept { return h.chunked || (h.content_length && *h.content_length > 0); }

// Tornado's decompress_request: a gzip body is inflated, under max_body,
// before the handler runs; the handler then sees no Content-Encoding but
// X-Consumed-Content-Encoding, as in Tornado.
struct inflated_body {
    int refuse = 0;                    // the status to answer instead, or 0
    std::optional<request_head> head;  // the head the handler sees, when inflated
    std::string body;
};

inflated_body inflate_request(const app_settings& s, const request_head& h, std::string_view body) {
    inflated_body out;
    if (!s.decompress_request || body.empty()) return out;
    auto coding = h.headers.get("content-encoding");
    if (!coding || !is_gzip_coding(*coding)) return out;
    switch (gunzip(body, s.max_body, out.body)) {
        case inflate_status::too_large: out.refuse = 413; return out;
        case inflate_status::corrupt: out.refuse = 400; return out;
        case inflate_status::ok: break;
    }
    out.head = h;
    out.head->headers.clear();
    for (const auto& f : h.headers) {
        if (!iequals(f.name, "content-encoding")) out.head->headers.add(f.name, f.value);
    }
    out.head->headers.add("X-Consumed-Content-Encoding", *coding);
    return out;
}

// The response fields' vector, lent from one response to the next on
// this thread (one heap allocation fewer per request; several responses
// in progress at once simply make their own).
using field_vector = std::vector<std::pair<std::string, std::string>>;
thread_local field_vector spare_fields;

void lend_fields(field_vector& to) noexcept {
    if (spare_fields.capacity() != 0) to = std::move(spare_fields);
}

void return_fields(field_vector& from) noexcept {
    if (from.capacity() <= spare_fields.capacity()) return;
    from.clear();
    spare_fields = std::move(from);
}

// "1.2.3.4:5678" or "[::1]:5678": the host part only; "unix:/path" whole.
std::string host_of(const address& a) {
    std::string s = a.to_string();
    if (a.family() != AF_INET && a.family() != AF_INET6) return s;
    std::size_t colon = s.rfind(':');
    return s.front() == '[' ? s.substr(1, colon - 2) : s.substr(0, colon);
}

}  // namespace

connection::connection(std::unique_ptr<byte_stream> s, const application& app, cancel_token shutdown)
    : s_(std::move(s)), app_(app), shutdown_(shutdown), p_(limits_for(app.settings())), stop_wait_(shutdown.state()) {}

connection::connection(unique_fd fd, const application& app, const stream_options& opts, cancel_token shutdown,
                       std::shared_ptr<tls_context> tls)
    : connection(std::make_unique<stream>(std::move(fd), stream_options_for(app.settings(), opts)), app, shutdown) {
    tls_ = std::move(tls);
}

std::string_view connection::remote_ip() {
    if (remote_ip_.empty() && s_ && !s_->closed()) {
        if (auto peer = s_->peer()) remote_ip_ = host_of(*peer);
    }
    return remote_ip_;
}

std::string_view connection::peer_scheme() const noexcept {
    return dynamic_cast<const tls_stream*>(s_.get()) || proxied_tls_ ? "https" : "http";
}

// With the PROXY protocol on, the header comes before anything else
// (before TLS too); without a good one the connection closes unanswered.
task<bool> connection::read_proxy_header() {
    const auto& ps = app_.settings().proxy;
    // The header is read off the socket itself, before the stream read
    // anything and before TLS starts; only a socket stream has one.
    auto* socket = dynamic_cast<stream*>(s_.get());
    if (!socket) co_return false;
    auto h = co_await squall::read_proxy_header(socket->fd(), clock::now() + ps.proxy_header_timeout);
    if (!h) {
        spdlog::info("squall: no valid PROXY header from {}: {}; closing", remote_ip(), h.error().message());
        co_return false;
    }
    if (!h->local) {
        remote_ip_ = host_of(h->source);
        proxied_tls_ = h->ssl;
    }
    co_return true;
}

task<void> connection::run() {
    if (app_.settings().proxy.proxy_protocol) {
        bool ok = co_await read_proxy_header();
        if (!ok) co_return;
    }
    if (tls_) s_ = std::make_unique<tls_stream>(std::move(s_), std::move(tls_));
    bool first = true;
    for (;;) {
        bool keep = co_await serve_one(first);
        first = false;
        if (!keep || close_) break;
    }
    // A peer that reset, timed out or stopped reading gets no lingering
    // close: nothing more can reach it, and its resources go now.
    if (broken_ || detached_) co_return;
    result<void> flushed = co_await flush_output();
    if (!flushed) co_return;
    // A lingering close (as nginx does): half-close, then discard what the
    // client still sends for a moment, so that unread input does not turn
    // the close into a reset that destroys the response in flight.
    result<void> shut = co_await s_->shutdown_write();
    if (!shut) co_return;
    auto until = clock::now() + 2s;
    std::size_t drained = 0;
    while (drained < (1u << 20)) {
        auto chunk = co_await s_->read_some(until);
        if (!chunk) break;
        drained += chunk->size();
    }
}

task<result<parse_event>> connection::pump(bool head) {
    const auto& s = app_.settings();
    for (;;) {
        if (rest_.empty()) {
            if (has_output()) {
                result<void> w = co_await flush_output();
                if (!w) co_return w.error();
            }
            if (!head) {
                // Mid-body, the buffers read so far go back to the ring
                // (what still points into them is copied first), so that
                // one connection holds at most its head's and one more.
                p_.own_pending();
                release_body_input();
            }
            clock::time_point deadline = head ? head_deadline_ : clock::now() + s.body_timeout;
            result<buffer_lease> lease = errc::canceled;
            // Before a request's first byte, a graceful stop ends the wait:
            // at once between keep-alive requests, but a new connection's
            // first request may be on its way (its client connected to send
            // it), so that wait only shrinks to first_request_grace.
            const bool stoppable = head && !p_.in_message() && shutdown_.can_be_cancelled();
            if (stoppable && shutdown_.cancel_requested()) {
                if (idle_wait_) co_return errc::canceled;
                deadline = std::min(deadline, clock::now() + first_request_grace);
            }
            if (stoppable && !shutdown_.cancel_requested()) {
                // The one wait a graceful shutdown cuts short: under its token.
                lease = co_await s_->read_some(deadline, shutdown_);
                if (!lease && shutdown_.cancel_requested()) {
                    if (idle_wait_) co_return lease.error();  // a clean end
                    continue;                                 // a new connection: the short wait above
                }
            } else {
                lease = co_await s_->read_some(deadline);
            }
            if (!lease) {
                broken_ = true;  // reset, timed out or gone: close without lingering
                co_return lease.error();
            }
            auto bytes = lease->bytes();
            held_.push_back(std::move(*lease));
            rest_ = std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size());
        }
        const bool was_idle = !p_.in_message();
        if (head && was_idle) started_ = clock::now();  // the request's time runs from its first byte
        auto step = p_.feed(rest_);
        rest_.remove_prefix(step.consumed);
        // The first byte of a later request starts its head's clock.
        if (head && was_idle && p_.in_message() && idle_wait_) {
            idle_wait_ = false;
            head_deadline_ = clock::now() + s.header_timeout;
        }
        if (step.event != parse_event::need_more) co_return step.event;
    }
}

task<bool> connection::serve_one(bool first) {
    const auto& s = app_.settings();
    // Responses to pipelined requests are gathered, but only up to a
    // bound: a client that sends requests and reads nothing is made to
    // wait (and times out) instead of making the server buffer for it.
    if (output_size() >= max_gathered_output) {
        result<void> w = co_await flush_output();
        if (!w) co_return false;
    }
    // The first request's whole head must come within header_timeout (an
    // empty connection is closed then); later ones may idle for
    // keepalive_timeout first.
    idle_wait_ = !first && rest_.empty();
    head_deadline_ = clock::now() + (idle_wait_ ? s.keepalive_timeout : s.header_timeout);
    auto ev = co_await pump(true);
    if (!ev) co_return false;  // closed, reset, timed out or stopped: nothing to answer
    if (*ev == parse_event::error) {
        queue_error(p_.error_status(), p_.error_reason(), true);
        co_return false;
    }
    head_leases_ = held_.size();
    const request_head& h = p_.head();
    auto v = parse_verb(h.method);
    auto found = app_.find(h.path);
    const handler_target& target = found ? *found->target : app_.not_found();
    if (!v && target.knows(h.method)) co_return co_await answer_early(target, 405, {}, target.allow_header());
    if (!v) co_return co_await answer_early(target, 501, "method not implemented", {});
    verb effective = *v;
    if (!target.allows(effective)) {
        if (effective != verb::head || !target.allows(verb::get) || !target.head_from_get)
            co_return co_await answer_early(target, 405, {}, target.allow_header());
        effective = verb::get;  // HEAD is GET without the body
    }
    if (*ev == parse_event::head_done && !target.stream_body) {
        bool read = co_await read_body();
        if (!read) co_return false;
    }
    std::vector<std::string> args = found ? std::move(found->args) : std::vector<std::string>{};
    co_return co_await respond(&target, effective, std::move(args));
}

task<bool> connection::read_body() {
    if (p_.head().expect_continue) append("HTTP/1.1 100 Continue\r\n\r\n");
    p_.resume();
    auto ev = co_await pump(false);
    if (!ev) co_return false;
    if (*ev == parse_event::error) {
        queue_error(p_.error_status(), p_.error_reason(), true);
        co_return false;
    }
    co_return true;
}

task<bool> connection::respond(const handler_target* target, verb v, std::vector<std::string> args) {
    const request_head& h = p_.head();
    inflated_body inflated = inflate_request(app_.settings(), h, p_.body());
    if (inflated.refuse) {
        queue_error(inflated.refuse, inflated.refuse == 413 ? "body too large after inflating" : "corrupt gzip body",
                    true);
        co_return false;
    }
    exchange ex(*this, app_, inflated.head ? *inflated.head : h, p_.body(), std::move(args));
    lend_fields(ex.headers);
    if (inflated.head) ex.replace_body(std::move(inflated.body));
    auto handler = target->make();
    co_await run_handler(ex, *handler, *target, v);
    if (detached_) {
        handler->on_finish();
        co_return false;
    }
    // A streamed body the handler stopped reading (it answered early) or
    // that broke off: the rest cannot be told from a next request.
    if (!p_.message_complete()) close_ = true;
    // A CONNECT that got an ordinary answer: the client may already be
    // sending tunnel bytes. (An Upgrade nobody took is simply ignored,
    // RFC 9110 7.8: the connection goes on in HTTP/1.1.)
    if (h.method == "CONNECT" || shutdown_.cancel_requested() || stopping()) close_ = true;
    transform_response(ex, *handler);
    queue_response(ex);
    handler->on_finish();
    return_fields(ex.headers);
    bool keep = h.keep_alive && !close_ && !ex.closed;
    p_.next_message();
    release_input();
    co_return keep;
}

task<bool> connection::answer_early(const handler_target& target, int status, std::string_view reason,
                                    std::string allow) {
    // Answered from the head alone, before any body is read. A short body
    // (a Content-Length up to max_drain) is then read and dropped so that
    // the connection can go on; a longer or chunked one closes it, and so
    // does one the client holds back for a 100 Continue it will not get.
    const request_head& h = p_.head();
    const bool body_coming = !p_.message_complete() && has_body(h);
    bool close = !h.keep_alive || h.method == "CONNECT" || shutdown_.cancel_requested() || stopping();  // see respond()
    if (body_coming && (h.expect_continue || !h.content_length || *h.content_length > app_.settings().max_drain))
        close = true;
    queue_error(status, reason, close, allow, &target);
    if (body_coming && !close) {
        p_.resume();
        auto ev = co_await pump(false);
        if (!ev || *ev != parse_event::message_done) co_return false;
    }
    p_.next_message();
    release_input();
    co_return !close;
}

void connection::log_response(int status, std::string_view note) {
    const auto& s = app_.settings();
    if (!s.access_log) return;
    const request_head& h = p_.head();
    access_entry e{status,
                   h.method,
                   h.target,
                   remote_ip(),
                   std::chrono::duration<double, std::milli>(clock::now() - started_).count(),
                   note};
    if (s.log_function) s.log_function(e);
    else log_access(e);
}

void connection::release_input() noexcept {
    // rest_ (the start of a pipelined request) lies in the newest lease.
    if (rest_.empty() || held_.empty()) {
        held_.clear();
        return;
    }
    buffer_lease last = std::move(held_.back());
    held_.clear();
    held_.push_back(std::move(last));
}

void connection::release_body_input() noexcept {
    // While a body streams: the head's leases stay (the handler still
    // reads the head), and the newest when rest_ lies in it.
    std::size_t keep = head_leases_ + (rest_.empty() ? 0 : 1);
    if (held_.size() <= keep) return;
    if (!rest_.empty()) std::swap(held_[head_leases_], held_.back());
    held_.erase(held_.begin() + static_cast<std::ptrdiff_t>(keep), held_.end());
}

std::size_t connection::output_size() const noexcept {
    std::size_t n = 0;
    for (const auto& p : parts_) n += p.size();
    return n;
}

void connection::append(std::string_view bytes) {
    if (!last_small_) {
        parts_.push_back(std::move(spare_));
        spare_ = std::string();
        last_small_ = true;
    }
    parts_.back().append(bytes);
}

void connection::append_owned(std::string&& bytes) {
    parts_.push_back(std::move(bytes));
    last_small_ = false;
}

connection::flush_awaitable connection::flush_output() {
    if (parts_.empty()) return flush_awaitable(result<void>{});
    if (!s_) return flush_awaitable(result<void>(errc::closed));  // handed over by detach()
    if (parts_.size() == 1) return {this, s_->write(std::string_view(parts_[0]))};
    std::vector<iovec> iov;
    iov.reserve(parts_.size());
    for (auto& p : parts_) iov.push_back({p.data(), p.size()});
    return {this, s_->writev(std::move(iov))};
}

void connection::after_flush(const result<void>& w) {
    spare_ = std::move(parts_[0]);  // keeps its capacity for the next responses
    spare_.clear();
    parts_.clear();
    last_small_ = false;
    if (!w) {
        // Part of a response may be out: nothing may follow it, and a
        // handler that goes on (a long poll) must not keep the socket and
        // its buffers for a client that is gone. Later flushes fail.
        close_ = broken_ = true;
        s_->close();
    }
}

}  // namespace squall::http::detail
