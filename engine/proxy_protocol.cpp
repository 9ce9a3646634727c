#include <squall/engine/proxy_protocol.hpp>

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <string_view>
#include <vector>

#include <spdlog/spdlog.h>

#include <squall/engine/op.hpp>

namespace squall {
namespace {

constexpr std::array<unsigned char, 12> v2_signature = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                                        0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
constexpr std::string_view v1_prefix = "PROXY ";
constexpr std::size_t v2_fixed = 16;

class proxy_category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "squall.proxy"; }
    std::string message(int) const override { return "malformed PROXY protocol header"; }
};

proxy_parse fail(std::string reason) {
    proxy_parse p;
    p.status = proxy_parse::error;
    p.reason = std::move(reason);
    return p;
}

// Whether `bytes` so far could still begin with `prefix`.
bool starts_like(std::span<const std::byte> bytes, const unsigned char* prefix, std::size_t n) {
    std::size_t k = std::min(bytes.size(), n);
    return std::memcmp(bytes.data(), prefix, k) == 0;
}

std::optional<std::uint16_t> parse_port(std::string_view s) {
    unsigned v = 0;
    if (s.empty() || s.size() > 5 || (s.size() > 1 && s[0] == '0')) return std::nullopt;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size() || v > 65535) return std::nullopt;
    return static_cast<std::uint16_t>(v);
}

std::optional<address> v1_address(std::string_view host, std::string_view port, int family) {
    auto p = parse_port(port);
    if (!p) return std::nullopt;
    std::string h(host);
    unsigned char probe[16];
    if (::inet_pton(family, h.c_str(), probe) != 1) return std::nullopt;
    return address::ip(h, *p);
}

// "PROXY TCP4 1.2.3.4 5.6.7.8 111 222" (the CRLF already stripped).
proxy_parse parse_v1(std::string_view line) {
    line.remove_prefix(v1_prefix.size());
    std::vector<std::string_view> parts;
    while (!line.empty()) {
        auto sp = line.find(' ');
        parts.push_back(line.substr(0, sp));
        if (sp == std::string_view::npos) break;
        line.remove_prefix(sp + 1);
    }
    proxy_parse out;
    out.status = proxy_parse::done;
    out.header.version = 1;
    if (!parts.empty() && parts[0] == "UNKNOWN") {
        out.header.local = true;  // the rest of the line is to be ignored
        return out;
    }
    if (parts.size() != 5 || (parts[0] != "TCP4" && parts[0] != "TCP6"))
        return fail("v1: want 'TCP4|TCP6 SRC DST SPORT DPORT' or 'UNKNOWN'");
    int family = parts[0] == "TCP4" ? AF_INET : AF_INET6;
    auto src = v1_address(parts[1], parts[3], family);
    auto dst = v1_address(parts[2], parts[4], family);
    if (!src || !dst) return fail("v1: bad address or port");
    out.header.source = *src;
    out.header.destination = *dst;
    return out;
}

std::uint16_t be16(const unsigned char* p) { return static_cast<std::uint16_t>(p[0] << 8 | p[1]); }

bool parse_tlvs(const unsigned char* p, std::size_t n, proxy_header& h, bool nested);

// PP2_TYPE_SSL: client bits (1), verify (4), then sub-TLVs.
bool parse_ssl(const proxy_tlv& t, proxy_header& h) {
    if (t.value.size() < 5) return false;
    const auto* v = reinterpret_cast<const unsigned char*>(t.value.data());
    h.ssl = (v[0] & 0x01) != 0;
    return parse_tlvs(v + 5, t.value.size() - 5, h, true);
}

bool parse_tlvs(const unsigned char* p, std::size_t n, proxy_header& h, bool nested) {
    while (n > 0) {
        if (n < 3) return false;
        std::size_t len = be16(p + 1);
        if (n < 3 + len) return false;
        proxy_tlv t{p[0], std::string(reinterpret_cast<const char*>(p + 3), len)};
        if (t.type == 0x01) h.alpn = t.value;
        if (t.type == 0x02) h.authority = t.value;
        if (t.type == 0x20 && (nested || !parse_ssl(t, h))) return false;
        if (!nested) h.tlvs.push_back(std::move(t));  // the SSL sub-TLVs stay inside its value
        p += 3 + len;
        n -= 3 + len;
    }
    return true;
}

constexpr std::array<std::uint32_t, 256> crc32c_table = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
        std::uint32_t c = i;
        for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;  // reflected Castagnoli
        t[i] = c;
    }
    return t;
}();

// The offset (from the TLVs' start) of the first top-level TLV of `type`'s
// value, or npos; the TLVs parsed already.
std::size_t tlv_value_offset(const unsigned char* p, std::size_t n, std::uint8_t type) {
    std::size_t at = 0;
    while (at + 3 <= n) {
        std::size_t len = be16(p + at + 1);
        if (p[at] == type) return at + 3;
        at += 3 + len;
    }
    return std::string_view::npos;
}

// PP2_TYPE_CRC32C: the header's CRC-32C with the TLV's value zeroed.
bool crc_matches(const unsigned char* header, std::size_t total, std::size_t value_at) {
    std::vector<std::byte> copy(reinterpret_cast<const std::byte*>(header),
                                reinterpret_cast<const std::byte*>(header) + total);
    std::fill_n(copy.begin() + static_cast<std::ptrdiff_t>(value_at), 4, std::byte{0});
    const unsigned char* v = header + value_at;
    const std::uint32_t sent = std::uint32_t{v[0]} << 24 | std::uint32_t{v[1]} << 16 | std::uint32_t{v[2]} << 8 | v[3];
    return crc32c(copy) == sent;
}

address v2_inet(const unsigned char* a, const unsigned char* port, int family) {
    char text[INET6_ADDRSTRLEN] = {};
    ::inet_ntop(family, a, text, sizeof text);
    return address::ip(text, be16(port));
}

// The address block of a PROXY command; false when it does not fit.
bool parse_v2_addresses(unsigned fam, const unsigned char* b, std::size_t len, proxy_header& h, std::size_t& used) {
    unsigned af = fam >> 4, transport = fam & 0x0F;
    if (af == 0 || transport == 0) {
        h.local = true;  // UNSPEC: the receiver uses the real endpoints
        used = 0;
        return true;
    }
    if (transport != 1) return false;  // DGRAM over a stream listener
    if (af == 1 && len >= 12) {
        h.source = v2_inet(b, b + 8, AF_INET), h.destination = v2_inet(b + 4, b + 10, AF_INET), used = 12;
    } else if (af == 2 && len >= 36) {
        h.source = v2_inet(b, b + 32, AF_INET6), h.destination = v2_inet(b + 16, b + 34, AF_INET6), used = 36;
    } else if (af == 3 && len >= 216) {
        auto path = [](const unsigned char* p) {
            return std::string(reinterpret_cast<const char*>(p), strnlen(reinterpret_cast<const char*>(p), 108));
        };
        std::string src = path(b), dst = path(b + 108);
        if (!src.empty()) h.source = address::unix_path(src);
        if (!dst.empty()) h.destination = address::unix_path(dst);
        used = 216;
    } else {
        return false;
    }
    return true;
}

proxy_parse parse_v2(const unsigned char* p, std::size_t total) {
    unsigned ver = p[12] >> 4, cmd = p[12] & 0x0F;
    if (ver != 2) return fail("v2: version is not 2");
    if (cmd > 1) return fail("v2: command is neither LOCAL nor PROXY");
    proxy_parse out;
    out.header.version = 2;
    out.header.size = total;
    const unsigned char* body = p + v2_fixed;
    std::size_t len = total - v2_fixed, used = 0;
    if (cmd == 0) {
        // The balancer's own connection: addresses ignored, and TLVs only
        // looked at for a CRC when they parse.
        proxy_header scratch;
        if (parse_v2_addresses(p[13], body, len, scratch, used) && parse_tlvs(body + used, len - used, scratch, false))
            out.header.tlvs = std::move(scratch.tlvs);
        else used = len;
        out.header.local = true;
    } else if (!parse_v2_addresses(p[13], body, len, out.header, used)) {
        return fail("v2: address block does not match its family");
    } else if (!parse_tlvs(body + used, len - used, out.header, false)) {
        return fail("v2: malformed TLV");
    }
    for (const auto& t : out.header.tlvs) {
        if (t.type != 0x03) continue;  // PP2_TYPE_CRC32C
        if (t.value.size() != 4) return fail("v2: CRC32C TLV is not 4 bytes");
        const std::size_t at = v2_fixed + used + tlv_value_offset(body + used, len - used, 0x03);
        if (!crc_matches(p, total, at)) return fail("v2: CRC32C mismatch");
        out.header.crc32c = true;
        break;
    }
    out.status = proxy_parse::done;
    return out;
}

}  // namespace

std::uint32_t crc32c(std::span<const std::byte> bytes) noexcept {
    std::uint32_t c = 0xFFFFFFFFu;
    for (std::byte b : bytes) c = crc32c_table[(c ^ static_cast<std::uint8_t>(b)) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

const std::error_category& proxy_category() noexcept {
    static const proxy_category_impl cat;
    return cat;
}

proxy_parse parse_proxy_header(std::span<const std::byte> bytes, std::size_t max_size) {
    if (bytes.empty()) return {};
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
    if (starts_like(bytes, v2_signature.data(), v2_signature.size())) {
        if (bytes.size() < v2_fixed) return {};
        std::size_t total = v2_fixed + be16(p + 14);
        if (total > max_size) return fail("v2: header longer than " + std::to_string(max_size) + " bytes");
        if (bytes.size() < total) return {};
        return parse_v2(p, total);
    }
    if (!starts_like(bytes, reinterpret_cast<const unsigned char*>(v1_prefix.data()), v1_prefix.size()))
        return fail("not a PROXY protocol header");
    std::string_view text(reinterpret_cast<const char*>(p), std::min(bytes.size(), proxy_v1_max));
    auto crlf = text.find("\r\n");
    if (crlf == std::string_view::npos) {
        if (bytes.size() >= proxy_v1_max) return fail("v1: line longer than 107 bytes");
        if (text.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos && text.back() != '\r')
            return fail("v1: stray CR, LF or NUL");
        return {};
    }
    proxy_parse out = parse_v1(text.substr(0, crlf));
    out.header.size = crlf + 2;
    return out;
}

task<result<proxy_header>> read_proxy_header(int fd, clock::time_point deadline, std::size_t max_size) {
    std::vector<std::byte> buf(max_size);
    std::size_t seen = 0;
    for (;;) {
        // A peek returns at once while bytes wait; when they are the same
        // as last time (a header split over segments), wait a little.
        auto got = co_await recv(fd, buf, MSG_PEEK).until(deadline);
        if (!got) co_return got.error();
        if (*got == 0) co_return errc::eof;
        auto n = static_cast<std::size_t>(*got);
        proxy_parse p = parse_proxy_header(std::span(buf).first(n), max_size);
        if (p.status == proxy_parse::error) {
            spdlog::info("squall: closing a connection whose PROXY header is bad: {}", p.reason);
            co_return proxy_errc::malformed;
        }
        if (p.status == proxy_parse::done) {
            auto taken = co_await recv(fd, std::span(buf).first(p.header.size), MSG_WAITALL).until(deadline);
            if (!taken || static_cast<std::size_t>(*taken) != p.header.size) co_return proxy_errc::malformed;
            co_return std::move(p.header);
        }
        if (n == seen) {
            auto slept = co_await sleep(std::chrono::milliseconds(2));
            if (!slept) co_return slept.error();
            if (clock::now() >= deadline) co_return errc::timed_out;
        }
        seen = n;
    }
}

}  // namespace squall
