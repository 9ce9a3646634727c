// HTTP dates (RFC 9110 5.6.7): IMF-fixdate written, and all three forms
// read (IMF-fixdate, the obsolete RFC 850 and asctime forms), in English
// whatever the process's locale. http_date() is the Date field value,
// formatted once per second per thread.
//
// Pure functions (arguments borrowed for the call) except http_date(),
// whose view stays valid until the thread's next call. Thread-safe.
// Tests: tests/http/grammar_test.cpp, tests/http/file_rules_test.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace squall::http::detail {

// "Sun, 06 Nov 1994 08:49:37 GMT": always this many bytes for a year of
// four digits (years 0 to 9999; later ones are clamped to 9999-12-31).
inline constexpr std::size_t imf_fixdate_size = 29;
void write_imf_fixdate(char* out, std::int64_t unix_seconds) noexcept;
std::string format_http_date(std::int64_t unix_seconds);

// Seconds since the epoch; nullopt for anything but exactly one of the
// three forms with a real calendar date (a day past the month's end, hour
// 24 or a wrong day name is no date, and the field is then ignored). A
// two-digit RFC 850 year more than 50 years ahead is taken as the last
// past year with those digits, as RFC 9110 5.6.7 says.
std::optional<std::int64_t> parse_http_date(std::string_view text);

std::string_view http_date() noexcept;

}  // namespace squall::http::detail
