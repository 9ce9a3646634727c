// The response side of a connection: running the handler, serialising its
// response, error pages and chunked flushes.
#include <charconv>
#include <spdlog/spdlog.h>

#include <squall/http/application.hpp>
#include <squall/http/detail/connection.hpp>
#include <squall/http/detail/date.hpp>
#include <squall/http/detail/exchange.hpp>
#include <squall/http/handler.hpp>
#include <squall/http/status.hpp>

namespace squall::http::detail {
namespace {

bool bodiless(int status) noexcept { return status < 200 || status == 204 || status == 304; }

void append_number(std::string& out, std::uint64_t n) {
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, n);
    out.append(buf, r.ptr);
}

void append_hex(std::string& out, std::uint64_t n) {
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, n, 16);
    out.append(buf, r.ptr);
}

}  // namespace

task<void> connection::run_handler(exchange& ex, request_handler& h, const handler_target& target, verb v) {
    h.ex_ = &ex;
    int failed = 0;
    std::string why;
    try {
        h.initialize();
        h.set_default_headers();
        co_await h.prepare();
        if (!ex.finished && target.stream_body && !p_.message_complete()) co_await stream_body(h);
        if (!ex.finished && !ex.closed) co_await target.verbs[static_cast<std::size_t>(v)](h, ex.args());
        if (!ex.finished) h.finish();
    } catch (const http_error& e) {
        failed = e.status();
        why = e.reason();
    } catch (const std::exception& e) {
        spdlog::error("squall: {} {} from {}: {}", ex.head().method, ex.head().target, ex.remote_ip(), e.what());
        failed = 500;
    } catch (...) {
        spdlog::error("squall: {} {}: unknown exception", ex.head().method, ex.head().target);
        failed = 500;
    }
    if (!failed || detached_) co_return;
    if (ex.headers_sent) {
        close_ = true;  // too late for an error page: cut the response short
        ex.closed = true;
        co_return;
    }
    try {
        h.send_error(failed, failed == 500 ? std::string_view() : std::string_view(why));
    } catch (const std::exception& e) {
        spdlog::error("squall: write_error failed: {}", e.what());
        ex.status = 500;
        ex.headers.clear();
        ex.body_out = error_page(500, {});
        ex.finished = true;
    }
}

task<void> connection::stream_body(request_handler& h) {
    exchange& ex = *h.ex_;
    // Not when prepare() flushed a response head already: a 100 would
    // land inside that response.
    if (p_.head().expect_continue && !ex.headers_sent) append("HTTP/1.1 100 Continue\r\n\r\n");
    p_.stream_body();
    p_.resume();
    for (;;) {
        auto ev = co_await pump(false);
        if (!ev) {
            // Reset or timed out mid-body: nobody is left to answer.
            ex.closed = true;
            close_ = true;
            h.on_connection_close();
            co_return;
        }
        if (*ev == parse_event::error) {
            close_ = true;
            throw http_error(p_.error_status(), std::string(p_.error_reason()));
        }
        for (std::string_view chunk : p_.chunks()) {
            co_await h.data_received(chunk);
            if (ex.finished) co_return;  // answered early: the rest is not read
        }
        release_body_input();
        if (p_.message_complete()) co_return;
    }
}

task<result<detached_connection>> connection::detach(exchange& ex) {
    detached_ = true;
    write_head(ex, false, 0);
    ex.headers_sent = true;
    ex.finished = true;
    result<void> w = co_await flush_output();
    if (!w) co_return w.error();
    // The head and body move out of the receive buffers, which go back
    // to the ring: a long-lived upgraded connection must not hold them.
    // (A head rewritten for an inflated body is a copy whose views point
    // into the buffers: those then stay.)
    detached_connection out{&s_, std::string(rest_), shutdown_};
    rest_ = {};
    if (!ex.body().empty()) ex.replace_body(std::string(ex.body()));
    if (&ex.head() == &p_.head()) {
        p_.own_head();
        held_.clear();
    }
    co_return out;
}

std::string error_page(int status, std::string_view reason) {
    std::string text = std::to_string(status) + ": " + std::string(reason.empty() ? reason_phrase(status) : reason);
    return "<html><title>" + text + "</title><body>" + text + "</body></html>";
}

void connection::write_head(exchange& ex, bool chunked, std::size_t content_length) {
    const request_head& h = p_.head();
    std::string& out = (append({}), parts_.back());
    out += "HTTP/1.1 ";
    append_number(out, static_cast<std::uint64_t>(ex.status));
    out += ' ';
    out += ex.reason.empty() ? reason_phrase(ex.status) : std::string_view(ex.reason);
    out += "\r\n";
    const auto& s = app_.settings();
    if (!s.server_name.empty()) {
        out += "Server: ";
        out += s.server_name;
        out += "\r\n";
    }
    out += "Date: ";
    out += http_date();
    out += "\r\n";
    if (!bodiless(ex.status) && !detached_) {
        if (!ex.header_out("Content-Type")) out += "Content-Type: text/html; charset=UTF-8\r\n";
        if (chunked) {
            out += "Transfer-Encoding: chunked\r\n";
        } else if (!ex.headers_sent) {
            out += "Content-Length: ";
            append_number(out, content_length);
            out += "\r\n";
        }
    }
    if (detached_) {
        // The handler names the protocol (Connection: Upgrade).
    } else if (!h.keep_alive || close_) {
        out += "Connection: close\r\n";
    } else if (h.version_minor == 0) {
        out += "Connection: keep-alive\r\n";
    }
    for (const auto& [name, value] : ex.headers) {
        out += name;
        out += ": ";
        out += value;
        out += "\r\n";
    }
    out += "\r\n";
}

void connection::queue_response(exchange& ex) {
    if (ex.closed) return;
    const bool head_only = p_.head().method == "HEAD" || bodiless(ex.status);
    if (ex.headers_sent) {
        // The rest of a flushed response: the last chunk and the end.
        if (ex.chunked) {
            std::string tail;
            if (!ex.body_out.empty() && !head_only) {
                append_hex(tail, ex.body_out.size());
                tail += "\r\n";
                append(tail);
                append(ex.body_out);
                append("\r\n");
            }
            append("0\r\n\r\n");
        } else if (!head_only) {
            append(ex.body_out);
        }
    } else {
        write_head(ex, false, ex.body_out.size());
        if (!head_only) {
            if (ex.body_out.size() >= 16 * 1024) append_owned(std::move(ex.body_out));
            else append(ex.body_out);
        }
    }
    if (app_.settings().access_log) {
        auto ms = std::chrono::duration<double, std::milli>(clock::now() - started_).count();
        spdlog::info("{} {} {} ({}) {:.2f}ms", ex.status, ex.head().method, ex.head().target, ex.remote_ip(), ms);
    }
}

void connection::queue_error(int status, std::string_view reason, bool close, std::string_view allow,
                             const handler_target* target) {
    if (close) close_ = true;
    static const request_head none;
    exchange ex(*this, app_, p_.head_complete() ? p_.head() : none, {}, {});
    ex.status = status;
    if (target) {
        try {
            auto h = target->make();
            h->ex_ = &ex;
            h->initialize();
            h->send_error(status);
        } catch (...) {
            spdlog::error("squall: the error page for {} failed; sending the plain one", status);
            ex.headers.clear();
            ex.status = status;
            ex.body_out = error_page(status, {});
        }
    } else {
        ex.body_out = error_page(status, {});
    }
    if (!allow.empty()) ex.set_header("Allow", allow);
    write_head(ex, false, ex.body_out.size());
    if (p_.head().method != "HEAD" || !p_.head_complete()) append(ex.body_out);
    if (app_.settings().access_log)
        spdlog::info("{} {} {} ({}): {}", status, p_.head().method, p_.head().target, remote_ip(), reason);
}

task<result<void>> connection::flush(exchange& ex) {
    // (close_ alone is no reason: an HTTP/1.0 response flushed once is
    // close-delimited, and later flushes go on.)
    if (ex.closed || broken_) co_return errc::closed;
    const bool head_only = p_.head().method == "HEAD";
    if (!ex.headers_sent) {
        // HTTP/1.1 streams the rest chunked; HTTP/1.0 has no chunks, so the
        // body runs until the connection closes.
        ex.chunked = p_.head().version_minor == 1;
        if (!ex.chunked) close_ = true;
        ex.headers_sent = true;  // before write_head: no Content-Length
        write_head(ex, ex.chunked, 0);
    }
    if (!ex.body_out.empty() && !head_only) {
        if (ex.chunked) {
            std::string size;
            append_hex(size, ex.body_out.size());
            size += "\r\n";
            append(size);
            append(ex.body_out);
            append("\r\n");
        } else {
            append(ex.body_out);
        }
    }
    ex.body_out.clear();
    result<void> w = co_await flush_output();
    if (!w) {
        ex.closed = true;
        close_ = true;
    }
    co_return w;
}

}  // namespace squall::http::detail
