// The llhttp calls the request parser (parser.hpp) and the response
// parser (response_parser.hpp) make alike: one execute that reports how
// many bytes llhttp took, and the body framing it read from the head.
// Only those parsers' .cpp files include this (and so llhttp.h).
//
// Content-Length on the wire is parsed here, by llhttp (strict build):
// digits only, no sign, overflow and a repeated field refused; fields
// squall writes or is handed go through grammar.hpp's parse_decimal,
// which takes the same digits.
//
// `p` is borrowed for the call; no allocation. Not thread-safe (the
// parser's own thread). Tests: tests/http/parser_test.cpp,
// tests/http/client_framing_test.cpp.
#pragma once

#include <llhttp.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace squall::http::detail {

struct llhttp_step {
    llhttp_errno_t err;
    std::size_t consumed;  // all of the data, or up to the byte llhttp stopped at
};

inline llhttp_step run_llhttp(llhttp_t& p, std::string_view data) noexcept {
    const llhttp_errno_t e = llhttp_execute(&p, data.data(), data.size());
    std::size_t n = data.size();
    if (e != HPE_OK) {
        if (const char* pos = llhttp_get_error_pos(&p)) n = static_cast<std::size_t>(pos - data.data());
    }
    return {e, n};
}

// How the message's body is delimited, as llhttp read the head.
struct body_framing {
    bool chunked = false;
    std::optional<std::uint64_t> content_length;
};

inline body_framing framing_of(const llhttp_t& p) noexcept {
    body_framing f;
    f.chunked = (p.flags & F_CHUNKED) != 0;
    if (p.flags & F_CONTENT_LENGTH) f.content_length = p.content_length;
    return f;
}

}  // namespace squall::http::detail
