// Behind proxies: which peers are believed about the client, and what
// they say (Tornado's xheaders with trusted_downstream, RFC 7239
// Forwarded, the PROXY protocol on the listener).
//
// Only a peer inside `trusted` (CIDR blocks) is believed: from it,
// Forwarded (RFC 7239), else X-Real-Ip, else X-Forwarded-For is walked
// right to left past the trusted hops to the first untrusted address,
// which becomes the client; X-Scheme, else X-Forwarded-Proto (its last
// value), or Forwarded's proto, becomes the scheme when it is http or
// https. From anyone else the headers are ignored, and so is a value
// that is not an IP address. Forwarded is parsed by RFC 7239's grammar
// (quoted-strings with escapes, IPv6 as "[...]" in quotes, ports,
// obfuscated "_x" nodes): "unknown", an obfuscated node or an element
// without for= ends the walk at the last address known, and a field that
// breaks the grammar (an unclosed quote, a parameter twice in an element,
// an unquoted IPv6 address or port) is believed in none of its parts. With `proxy_protocol`, every connection
// must begin with a PROXY v1 or v2 header within proxy_header_timeout,
// else it is closed without a response; the address it names is the
// peer the rules above start from (a LOCAL header: the real one).
// Pure functions over borrowed views; any thread.
// Tests: tests/http/proxy_test.cpp, tests/examples/proxy_peers_test.py.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <squall/http/request.hpp>

namespace squall::http {

// An IPv4 or IPv6 block, "10.0.0.0/8", "::1", "fd00::/8". IPv4-mapped
// IPv6 peers (::ffff:a.b.c.d) match IPv4 blocks.
class cidr {
public:
    static std::optional<cidr> parse(std::string_view text);
    bool contains(std::string_view ip) const noexcept;

private:
    std::array<unsigned char, 16> net_{};
    unsigned bits_ = 0;  // prefix length over the 16-byte (v4-mapped) form
};

struct proxy_settings {
    std::vector<cidr> trusted;  // empty: no header is believed
    bool proxy_protocol = false;
    std::chrono::milliseconds proxy_header_timeout{5'000};
    bool trusts(std::string_view ip) const noexcept;
};

struct believed_client {
    std::string ip;
    std::string scheme;
};

// What the request says about its client, given the peer it came from.
believed_client believe(const proxy_settings& s, std::string_view peer_ip, std::string_view peer_scheme,
                        const header_list& headers);

// Whether `text` is an IPv4 or IPv6 address.
bool is_ip(std::string_view text) noexcept;

}  // namespace squall::http
