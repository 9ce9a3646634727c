#include "todo/password.hpp"

#include <array>
#include <charconv>
#include <cstdint>
#include <stdexcept>

#include <squall/engine/crypto.hpp>

namespace squall::examples {
namespace {

constexpr std::string_view scheme = "pbkdf2_sha256";

std::string encode(unsigned iterations, std::string_view salt, std::string_view password) {
    return std::string(scheme) + "$" + std::to_string(iterations) + "$" + std::string(salt) + "$" +
           crypto::hex(crypto::pbkdf2_hmac_sha256(password, salt, iterations));
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
