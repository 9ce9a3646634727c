// The response side of a connection: running the handler, serialising its
// response, error pages and chunked flushes.
#include <array>
#include <charconv>
#include <cstring>
#include <ctime>
#include <spdlog/spdlog.h>
#include <stdexcept>

#include <squall/http/application.hpp>
#include <squall/http/detail/close_watch.hpp>
#include <squall/http/detail/connection.hpp>
#include <squall/http/detail/date.hpp>
#include <squall/http/detail/exchange.hpp>
#include <squall/http/detail/grammar.hpp>
#include <squall/http/handler.hpp>
#include <squall/http/status.hpp>

namespace squall::http::detail {
namespace {

bool bodiless(int status) noexcept { return status < 200 || status == 204 || status == 304; }

// The fields a response has at most once. The framing ones and
// Connection are the server's own (it frames the body and manages the
// connection); of Server, Date and Content-Type the handler's first value
// wins over the server's default.
enum field_kind : unsigned {
    other = 0,
    framing_field = 1,
    connection_field = 2,
    server = 4,
    date = 8,
    content_type = 16
};

field_kind kind_of(std::string_view name) noexcept {
    switch (name.size()) {  // the length first: most names are none of these
        case 4: return iequals(name, "date") ? date : other;
        case 6: return iequals(name, "server") ? server : other;
        case 10: return iequals(name, "connection") ? connection_field : other;
        case 12: return iequals(name, "content-type") ? content_type : other;
        case 14: return iequals(name, "content-length") ? framing_field : other;
        case 17: return iequals(name, "transfer-encoding") ? framing_field : other;
        default: return other;
    }
}

// Whether a Connection field value lists the "close" option.
bool lists_close(std::string_view value) noexcept {
    while (!value.empty()) {
        std::size_t comma = value.find(',');
        std::string_view opt = value.substr(0, comma);
        while (!opt.empty() && (opt.front() == ' ' || opt.front() == '\t')) opt.remove_prefix(1);
        while (!opt.empty() && (opt.back() == ' ' || opt.back() == '\t')) opt.remove_suffix(1);
        if (iequals(opt, "close")) return true;
        value = comma == std::string_view::npos ? std::string_view() : value.substr(comma + 1);
    }
    return false;
}

// 1xx and 204 never carry Content-Length; a 304 may repeat the one a
// 200 would have (RFC 9110 8.6).
bool may_declare_length(int status) noexcept { return status >= 200 && status != 204; }

// "Server: <name>\r\nDate: <IMF-fixdate>\r\n" (no Server line for an
// empty name), formatted once per second per thread and per server name.
std::string_view server_date_fields(std::string_view server_name) {
    thread_local std::string text;
    thread_local std::string name;
    thread_local std::time_t second = -1;
    timespec now;
    ::clock_gettime(CLOCK_REALTIME_COARSE, &now);
    if (now.tv_sec != second || name != server_name) {
        second = now.tv_sec;
        name.assign(server_name);
        text.clear();
        if (!server_name.empty()) text.append("Server: ").append(server_name).append("\r\n");
        text.append("Date: ").append(http_date()).append("\r\n");
    }
    return text;
}

}  // namespace

task<void> connection::run_handler(exchange& ex, request_handler& h, const handler_target& target, verb v) {
    h.ex_ = &ex;
    current_ = &h;
    current_ex_ = &ex;
    int failed = 0;
    std::string why, reason;
    try {
        h.initialize();
        h.set_default_headers();
        if (target.has_prepare) {
            auto prepared = h.prepare();
            watched_call prepare_step(*this, prepared);  // a step that waits watches for the client leaving
            co_await prepare_step;
        }
        if (!ex.finished && target.stream_body && !p_.message_complete()) co_await stream_body(h);
        if (!ex.finished && !ex.closed) {
            auto verb_task = target.verbs[static_cast<std::size_t>(v)](h, ex.args());
            watched_call verb_step(*this, verb_task);
            co_await verb_step;
        }
        if (!ex.finished) h.finish();
        check_declared_length(ex);
    } catch (const http_error& e) {
        failed = e.status();
        why = e.log_message();
        reason = e.reason();
        // As Tornado logs an HTTPError's log message: a warning.
        if (!why.empty())
            spdlog::warn("squall: {} {} {} ({}): {}", failed, ex.head().method, ex.head().target, ex.remote_ip(), why);
    } catch (const std::exception& e) {
        spdlog::error("squall: {} {} from {}: {}", ex.head().method, ex.head().target, ex.remote_ip(), e.what());
        failed = 500;
    } catch (...) {
        spdlog::error("squall: {} {}: unknown exception", ex.head().method, ex.head().target);
        failed = 500;
    }
    if (watch_.valid()) co_await end_watch();  // (not a call per request: most never watch)
    current_ = nullptr;
    current_ex_ = nullptr;
    if (!failed || detached_) co_return;
    if (ex.headers_sent) {
        close_ = true;  // too late for an error page: cut the response short
        ex.closed = true;
        co_return;
    }
    try {
        h.send_error(failed, reason, why);
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
            client_left();
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
    if (watch_.valid()) co_await end_watch();  // the stream gets one reader: the new owner
    detached_ = true;
    write_head(ex, framing::none);
    ex.headers_sent = true;
    ex.finished = true;
    log_response(ex.status, {});
    result<void> w = co_await flush_output();
    if (!w) co_return w.error();
    // The head and body move out of the receive buffers, which go back
    // to the ring: a long-lived upgraded connection must not hold them.
    // (A head rewritten for an inflated body is a copy whose views point
    // into the buffers: those then stay.)
    detached_connection out{std::move(s_), std::string(rest_), shutdown_};
    rest_ = {};
    // Nothing more goes out from here: the output buffers go too.
    parts_ = {};
    spare_ = {};
    last_small_ = false;
    if (!ex.body().empty()) ex.replace_body(std::string(ex.body()));
    if (&ex.head() == &p_.head()) {
        p_.own_head();
        held_.clear();
    }
    co_return out;
}

std::string html_escape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&#39;"; break;
            default: out += c;
        }
    }
    return out;
}

std::string error_page(int status, std::string_view reason) {
    std::string text = std::to_string(status) + ": " + html_escape(reason.empty() ? reason_phrase(status) : reason);
    return "<html><title>" + text + "</title><body>" + text + "</body></html>";
}

void connection::check_declared_length(exchange& ex) {
    // A response not flushed yet whose body disagrees with the handler's
    // Content-Length: nothing is on the wire, so it becomes a 500 (and
    // the connection closes, as when the mismatch shows after a flush).
    if (ex.headers_sent || bodiless(ex.status) || p_.head().method == "HEAD") return;
    auto declared = ex.declared_length();
    if (!declared || *declared == ex.body_out.size()) return;
    close_ = true;
    throw std::logic_error("the handler set Content-Length: " + std::to_string(*declared) + " and wrote " +
                           std::to_string(ex.body_out.size()) + " bytes");
}

void connection::write_head(exchange& ex, framing f, std::uint64_t content_length) {
    // One pass classifies the handler's fields and bounds the head's size;
    // the head is then copied into place with no reallocation and no
    // per-piece length checks (it is written for every response).
    const auto& s = app_.settings();
    std::string_view phrase = ex.reason.empty() ? reason_phrase(ex.status) : std::string_view(ex.reason);
    std::size_t bound = sizeof "HTTP/1.1 " + 20 + phrase.size() + 2;
    unsigned seen = 0;
    // Each field's kind, kept for the second pass (for the first few).
    constexpr std::size_t kept = 16;
    std::array<std::uint8_t, kept> kinds;
    std::size_t i = 0;
    for (const auto& [name, value] : ex.headers) {
        bound += name.size() + value.size() + 4;
        field_kind k = kind_of(name);
        seen |= k;
        if (i < kept) kinds[i++] = static_cast<std::uint8_t>(k);
    }
    const bool default_type = !(seen & content_type) && !bodiless(ex.status) && !detached_;
    std::string_view server_date = server_date_fields(s.server_name);
    bound += server_date.size() + sizeof "Content-Type: text/html; charset=UTF-8\r\n" + sizeof "Content-Length: \r\n" +
             20 + sizeof "Transfer-Encoding: chunked\r\n" + sizeof "Connection: keep-alive\r\n" + 2;
    std::string& out = (append({}), parts_.back());
    const std::size_t start = out.size();
    out.resize(start + bound);
    char* w = out.data() + start;
    auto put = [&w](std::string_view v) {
        std::memcpy(w, v.data(), v.size());
        w += v.size();
    };
    auto put_number = [&w](std::uint64_t n) { w = std::to_chars(w, w + 20, n).ptr; };
    put("HTTP/1.1 ");
    put_number(static_cast<std::uint64_t>(ex.status));
    *w++ = ' ';
    put(phrase);
    put("\r\n");
    unsigned written = 0;
    i = 0;
    for (const auto& [name, value] : ex.headers) {
        field_kind k = !seen ? other : i < kept ? static_cast<field_kind>(kinds[i]) : kind_of(name);
        ++i;
        if (k == framing_field) continue;
        if (k == connection_field && !detached_) {
            if (lists_close(value)) close_ = true;  // honoured, and written below
            continue;
        }
        if (written & k) continue;
        written |= k;
        put(name);
        put(": ");
        put(value);
        put("\r\n");
    }
    // Server and Date come from the per-second block unless the handler
    // named its own.
    if (!(seen & (server | date))) {
        put(server_date);
    } else {
        if (!(seen & server) && !s.server_name.empty()) put(server_date.substr(0, s.server_name.size() + 10));
        if (!(seen & date)) put(server_date.substr(s.server_name.empty() ? 0 : s.server_name.size() + 10));
    }
    if (default_type) put("Content-Type: text/html; charset=UTF-8\r\n");
    if (f == framing::length) {
        put("Content-Length: ");
        put_number(content_length);
        put("\r\n");
    } else if (f == framing::chunked) {
        put("Transfer-Encoding: chunked\r\n");
    }
    if (detached_) {
        // The handler names the protocol (Connection: Upgrade).
    } else if (!p_.head().keep_alive || close_) {
        put("Connection: close\r\n");
    } else if (p_.head().version_minor == 0) {
        put("Connection: keep-alive\r\n");
    }
    put("\r\n");
    out.resize(static_cast<std::size_t>(w - out.data()));
}

void connection::queue_response(exchange& ex) {
    if (ex.closed) {
        log_response(ex.headers_sent ? ex.status : 499, {});  // 499: the client left first
        return;
    }
    const bool head_only = p_.head().method == "HEAD" || bodiless(ex.status);
    if (ex.headers_sent) {
        // The rest of a flushed response: the last chunk and the end.
        if (ex.chunked) {
            std::string tail;
            if (!ex.body_out.empty()) {
                append_chunk_header(tail, ex.body_out.size());
                append(tail);
                append(ex.body_out);
                append("\r\n");
            }
            append(last_chunk);
        } else if (ex.length_left) {
            if (ex.body_out.size() != *ex.length_left) {
                spdlog::error("squall: {} {}: the handler set Content-Length and wrote {} bytes too few",
                              ex.head().method, ex.head().target, *ex.length_left - ex.body_out.size());
                close_ = true;  // the client sees a short body, never a next response
                ex.closed = true;
                return;
            }
            append(ex.body_out);
        } else if (!head_only) {
            append(ex.body_out);
        }
    } else {
        auto declared = ex.declared_length();
        if (head_only && !(declared && may_declare_length(ex.status))) {
            // HEAD: the length GET would have; 1xx/204/304: none, or the handler's.
            if (bodiless(ex.status)) write_head(ex, framing::none);
            else write_head(ex, framing::length, ex.body_out.size());
        } else {
            // check_declared_length() made a handler's value agree with the body.
            write_head(ex, framing::length, head_only ? *declared : ex.body_out.size());
        }
        if (!head_only) {
            if (ex.body_out.size() >= 16 * 1024) append_owned(std::move(ex.body_out));
            else append(ex.body_out);
        }
    }
    log_response(ex.status, {});
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
    write_head(ex, framing::length, ex.body_out.size());
    if (p_.head().method != "HEAD" || !p_.head_complete()) append(ex.body_out);
    log_response(status, reason);
}

task<result<void>> connection::flush(exchange& ex) {
    // (close_ alone is no reason: an HTTP/1.0 response flushed once is
    // close-delimited, and later flushes go on.)
    if (ex.closed || broken_) co_return errc::closed;
    const bool no_body = p_.head().method == "HEAD" || bodiless(ex.status);
    if (!ex.headers_sent) flush_head(ex, no_body);
    if (!ex.body_out.empty() && !no_body) {
        if (ex.chunked) {
            std::string size;
            append_chunk_header(size, ex.body_out.size());
            append(size);
            append(ex.body_out);
            append("\r\n");
        } else if (ex.length_left && ex.body_out.size() > *ex.length_left) {
            // More than the handler's Content-Length: the excess would be
            // read as the next response. The response fails here.
            spdlog::error("squall: {} {}: the handler set Content-Length and wrote {} bytes too many", ex.head().method,
                          ex.head().target, ex.body_out.size() - *ex.length_left);
            ex.body_out.clear();
            ex.closed = true;
            close_ = true;
            co_return errc::closed;
        } else {
            if (ex.length_left) *ex.length_left -= ex.body_out.size();
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

void connection::flush_head(exchange& ex, bool no_body) {
    // A handler's Content-Length frames the rest; without one, HTTP/1.1
    // streams it chunked and HTTP/1.0, which has no chunks, until the
    // connection closes. HEAD and bodiless statuses have no body at all.
    ex.headers_sent = true;
    auto declared = ex.declared_length();
    if (declared && may_declare_length(ex.status)) {
        if (!no_body) ex.length_left = *declared;
        write_head(ex, framing::length, *declared);
    } else if (no_body) {
        write_head(ex, framing::none);
    } else if (p_.head().version_minor == 1) {
        ex.chunked = true;
        write_head(ex, framing::chunked);
    } else {
        close_ = true;
        write_head(ex, framing::none);
    }
}

}  // namespace squall::http::detail
