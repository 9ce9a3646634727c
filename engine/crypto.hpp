// Small cryptographic helpers over wolfSSL, for the layers above (signed
// cookies, the WebSocket handshake), which never include wolfSSL headers.
//
// Pure functions on borrowed inputs; thread-safe. random_bytes draws from
// the operating system (getrandom). Tests: tests/engine/crypto_test.cpp.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace squall::crypto {

std::array<std::uint8_t, 32> hmac_sha256(std::string_view key, std::string_view data);
std::array<std::uint8_t, 20> sha1(std::string_view data);
// PBKDF2 (RFC 8018) with HMAC-SHA256, a 32-byte key: for password storage.
std::array<std::uint8_t, 32> pbkdf2_hmac_sha256(std::string_view password, std::string_view salt, unsigned iterations);

std::string hex(const std::uint8_t* data, std::size_t n);
template <std::size_t N>
std::string hex(const std::array<std::uint8_t, N>& a) {
    return hex(a.data(), N);
}

std::string base64_encode(std::string_view data);
// nullopt when `text` is not valid base64 (padding required).
std::optional<std::string> base64_decode(std::string_view text);

// Compares without leaking where the first difference is.
bool constant_time_equal(std::string_view a, std::string_view b) noexcept;

void random_bytes(void* out, std::size_t n);

}  // namespace squall::crypto
