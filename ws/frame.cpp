// RFC 6455 frame headers and masking. See frame.hpp.
#include <squall/ws/frame.hpp>

#include <bit>
#include <cstring>

namespace squall::ws {

bool valid_close_code(std::uint16_t code) noexcept {
    if (code >= 3000 && code <= 4999) return true;
    switch (code) {
        case 1000:
        case 1001:
        case 1002:
        case 1003:
        case 1007:
        case 1008:
        case 1009:
        case 1010:
        case 1011:
        case 1012:
        case 1013:
        case 1014:  // IANA's registry: restart, try again later, bad gateway
            return true;
        default: return false;
    }
}

parse_status parse_header(std::span<const std::byte> in, frame_header& out) noexcept {
    if (in.size() < 2) return parse_status::need_more;
    auto b0 = std::to_integer<std::uint8_t>(in[0]);
    auto b1 = std::to_integer<std::uint8_t>(in[1]);
    out.fin = (b0 & 0x80) != 0;
    out.rsv1 = (b0 & 0x40) != 0;
    out.rsv2 = (b0 & 0x20) != 0;
    out.rsv3 = (b0 & 0x10) != 0;
    out.raw_opcode = b0 & 0x0F;
    out.masked = (b1 & 0x80) != 0;
    std::size_t need = 2 + (out.masked ? 4 : 0);
    std::uint64_t len = b1 & 0x7F;
    std::size_t ext = len == 126 ? 2 : len == 127 ? 8 : 0;
    need += ext;
    if (in.size() < need) return parse_status::need_more;
    if (ext != 0) {
        len = 0;
        for (std::size_t i = 0; i < ext; ++i) len = (len << 8) | std::to_integer<std::uint8_t>(in[2 + i]);
        if (ext == 8 && (len >> 63) != 0) return parse_status::bad_length;
    }
    out.length = len;
    if (out.masked) std::memcpy(out.mask.data(), in.data() + 2 + ext, 4);
    out.header_size = need;
    return parse_status::ok;
}

std::size_t write_header(std::byte* out, opcode op, bool fin, bool rsv1, std::uint64_t length,
                         const mask_key* mask) noexcept {
    auto* p = reinterpret_cast<std::uint8_t*>(out);
    p[0] = static_cast<std::uint8_t>((fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | static_cast<std::uint8_t>(op));
    std::uint8_t mbit = mask ? 0x80 : 0;
    std::size_t n = 2;
    if (length < 126) {
        p[1] = static_cast<std::uint8_t>(mbit | length);
    } else if (length <= 0xFFFF) {
        p[1] = mbit | 126;
        p[2] = static_cast<std::uint8_t>(length >> 8);
        p[3] = static_cast<std::uint8_t>(length);
        n = 4;
    } else {
        p[1] = mbit | 127;
        for (int i = 0; i < 8; ++i) p[2 + i] = static_cast<std::uint8_t>(length >> (56 - 8 * i));
        n = 10;
    }
    if (mask) {
        std::memcpy(p + n, mask->data(), 4);
        n += 4;
    }
    return n;
}

namespace {

// The mask as a 64-bit word whose first byte in memory is mask[offset % 4].
std::uint64_t mask_word(const mask_key& mask, std::uint64_t offset) noexcept {
    std::uint8_t bytes[8];
    for (int i = 0; i < 8; ++i) bytes[i] = mask[(offset + static_cast<unsigned>(i)) & 3];
    std::uint64_t w;
    std::memcpy(&w, bytes, 8);
    return w;
}

}  // namespace

void copy_masked(std::byte* dst, const std::byte* src, std::size_t n, const mask_key& mask,
                 std::uint64_t offset) noexcept {
    std::size_t i = 0;
    if (n >= 16) {
        std::uint64_t w = mask_word(mask, offset);
        for (; i + 8 <= n; i += 8) {
            std::uint64_t v;
            std::memcpy(&v, src + i, 8);
            v ^= w;
            std::memcpy(dst + i, &v, 8);
        }
    }
    for (; i < n; ++i) dst[i] = src[i] ^ std::byte{mask[(offset + i) & 3]};
}

void apply_mask(std::span<std::byte> data, const mask_key& mask, std::uint64_t offset) noexcept {
    copy_masked(data.data(), data.data(), data.size(), mask, offset);
}

}  // namespace squall::ws
