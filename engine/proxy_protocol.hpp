// PROXY protocol v1 and v2 (HAProxy's proxy-protocol.txt): the header a
// load balancer sends before the client's first byte, naming the client.
//
// parse_proxy_header() is sans-I/O: it reads a span (borrowed for the
// call) and says need_more, done (with the header and how many bytes it
// took) or error (with a reason). v1 lines are at most 107 bytes; a v2
// header past `max_size` is refused as oversized. v2 LOCAL (a balancer's
// own health check) and v1 UNKNOWN carry no client: `local` is set and
// the connection's real peer stands. TLVs are parsed and kept; ALPN,
// AUTHORITY and SSL (with its client bits) are decoded; a TLV running
// past the header is an error. A CRC32C TLV (PP2_TYPE_CRC32C, HAProxy's
// `proxy-v2-options crc32c`) is verified over the whole header with its
// own value zeroed: a mismatch, or a value that is not 4 bytes, is an
// error (a LOCAL header's TLVs are checked alike when they parse).
//
// read_proxy_header() takes the header off a connected socket through the
// ring without reading past it (it peeks, then reads exactly the header's
// bytes), so that TLS or HTTP after it reach the stream untouched. It
// fails with errc::timed_out at `deadline`, errc::eof when the peer closed
// first, and proxy_errc::malformed for bad input; loop thread only.
// Tests: tests/engine/proxy_protocol_test.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include <squall/engine/result.hpp>
#include <squall/engine/socket.hpp>
#include <squall/engine/task.hpp>
#include <squall/engine/time.hpp>

namespace squall {

enum class proxy_errc { malformed = 1 };
const std::error_category& proxy_category() noexcept;
inline std::error_code make_error_code(proxy_errc e) noexcept { return {static_cast<int>(e), proxy_category()}; }

struct proxy_tlv {
    std::uint8_t type = 0;
    std::string value;
};

struct proxy_header {
    int version = 0;     // 1 or 2
    bool local = false;  // no client named: use the real peer
    address source;      // the client, when !local
    address destination;
    std::vector<proxy_tlv> tlvs;
    bool ssl = false;       // PP2_TYPE_SSL with PP2_CLIENT_SSL: the client spoke TLS
    std::string authority;  // PP2_TYPE_AUTHORITY: the host name the client asked for
    std::string alpn;       // PP2_TYPE_ALPN
    bool crc32c = false;    // a PP2_TYPE_CRC32C TLV was there and matched
    std::size_t size = 0;   // bytes the header took
};

struct proxy_parse {
    enum status_t { need_more, done, error } status = need_more;
    proxy_header header;
    std::string reason;  // for error
};

inline constexpr std::size_t proxy_v1_max = 107;

proxy_parse parse_proxy_header(std::span<const std::byte> bytes, std::size_t max_size = 4096);

// CRC-32C (Castagnoli, RFC 3720's), as the PROXY v2 CRC32C TLV carries it.
std::uint32_t crc32c(std::span<const std::byte> bytes) noexcept;

task<result<proxy_header>> read_proxy_header(int fd, clock::time_point deadline, std::size_t max_size = 4096);

}  // namespace squall

template <>
struct std::is_error_code_enum<squall::proxy_errc> : std::true_type {};
