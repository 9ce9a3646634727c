#include <squall/http/detail/transform.hpp>

#include <charconv>
#include <functional>

#include <squall/http/application.hpp>
#include <squall/http/detail/compress.hpp>
#include <squall/http/detail/exchange.hpp>
#include <squall/http/detail/file_rules.hpp>
#include <squall/http/detail/handler_access.hpp>
#include <squall/http/handler.hpp>

namespace squall::http {

std::optional<std::string> request_handler::compute_etag() {
    // A 64-bit hash, not Tornado's SHA-1: an ETag only has to change with
    // the body, and this runs for every response.
    std::size_t h = std::hash<std::string_view>{}(detail::handler_access::of(*this).body_out);
    char buf[24] = {'"'};
    auto r = std::to_chars(buf + 1, buf + sizeof buf - 1, h, 16);
    *r.ptr++ = '"';
    return std::string(buf, r.ptr);
}

}  // namespace squall::http

namespace squall::http::detail {

void transform_response(exchange& ex, request_handler& h) {
    if (ex.headers_sent || ex.closed) return;
    const auto& s = ex.app().settings();
    const request_head& req = ex.head();
    const bool get_or_head = req.method == "GET" || req.method == "HEAD";
    if (s.etag && ex.status == 200 && get_or_head && !ex.header_out("ETag")) {
        if (auto tag = h.compute_etag()) ex.headers.emplace_back("ETag", std::move(*tag));
    }
    if (ex.status == 200 && get_or_head) {
        auto tag = ex.header_out("ETag");
        auto inm = req.headers.get("if-none-match");
        if (tag && inm && etag_list_matches(*inm, *tag, false)) {
            ex.status = 304;
            ex.body_out.clear();
            return;
        }
    }
    if (s.compress_response && should_compress(ex, s.compress_min)) compress_body(ex);
}

}  // namespace squall::http::detail
