#include <squall/http/proxy.hpp>

#include <arpa/inet.h>

#include <cctype>
#include <charconv>
#include <cstring>
#include <optional>
#include <string>

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

// RFC 7239 Forwarded, parsed by its grammar (RFC 9110 §5.6): elements
// split on commas and pairs on semicolons outside quoted strings, values
// a token or a quoted-string (backslash escapes undone), each parameter
// at most once per element. A field that breaks the grammar is believed
// in none of its parts: the peer stays the client.
using detail::is_tchar;

struct forwarded_element {
    std::string for_, proto;
    bool has_for = false;
};

class forwarded_parser {
public:
    explicit forwarded_parser(std::string_view text) : s_(text) {}

    // Every element of the field value, in order; nullopt when malformed.
    bool parse(std::vector<forwarded_element>* out) {
        for (;;) {
            skip_ows();
            if (at_end()) return true;
            if (peek() == ',') {  // an empty list member (RFC 9110 §5.6.1)
                ++pos_;
                continue;
            }
            forwarded_element e;
            if (!element(&e)) return false;
            out->push_back(std::move(e));
            skip_ows();
            if (at_end()) return true;
            if (peek() != ',') return false;
            ++pos_;
        }
    }

private:
    bool at_end() const noexcept { return pos_ >= s_.size(); }
    char peek() const noexcept { return s_[pos_]; }
    void skip_ows() noexcept {
        while (!at_end() && (peek() == ' ' || peek() == '\t')) ++pos_;
    }
    std::string_view token() noexcept {
        std::size_t b = pos_;
        while (!at_end() && is_tchar(peek())) ++pos_;
        return s_.substr(b, pos_ - b);
    }
    bool quoted(std::string* out) {
        std::size_t n = detail::quoted_string_length(s_.substr(pos_));
        if (n == std::string_view::npos) return false;
        std::optional<std::string> v = detail::unquote(s_.substr(pos_, n));
        if (!v) return false;
        *out = std::move(*v);
        pos_ += n;
        return true;
    }
    bool value(std::string* out) {
        if (!at_end() && peek() == '"') return quoted(out);
        std::string_view t = token();
        if (t.empty()) return false;
        out->assign(t);
        return true;
    }
    bool element(forwarded_element* e) {
        bool seen_for = false, seen_proto = false, seen_by = false, seen_host = false;
        for (;;) {
            skip_ows();
            if (!at_end() && peek() != ';' && peek() != ',') {
                std::string_view key = token();
                if (key.empty() || at_end() || peek() != '=') return false;
                ++pos_;
                std::string v;
                if (!value(&v)) return false;
                bool* seen = iequals(key, "for")     ? &seen_for
                             : iequals(key, "proto") ? &seen_proto
                             : iequals(key, "by")    ? &seen_by
                             : iequals(key, "host")  ? &seen_host
                                                     : nullptr;
                if (seen) {
                    if (*seen) return false;  // a parameter twice in one element
                    *seen = true;
                }
                if (seen == &seen_for) e->for_ = std::move(v), e->has_for = true;
                if (seen == &seen_proto) e->proto = std::move(v);
                skip_ows();
            }
            if (at_end() || peek() == ',') return true;
            if (peek() != ';') return false;
            ++pos_;
        }
    }

    std::string_view s_;
    std::size_t pos_ = 0;
};

bool obfuscated(std::string_view v) noexcept {  // RFC 7239 §6.3: "_" 1*(ALPHA / DIGIT / "." / "_" / "-")
    if (v.size() < 2 || v.front() != '_') return false;
    for (char c : v.substr(1)) {
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') return false;
    }
    return true;
}

bool node_port(std::string_view p) noexcept {  // port (1*5DIGIT) or obfport
    if (obfuscated(p)) return true;
    if (p.empty() || p.size() > 5) return false;
    unsigned n = 0;
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), n);
    return ec == std::errc() && end == p.data() + p.size() && n <= 65535;
}

// What a node (RFC 7239 §6) names: an IP ("192.0.2.1", "192.0.2.1:80",
// "[2001:db8::1]:80"), or nothing ("unknown", "_hidden").
enum class node_kind { ip, hidden, bad };
node_kind parse_node(std::string_view v, std::string* ip) {
    std::string_view name = v, port;
    if (!v.empty() && v.front() == '[') {
        auto close = v.find(']');
        if (close == std::string_view::npos) return node_kind::bad;
        name = v.substr(1, close - 1);
        std::string_view after = v.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') return node_kind::bad;
            port = after.substr(1);
            if (!node_port(port)) return node_kind::bad;
        }
        char text[INET6_ADDRSTRLEN + 1] = {};
        in6_addr a6;
        if (name.empty() || name.size() > INET6_ADDRSTRLEN) return node_kind::bad;
        std::memcpy(text, name.data(), name.size());
        if (::inet_pton(AF_INET6, text, &a6) != 1) return node_kind::bad;
        ip->assign(name);
        return node_kind::ip;
    }
    if (auto colon = v.find(':'); colon != std::string_view::npos) {
        name = v.substr(0, colon);
        if (!node_port(v.substr(colon + 1))) return node_kind::bad;  // (an IPv6 address must be in brackets)
    }
    if (iequals(name, "unknown") || obfuscated(name)) return node_kind::hidden;
    char text[INET_ADDRSTRLEN + 1] = {};
    in_addr a4;
    if (name.empty() || name.size() > INET_ADDRSTRLEN) return node_kind::bad;
    std::memcpy(text, name.data(), name.size());
    if (::inet_pton(AF_INET, text, &a4) != 1) return node_kind::bad;
    ip->assign(name);
    return node_kind::ip;
}

std::string_view scheme_of(std::string_view v) {
    if (iequals(v, "http")) return "http";
    if (iequals(v, "https")) return "https";
    return {};
}

// RFC 7239 §7.5: right to left past the trusted hops. The element a
// trusted proxy added names the hop before it: an IP becomes the client
// and the walk goes on while that IP is trusted too; "unknown", an
// obfuscated name or an element without `for` ends the walk with the
// last address known (the trusted proxy's), a node that is none of
// these (a host name, "1.2.3.4:99999") likewise.
void believe_forwarded(const proxy_settings& s, const header_list& headers, believed_client& c) {
    std::vector<forwarded_element> elements;
    for (const auto& f : headers) {
        if (!iequals(f.name, "forwarded")) continue;
        forwarded_parser p(f.value);
        if (!p.parse(&elements)) return;  // malformed: believe none of it
    }
    for (auto it = elements.rbegin(); it != elements.rend(); ++it) {
        if (auto sc = scheme_of(it->proto); !sc.empty()) c.scheme = sc;
        std::string ip;
        if (!it->has_for || parse_node(it->for_, &ip) != node_kind::ip) return;
        c.ip = std::move(ip);
        if (!s.trusts(c.ip)) return;
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
    if (headers.get("forwarded")) believe_forwarded(s, headers, c);
    else believe_x_headers(s, headers, c);
    return c;
}

}  // namespace squall::http
