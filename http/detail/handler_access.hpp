// The exchange behind a handler, for the http/ helpers that extend
// request_handler from outside its class (static files, automatic ETag,
// templates). Not for applications. Loop thread only.
#pragma once

#include <squall/http/detail/exchange.hpp>
#include <squall/http/handler.hpp>

namespace squall::http::detail {

struct handler_access {
    static exchange& of(request_handler& h) noexcept { return *h.ex_; }
    static const exchange& of(const request_handler& h) noexcept { return *h.ex_; }
};

}  // namespace squall::http::detail
