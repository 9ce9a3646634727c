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

// The boundary parameter of a multipart/form-data Content-Type.
std::optional<std::string> multipart_boundary(std::string_view content_type);
result<form_data> parse_multipart(std::string_view body, std::string_view boundary);

}  // namespace squall::http
