// Handshake helpers. See handshake.hpp.
#include <squall/ws/handshake.hpp>

#include <squall/engine/crypto.hpp>

namespace squall::ws {

namespace {

constexpr std::string_view guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

}  // namespace

std::string accept_key(std::string_view key) {
    std::string in;
    in.reserve(key.size() + guid.size());
    in.append(key).append(guid);
    auto digest = crypto::sha1(in);
    return crypto::base64_encode(std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
}

bool valid_key(std::string_view key) {
    if (key.size() != 24) return false;
    auto raw = crypto::base64_decode(key);
    return raw && raw->size() == 16;
}

std::string make_key() {
    char raw[16];
    crypto::random_bytes(raw, sizeof raw);
    return crypto::base64_encode(std::string_view(raw, sizeof raw));
}

std::vector<std::string_view> header_tokens(const http::header_list& headers, std::string_view name) {
    std::vector<std::string_view> out;
    for (const auto& f : headers) {
        if (!http::iequals(f.name, name)) continue;
        std::string_view v = f.value;
        while (!v.empty()) {
            std::size_t comma = v.find(',');
            std::string_view item = trim(v.substr(0, comma));
            if (!item.empty()) out.push_back(item);
            if (comma == std::string_view::npos) break;
            v.remove_prefix(comma + 1);
        }
    }
    return out;
}

std::string joined_header(const http::header_list& headers, std::string_view name) {
    std::string out;
    for (const auto& f : headers) {
        if (!http::iequals(f.name, name)) continue;
        if (!out.empty()) out += ", ";
        out += f.value;
    }
    return out;
}

bool has_token(const http::header_list& headers, std::string_view name, std::string_view token) {
    for (auto t : header_tokens(headers, name))
        if (http::iequals(t, token)) return true;
    return false;
}

}  // namespace squall::ws
