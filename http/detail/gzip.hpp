// Inflating gzip request bodies (app_settings::decompress_request).
//
// gunzip() inflates `in` (one or more gzip members, RFC 1952) into `out`,
// which it clears first and fills a bounded step at a time: as soon as the
// output passes `limit` bytes it stops with too_large, so a deflate bomb
// costs at most `limit` plus one step of memory, never its whole
// expansion. Data that is not gzip, fails its CRC or length check, is cut
// short or has bytes after a member that are not another member is
// corrupt. `in` is borrowed for the call only; `out` is the caller's. No
// state is kept between calls; any thread.
// Tests: tests/http/gzip_test.cpp, tests/http/bad_input_test.cpp.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace squall::http::detail {

enum class inflate_status {
    ok,         // `out` holds the whole inflated body
    too_large,  // the body inflates past `limit` (`out` holds a prefix)
    corrupt,    // not a complete, valid gzip stream
};

inflate_status gunzip(std::string_view in, std::uint64_t limit, std::string& out);

// Whether a Content-Encoding value names gzip ("gzip" or the old "x-gzip").
bool is_gzip_coding(std::string_view content_encoding) noexcept;

}  // namespace squall::http::detail
