#include <squall/http/request.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace squall::http {

namespace {

// Eight bytes at a time: equal but for ASCII letters in different case.
// Each byte that differs must differ by 0x20 alone and be a letter in `x`.
bool iequal_words(std::uint64_t x, std::uint64_t y) noexcept {
    constexpr std::uint64_t ones = 0x0101010101010101, high = 0x80 * ones;
    const std::uint64_t d = x ^ y;
    if (d & ~(0x20 * ones)) return false;
    const std::uint64_t low = (x | 0x20 * ones) & 0x7f * ones;  // lower-cased, high bits cleared
    const std::uint64_t from_a = (low | high) - 0x61 * ones;    // high bit: byte >= 'a'
    const std::uint64_t to_z = (0x7a * ones | high) - low;      // high bit: byte <= 'z'
    const std::uint64_t letter = from_a & to_z & ~x & high;     // ... and ASCII
    return ((d << 2) & ~letter) == 0;                           // 0x20 << 2 is the high bit
}

template <class Word>
Word load(const char* p) noexcept {
    Word w;
    std::memcpy(&w, p, sizeof w);
    return w;
}

// Fewer than eight bytes as one word, built the same way for both sides:
// two overlapping 4-byte loads, or the first, middle and last byte.
std::uint64_t load_short(const char* p, std::size_t n) noexcept {
    if (n >= 4) return load<std::uint32_t>(p) | std::uint64_t{load<std::uint32_t>(p + n - 4)} << 32;
    if (n == 0) return 0;
    auto byte = [p](std::size_t i) { return std::uint64_t{static_cast<unsigned char>(p[i])}; };
    return byte(0) | byte(n / 2) << 8 | byte(n - 1) << 16;
}

}  // namespace

bool iequals(std::string_view a, std::string_view b) noexcept {
    const std::size_t n = a.size();
    if (n != b.size()) return false;
    const char* x = a.data();
    const char* y = b.data();
    if (n < 8) {
        std::uint64_t u = load_short(x, n), v = load_short(y, n);
        return u == v || iequal_words(u, v);
    }
    // Whole words, then the last eight bytes (overlapping the words before).
    for (std::size_t i = 0; i + 8 <= n; i += 8) {
        std::uint64_t u = load<std::uint64_t>(x + i), v = load<std::uint64_t>(y + i);
        if (u != v && !iequal_words(u, v)) return false;
    }
    std::uint64_t u = load<std::uint64_t>(x + n - 8), v = load<std::uint64_t>(y + n - 8);
    return u == v || iequal_words(u, v);
}

std::optional<std::string_view> header_list::get(std::string_view name) const noexcept {
    for (const auto& f : fields_) {
        if (iequals(f.name, name)) return f.value;
    }
    return std::nullopt;
}

std::size_t header_list::count(std::string_view name) const noexcept {
    return static_cast<std::size_t>(
        std::count_if(fields_.begin(), fields_.end(), [&](const header_field& f) { return iequals(f.name, name); }));
}

}  // namespace squall::http
