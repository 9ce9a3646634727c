// Response compression (Tornado's compress_response, nginx's gzip).
//
// accepts_gzip() reads Accept-Encoding with its q-values (RFC 9110
// 12.5.3): gzip or x-gzip with q > 0, or "*" with q > 0 when gzip is not
// named. gzip_whole() compresses a whole body with libdeflate (about
// twice zlib's speed at the same ratio). should_compress() is the rule for
// a finished response: off unless the application enables it, only 200
// responses to requests that accept gzip, compressible types, at least
// `min` bytes, no Content-Encoding or Content-Range already, no Range
// request. compress_response() applies it: the body, Content-Encoding,
// Content-Length by the caller, Vary: Accept-Encoding, a weak ETag.
// Pure functions, thread-safe (a libdeflate compressor per thread).
// Tests: tests/http/transform_test.cpp, tests/http/static_files_test.cpp.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace squall::http::detail {

class exchange;

bool accepts_gzip(std::string_view accept_encoding) noexcept;
// nullopt only if libdeflate fails (out of memory). On a 64 KiB HTML page
// (bench/static_bench.py, libdeflate 1.14 against nginx's zlib at 6):
// level 6 costs 0.6x nginx's CPU for 5% more bytes, 7 gives the same size
// for 1.1x the CPU, 8 is 3.5x: 6 it is.
std::optional<std::string> gzip_whole(std::string_view data, int level = 6);
// Whether the exchange's finished response should be gzipped, given the
// minimum length. Adds Vary: Accept-Encoding for compressible types.
bool should_compress(exchange& ex, std::size_t min);
// Replaces the body with its gzip form and sets the fields.
void compress_body(exchange& ex);
// "W/" + tag unless it is weak already.
std::string weaken(std::string_view etag);

}  // namespace squall::http::detail
