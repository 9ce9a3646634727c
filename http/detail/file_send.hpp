// Sending a file's bytes as a response body, from the connection: the
// narrow hook a static file handler needs (connection::send_file).
//
// Two ways, chosen per call (measured side by side in bench/):
// - splice: file -> pipe -> socket with IORING_OP_SPLICE, the bytes never
//   pass through user space; pipes come from a per-thread pool and go back
//   only when empty. Not with TLS (the stream must encrypt).
// - read: IORING_OP_READ into a buffer, then the stream's write.
// Either way the body is exactly `length` bytes or the connection fails:
// a file that ends early (it shrank) fails the send, and the last piece
// goes out only after a statx shows the file as it was when the head was
// written (same identity, size and mtime), so an edit during the send
// cuts the response instead of completing a mixed body.
// Loop thread only. Tests: tests/http/static_files_test.cpp.
#pragma once

#include <cstdint>

#include <chrono>

#include <squall/engine/stream.hpp>
#include <squall/http/detail/file_cache.hpp>

namespace squall::http::detail {

enum class file_send_mode { splice, read };

struct file_body {
    file_ptr file;  // held until the send ends
    std::uint64_t offset = 0;
    std::uint64_t length = 0;
    file_send_mode mode = file_send_mode::splice;
};

// The body's bytes onto `s` (the head already written); each step within
// write_timeout. An error: the connection cannot go on.
task<result<void>> send_file_bytes(byte_stream& s, file_body body, std::chrono::milliseconds write_timeout);

}  // namespace squall::http::detail
