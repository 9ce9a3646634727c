// PROXY protocol v1/v2 parsing (engine/proxy_protocol.hpp): good headers
// of every family, LOCAL, TLVs, and truncated, oversized and malformed
// ones. The live reading and the real balancers are in
// tests/examples/proxy_peers_test.py.
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include <squall/engine/proxy_protocol.hpp>

using namespace squall;

namespace {

std::span<const std::byte> bytes(const std::string& s) {
    return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

const std::string sig("\r\n\r\n\0\r\nQUIT\n", 12);

std::string be16(std::size_t n) { return {static_cast<char>(n >> 8), static_cast<char>(n & 0xff)}; }

// A v2 header: command, family byte, then the address block and TLVs.
std::string v2(char ver_cmd, char fam, const std::string& body) {
    return sig + ver_cmd + fam + be16(body.size()) + body;
}

std::string tlv(char type, const std::string& value) { return type + be16(value.size()) + value; }

const std::string v4_block("\x7f\x00\x00\x02\x7f\x00\x00\x01\x30\x39\x00\x50", 12);

}  // namespace

TEST(proxy_v1, tcp4_and_tcp6) {
    auto p = parse_proxy_header(bytes("PROXY TCP4 192.0.2.7 127.0.0.1 5555 80\r\nGET /"));
    ASSERT_EQ(p.status, proxy_parse::done) << p.reason;
    EXPECT_EQ(p.header.version, 1);
    EXPECT_FALSE(p.header.local);
    EXPECT_EQ(p.header.source.to_string(), "192.0.2.7:5555");
    EXPECT_EQ(p.header.destination.to_string(), "127.0.0.1:80");
    EXPECT_EQ(p.header.size, 40u);
    auto q = parse_proxy_header(bytes("PROXY TCP6 2001:db8::1 ::1 1 65535\r\n"));
    ASSERT_EQ(q.status, proxy_parse::done) << q.reason;
    EXPECT_EQ(q.header.source.to_string(), "[2001:db8::1]:1");
}

TEST(proxy_v1, unknown_is_local) {
    auto p = parse_proxy_header(bytes("PROXY UNKNOWN ffff:f...f:ffff 1 2\r\n"));
    ASSERT_EQ(p.status, proxy_parse::done);
    EXPECT_TRUE(p.header.local);
}

TEST(proxy_v1, truncated_needs_more) {
    std::string full = "PROXY TCP4 192.0.2.7 127.0.0.1 5555 80\r\n";
    for (std::size_t n = 1; n < full.size(); ++n)
        EXPECT_EQ(parse_proxy_header(bytes(full.substr(0, n))).status, proxy_parse::need_more) << n;
}

TEST(proxy_v1, malformed_refused) {
    for (const char* bad :
         {"GET / HTTP/1.1\r\n", "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", "PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n",
          "PROXY TCP4 ::1 5.6.7.8 1 2\r\n", "PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n",
          "PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n", "PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n",
          "PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n"})
        EXPECT_EQ(parse_proxy_header(bytes(bad)).status, proxy_parse::error) << bad;
}

TEST(proxy_v1, oversized_line_refused) {
    std::string line = "PROXY UNKNOWN " + std::string(100, 'x');
    auto p = parse_proxy_header(bytes(line));
    EXPECT_EQ(p.status, proxy_parse::error);
    EXPECT_NE(p.reason.find("107"), std::string::npos);
}

TEST(proxy_v2, inet_with_tlvs) {
    std::string ssl_value = std::string("\x01\x00\x00\x00\x00", 5) + tlv('\x21', "TLSv1.3");
    std::string h = v2('\x21', '\x11',
                       v4_block + tlv('\x01', "http/1.1") + tlv('\x02', "example.com") + tlv('\x20', ssl_value) +
                           tlv('\x04', std::string(3, '\0')));
    auto p = parse_proxy_header(bytes(h + "rest"));
    ASSERT_EQ(p.status, proxy_parse::done) << p.reason;
    EXPECT_EQ(p.header.version, 2);
    EXPECT_EQ(p.header.source.to_string(), "127.0.0.2:12345");
    EXPECT_EQ(p.header.destination.to_string(), "127.0.0.1:80");
    EXPECT_EQ(p.header.alpn, "http/1.1");
    EXPECT_EQ(p.header.authority, "example.com");
    EXPECT_TRUE(p.header.ssl);
    EXPECT_EQ(p.header.tlvs.size(), 4u);
    EXPECT_EQ(p.header.size, h.size());
}

TEST(proxy_v2, inet6_and_unix) {
    std::string a6(16, '\0'), b6(16, '\0');
    a6[0] = '\x20', a6[1] = '\x01', a6[2] = '\x0d', a6[3] = '\xb8', a6[15] = '\x01';
    b6[15] = '\x01';
    auto p = parse_proxy_header(bytes(v2('\x21', '\x21', a6 + b6 + be16(443) + be16(8080))));
    ASSERT_EQ(p.status, proxy_parse::done) << p.reason;
    EXPECT_EQ(p.header.source.to_string(), "[2001:db8::1]:443");
    std::string src(108, '\0'), dst(108, '\0');
    std::memcpy(src.data(), "/run/client.sock", 16);
    std::memcpy(dst.data(), "/run/squall.sock", 16);
    auto u = parse_proxy_header(bytes(v2('\x21', '\x31', src + dst)));
    ASSERT_EQ(u.status, proxy_parse::done) << u.reason;
    EXPECT_EQ(u.header.source.to_string(), "unix:/run/client.sock");
}

TEST(proxy_v2, local_ignores_addresses) {
    auto p = parse_proxy_header(bytes(v2('\x20', '\x00', "")));
    ASSERT_EQ(p.status, proxy_parse::done);
    EXPECT_TRUE(p.header.local);
    auto q = parse_proxy_header(bytes(v2('\x20', '\x11', v4_block)));
    ASSERT_EQ(q.status, proxy_parse::done);
    EXPECT_TRUE(q.header.local);
    EXPECT_EQ(q.header.size, 28u);
}

TEST(proxy_v2, truncated_needs_more) {
    std::string h = v2('\x21', '\x11', v4_block + tlv('\x02', "example.com"));
    for (std::size_t n = 1; n < h.size(); ++n)
        EXPECT_EQ(parse_proxy_header(bytes(h.substr(0, n))).status, proxy_parse::need_more) << n;
}

TEST(proxy_v2, malformed_and_oversized_refused) {
    EXPECT_EQ(parse_proxy_header(bytes(v2('\x11', '\x11', v4_block))).status, proxy_parse::error);  // version 1
    EXPECT_EQ(parse_proxy_header(bytes(v2('\x22', '\x11', v4_block))).status, proxy_parse::error);  // command 2
    EXPECT_EQ(parse_proxy_header(bytes(v2('\x21', '\x11', v4_block.substr(0, 8)))).status, proxy_parse::error);
    EXPECT_EQ(parse_proxy_header(bytes(v2('\x21', '\x12', v4_block))).status, proxy_parse::error);  // DGRAM
    std::string overrun = v4_block + '\x02' + be16(50) + "short";
    EXPECT_EQ(parse_proxy_header(bytes(v2('\x21', '\x11', overrun))).status, proxy_parse::error);
    std::string big = v2('\x21', '\x11', v4_block + tlv('\x04', std::string(5000, '\0')));
    auto p = parse_proxy_header(bytes(big.substr(0, 16)));
    EXPECT_EQ(p.status, proxy_parse::error);  // refused from its length alone
    EXPECT_NE(p.reason.find("longer"), std::string::npos);
    EXPECT_EQ(parse_proxy_header(bytes(sig.substr(0, 5) + "x")).status, proxy_parse::error);
}

namespace {

// A header HAProxy 2.6 sent (`send-proxy-v2 proxy-v2-options crc32c`,
// captured on loopback): 127.0.0.1:53040 -> 127.0.0.1:59463, then one
// TLV, PP2_TYPE_CRC32C = 0x34317b27.
std::string from_hex(std::string_view hex) {
    std::string out;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
        out += static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16));
    return out;
}
const std::string haproxy_crc = from_hex("0d0a0d0a000d0a515549540a211100137f0000017f000001cf30e84703000434317b27");

}  // namespace

TEST(proxy_v2, crc32c_known_answers) {
    EXPECT_EQ(crc32c(bytes("123456789")), 0xE3069283u);  // RFC 3720's check value
    EXPECT_EQ(crc32c(bytes("")), 0u);
    std::string zeroed = haproxy_crc.substr(0, haproxy_crc.size() - 4) + std::string(4, '\0');
    EXPECT_EQ(crc32c(bytes(zeroed)), 0x34317b27u);
}

TEST(proxy_v2, crc32c_from_haproxy_is_verified) {
    auto p = parse_proxy_header(bytes(haproxy_crc + "GET / HTTP/1.0\r\n\r\n"));
    ASSERT_EQ(p.status, proxy_parse::done) << p.reason;
    EXPECT_TRUE(p.header.crc32c);
    EXPECT_EQ(p.header.source.to_string(), "127.0.0.1:53040");
    EXPECT_EQ(p.header.size, haproxy_crc.size());
    // Any byte changed after the signature is caught: by the CRC, or
    // earlier by the grammar; never accepted as checked. (Byte 28 is the
    // TLV's type: changed, there is no CRC to check any more.)
    for (std::size_t i = 12; i < haproxy_crc.size(); ++i) {
        std::string bad = haproxy_crc;
        bad[i] = static_cast<char>(bad[i] ^ 0x01);
        auto q = parse_proxy_header(bytes(bad + std::string(64, 'x')));
        if (i == 28) {
            EXPECT_FALSE(q.status == proxy_parse::done && q.header.crc32c) << "byte " << i;
            continue;
        }
        EXPECT_NE(q.status, proxy_parse::done) << "byte " << i;
    }
    std::string flipped_port = haproxy_crc;
    flipped_port[24] = static_cast<char>(flipped_port[24] ^ 0x01);
    auto q = parse_proxy_header(bytes(flipped_port));
    ASSERT_EQ(q.status, proxy_parse::error);
    EXPECT_NE(q.reason.find("CRC32C mismatch"), std::string::npos) << q.reason;
    // A CRC TLV of the wrong size.
    auto r = parse_proxy_header(bytes(v2('\x21', '\x11', v4_block + tlv('\x03', "abc"))));
    ASSERT_EQ(r.status, proxy_parse::error);
    EXPECT_NE(r.reason.find("not 4 bytes"), std::string::npos) << r.reason;
    // Without the TLV nothing is checked.
    auto none = parse_proxy_header(bytes(v2('\x21', '\x11', v4_block)));
    ASSERT_EQ(none.status, proxy_parse::done);
    EXPECT_FALSE(none.header.crc32c);
}

TEST(proxy_v2, crc32c_on_a_local_header_is_verified_too) {
    // LOCAL (a health check) with UNSPEC addresses and a CRC TLV: made
    // with crc32c() over the header with the value zeroed.
    std::string h = v2('\x20', '\x00', tlv('\x03', std::string(4, '\0')));
    const std::uint32_t c = crc32c(bytes(h));
    for (int k = 0; k < 4; ++k) h[h.size() - 4 + k] = static_cast<char>(c >> (24 - 8 * k));
    auto p = parse_proxy_header(bytes(h));
    ASSERT_EQ(p.status, proxy_parse::done) << p.reason;
    EXPECT_TRUE(p.header.local);
    EXPECT_TRUE(p.header.crc32c);
    h[h.size() - 1] = static_cast<char>(h[h.size() - 1] ^ 0x10);
    EXPECT_EQ(parse_proxy_header(bytes(h)).status, proxy_parse::error);
}
