#include <squall/http/cookies.hpp>

#include <cctype>
#include <charconv>
#include <stdexcept>

#include <squall/engine/crypto.hpp>
#include <squall/http/detail/date.hpp>
#include <squall/http/detail/grammar.hpp>
#include <squall/http/request.hpp>

namespace squall::http {
namespace {

using detail::trim_ows;

std::string field(std::string_view s) { return std::to_string(s.size()) + ":" + std::string(s); }

// Reads one "len:value" field followed by '|' (or the end for the last).
std::optional<std::string_view> take_field(std::string_view& rest) {
    std::size_t colon = rest.find(':');
    if (colon == std::string_view::npos) return std::nullopt;
    std::size_t len = 0;
    auto [p, ec] = std::from_chars(rest.data(), rest.data() + colon, len);
    // len comes from the client: compare without the sum, which can wrap.
    if (ec != std::errc() || p != rest.data() + colon || len > rest.size() - colon - 1) return std::nullopt;
    std::string_view value = rest.substr(colon + 1, len);
    rest.remove_prefix(colon + 1 + len);
    if (rest.empty() || rest.front() != '|') return std::nullopt;
    rest.remove_prefix(1);
    return value;
}

struct v2_fields {
    int key_version = 0;
    std::string_view timestamp, name, value, signature, to_sign;
};

std::optional<v2_fields> parse_v2(std::string_view signed_value) {
    if (!signed_value.starts_with("2|")) return std::nullopt;
    std::string_view rest = signed_value.substr(2);
    auto key_version = take_field(rest);
    auto timestamp = take_field(rest);
    auto got_name = take_field(rest);
    auto value = take_field(rest);
    if (!key_version || !timestamp || !got_name || !value) return std::nullopt;
    v2_fields f;
    auto [p, ec] = std::from_chars(key_version->data(), key_version->data() + key_version->size(), f.key_version);
    if (ec != std::errc() || p != key_version->data() + key_version->size()) return std::nullopt;
    f.timestamp = *timestamp;
    f.name = *got_name;
    f.value = *value;
    f.signature = rest;
    f.to_sign = signed_value.substr(0, signed_value.size() - rest.size());
    return f;
}

std::optional<std::string> check_v2(const v2_fields& f, std::string_view secret, std::string_view name,
                                    std::int64_t now_seconds, int max_age_days) {
    if (!crypto::constant_time_equal(f.signature, crypto::hex(crypto::hmac_sha256(secret, f.to_sign))))
        return std::nullopt;
    if (f.name != name) return std::nullopt;
    std::int64_t ts = 0;
    auto [p, ec] = std::from_chars(f.timestamp.data(), f.timestamp.data() + f.timestamp.size(), ts);
    if (ec != std::errc() || p != f.timestamp.data() + f.timestamp.size()) return std::nullopt;
    const std::int64_t day = 86400;
    if (ts < now_seconds - max_age_days * day || ts > now_seconds + 31 * day) return std::nullopt;
    return crypto::base64_decode(f.value);
}

void check_attribute(std::string_view v) {
    for (unsigned char c : v) {
        if (c < 0x20 || c == 0x7f || c == ';') throw std::invalid_argument("squall: invalid cookie attribute");
    }
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

}  // namespace

std::vector<std::pair<std::string_view, std::string_view>> parse_cookies(std::string_view f) {
    std::vector<std::pair<std::string_view, std::string_view>> out;
    while (!f.empty()) {
        std::size_t semi = f.find(';');
        std::string_view pair = trim_ows(f.substr(0, semi));
        f = semi == std::string_view::npos ? std::string_view() : f.substr(semi + 1);
        std::size_t eq = pair.find('=');
        if (eq == std::string_view::npos || eq == 0) continue;
        std::string_view value = trim_ows(pair.substr(eq + 1));
        if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
        out.emplace_back(trim_ows(pair.substr(0, eq)), value);
    }
    return out;
}

std::string create_signed_value(std::string_view secret, std::string_view name, std::string_view value,
                                std::int64_t now_seconds, int key_version) {
    std::string to_sign = "2|" + field(std::to_string(key_version)) + "|" + field(std::to_string(now_seconds)) + "|" +
                          field(name) + "|" + field(crypto::base64_encode(value)) + "|";
    return to_sign + crypto::hex(crypto::hmac_sha256(secret, to_sign));
}

std::optional<int> signature_key_version(std::string_view signed_value) {
    auto f = parse_v2(signed_value);
    if (!f) return std::nullopt;
    return f->key_version;
}

std::optional<std::string> decode_signed_value(std::string_view secret, std::string_view name,
                                               std::string_view signed_value, std::int64_t now_seconds,
                                               int max_age_days) {
    auto f = parse_v2(signed_value);
    if (!f) return std::nullopt;
    return check_v2(*f, secret, name, now_seconds, max_age_days);
}

std::optional<std::string> decode_signed_value(const cookie_keys& keys, std::string_view name,
                                               std::string_view signed_value, std::int64_t now_seconds,
                                               int max_age_days) {
    auto f = parse_v2(signed_value);
    if (!f) return std::nullopt;
    auto key = keys.find(f->key_version);
    if (key == keys.end()) return std::nullopt;  // signed with a key no longer kept
    return check_v2(*f, key->second, name, now_seconds, max_age_days);
}

std::string set_cookie_field(std::string_view name, std::string_view value, const cookie_options& o,
                             std::chrono::system_clock::time_point now) {
    if (!detail::is_token(name)) throw std::invalid_argument("squall: invalid cookie name");
    for (unsigned char c : value) {
        if (c <= 0x20 || c >= 0x7f || c == '"' || c == ',' || c == ';' || c == '\\')
            throw std::invalid_argument("squall: invalid cookie value");
    }
    check_attribute(o.domain);
    check_attribute(o.path);
    if (!o.samesite.empty() && o.samesite != "Strict" && o.samesite != "Lax" && o.samesite != "None")
        throw std::invalid_argument("squall: SameSite must be Strict, Lax or None");
    std::string out = std::string(name) + "=" + std::string(value);
    // Python's Morsel writes the attributes sorted by key; so does this.
    if (!o.domain.empty()) out += "; Domain=" + o.domain;
    auto expires = o.expires;
    if (!expires && o.expires_days)
        expires = now + std::chrono::duration_cast<std::chrono::system_clock::duration>(
                            std::chrono::duration<double>(*o.expires_days * 86400.0));
    if (expires)
        out += "; expires=" +
               detail::format_http_date(std::chrono::floor<std::chrono::seconds>(*expires).time_since_epoch().count());
    if (o.httponly) out += "; HttpOnly";
    if (o.max_age) out += "; Max-Age=" + std::to_string(*o.max_age);
    if (!o.path.empty()) out += "; Path=" + o.path;
    if (!o.samesite.empty()) out += "; SameSite=" + o.samesite;
    if (o.secure) out += "; Secure";
    return out;
}

cookie_id cookie_key(std::string_view v) {
    cookie_id id;
    std::size_t semi = v.find(';');
    std::string_view pair = v.substr(0, semi);
    id.name = std::string(trim_ows(pair.substr(0, pair.find('='))));
    while (semi != std::string_view::npos) {
        v.remove_prefix(semi + 1);
        semi = v.find(';');
        std::string_view attr = trim_ows(v.substr(0, semi));
        std::size_t eq = attr.find('=');
        std::string_view key = trim_ows(attr.substr(0, eq));
        std::string_view val = eq == std::string_view::npos ? std::string_view() : trim_ows(attr.substr(eq + 1));
        if (iequals(key, "domain")) id.domain = lower(val);
        if (iequals(key, "path")) id.path = std::string(val);
    }
    return id;
}

}  // namespace squall::http
