// The request rules llhttp leaves to the embedder (see parser.hpp).
#include <cstring>

#include "http/detail/llhttp_state.hpp"

namespace squall::http::detail {
namespace {

bool host_char(unsigned char c) noexcept {
    // uri-host (reg-name, IPv4address, IP-literal) and ":" port.
    if (c >= '0' && c <= '9') return true;
    if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return true;
    return c != 0 && std::strchr("-._~!$&'()*+,;=%:[]", c) != nullptr;
}

std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

bool method_is_token(std::string_view data) noexcept {
    // The start of the message up to the first space: a method token
    // llhttp does not know (501) rather than garbage (400).
    while (!data.empty() && (data.front() == '\r' || data.front() == '\n')) data.remove_prefix(1);
    std::size_t sp = data.find(' ');
    if (sp == std::string_view::npos || sp == 0 || sp > 32) return false;
    for (char c : data.substr(0, sp)) {
        unsigned char u = static_cast<unsigned char>(c);
        bool alpha = (u | 0x20) >= 'a' && (u | 0x20) <= 'z';
        if (!alpha && !(u >= '0' && u <= '9') && !std::strchr("!#$%&'*+-.^_`|~", u)) return false;
    }
    return true;
}

}  // namespace

bool request_parser::scan_head_bytes(std::string_view bytes) noexcept {
    // llhttp (8.x) accepts a bare LF after the request line and at the
    // end of the head, and delivers an obs-fold line as more value: both
    // are refused here (RFC 9112 2.2 and 5.2), scanning only the LFs.
    const char* begin = bytes.data();
    const char* p = begin;
    const char* end = begin + bytes.size();
    auto byte_before = [&](const char* at, int back) -> char {
        if (at - back >= begin) return at[-back];
        return last_[2 - (back - static_cast<int>(at - begin))];
    };
    if (check_next_line_start_ && p < end) {
        check_next_line_start_ = false;
        if (*p == ' ' || *p == '\t') return fail(400, "obsolete line folding"), false;
    }
    while (p < end) {
        const char* lf = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
        if (!lf) break;
        if (byte_before(lf, 1) != '\r') return fail(400, "bare LF line ending"), false;
        bool empty_line = byte_before(lf, 2) == '\n';
        if (empty_line && !first_line_) {
            check_next_line_start_ = false;
            break;  // the end of the head: what follows is body
        }
        first_line_ = false;
        if (lf + 1 < end) {
            if (lf[1] == ' ' || lf[1] == '\t') return fail(400, "obsolete line folding"), false;
        } else {
            check_next_line_start_ = true;
        }
        p = lf + 1;
    }
    if (bytes.size() >= 2) {
        last_[0] = end[-2];
        last_[1] = end[-1];
    } else if (bytes.size() == 1) {
        last_[0] = last_[1];
        last_[1] = end[-1];
    }
    return true;
}

int request_parser::check_host() noexcept {
    std::size_t hosts = head_.headers.count("host");
    bool v11 = head_.version_minor == 1;
    if (hosts > 1) return fail(400, "more than one Host field");
    if (hosts == 0) return v11 ? fail(400, "HTTP/1.1 request without Host") : 0;
    std::string_view host = *head_.headers.get("host");
    for (char c : host) {
        if (!host_char(static_cast<unsigned char>(c))) return fail(400, "invalid Host");
    }
    return 0;
}

int request_parser::check_transfer_encoding(std::string_view te) noexcept {
    if (head_.version_minor == 0) return fail(400, "Transfer-Encoding in HTTP/1.0");
    // llhttp already refused "chunked" anywhere but last; any other
    // coding is one this server does not implement.
    while (!te.empty()) {
        std::size_t comma = te.find(',');
        std::string_view coding = trim(te.substr(0, comma));
        if (!iequals(coding, "chunked")) return fail(501, "unsupported transfer coding");
        te = comma == std::string_view::npos ? std::string_view() : te.substr(comma + 1);
    }
    return 0;
}

int request_parser::check_head() noexcept {
    llhttp_t& p = ll_->parser;
    head_.method = method_.view();
    head_.target = url_.view();
    std::size_t q = head_.target.find('?');
    head_.path = head_.target.substr(0, q);
    head_.query = q == std::string_view::npos ? std::string_view() : head_.target.substr(q + 1);
    head_.version_major = p.http_major;
    head_.version_minor = p.http_minor;
    if (p.http_major != 1 || p.http_minor > 1) return fail(505, "HTTP version not supported");
    if (int rc = check_host()) return rc;
    if (auto te = head_.headers.get("transfer-encoding")) {
        if (int rc = check_transfer_encoding(*te)) return rc;
    }
    head_.chunked = (p.flags & F_CHUNKED) != 0;
    if (p.flags & F_CONTENT_LENGTH) head_.content_length = p.content_length;
    if (head_.content_length && *head_.content_length > limits_.max_body) return fail(413, "body too large");
    if (auto expect = head_.headers.get("expect"); expect && head_.version_minor == 1) {
        if (!iequals(*expect, "100-continue")) return fail(417, "unsupported expectation");
        head_.expect_continue = true;
    }
    bool target_ok = head_.target.starts_with('/') || (head_.target == "*" && head_.method == "OPTIONS") ||
                     head_.method == "CONNECT" || head_.target.starts_with("http://") ||
                     head_.target.starts_with("https://");
    if (!target_ok) return fail(400, "invalid request target");
    head_.keep_alive = llhttp_should_keep_alive(&p) != 0;
    head_.upgrade = p.upgrade != 0;
    return 0;
}

int request_parser::map_llhttp_error(int err, std::string_view data) noexcept {
    switch (err) {
        case HPE_PAUSED_H2_UPGRADE:
            h2_preface_ = true;
            return fail(505, "HTTP/2 connection preface on an HTTP/1.1 port");
        case HPE_INVALID_METHOD:
            return method_is_token(data) ? fail(501, "unknown method") : fail(400, "invalid method");
        case HPE_INVALID_VERSION: {
            const char* reason = llhttp_get_error_reason(&ll_->parser);
            bool bad_number = reason && std::strstr(reason, "Invalid HTTP version");
            return fail(bad_number ? 505 : 400, bad_number ? "HTTP version not supported" : "invalid request line");
        }
        case HPE_INVALID_TRANSFER_ENCODING: {
            auto te = head_.headers.get("transfer-encoding");
            bool has_chunked = te && te->find("chunked") != std::string_view::npos;
            return te && !has_chunked ? fail(501, "unsupported transfer coding")
                                      : fail(400, "invalid Transfer-Encoding");
        }
        default: {
            const char* reason = llhttp_get_error_reason(&ll_->parser);
            return fail(400, reason ? std::string_view(reason) : "malformed request");
        }
    }
}

}  // namespace squall::http::detail
