// permessage-deflate negotiation and zlib streams. See deflate.hpp.
#include <squall/ws/deflate.hpp>

#include <zlib.h>

#include <squall/http/detail/grammar.hpp>

#include <cstring>
#include <stdexcept>

namespace squall::ws {

namespace {

using param_list = std::vector<std::pair<std::string, std::string>>;
using extension_list = std::vector<std::pair<std::string, param_list>>;

// 8-15 as a plain decimal.
std::optional<int> window_bits(const std::string& v) {
    if (v.size() == 1 && v[0] >= '8' && v[0] <= '9') return v[0] - '0';
    if (v.size() == 2 && v[0] == '1' && v[1] >= '0' && v[1] <= '5') return 10 + (v[1] - '0');
    return std::nullopt;
}

// Reads one permessage-deflate parameter list into `p`. `client_bits_offered`
// tells whether client_max_window_bits appeared (its value may be absent in
// an offer). False on unknown, repeated or malformed parameters.
bool read_params(const param_list& params, bool offer, deflate_params* p, bool* client_bits_seen) {
    bool seen[4] = {};
    for (const auto& [key, value] : params) {
        int k = key == "server_no_context_takeover"   ? 0
                : key == "client_no_context_takeover" ? 1
                : key == "server_max_window_bits"     ? 2
                : key == "client_max_window_bits"     ? 3
                                                      : -1;
        if (k < 0 || seen[k]) return false;
        seen[k] = true;
        if (k < 2) {
            if (!value.empty()) return false;
            (k == 0 ? p->server_no_context_takeover : p->client_no_context_takeover) = true;
            continue;
        }
        if (k == 3 && offer && value.empty()) continue;  // "I can limit my window"
        auto bits = window_bits(value);
        if (!bits) return false;
        (k == 2 ? p->server_max_window_bits : p->client_max_window_bits) = *bits;
    }
    *client_bits_seen = seen[3];
    return true;
}

std::string render(const deflate_params& p, bool client_bits) {
    std::string s = "permessage-deflate";
    if (p.server_no_context_takeover) s += "; server_no_context_takeover";
    if (p.client_no_context_takeover) s += "; client_no_context_takeover";
    if (p.server_max_window_bits < 15) s += "; server_max_window_bits=" + std::to_string(p.server_max_window_bits);
    if (client_bits && p.client_max_window_bits < 15)
        s += "; client_max_window_bits=" + std::to_string(p.client_max_window_bits);
    return s;
}

}  // namespace

// extension-list = 1#extension; extension = token *( ";" extension-param );
// extension-param = token [ "=" ( token | quoted-string ) ], a quoted
// value's content a token too (RFC 6455 9.1). Empty list elements are
// skipped; anything else malformed fails the whole list.
bool parse_extensions(std::string_view value, extension_list* out) {
    namespace g = http::detail;
    for (std::string_view e; g::next_element(value, e);) {
        std::string_view rest;
        std::string_view name = g::element_value(e, rest);
        if (!g::is_token(name)) return false;
        param_list params;
        for (g::parameter p; g::next_parameter(rest, p);) {
            std::optional<std::string> v = p.has_value ? g::parameter_value(p.value) : std::string();
            if (!g::is_token(p.name) || !v || (p.has_value && !g::is_token(*v))) return false;
            params.emplace_back(std::string(p.name), std::move(*v));
        }
        out->emplace_back(std::string(name), std::move(params));
    }
    return !out->empty();
}

std::optional<deflate_params> negotiate_deflate(std::string_view offers, const deflate_options& ours,
                                                std::string* answer) {
    if (!ours.enabled) return std::nullopt;
    extension_list list;
    if (!parse_extensions(offers, &list)) return std::nullopt;
    for (const auto& [name, params] : list) {
        if (name != "permessage-deflate") continue;
        deflate_params p;
        bool client_bits = false;
        if (!read_params(params, true, &p, &client_bits)) continue;
        if (p.server_max_window_bits == 8) continue;  // zlib's raw deflate cannot
        p.server_no_context_takeover = p.server_no_context_takeover || ours.server_no_context_takeover;
        p.client_no_context_takeover = p.client_no_context_takeover || ours.client_no_context_takeover;
        p.server_max_window_bits = std::min(p.server_max_window_bits, ours.server_max_window_bits);
        if (client_bits) p.client_max_window_bits = std::min(p.client_max_window_bits, ours.client_max_window_bits);
        *answer = render(p, client_bits);
        return p;
    }
    return std::nullopt;
}

std::string deflate_offer(const deflate_options& ours) {
    deflate_params p;
    p.server_no_context_takeover = ours.server_no_context_takeover;
    p.client_no_context_takeover = ours.client_no_context_takeover;
    p.server_max_window_bits = ours.server_max_window_bits;
    std::string s = render(p, false);
    s += "; client_max_window_bits";
    if (ours.client_max_window_bits < 15) s += "=" + std::to_string(ours.client_max_window_bits);
    return s;
}

std::optional<deflate_params> accept_deflate_answer(std::string_view answer, const deflate_options& ours) {
    extension_list list;
    if (!parse_extensions(answer, &list) || list.size() != 1 || list[0].first != "permessage-deflate")
        return std::nullopt;
    deflate_params p;
    bool client_bits = false;
    if (!read_params(list[0].second, false, &p, &client_bits)) return std::nullopt;
    if (ours.server_no_context_takeover && !p.server_no_context_takeover) return std::nullopt;
    if (p.server_max_window_bits > ours.server_max_window_bits) return std::nullopt;
    if (p.client_max_window_bits > ours.client_max_window_bits) return std::nullopt;
    if (p.client_max_window_bits == 8) return std::nullopt;  // zlib's raw deflate cannot
    p.client_no_context_takeover = p.client_no_context_takeover || ours.client_no_context_takeover;
    return p;
}

struct deflater::state {
    z_stream z{};
};

deflater::deflater(int level, int mem_level, int window_bits, bool no_context_takeover)
    : z_(std::make_unique<state>()), reset_each_(no_context_takeover) {
    if (deflateInit2(&z_->z, level, Z_DEFLATED, -window_bits, mem_level, Z_DEFAULT_STRATEGY) != Z_OK)
        throw std::runtime_error("ws: deflateInit2 failed");
}

deflater::~deflater() { deflateEnd(&z_->z); }

void deflater::compress(std::span<const std::byte> message, std::string& out) {
    if (message.empty()) {
        // A second sync flush with no input in between emits nothing, which
        // the receiver cannot inflate; one 0x00 byte is the empty message
        // RFC 7692 7.2.3.6 gives (a stored block the 00 00 FF FF tail ends).
        out.push_back('\0');
        return;
    }
    z_stream& z = z_->z;
    z.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(message.data()));
    z.avail_in = static_cast<uInt>(message.size());
    std::size_t start = out.size();
    do {
        std::size_t have = out.size();
        std::size_t room = std::max<std::size_t>(deflateBound(&z, z.avail_in) + 16, 256);
        out.resize(have + room);
        z.next_out = reinterpret_cast<Bytef*>(out.data() + have);
        z.avail_out = static_cast<uInt>(room);
        deflate(&z, Z_SYNC_FLUSH);
        out.resize(out.size() - z.avail_out);
    } while (z.avail_out == 0 || z.avail_in != 0);
    // A sync flush ends in an empty stored block, 00 00 FF FF, which the
    // receiver adds back (RFC 7692 7.2.1).
    if (out.size() - start >= 4) out.resize(out.size() - 4);
    if (reset_each_) deflateReset(&z);
}

struct inflater::state {
    z_stream z{};
};

inflater::inflater(bool no_context_takeover) : z_(std::make_unique<state>()), reset_each_(no_context_takeover) {
    if (inflateInit2(&z_->z, -15) != Z_OK) throw std::runtime_error("ws: inflateInit2 failed");
}

inflater::~inflater() { inflateEnd(&z_->z); }

inflater::status inflater::run(std::span<const std::byte> in, std::string& out, std::size_t limit) {
    z_stream& z = z_->z;
    z.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(in.data()));
    z.avail_in = static_cast<uInt>(in.size());
    for (;;) {
        std::size_t have = out.size();
        // One byte past the limit tells "too big" from "exactly the limit".
        std::size_t room = std::min<std::size_t>(std::max<std::size_t>(in.size() * 4, 4096), limit + 1 - have);
        if (room == 0) return status::too_big;
        out.resize(have + room);
        z.next_out = reinterpret_cast<Bytef*>(out.data() + have);
        z.avail_out = static_cast<uInt>(room);
        int rc = ::inflate(&z, Z_SYNC_FLUSH);
        out.resize(out.size() - z.avail_out);
        if (out.size() > limit) return status::too_big;
        if (rc == Z_BUF_ERROR) {
            if (z.avail_in == 0) return status::ok;  // needs more input
            if (z.avail_out == 0) continue;
            return status::bad_data;
        }
        if (rc == Z_STREAM_END) {
            // A final block: the peer may start a new stream next message.
            inflateReset(&z);
            if (z.avail_in == 0) return status::ok;
            continue;
        }
        if (rc != Z_OK) return status::bad_data;
        if (z.avail_in == 0 && z.avail_out != 0) return status::ok;
    }
}

inflater::status inflater::feed(std::span<const std::byte> in, bool last, std::string& out, std::size_t limit) {
    status st = run(in, out, limit);
    if (st != status::ok || !last) return st;
    static constexpr std::byte tail[4] = {std::byte{0}, std::byte{0}, std::byte{0xFF}, std::byte{0xFF}};
    st = run(tail, out, limit);
    if (reset_each_ && st == status::ok) inflateReset(&z_->z);
    return st;
}

}  // namespace squall::ws
