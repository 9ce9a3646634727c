// The client's opening handshake. See client.hpp.
#include <squall/ws/client.hpp>

#include <charconv>
#include <cstring>

#include <squall/engine/connect.hpp>
#include <squall/engine/socket.hpp>
#include <squall/engine/time.hpp>
#include <squall/engine/tls.hpp>
#include <squall/engine/tls_stream.hpp>
#include <squall/http/request.hpp>
#include <squall/ws/handshake.hpp>

namespace squall::ws {

bool parse_ws_url(std::string_view url, ws_url* out) {
    constexpr std::string_view plain = "ws://", secure = "wss://";
    bool tls = false;
    if (url.size() >= plain.size() && http::iequals(url.substr(0, plain.size()), plain)) {
        url.remove_prefix(plain.size());
    } else if (url.size() >= secure.size() && http::iequals(url.substr(0, secure.size()), secure)) {
        url.remove_prefix(secure.size());
        tls = true;
    } else {
        return false;
    }
    std::size_t end = url.find_first_of("/?");
    std::string_view authority = url.substr(0, end);
    std::string_view rest = end == std::string_view::npos ? std::string_view() : url.substr(end);
    if (authority.empty() || authority.find('@') != std::string_view::npos) return false;
    std::string_view host = authority, port;
    if (authority.front() == '[') {
        auto close = authority.find(']');
        if (close == std::string_view::npos) return false;
        host = authority.substr(1, close - 1);
        std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') return false;
            port = after.substr(1);
        }
    } else if (auto colon = authority.rfind(':'); colon != std::string_view::npos) {
        host = authority.substr(0, colon);
        port = authority.substr(colon + 1);
    }
    if (host.empty()) return false;
    out->tls = tls;
    out->port = tls ? 443 : 80;
    if (!port.empty()) {
        unsigned p = 0;
        auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
        if (ec != std::errc() || ptr != port.data() + port.size() || p == 0 || p > 65535) return false;
        out->port = static_cast<std::uint16_t>(p);
    }
    out->host = std::string(host);
    out->host_field = std::string(authority);
    out->target = rest.empty() ? "/" : (rest.front() == '?' ? "/" + std::string(rest) : std::string(rest));
    return true;
}

namespace {

std::string request_for(const ws_url& u, const std::string& key, const client_options& o) {
    std::string r = "GET " + u.target + " HTTP/1.1\r\nHost: " + u.host_field +
                    "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key +
                    "\r\nSec-WebSocket-Version: 13\r\n";
    if (!o.subprotocols.empty()) {
        r += "Sec-WebSocket-Protocol: ";
        for (std::size_t i = 0; i < o.subprotocols.size(); ++i) r += (i ? ", " : "") + o.subprotocols[i];
        r += "\r\n";
    }
    if (o.deflate.enabled) r += "Sec-WebSocket-Extensions: " + deflate_offer(o.deflate) + "\r\n";
    for (const auto& [n, v] : o.headers) r += n + ": " + v + "\r\n";
    r += "\r\n";
    return r;
}

// Parses "HTTP/1.1 101 ...\r\nName: value\r\n...\r\n\r\n" into the status
// and fields (views into `head`).
bool parse_response(std::string_view head, int* status, http::header_list* fields) {
    auto eol = head.find("\r\n");
    std::string_view line = head.substr(0, eol);
    if (line.size() < 12 || line.substr(0, 5) != "HTTP/" || line[8] != ' ') return false;
    auto [p, ec] = std::from_chars(line.data() + 9, line.data() + 12, *status);
    if (ec != std::errc() || p != line.data() + 12) return false;
    head.remove_prefix(eol + 2);
    while (!head.empty() && !head.starts_with("\r\n")) {
        eol = head.find("\r\n");
        if (eol == std::string_view::npos) return false;
        line = head.substr(0, eol);
        auto colon = line.find(':');
        if (colon == std::string_view::npos || colon == 0) return false;
        std::string_view value = line.substr(colon + 1);
        while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
        while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
        fields->add(line.substr(0, colon), value);
        head.remove_prefix(eol + 2);
    }
    return true;
}

task<result<std::shared_ptr<connection>>> open_client(ws_url u, client_options o) {
    // The engine's resolver (c-ares on the ring, its cache) and Happy
    // Eyeballs over the addresses it finds, as the HTTP client connects.
    auto fd = co_await connect_to(u.host, u.port, o.connect_timeout);
    if (!fd) co_return fd.error();
    std::unique_ptr<byte_stream> s = std::make_unique<stream>(std::move(*fd), o.stream);
    if (u.tls) {
        if (!o.tls) {
            // One context for every wss:// connection that brings none: the
            // system's trust store is read once.
            static const std::shared_ptr<tls_context> system_store = tls_context::client();
            o.tls = system_store;
        }
        auto secured = std::make_unique<tls_stream>(std::move(s), o.tls);
        result<void> hs = co_await secured->handshake(u.host);
        if (!hs) co_return hs.error();
        s = std::move(secured);
    }
    std::string key = make_key();
    std::string req = request_for(u, key, o);
    result<void> w = co_await s->write(req);
    if (!w) co_return w.error();
    auto got = co_await s->read_until("\r\n\r\n", 16 * 1024);
    if (!got) co_return got.error();
    std::string head(*got);
    int status = 0;
    http::header_list f;
    if (!parse_response(head, &status, &f) || status != 101) co_return errc::handshake_failed;
    if (!has_token(f, "upgrade", "websocket") || !has_token(f, "connection", "upgrade"))
        co_return errc::handshake_failed;
    auto accept = f.get("sec-websocket-accept");
    if (!accept || *accept != accept_key(key)) co_return errc::handshake_failed;
    std::string protocol;
    if (auto p = f.get("sec-websocket-protocol")) {
        bool offered = false;
        for (const auto& s2 : o.subprotocols) offered = offered || s2 == *p;
        if (!offered) co_return errc::handshake_failed;
        protocol = std::string(*p);
    }
    std::optional<deflate_params> deflate;
    std::string ext = joined_header(f, "sec-websocket-extensions");
    if (!ext.empty()) {
        if (!o.deflate.enabled) co_return errc::handshake_failed;
        deflate = accept_deflate_answer(ext, o.deflate);
        if (!deflate) co_return errc::handshake_failed;
    }
    co_return std::make_shared<connection>(std::move(s), std::string(), role::client, o, deflate, std::move(protocol));
}

}  // namespace

task<result<std::shared_ptr<connection>>> websocket_connect(std::string url, client_options opts) {
    ws_url u;
    if (!parse_ws_url(url, &u)) co_return errc::bad_url;
    auto deadline = clock::now() + opts.connect_timeout;
    auto t = open_client(std::move(u), std::move(opts));
    auto r = co_await with_deadline(deadline, std::move(t));
    co_return r;
}

}  // namespace squall::ws
