// The head of an HTTP/1.x request as the parser hands it to handlers.
//
// Every string_view here points into the connection's received buffers
// (leases) or, for the rare field split across two of them, into a copy
// the parser owns; all stay valid until the request is finished. Names are
// compared case-insensitively. Loop thread only.
// Tests: tests/http/parser_test.cpp.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace squall::http {

struct header_field {
    std::string_view name;
    std::string_view value;
};

bool iequals(std::string_view a, std::string_view b) noexcept;

class header_list {
public:
    // The first field with this name.
    std::optional<std::string_view> get(std::string_view name) const noexcept;
    std::size_t count(std::string_view name) const noexcept;
    void add(std::string_view name, std::string_view value) { fields_.push_back({name, value}); }
    void clear() noexcept { fields_.clear(); }
    std::size_t size() const noexcept { return fields_.size(); }
    auto begin() const noexcept { return fields_.begin(); }
    auto end() const noexcept { return fields_.end(); }

private:
    std::vector<header_field> fields_;
};

struct request_head {
    std::string_view method;  // as sent, e.g. "GET"
    std::string_view target;  // the raw request-target
    std::string_view path;    // target up to '?'
    std::string_view query;   // after '?', without it
    // The authority of an absolute-form target ("GET http://a:8/ ...",
    // whose path is then "/"), else the Host field; empty without either.
    std::string_view host;
    int version_major = 1;
    int version_minor = 1;
    header_list headers;
    bool keep_alive = true;  // after Connection and version rules
    bool chunked = false;
    std::optional<std::uint64_t> content_length;
    bool expect_continue = false;
    bool upgrade = false;  // Connection: upgrade with an Upgrade field

    bool is(std::string_view m) const noexcept { return method == m; }
};

}  // namespace squall::http
