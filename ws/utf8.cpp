// Incremental UTF-8 validation. See utf8.hpp.
#include <squall/ws/utf8.hpp>

#include <cstring>

namespace squall::ws {

bool utf8_validator::feed(std::span<const std::byte> bytes) noexcept {
    if (failed_) return false;
    const auto* p = reinterpret_cast<const std::uint8_t*>(bytes.data());
    const auto* end = p + bytes.size();
    while (p < end) {
        if (need_ == 0) {
            // ASCII fast path: eight bytes without a high bit at a time.
            while (end - p >= 8) {
                std::uint64_t w;
                std::memcpy(&w, p, 8);
                if ((w & 0x8080808080808080ull) != 0) break;
                p += 8;
            }
            if (p == end) break;
            std::uint8_t b = *p++;
            if (b < 0x80) continue;
            lo_ = 0x80;
            hi_ = 0xBF;
            if (b >= 0xC2 && b <= 0xDF) {
                need_ = 1;
            } else if (b >= 0xE0 && b <= 0xEF) {
                need_ = 2;
                if (b == 0xE0) lo_ = 0xA0;  // no overlong three-byte forms
                if (b == 0xED) hi_ = 0x9F;  // no UTF-16 surrogates
            } else if (b >= 0xF0 && b <= 0xF4) {
                need_ = 3;
                if (b == 0xF0) lo_ = 0x90;  // no overlong four-byte forms
                if (b == 0xF4) hi_ = 0x8F;  // nothing past U+10FFFF
            } else {
                failed_ = true;  // continuation byte, C0/C1 or F5..FF as lead
                return false;
            }
        } else {
            std::uint8_t b = *p++;
            if (b < lo_ || b > hi_) {
                failed_ = true;
                return false;
            }
            lo_ = 0x80;
            hi_ = 0xBF;
            --need_;
        }
    }
    return true;
}

bool valid_utf8(std::string_view text) noexcept {
    utf8_validator v;
    return v.feed(text) && v.complete();
}

}  // namespace squall::ws
