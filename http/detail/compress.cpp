#include <squall/http/detail/compress.hpp>

#include <libdeflate.h>

#include <charconv>
#include <memory>

#include <squall/http/detail/exchange.hpp>
#include <squall/http/detail/file_rules.hpp>
#include <squall/http/detail/grammar.hpp>
#include <squall/http/request.hpp>

namespace squall::http::detail {
namespace {

// The q-value of one list element's parameters (";q=0.5"): 1 when
// absent, -1 when malformed (the element is then ignored).
double qvalue(std::string_view params) noexcept {
    double q = 1;
    for (parameter p; next_parameter(params, p);) {
        if (!p.has_value || !iequals(p.name, "q")) continue;
        auto r = std::from_chars(p.value.data(), p.value.data() + p.value.size(), q);
        if (p.value.empty() || r.ec != std::errc() || r.ptr != p.value.data() + p.value.size() || q < 0 || q > 1)
            return -1;
    }
    return q;
}

struct compressor_deleter {
    void operator()(libdeflate_compressor* c) const noexcept { libdeflate_free_compressor(c); }
};

}  // namespace

bool accepts_gzip(std::string_view list) noexcept {
    double gzip = -1, star = -1;
    for (std::string_view item; next_element(list, item);) {
        std::string_view params;
        std::string_view coding = element_value(item, params);
        double q = qvalue(params);
        if (q < 0) continue;
        if (iequals(coding, "gzip") || iequals(coding, "x-gzip")) gzip = std::max(gzip, q);
        else if (coding == "*") star = q;
    }
    return gzip >= 0 ? gzip > 0 : star > 0;
}

std::optional<std::string> gzip_whole(std::string_view data, int level) {
    thread_local int made_level = -1;
    thread_local std::unique_ptr<libdeflate_compressor, compressor_deleter> c;
    if (!c || made_level != level) {
        c.reset(libdeflate_alloc_compressor(level));
        made_level = level;
        if (!c) return std::nullopt;
    }
    std::string out(libdeflate_gzip_compress_bound(c.get(), data.size()), '\0');
    std::size_t n = libdeflate_gzip_compress(c.get(), data.data(), data.size(), out.data(), out.size());
    if (n == 0) return std::nullopt;
    out.resize(n);
    return out;
}

std::string weaken(std::string_view etag) {
    if (etag.starts_with("W/")) return std::string(etag);
    return "W/" + std::string(etag);
}

bool should_compress(exchange& ex, std::size_t min) {
    // A Content-Length the handler set frames the identity body: leave it.
    if (ex.status != 200 || ex.header_out("Content-Encoding") || ex.header_out("Content-Range") ||
        ex.header_out("Content-Length"))
        return false;
    auto type = ex.header_out("Content-Type");
    if (!compressible_type(type ? *type : std::string_view("text/html"))) return false;
    // The response varies by Accept-Encoding whether or not this one is
    // compressed: a cache must not hand the identity body to a gzip client
    // or the other way round.
    auto vary = ex.header_out("Vary");
    if (!vary) ex.headers.emplace_back("Vary", "Accept-Encoding");
    else if (vary->find("Accept-Encoding") == std::string_view::npos)
        ex.set_header("Vary", std::string(*vary) + ", Accept-Encoding");
    if (ex.body_out.size() < min || ex.head().headers.get("range")) return false;
    auto accept = ex.head().headers.get("accept-encoding");
    return accept && accepts_gzip(*accept);
}

void compress_body(exchange& ex) {
    auto gz = gzip_whole(ex.body_out);
    if (!gz) return;
    ex.body_out = std::move(*gz);
    ex.headers.emplace_back("Content-Encoding", "gzip");
    if (auto tag = ex.header_out("ETag")) ex.set_header("ETag", weaken(*tag));
}

}  // namespace squall::http::detail
