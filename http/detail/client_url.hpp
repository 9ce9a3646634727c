// URLs for the HTTP client: parsing http:// and https:// URLs, resolving a
// redirect's Location against the URL it answered (RFC 3986 5.2), and the
// origin a pooled connection belongs to. A URL with bytes that could break
// the request line or a field (controls, space, NUL, a bare CR/LF) is
// refused rather than escaped. Pure functions; any thread.
// Tests: tests/http/client_features_test.cpp (redirects), tests/http/client_framing_test.cpp.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace squall::http::detail {

struct url_parts {
    bool tls = false;                // https://
    std::string host;                // without the brackets of an IPv6 literal
    std::uint16_t port = 80;         // 443 for https://
    std::string target = "/";        // path and query, never empty; no fragment
    std::string userinfo;            // "user:password" before '@', still encoded
    std::string host_field() const;  // host[:port] for the Host field
    std::string origin() const;      // scheme://host:port
    std::string str() const;         // the URL again (without userinfo)
};

std::optional<url_parts> parse_url(std::string_view url);
// The absolute URL `location` names, seen from `base`; nullopt when it
// is not an http(s) URL.
std::optional<std::string> resolve_location(const url_parts& base, std::string_view location);

}  // namespace squall::http::detail
