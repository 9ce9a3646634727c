// The llhttp parser a request_parser owns; only the parser's own .cpp files
// include llhttp.h.
#pragma once

#include <llhttp.h>

#include <squall/http/detail/parser.hpp>

namespace squall::http::detail {

struct request_parser::llhttp_state {
    llhttp_t parser;
};

}  // namespace squall::http::detail
