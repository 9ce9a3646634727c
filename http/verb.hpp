// verb: the HTTP methods a handler may implement (GET, HEAD, POST, PUT,
// DELETE, PATCH, OPTIONS), and their names. Plain values, no state.
// Tests: tests/http/handler_header_test.cpp, tests/http/handler_test.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace squall::http {

enum class verb : std::uint8_t { get, head, post, put, delete_, patch, options };
inline constexpr std::size_t verb_count = 7;

// "GET" -> verb::get; nullopt for a method no handler can implement.
std::optional<verb> parse_verb(std::string_view method) noexcept;
// verb::delete_ -> "DELETE".
std::string_view verb_name(verb v) noexcept;

}  // namespace squall::http
