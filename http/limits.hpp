// The limits a server holds each request to, and the write timeout, in one
// place: app_settings (http/application.hpp) inherits request_limits and the
// request parser (http/detail/parser.hpp) takes them as they are; the
// WebSocket connection's write timeout starts from the same default.
// Defaults are no looser than nginx's (shared/BAD_INPUT.md).
//
// Plain values; no ownership, no threads. Tests: tests/http/parser_test.cpp,
// tests/http/bad_input_test.cpp.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace squall::http {

struct request_limits {
    std::size_t max_target = 8 * 1024;     // 414 past it
    std::size_t max_field = 8 * 1024;      // one field, name and value; 431
    std::size_t max_head = 32 * 1024;      // the request line and all fields; 431
    std::size_t max_fields = 100;          // 431
    std::uint64_t max_body = 1024 * 1024;  // nginx's client_max_body_size; 413
    // Chunk extensions (`1;name=value`) in one message; no client needs
    // them, and without a bound a body of extensions never ends (node's
    // CVE-2024-22019; node allows 16 KiB too).
    std::size_t max_chunk_extensions = 16 * 1024;
};

// One write to a peer that does not read (HTTP responses, WebSocket frames).
inline constexpr std::chrono::milliseconds default_write_timeout{30'000};

}  // namespace squall::http
