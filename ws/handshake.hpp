// The opening handshake's pieces shared by server and client (RFC 6455 4):
// Sec-WebSocket-Accept, key checks, and comma-separated header lists.
//
// Pure functions on borrowed strings; any thread. The server side runs in
// ws/handler.cpp, the client side in ws/client.cpp.
// Tests: tests/ws/handler_test.cpp (handshake.*).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <squall/http/request.hpp>

namespace squall::ws {

// base64(SHA-1(key + the RFC's GUID)).
std::string accept_key(std::string_view key);
// A Sec-WebSocket-Key must be base64 of 16 bytes.
bool valid_key(std::string_view key);
// A fresh random key for a client.
std::string make_key();

// The elements of every field named `name`, split at commas, trimmed,
// empty ones dropped (views into the fields).
std::vector<std::string_view> header_tokens(const http::header_list& headers, std::string_view name);
// Every field named `name` joined with ", ".
std::string joined_header(const http::header_list& headers, std::string_view name);
// Whether the comma list in any field `name` holds `token` (no case).
bool has_token(const http::header_list& headers, std::string_view name, std::string_view token);

}  // namespace squall::ws
