// Form bodies: application/x-www-form-urlencoded (see url.hpp) and
// multipart/form-data (RFC 7578), as Tornado's parse_body_arguments.
//
// parse_multipart splits a complete body held in memory; malformed input
// yields an error (the handler answers 400), never a partial result, so
// a part without a non-empty name fails the body (Tornado skips it). As
// in Tornado, a part with a non-empty filename is a file (Content-Type
// defaulting to application/unknown) and any other a field; quoted
// parameters may hold ';', with \" and \\ as their only escapes.
// Tests: tests/http/form_test.cpp.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <squall/engine/result.hpp>

namespace squall::http {

struct uploaded_file {
    std::string filename;
    std::string content_type;
    std::string body;
};

struct form_data {
    std::vector<std::pair<std::string, std::string>> fields;
    std::vector<std::pair<std::string, uploaded_file>> files;
};

// What Tornado's get_argument does to a value: control characters
// U+0000-U+0008 and U+000E-U+001F become spaces (always), then with
// `strip` leading and trailing whitespace as Python's str.strip() sees
// it goes (ASCII \t\n\v\f\r, space, U+001C-U+001F, and in UTF-8 U+0085,
// U+00A0, U+1680, U+2000-U+200A, U+2028, U+2029, U+202F, U+205F, U+3000).
std::string clean_argument(std::string_view value, bool strip);

// The boundary parameter of a multipart/form-data Content-Type.
std::optional<std::string> multipart_boundary(std::string_view content_type);
result<form_data> parse_multipart(std::string_view body, std::string_view boundary);

}  // namespace squall::http
