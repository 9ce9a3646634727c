#include <squall/engine/crypto.hpp>

#include <sys/random.h>
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/hmac.h>
#include <wolfssl/wolfcrypt/pwdbased.h>
#include <wolfssl/wolfcrypt/sha.h>

#include <cerrno>
#include <stdexcept>
#include <system_error>

namespace squall::crypto {
namespace {

const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int b64_value(char c) noexcept {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

}  // namespace

std::array<std::uint8_t, 32> hmac_sha256(std::string_view key, std::string_view data) {
    Hmac h;
    std::array<std::uint8_t, 32> out{};
    if (wc_HmacInit(&h, nullptr, INVALID_DEVID) != 0) throw std::runtime_error("squall: wc_HmacInit failed");
    int rc = wc_HmacSetKey(&h, WC_SHA256, reinterpret_cast<const byte*>(key.data()), static_cast<word32>(key.size()));
    if (rc == 0) rc = wc_HmacUpdate(&h, reinterpret_cast<const byte*>(data.data()), static_cast<word32>(data.size()));
    if (rc == 0) rc = wc_HmacFinal(&h, out.data());
    wc_HmacFree(&h);
    if (rc != 0) throw std::runtime_error("squall: HMAC-SHA256 failed");
    return out;
}

std::array<std::uint8_t, 32> pbkdf2_hmac_sha256(std::string_view password, std::string_view salt, unsigned iterations) {
    std::array<std::uint8_t, 32> out{};
    int rc = wc_PBKDF2(out.data(), reinterpret_cast<const byte*>(password.data()), static_cast<int>(password.size()),
                       reinterpret_cast<const byte*>(salt.data()), static_cast<int>(salt.size()),
                       static_cast<int>(iterations), static_cast<int>(out.size()), WC_SHA256);
    if (rc != 0) throw std::runtime_error("squall: PBKDF2 failed");
    return out;
}

std::array<std::uint8_t, 20> sha1(std::string_view data) {
    std::array<std::uint8_t, 20> out{};
    if (wc_ShaHash(reinterpret_cast<const byte*>(data.data()), static_cast<word32>(data.size()), out.data()) != 0)
        throw std::runtime_error("squall: SHA-1 failed");
    return out;
}

std::string hex(const std::uint8_t* data, std::size_t n) {
    static const char digits[] = "0123456789abcdef";
    std::string out(2 * n, '0');
    for (std::size_t i = 0; i < n; ++i) {
        out[2 * i] = digits[data[i] >> 4];
        out[2 * i + 1] = digits[data[i] & 15];
    }
    return out;
}

std::string base64_encode(std::string_view data) {
    std::string out;
    out.reserve((data.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 2 < data.size(); i += 3) {
        auto n = (std::uint32_t(std::uint8_t(data[i])) << 16) | (std::uint32_t(std::uint8_t(data[i + 1])) << 8) |
                 std::uint8_t(data[i + 2]);
        out += {b64[n >> 18], b64[(n >> 12) & 63], b64[(n >> 6) & 63], b64[n & 63]};
    }
    if (i + 1 == data.size()) {
        auto n = std::uint32_t(std::uint8_t(data[i])) << 16;
        out += {b64[n >> 18], b64[(n >> 12) & 63], '=', '='};
    } else if (i + 2 == data.size()) {
        auto n = (std::uint32_t(std::uint8_t(data[i])) << 16) | (std::uint32_t(std::uint8_t(data[i + 1])) << 8);
        out += {b64[n >> 18], b64[(n >> 12) & 63], b64[(n >> 6) & 63], '='};
    }
    return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
    if (text.size() % 4 != 0) return std::nullopt;
    std::string out;
    out.reserve(text.size() / 4 * 3);
    for (std::size_t i = 0; i < text.size(); i += 4) {
        int v[4];
        int pad = 0;
        for (int k = 0; k < 4; ++k) {
            char c = text[i + k];
            bool last_group = i + 4 == text.size();
            if (c == '=' && last_group && k >= 2 && (k == 3 || text[i + 3] == '=')) {
                v[k] = 0;
                ++pad;
            } else if ((v[k] = b64_value(c)) < 0 || pad) {
                return std::nullopt;
            }
        }
        std::uint32_t n = (std::uint32_t(v[0]) << 18) | (std::uint32_t(v[1]) << 12) | (std::uint32_t(v[2]) << 6) |
                          std::uint32_t(v[3]);
        out.push_back(static_cast<char>(n >> 16));
        if (pad < 2) out.push_back(static_cast<char>((n >> 8) & 255));
        if (pad < 1) out.push_back(static_cast<char>(n & 255));
    }
    return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    unsigned char diff = 0;
    for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
    return diff == 0;
}

void random_bytes(void* out, std::size_t n) {
    auto* p = static_cast<unsigned char*>(out);
    while (n > 0) {
        ssize_t got = ::getrandom(p, n, 0);
        if (got < 0) {
            if (errno == EINTR) continue;
            throw std::system_error(errno, std::system_category(), "squall: getrandom");
        }
        p += got;
        n -= static_cast<std::size_t>(got);
    }
}

}  // namespace squall::crypto
