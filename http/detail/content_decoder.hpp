// content_decoder: the client's streaming decoder of Content-Encoding
// (gzip, x-gzip, deflate; RFC 9110 8.4), for decompress_response.
//
// setup() reads the Content-Encoding field: codings it knows are undone in
// reverse order as body pieces arrive, a bounded step of output at a time;
// an unknown coding leaves the body as it came (no decoding, like Tornado
// and curl for codings they were not asked for); more than max_codings
// codings is an error (each layer costs a zlib stream). push() appends the
// decoded bytes of `in` to `out` and fails once `out` would pass `limit`
// (a deflate bomb costs at most the limit and one step). finish() checks
// that every layer ended (a truncated stream is corrupt). A body with no
// bytes at all decodes to nothing (HEAD, 304 and empty answers carry the
// field without content). Borrowed inputs; one decoder per response;
// any thread. Tests: tests/http/client_framing_test.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace squall::http::detail {

enum class decode_status { ok, too_large, corrupt };

class content_decoder {
public:
    static constexpr std::size_t max_codings = 3;
    content_decoder();
    ~content_decoder();
    content_decoder(const content_decoder&) = delete;
    content_decoder& operator=(const content_decoder&) = delete;

    // False when the field lists more than max_codings codings. active()
    // tells whether the body will be decoded at all.
    bool setup(std::string_view content_encoding);
    bool active() const noexcept { return !layers_.empty(); }
    decode_status push(std::string_view in, std::string& out, std::uint64_t limit);
    decode_status finish();

private:
    struct layer;
    decode_status run(std::size_t i, std::string_view in, std::string& out, std::uint64_t limit);
    decode_status forward(std::size_t i, std::string& out, std::uint64_t limit);
    std::vector<std::unique_ptr<layer>> layers_;  // in decoding order
    std::vector<std::string> scratch_;            // between layers
    bool any_input_ = false;
};

}  // namespace squall::http::detail
