// Test helpers: WebSocket frames built byte by byte as a peer would send
// them, and a reader driven over those bytes in pieces of any size.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <squall/ws/frame.hpp>
#include <squall/ws/reader.hpp>

namespace squall::ws::testing {

struct frame_spec {
    std::uint8_t op = 1;  // raw opcode, reserved values allowed
    bool fin = true;
    bool rsv1 = false, rsv2 = false, rsv3 = false;
    bool masked = true;
    mask_key mask{0x37, 0xfa, 0x21, 0x3d};
    bool force_64bit = false;  // a 64-bit length with the top bit set
};

// One frame as a client (masked) or a server (unmasked) would send it.
inline std::string make_frame(std::string_view payload, frame_spec f = {}) {
    std::string out;
    out.push_back(static_cast<char>((f.fin ? 0x80 : 0) | (f.rsv1 ? 0x40 : 0) | (f.rsv2 ? 0x20 : 0) |
                                    (f.rsv3 ? 0x10 : 0) | (f.op & 0x0F)));
    std::uint8_t m = f.masked ? 0x80 : 0;
    std::uint64_t n = payload.size();
    if (f.force_64bit) {
        out.push_back(static_cast<char>(m | 127));
        out.push_back(static_cast<char>(0x80));
        for (int i = 0; i < 7; ++i) out.push_back(0);
    } else if (n < 126) {
        out.push_back(static_cast<char>(m | n));
    } else if (n <= 0xFFFF) {
        out.push_back(static_cast<char>(m | 126));
        out.push_back(static_cast<char>(n >> 8));
        out.push_back(static_cast<char>(n));
    } else {
        out.push_back(static_cast<char>(m | 127));
        for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>(n >> (8 * i)));
    }
    if (f.masked) out.append(reinterpret_cast<const char*>(f.mask.data()), 4);
    for (std::size_t i = 0; i < payload.size(); ++i)
        out.push_back(static_cast<char>(payload[i] ^ (f.masked ? f.mask[i % 4] : 0)));
    return out;
}

inline std::string close_payload(std::uint16_t code, std::string_view reason = {}) {
    std::string p;
    p.push_back(static_cast<char>(code >> 8));
    p.push_back(static_cast<char>(code & 0xFF));
    p.append(reason);
    return p;
}

// An event with its bytes copied out of the reader.
struct seen {
    event_kind kind;
    bool binary;
    std::string data;
    std::uint16_t code;
};

// Feeds `wire` to `r` in pieces of `piece` bytes (0: all at once) and
// returns every event up to the first failure or the end of the input.
inline std::vector<seen> feed(message_reader& r, std::string wire, std::size_t piece = 0) {
    std::vector<seen> out;
    std::size_t pos = 0;
    if (piece == 0) piece = wire.size() ? wire.size() : 1;
    while (pos < wire.size()) {
        std::size_t n = std::min(piece, wire.size() - pos);
        std::span<std::byte> in(reinterpret_cast<std::byte*>(wire.data() + pos), n);
        for (;;) {
            event ev = r.next(in);
            if (ev.kind == event_kind::need_more) break;
            out.push_back({ev.kind, ev.binary, std::string(ev.data), ev.code});
            if (ev.kind == event_kind::fail) return out;
        }
        pos += n;
    }
    return out;
}

}  // namespace squall::ws::testing

#include <sys/socket.h>

#include <optional>

namespace squall::ws::testing {

// A frame as read off a blocking socket (payload unmasked).
struct raw_frame {
    std::uint8_t op = 0;
    bool fin = false;
    bool rsv1 = false;
    bool masked = false;
    std::string payload;

    std::uint16_t close_code() const {
        return payload.size() >= 2 ? static_cast<std::uint16_t>((static_cast<unsigned char>(payload[0]) << 8) |
                                                                static_cast<unsigned char>(payload[1]))
                                   : 1005;
    }
};

// Reads one frame from `fd`, keeping extra bytes in `buf`; nullopt at EOF.
inline std::optional<raw_frame> read_frame(int fd, std::string& buf) {
    auto fill = [&](std::size_t want) {
        char c[65536];
        while (buf.size() < want) {
            ssize_t n = ::recv(fd, c, sizeof c, 0);
            if (n <= 0) return false;
            buf.append(c, static_cast<std::size_t>(n));
        }
        return true;
    };
    if (!fill(2)) return std::nullopt;
    auto b0 = static_cast<unsigned char>(buf[0]), b1 = static_cast<unsigned char>(buf[1]);
    std::size_t pos = 2;
    std::uint64_t len = b1 & 0x7F;
    if (len == 126) {
        if (!fill(4)) return std::nullopt;
        len = (static_cast<unsigned char>(buf[2]) << 8) | static_cast<unsigned char>(buf[3]);
        pos = 4;
    } else if (len == 127) {
        if (!fill(10)) return std::nullopt;
        len = 0;
        for (int i = 0; i < 8; ++i) len = (len << 8) | static_cast<unsigned char>(buf[2 + static_cast<std::size_t>(i)]);
        pos = 10;
    }
    raw_frame f;
    f.fin = b0 & 0x80;
    f.rsv1 = b0 & 0x40;
    f.op = b0 & 0x0F;
    f.masked = b1 & 0x80;
    unsigned char mask[4] = {};
    if (f.masked) {
        if (!fill(pos + 4)) return std::nullopt;
        for (int i = 0; i < 4; ++i) mask[i] = static_cast<unsigned char>(buf[pos + static_cast<std::size_t>(i)]);
        pos += 4;
    }
    if (!fill(pos + len)) return std::nullopt;
    f.payload = buf.substr(pos, len);
    for (std::size_t i = 0; i < f.payload.size(); ++i) f.payload[i] = static_cast<char>(f.payload[i] ^ mask[i % 4]);
    buf.erase(0, pos + len);
    return f;
}

}  // namespace squall::ws::testing
