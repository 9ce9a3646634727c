#include <squall/http/proxy.hpp>

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

#include <squall/http/detail/grammar.hpp>

namespace squall::http {
namespace {

using detail::trim_ows;

// The 16-byte form: IPv6 as is, IPv4 as ::ffff:a.b.c.d.
std::optional<std::array<unsigned char, 16>> to_bytes(std::string_view ip) noexcept {
    char text[INET6_ADDRSTRLEN + 1] = {};
    if (ip.empty() || ip.size() > INET6_ADDRSTRLEN) return std::nullopt;
    std::memcpy(text, ip.data(), ip.size());
    std::array<unsigned char, 16> b{};
    if (::inet_pton(AF_INET, text, b.data() + 12) == 1) {
        b[10] = b[11] = 0xff;
        return b;
    }
    if (::inet_pton(AF_INET6, text, b.data()) == 1) return b;
    return std::nullopt;
}

// Every value of the fields named `name`, comma-separated, in order.
std::vector<std::string_view> list_values(const header_list& headers, std::string_view name) {
    std::vector<std::string_view> out;
    for (const auto& f : headers) {
        if (!iequals(f.name, name)) continue;
        std::string_view v = f.value;
        for (std::string_view e; detail::next_element(v, e);) out.push_back(e);
    }
    return out;
}

// A Forwarded node, unquoted ("192.0.2.1", "[2001:db8::1]:80", "unknown"),
// as the IP it names, or empty.
std::string node_ip(std::string_view v) {
    if (!v.empty() && v.front() == '[') {
        auto close = v.find(']');
        if (close == std::string_view::npos) return {};
        v = v.substr(1, close - 1);
    } else if (v.find(':') == v.rfind(':') && v.find(':') != std::string_view::npos) {
        v = v.substr(0, v.find(':'));  // "1.2.3.4:port"
    }
    return is_ip(v) ? std::string(v) : std::string();
}

struct forwarded_element {
    std::string for_, proto;
};

// forwarded-element = [ forwarded-pair ] *( ";" [ forwarded-pair ] ),
// values tokens or quoted strings (RFC 7239 4). A value that is neither
// (an unquoted "1.2.3.4:80", as some proxies write) is taken as it came.
forwarded_element parse_element(std::string_view e) {
    forwarded_element out;
    for (detail::parameter p; detail::next_parameter(e, p);) {
        if (!p.has_value) continue;
        const bool is_for = iequals(p.name, "for"), is_proto = iequals(p.name, "proto");
        if (!is_for && !is_proto) continue;
        (is_for ? out.for_ : out.proto) = detail::parameter_value(p.value).value_or(std::string(p.value));
    }
    return out;
}

std::string_view scheme_of(std::string_view v) {
    if (iequals(v, "http")) return "http";
    if (iequals(v, "https")) return "https";
    return {};
}

// RFC 7239: right to left past the trusted hops.
void believe_forwarded(const proxy_settings& s, const std::vector<std::string_view>& elements, believed_client& c) {
    for (auto it = elements.rbegin(); it != elements.rend(); ++it) {
        forwarded_element e = parse_element(*it);
        std::string ip = node_ip(e.for_);
        if (auto sc = scheme_of(e.proto); !sc.empty()) c.scheme = sc;
        if (ip.empty()) return;  // "unknown" or obfuscated: no further
        c.ip = ip;
        if (!s.trusts(ip)) return;
    }
}

// Tornado's xheaders: X-Forwarded-For past trusted hops, X-Real-Ip over
// it, X-Scheme or X-Forwarded-Proto.
void believe_x_headers(const proxy_settings& s, const header_list& headers, believed_client& c) {
    std::vector<std::string_view> hops = list_values(headers, "x-forwarded-for");
    std::string_view ip;
    for (auto it = hops.rbegin(); it != hops.rend(); ++it) {
        ip = *it;
        if (!s.trusts(ip)) break;
    }
    if (auto real = headers.get("x-real-ip")) ip = trim_ows(*real);
    if (!ip.empty() && is_ip(ip)) c.ip = std::string(ip);
    auto proto = headers.get("x-scheme");
    if (!proto) proto = headers.get("x-forwarded-proto");
    if (proto) {
        std::string_view last = *proto;
        if (auto comma = last.rfind(','); comma != std::string_view::npos) last = last.substr(comma + 1);
        if (auto sc = scheme_of(trim_ows(last)); !sc.empty()) c.scheme = sc;
    }
}

}  // namespace

bool is_ip(std::string_view text) noexcept { return to_bytes(text).has_value(); }

std::optional<cidr> cidr::parse(std::string_view text) {
    auto slash = text.find('/');
    auto bytes = to_bytes(text.substr(0, slash));
    if (!bytes) return std::nullopt;
    const bool v4 = text.substr(0, slash).find(':') == std::string_view::npos;
    unsigned max = v4 ? 32 : 128, bits = max;
    if (slash != std::string_view::npos) {
        std::string_view n = text.substr(slash + 1);
        auto [end, ec] = std::from_chars(n.data(), n.data() + n.size(), bits);
        if (n.empty() || ec != std::errc() || end != n.data() + n.size() || bits > max) return std::nullopt;
    }
    cidr c;
    c.net_ = *bytes;
    c.bits_ = bits + (v4 ? 96 : 0);
    return c;
}

bool cidr::contains(std::string_view ip) const noexcept {
    auto b = to_bytes(ip);
    if (!b) return false;
    unsigned full = bits_ / 8, rest = bits_ % 8;
    if (std::memcmp(b->data(), net_.data(), full) != 0) return false;
    if (rest == 0) return true;
    auto mask = static_cast<unsigned char>(0xff << (8 - rest));
    return ((*b)[full] & mask) == (net_[full] & mask);
}

bool proxy_settings::trusts(std::string_view ip) const noexcept {
    for (const auto& c : trusted) {
        if (c.contains(ip)) return true;
    }
    return false;
}

believed_client believe(const proxy_settings& s, std::string_view peer_ip, std::string_view peer_scheme,
                        const header_list& headers) {
    believed_client c{std::string(peer_ip), std::string(peer_scheme)};
    if (!s.trusts(peer_ip)) return c;  // an untrusted peer's headers are never believed
    std::vector<std::string_view> forwarded = list_values(headers, "forwarded");
    if (!forwarded.empty()) believe_forwarded(s, forwarded, c);
    else believe_x_headers(s, headers, c);
    return c;
}

}  // namespace squall::http
