// The request rules llhttp leaves to the embedder (see parser.hpp).
#include <arpa/inet.h>
#include <netinet/in.h>

#include <array>
#include <cstring>
#include <string_view>

#include <squall/http/detail/grammar.hpp>
#include <squall/http/detail/llhttp_glue.hpp>
#include <squall/http/detail/llhttp_state.hpp>

namespace squall::http::detail {
namespace {

bool hex_digit(char c) noexcept { return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f'); }

// unreserved / sub-delims (RFC 3986 2.2, 2.3): a reg-name's bytes
// besides pct-encoded ones.
// A table: every request's Host is checked byte by byte.
constexpr auto reg_name_table = [] {
    std::array<bool, 256> t{};
    for (int c = '0'; c <= '9'; ++c) t[static_cast<std::size_t>(c)] = true;
    for (int c = 'a'; c <= 'z'; ++c) t[static_cast<std::size_t>(c)] = t[static_cast<std::size_t>(c - 32)] = true;
    for (char c : std::string_view("-._~!$&'()*+,;=")) t[static_cast<unsigned char>(c)] = true;
    return t;
}();

bool reg_name_char(unsigned char c) noexcept { return reg_name_table[c]; }

bool valid_reg_name(std::string_view s) noexcept {
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%') {
            if (i + 2 >= s.size() || !hex_digit(s[i + 1]) || !hex_digit(s[i + 2])) return false;
            i += 2;
        } else if (!reg_name_char(static_cast<unsigned char>(s[i]))) {
            return false;
        }
    }
    return true;
}

// IP-literal = "[" ( IPv6address / IPvFuture ) "]" (RFC 3986 3.2.2).
bool valid_ip_literal(std::string_view inner) noexcept {
    if (inner.size() > 1 && (inner[0] | 0x20) == 'v') {
        std::size_t dot = inner.find('.');
        if (dot == std::string_view::npos || dot < 2 || dot + 1 == inner.size()) return false;
        for (char c : inner.substr(1, dot - 1)) {
            if (!hex_digit(c)) return false;
        }
        for (char c : inner.substr(dot + 1)) {
            if (c != ':' && !reg_name_char(static_cast<unsigned char>(c))) return false;
        }
        return true;
    }
    char buf[INET6_ADDRSTRLEN + 1];
    if (inner.size() >= sizeof buf) return false;
    std::memcpy(buf, inner.data(), inner.size());
    buf[inner.size()] = 0;
    in6_addr addr;
    return ::inet_pton(AF_INET6, buf, &addr) == 1;
}

}  // namespace

// authority = host [ ":" port ] without userinfo (RFC 9112 3.2, RFC 3986
// 3.2): host a reg-name, IPv4 address or IP literal, port up to 65535.
bool valid_authority(std::string_view a) noexcept {
    std::string_view port;
    if (!a.empty() && a.front() == '[') {
        std::size_t close = a.find(']');
        if (close == std::string_view::npos || !valid_ip_literal(a.substr(1, close - 1))) return false;
        std::string_view after = a.substr(close + 1);
        if (!after.empty() && after.front() != ':') return false;
        port = after.empty() ? after : after.substr(1);
    } else {
        std::size_t colon = a.find(':');
        if (colon == 0 || !valid_reg_name(a.substr(0, colon))) return false;
        port = colon == std::string_view::npos ? std::string_view() : a.substr(colon + 1);
    }
    if (port.size() > 5) return false;
    unsigned value = 0;
    for (char c : port) {
        if (c < '0' || c > '9') return false;
        value = value * 10 + static_cast<unsigned>(c - '0');
    }
    return value <= 65535;
}

namespace {

bool method_is_token(std::string_view data) noexcept {
    // The start of the message up to the first space: a method token
    // llhttp does not know (501) rather than garbage (400).
    while (!data.empty() && (data.front() == '\r' || data.front() == '\n')) data.remove_prefix(1);
    std::size_t sp = data.find(' ');
    if (sp == std::string_view::npos || sp == 0 || sp > 32) return false;
    return is_token(data.substr(0, sp));
}

}  // namespace

std::size_t request_parser::scan_head_bytes(std::string_view bytes) noexcept {
    // llhttp (8.x) accepts a bare LF after the request line and at the
    // end of the head, and delivers an obs-fold line as more value: both
    // are refused (RFC 9112 2.2 and 5.2). Returns where the first such
    // byte is (npos: none); only the LFs are looked at closely.
    const char* b = bytes.data();
    const std::size_t n = bytes.size();
    std::size_t i = 0;
    if (scan_.leading) {
        while (i < n && (b[i] == '\r' || b[i] == '\n')) ++i;
        if (i == n) return std::string_view::npos;
        scan_.leading = false;
    }
    while (i < n && !scan_.done) {
        if (scan_.at_line_start && (b[i] == ' ' || b[i] == '\t')) {
            scan_error_ = "obsolete line folding";
            return i;
        }
        scan_.at_line_start = false;
        const char* lf = static_cast<const char*>(std::memchr(b + i, '\n', n - i));
        if (!lf) {
            scan_.prev[0] = n - i >= 2 ? b[n - 2] : scan_.prev[1];
            scan_.prev[1] = b[n - 1];
            break;
        }
        const std::size_t at = static_cast<std::size_t>(lf - b);
        const char before = at > i ? b[at - 1] : scan_.prev[1];
        const char before2 = at > i + 1 ? b[at - 2] : at == i + 1 ? scan_.prev[1] : scan_.prev[0];
        if (before != '\r') {
            scan_error_ = "bare LF line ending";
            return at;
        }
        scan_.prev[0] = '\r';
        scan_.prev[1] = '\n';
        scan_.done = before2 == '\n';  // an empty line: the end of the head
        scan_.at_line_start = true;
        i = at + 1;
    }
    return std::string_view::npos;
}

int request_parser::check_host() noexcept {
    std::size_t hosts = known_.hosts;
    bool v11 = head_.version_minor == 1;
    if (hosts > 1) return fail(400, "more than one Host field");
    if (hosts == 0) return v11 ? fail(400, "HTTP/1.1 request without Host") : 0;
    std::string_view host = known_.host;
    if (!valid_authority(host)) return fail(400, "invalid Host");
    if (head_.host.empty()) head_.host = host;  // absolute-form: the target's authority came first
    return 0;
}

bool request_parser::split_target() noexcept {
    // origin-form "/p?q"; absolute-form "http://host/p?q" (RFC 9112
    // 3.2.2): routed on its path, its authority the request's host.
    std::string_view t = head_.target;
    std::size_t q = t.find('?');
    head_.path = t.substr(0, q);
    head_.query = q == std::string_view::npos ? std::string_view() : t.substr(q + 1);
    std::size_t scheme = t.starts_with("http://") ? 7 : t.starts_with("https://") ? 8 : 0;
    if (scheme == 0) return true;
    std::string_view rest = head_.path.substr(scheme);
    std::size_t slash = rest.find('/');
    head_.host = rest.substr(0, slash);
    // An http(s) URI has a host, and userinfo in one is refused (RFC 9110 4.2.4).
    if (head_.host.empty() || !valid_authority(head_.host)) return false;
    head_.path = slash == std::string_view::npos ? std::string_view("/") : rest.substr(slash);
    return true;
}

int request_parser::check_transfer_encoding(std::string_view te) noexcept {
    if (head_.version_minor == 0) return fail(400, "Transfer-Encoding in HTTP/1.0");
    // llhttp already refused "chunked" anywhere but last; any other
    // coding is one this server does not implement.
    for (std::string_view coding; next_element(te, coding);) {
        if (!iequals(coding, "chunked")) return fail(501, "unsupported transfer coding");
    }
    return 0;
}

int request_parser::check_head() noexcept {
    llhttp_t& p = ll_->parser;
    head_.method = method_.view();
    head_.target = url_.view();
    head_.host = {};
    if (!split_target()) return fail(400, "invalid authority in the request target");
    head_.version_major = p.http_major;
    head_.version_minor = p.http_minor;
    if (p.http_major != 1 || p.http_minor > 1) return fail(505, "HTTP version not supported");
    if (int rc = check_host()) return rc;
    if (auto te = known_.transfer_encoding) {
        if (int rc = check_transfer_encoding(*te)) return rc;
    }
    const body_framing framing = framing_of(p);
    head_.chunked = framing.chunked;
    head_.content_length = framing.content_length;
    if (head_.content_length && *head_.content_length > limits_.max_body) return fail(413, "body too large");
    // CONNECT has no content (RFC 9110 9.3.6): llhttp ends the message at
    // the head and leaves what follows to the tunnel, whatever the framing
    // fields say, so a request that has them is malformed.
    if (head_.method == "CONNECT" && (head_.chunked || head_.content_length.value_or(0) > 0))
        return fail(400, "CONNECT with content");
    if (auto expect = known_.expect; expect && head_.version_minor == 1) {
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
