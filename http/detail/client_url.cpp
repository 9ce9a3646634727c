#include <squall/http/detail/client_url.hpp>

#include <charconv>
#include <vector>

#include <squall/http/request.hpp>

namespace squall::http::detail {
namespace {

bool clean(std::string_view s) noexcept {
    for (char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u == 0x7f) return false;
    }
    return true;
}

bool host_ok(std::string_view h) noexcept {
    if (h.empty()) return false;
    for (char c : h) {
        const auto u = static_cast<unsigned char>(c);
        const bool alnum = (u >= '0' && u <= '9') || ((u | 0x20) >= 'a' && (u | 0x20) <= 'z');
        if (!alnum && c != '-' && c != '.' && c != '_' && c != ':' && c != '%' && c != '~') return false;
    }
    return true;
}

// Splits "host[:port]" or "[v6][:port]"; false when malformed.
bool split_authority(std::string_view a, url_parts* u) {
    std::string_view host = a, port;
    if (!a.empty() && a.front() == '[') {
        const auto close = a.find(']');
        if (close == std::string_view::npos) return false;
        host = a.substr(1, close - 1);
        std::string_view after = a.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') return false;
            port = after.substr(1);
        }
    } else if (const auto colon = a.rfind(':'); colon != std::string_view::npos) {
        host = a.substr(0, colon);
        port = a.substr(colon + 1);
        if (host.find(':') != std::string_view::npos) return false;
    }
    if (!host_ok(host)) return false;
    if (!port.empty()) {
        unsigned p = 0;
        auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
        if (ec != std::errc() || ptr != port.data() + port.size() || p == 0 || p > 65535) return false;
        u->port = static_cast<std::uint16_t>(p);
    }
    u->host = std::string(host);
    return true;
}

bool scheme_of(std::string_view url, std::string_view* scheme, std::string_view* rest) {
    const auto colon = url.find(':');
    if (colon == std::string_view::npos || colon == 0) return false;
    for (char c : url.substr(0, colon)) {
        const bool ok =
            ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.';
        if (!ok) return false;
    }
    *scheme = url.substr(0, colon);
    *rest = url.substr(colon + 1);
    return true;
}

// RFC 3986 5.2.4: "." and ".." segments removed.
std::string remove_dots(std::string_view path) {
    std::vector<std::string_view> out;
    bool trailing = false;
    while (!path.empty()) {
        path.remove_prefix(path.front() == '/' ? 1 : 0);
        const auto slash = path.find('/');
        std::string_view seg = path.substr(0, slash);
        path = slash == std::string_view::npos ? std::string_view() : path.substr(slash);
        trailing = path.empty() && (seg == "." || seg == "..");
        if (seg == ".") continue;
        if (seg == "..") {
            if (!out.empty()) out.pop_back();
            continue;
        }
        out.push_back(seg);
    }
    std::string r;
    for (auto s : out) r.append("/").append(s);
    if (r.empty() || trailing) r += "/";
    return r;
}

}  // namespace

std::string url_parts::host_field() const {
    const bool v6 = host.find(':') != std::string::npos;
    std::string h = v6 ? "[" + host + "]" : host;
    if (port != (tls ? 443 : 80)) h += ":" + std::to_string(port);
    return h;
}

std::string url_parts::origin() const {
    return std::string(tls ? "https://" : "http://") + host + ":" + std::to_string(port);
}

std::string url_parts::str() const { return std::string(tls ? "https://" : "http://") + host_field() + target; }

std::optional<url_parts> parse_url(std::string_view url) {
    std::string_view scheme, rest;
    if (!scheme_of(url, &scheme, &rest) || !rest.starts_with("//")) return std::nullopt;
    url_parts u;
    if (iequals(scheme, "https")) {
        u.tls = true;
        u.port = 443;
    } else if (!iequals(scheme, "http")) {
        return std::nullopt;
    }
    rest.remove_prefix(2);
    rest = rest.substr(0, rest.find('#'));
    if (!clean(rest)) return std::nullopt;
    const auto end = rest.find_first_of("/?");
    std::string_view authority = rest.substr(0, end);
    std::string_view target = end == std::string_view::npos ? std::string_view() : rest.substr(end);
    if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
        u.userinfo = std::string(authority.substr(0, at));
        authority.remove_prefix(at + 1);
    }
    if (!split_authority(authority, &u)) return std::nullopt;
    if (target.empty()) u.target = "/";
    else u.target = target.front() == '?' ? "/" + std::string(target) : std::string(target);
    return u;
}

std::optional<std::string> resolve_location(const url_parts& base, std::string_view loc) {
    // Servers send spaces around the value at most; anything else unclean
    // is refused by parse_url below.
    std::string_view scheme, rest;
    if (scheme_of(loc, &scheme, &rest) && rest.starts_with("//")) {
        if (!parse_url(loc)) return std::nullopt;
        return std::string(loc.substr(0, loc.find('#')));
    }
    loc = loc.substr(0, loc.find('#'));
    std::string prefix = base.tls ? "https:" : "http:";
    if (loc.starts_with("//")) return prefix + std::string(loc);
    const std::string origin = prefix + "//" + base.host_field();
    const std::string_view base_path = std::string_view(base.target).substr(0, base.target.find('?'));
    if (loc.empty()) return origin + base.target;
    if (loc.front() == '?') return origin + std::string(base_path) + std::string(loc);
    const auto q = loc.find('?');
    std::string path(loc.substr(0, q));
    const std::string query = q == std::string_view::npos ? std::string() : std::string(loc.substr(q));
    if (path.front() != '/') path = std::string(base_path.substr(0, base_path.rfind('/') + 1)) + path;
    return origin + remove_dots(path) + query;
}

}  // namespace squall::http::detail
