// Cookies and Tornado-compatible signed values.
//
// parse_cookies reads a Cookie field (RFC 6265 5.4, lenient like browsers
// and Tornado: bad pairs are skipped). Signed values use Tornado's version
// 2 format ("2|1:0|10:<time>|<len>:<name>|<len>:<base64 value>|<hmac>"),
// HMAC-SHA256 keyed by the application's cookie_secret, so a cookie signed
// by Tornado verifies here and the other way round.
// Tests: tests/http/cookies_test.cpp.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace squall::http {

std::vector<std::pair<std::string_view, std::string_view>> parse_cookies(std::string_view field);

std::string create_signed_value(std::string_view secret, std::string_view name, std::string_view value,
                                std::int64_t now_seconds);
// The value, when the signature, the name and the age all check out: at
// most max_age_days old, and at most 31 days in the future (a clock
// skew allowance; Tornado's version 2 has no such bound).
std::optional<std::string> decode_signed_value(std::string_view secret, std::string_view name,
                                               std::string_view signed_value, std::int64_t now_seconds,
                                               int max_age_days = 31);

}  // namespace squall::http
