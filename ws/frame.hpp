// RFC 6455 frames: header parsing and serialising, masking, close codes.
//
// Pure functions on borrowed bytes; no I/O, no state, any thread. The
// message layer above (ws/reader.hpp) enforces the protocol's rules
// (reserved bits, control frame limits, fragmentation order); this file
// only reads and writes the wire format. Masking works a 64-bit word at a
// time, with the mask rotated to the payload offset so that a payload can
// be unmasked in pieces as it arrives. Tests: tests/ws/frame_test.cpp.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace squall::ws {

enum class opcode : std::uint8_t {
    continuation = 0x0,
    text = 0x1,
    binary = 0x2,
    close = 0x8,
    ping = 0x9,
    pong = 0xA,
};

inline bool is_control(opcode op) noexcept { return (static_cast<unsigned>(op) & 0x8) != 0; }

// Close status codes (RFC 6455 section 7.4.1) that squall sends.
namespace close_code {
inline constexpr std::uint16_t normal = 1000;
inline constexpr std::uint16_t going_away = 1001;
inline constexpr std::uint16_t protocol_error = 1002;
inline constexpr std::uint16_t unsupported_data = 1003;
inline constexpr std::uint16_t no_status = 1005;  // never on the wire
inline constexpr std::uint16_t abnormal = 1006;   // never on the wire
inline constexpr std::uint16_t invalid_payload = 1007;
inline constexpr std::uint16_t policy_violation = 1008;
inline constexpr std::uint16_t message_too_big = 1009;
inline constexpr std::uint16_t internal_error = 1011;
}  // namespace close_code

// Whether a peer may send `code` in a close frame: 1000-1003, 1007-1014
// (RFC 6455 and the IANA WebSocket close code registry), and 3000-4999
// (registered and private use). 1004-1006 and 1015 are never sent.
bool valid_close_code(std::uint16_t code) noexcept;

using mask_key = std::array<std::uint8_t, 4>;

struct frame_header {
    bool fin = true;
    bool rsv1 = false, rsv2 = false, rsv3 = false;
    std::uint8_t raw_opcode = 0;  // as sent: may be a reserved value
    bool masked = false;
    mask_key mask{};
    std::uint64_t length = 0;     // payload bytes
    std::size_t header_size = 0;  // bytes the header took on the wire

    opcode op() const noexcept { return static_cast<opcode>(raw_opcode); }
};

inline constexpr std::size_t max_header_size = 14;

enum class parse_status { ok, need_more, bad_length };

// Reads a header from the start of `in`. need_more: `in` holds less than a
// whole header; bad_length: a 64-bit length with its top bit set, which
// RFC 6455 (5.2) forbids.
parse_status parse_header(std::span<const std::byte> in, frame_header& out) noexcept;

// Writes a header for a payload of `length` bytes into `out` (at least
// max_header_size bytes); returns its size. A mask is written when given.
std::size_t write_header(std::byte* out, opcode op, bool fin, bool rsv1, std::uint64_t length,
                         const mask_key* mask = nullptr) noexcept;

// XORs `data` with `mask`, where data[0] is payload byte `offset`.
void apply_mask(std::span<std::byte> data, const mask_key& mask, std::uint64_t offset = 0) noexcept;
// Copies src into dst (same size) XORed with the mask, as apply_mask.
void copy_masked(std::byte* dst, const std::byte* src, std::size_t n, const mask_key& mask,
                 std::uint64_t offset = 0) noexcept;

}  // namespace squall::ws
