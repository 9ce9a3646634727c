// URL pieces: percent-decoding and query/form parsing
// (application/x-www-form-urlencoded, WHATWG rules: '+' is a space).
// Tests: tests/http/form_test.cpp.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace squall::http {

// Percent-decodes `s`; with plus_as_space, '+' becomes ' ' (form data).
// Malformed escapes are kept as they are, like Python's unquote.
std::string url_decode(std::string_view s, bool plus_as_space = false);
std::string url_encode(std::string_view s);

// name=value pairs of a query string or url-encoded form body, decoded.
std::vector<std::pair<std::string, std::string>> parse_query(std::string_view query);

}  // namespace squall::http
