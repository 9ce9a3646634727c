#include "todo/password.hpp"

#include <array>
#include <charconv>
#include <cstdint>
#include <stdexcept>

#include "engine/crypto.hpp"

namespace squall::examples {
namespace {

constexpr std::string_view scheme = "pbkdf2_sha256";

std::string_view as_text(const std::array<std::uint8_t, 32>& bytes) {
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

// PBKDF2's first (and, for a 32-byte key, only) block:
// U1 = HMAC(P, S || INT(1)), Ui = HMAC(P, Ui-1), T = U1 ^ ... ^ Uc.
std::array<std::uint8_t, 32> pbkdf2_sha256(std::string_view password, std::string_view salt, unsigned iterations) {
    std::string first(salt);
    first.append("\0\0\0\1", 4);
    auto u = crypto::hmac_sha256(password, first);
    auto t = u;
    for (unsigned i = 1; i < iterations; ++i) {
        u = crypto::hmac_sha256(password, as_text(u));
        for (std::size_t k = 0; k < t.size(); ++k) t[k] ^= u[k];
    }
    return t;
}

std::string encode(unsigned iterations, std::string_view salt, std::string_view password) {
    return std::string(scheme) + "$" + std::to_string(iterations) + "$" + std::string(salt) + "$" +
           crypto::hex(pbkdf2_sha256(password, salt, iterations));
}

}  // namespace

std::string hash_password(std::string_view password, unsigned iterations) {
    if (iterations == 0) throw std::invalid_argument("password hashing needs at least one iteration");
    std::array<std::uint8_t, 16> raw{};
    crypto::random_bytes(raw.data(), raw.size());
    return encode(iterations, crypto::hex(raw), password);
}

bool verify_password(std::string_view password, std::string_view stored) {
    // scheme $ iterations $ salt $ digest
    std::array<std::string_view, 4> parts;
    std::size_t start = 0;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        std::size_t end = i + 1 < parts.size() ? stored.find('$', start) : stored.size();
        if (end == std::string_view::npos) return false;
        parts[i] = stored.substr(start, end - start);
        start = end + 1;
    }
    unsigned iterations = 0;
    auto [p, ec] = std::from_chars(parts[1].data(), parts[1].data() + parts[1].size(), iterations);
    if (parts[0] != scheme || ec != std::errc() || p != parts[1].data() + parts[1].size() || iterations == 0)
        return false;
    return crypto::constant_time_equal(encode(iterations, parts[2], password), stored);
}

}  // namespace squall::examples
