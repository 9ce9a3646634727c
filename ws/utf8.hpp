// Incremental UTF-8 validation for WebSocket text messages (RFC 3629 as
// RFC 6455 8.1 requires): feed the bytes as they arrive, in pieces of any
// size; feed() fails at the first byte that cannot start or continue a
// valid sequence (overlong forms, surrogates and code points past
// U+10FFFF included), so a connection can fail before the rest of a bad
// message arrives. ASCII runs are checked eight bytes at a time.
// A plain value type; any thread. Tests: tests/ws/utf8_test.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace squall::ws {

class utf8_validator {
public:
    // False from the first invalid byte on (and for every later call).
    bool feed(std::span<const std::byte> bytes) noexcept;
    bool feed(std::string_view text) noexcept { return feed(std::as_bytes(std::span(text))); }
    // True when the bytes so far end on a whole character and none failed.
    bool complete() const noexcept { return !failed_ && need_ == 0; }
    bool failed() const noexcept { return failed_; }
    void reset() noexcept { *this = utf8_validator{}; }

private:
    std::uint8_t need_ = 0;               // continuation bytes still expected
    std::uint8_t lo_ = 0x80, hi_ = 0xBF;  // range allowed for the next one
    bool failed_ = false;
};

// Whole-string check.
bool valid_utf8(std::string_view text) noexcept;

}  // namespace squall::ws
