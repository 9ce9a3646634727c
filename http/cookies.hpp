// Cookies and Tornado-compatible signed values.
//
// parse_cookies reads a Cookie field (RFC 6265 5.4, lenient like browsers
// and Tornado: bad pairs are skipped). Signed values use Tornado's version
// 2 format ("2|1:0|10:<time>|<len>:<name>|<len>:<base64 value>|<hmac>"),
// HMAC-SHA256 keyed by the application's cookie_secret, so a cookie signed
// by Tornado verifies here and the other way round. Key rotation is
// Tornado's too: with a {version: secret} map a value is signed with the
// secret of `key_version` (that number goes in its second field) and
// checked with the secret its own field names, so values signed with an
// older key stay valid while the key is kept in the map.
//
// set_cookie_field builds a Set-Cookie value from typed attributes
// (cookie_options), in Tornado's (Python's Morsel) spelling and order; it
// throws std::invalid_argument for a name that is not a token, a value
// with bytes outside RFC 6265's cookie-octet (CTLs, space, '"', ',', ';',
// '\\'), an attribute value with ';' or a control byte, or a SameSite
// other than Strict, Lax or None. cookie_key reads back the (name,
// domain, path) a Set-Cookie value is for: a second cookie for the same
// key replaces the first. Tests: tests/http/cookies_test.cpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace squall::http {

std::vector<std::pair<std::string_view, std::string_view>> parse_cookies(std::string_view field);

struct cookie_options {
    std::string domain;      // empty: none
    std::string path = "/";  // empty: none
    std::optional<std::chrono::system_clock::time_point> expires;
    std::optional<double> expires_days;   // Tornado's expires_days: now + days, unless expires is set
    std::optional<std::int64_t> max_age;  // seconds
    bool secure = false;
    bool httponly = false;
    std::string samesite;  // "Strict", "Lax", "None" or empty (none)
};

// "name=value; Domain=...; expires=...; HttpOnly; Max-Age=...; Path=...; SameSite=...; Secure".
std::string set_cookie_field(std::string_view name, std::string_view value, const cookie_options& o,
                             std::chrono::system_clock::time_point now);
struct cookie_id {
    std::string name, domain, path;
    bool operator==(const cookie_id&) const = default;
};
cookie_id cookie_key(std::string_view set_cookie_value);

// Tornado's {key_version: secret} map.
using cookie_keys = std::map<int, std::string>;

std::string create_signed_value(std::string_view secret, std::string_view name, std::string_view value,
                                std::int64_t now_seconds, int key_version = 0);
std::optional<std::string> decode_signed_value(const cookie_keys& keys, std::string_view name,
                                               std::string_view signed_value, std::int64_t now_seconds,
                                               int max_age_days = 31);
// The key version a signed value names (Tornado's get_signature_key_version).
std::optional<int> signature_key_version(std::string_view signed_value);
// The value, when the signature, the name and the age all check out: at
// most max_age_days old, and at most 31 days in the future (a clock
// skew allowance; Tornado's version 2 has no such bound).
std::optional<std::string> decode_signed_value(std::string_view secret, std::string_view name,
                                               std::string_view signed_value, std::int64_t now_seconds,
                                               int max_age_days = 31);

}  // namespace squall::http
