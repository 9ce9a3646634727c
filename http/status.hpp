// HTTP status codes and their reason phrases (RFC 9110 section 15).
// Tests: tests/http/parser_test.cpp.
#pragma once

#include <string_view>

namespace squall::http {

// The standard reason phrase, or "Unknown" for a code RFC 9110 does not name.
std::string_view reason_phrase(int status) noexcept;

}  // namespace squall::http
