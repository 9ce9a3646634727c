#include <squall/http/cookies.hpp>

#include <charconv>

#include <squall/engine/crypto.hpp>

namespace squall::http {
namespace {

std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

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

}  // namespace

std::vector<std::pair<std::string_view, std::string_view>> parse_cookies(std::string_view f) {
    std::vector<std::pair<std::string_view, std::string_view>> out;
    while (!f.empty()) {
        std::size_t semi = f.find(';');
        std::string_view pair = trim(f.substr(0, semi));
        f = semi == std::string_view::npos ? std::string_view() : f.substr(semi + 1);
        std::size_t eq = pair.find('=');
        if (eq == std::string_view::npos || eq == 0) continue;
        std::string_view value = trim(pair.substr(eq + 1));
        if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
        out.emplace_back(trim(pair.substr(0, eq)), value);
    }
    return out;
}

std::string create_signed_value(std::string_view secret, std::string_view name, std::string_view value,
                                std::int64_t now_seconds) {
    std::string to_sign = "2|" + field("0") + "|" + field(std::to_string(now_seconds)) + "|" + field(name) + "|" +
                          field(crypto::base64_encode(value)) + "|";
    return to_sign + crypto::hex(crypto::hmac_sha256(secret, to_sign));
}

std::optional<std::string> decode_signed_value(std::string_view secret, std::string_view name,
                                               std::string_view signed_value, std::int64_t now_seconds,
                                               int max_age_days) {
    if (!signed_value.starts_with("2|")) return std::nullopt;
    std::string_view rest = signed_value.substr(2);
    auto key_version = take_field(rest);
    auto timestamp = take_field(rest);
    auto got_name = take_field(rest);
    auto value = take_field(rest);
    if (!key_version || !timestamp || !got_name || !value) return std::nullopt;
    std::string_view signature = rest;
    std::string_view to_sign = signed_value.substr(0, signed_value.size() - signature.size());
    if (!crypto::constant_time_equal(signature, crypto::hex(crypto::hmac_sha256(secret, to_sign)))) return std::nullopt;
    if (*got_name != name) return std::nullopt;
    std::int64_t ts = 0;
    auto [p, ec] = std::from_chars(timestamp->data(), timestamp->data() + timestamp->size(), ts);
    if (ec != std::errc() || p != timestamp->data() + timestamp->size()) return std::nullopt;
    const std::int64_t day = 86400;
    if (ts < now_seconds - max_age_days * day || ts > now_seconds + 31 * day) return std::nullopt;
    return crypto::base64_decode(*value);
}

}  // namespace squall::http
