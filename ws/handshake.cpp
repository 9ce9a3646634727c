// Handshake helpers. See handshake.hpp.
#include <squall/ws/handshake.hpp>

#include <squall/engine/crypto.hpp>
#include <squall/http/detail/grammar.hpp>

namespace squall::ws {

namespace {

constexpr std::string_view guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

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
        for (std::string_view item; http::detail::next_element(v, item);) out.push_back(item);
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
