// The server side of the opening handshake and the session loop. See
// handler.hpp.
#include <squall/ws/handler.hpp>

#include <spdlog/spdlog.h>

#include <exception>

#include <squall/engine/loop.hpp>
#include <squall/http/request.hpp>
#include <squall/ws/handshake.hpp>

namespace squall::ws {

namespace {

// "scheme://host[:port][/...]" -> "host[:port]".
std::string_view origin_authority(std::string_view origin) {
    auto p = origin.find("://");
    if (p == std::string_view::npos) return {};
    origin.remove_prefix(p + 3);
    return origin.substr(0, origin.find('/'));
}

}  // namespace

bool websocket_handler::check_origin(std::string_view origin) {
    auto host = request().headers.get("host");
    auto authority = origin_authority(origin);
    return host && !authority.empty() && http::iequals(authority, *host);
}

std::optional<std::string> websocket_handler::select_subprotocol(const std::vector<std::string_view>&) {
    return std::nullopt;
}

// Checks the upgrade request and sets the 101 answer's fields; false when
// it answered with an error instead.
task<bool> websocket_handler::handshake(std::optional<deflate_params>* deflate, std::string* protocol) {
    const http::request_head& h = request();
    const auto& f = h.headers;
    if (!h.is("GET") || h.version_major != 1 || h.version_minor < 1) {
        send_error(400, "A WebSocket handshake is a GET in HTTP/1.1");
        co_return false;
    }
    if (!has_token(f, "upgrade", "websocket")) {
        send_error(400, "Can \"Upgrade\" only to \"WebSocket\"");
        co_return false;
    }
    if (!has_token(f, "connection", "upgrade")) {
        send_error(400, "\"Connection\" must be \"Upgrade\"");
        co_return false;
    }
    auto version = f.get("sec-websocket-version");
    if (!version || f.count("sec-websocket-version") != 1 || *version != "13") {
        send_error(426, "WebSocket version 13 only");
        set_header("Sec-WebSocket-Version", "13");
        co_return false;
    }
    auto key = f.get("sec-websocket-key");
    if (!key || f.count("sec-websocket-key") != 1 || !valid_key(*key)) {
        send_error(400, "Missing or malformed Sec-WebSocket-Key");
        co_return false;
    }
    auto origin = f.get("origin");
    if (origin && !check_origin(*origin)) {
        send_error(403, "Cross origin WebSocket refused");
        co_return false;
    }
    auto offered = header_tokens(f, "sec-websocket-protocol");
    if (!offered.empty()) {
        auto chosen = select_subprotocol(offered);
        if (chosen) {
            bool listed = false;
            for (auto o : offered) listed = listed || o == *chosen;
            if (!listed) throw std::logic_error("ws: select_subprotocol chose a protocol the client did not offer");
            *protocol = *chosen;
        }
    }
    std::string answer;
    if (ws_options.deflate.enabled)
        *deflate = negotiate_deflate(joined_header(f, "sec-websocket-extensions"), ws_options.deflate, &answer);
    set_status(101);
    set_header("Upgrade", "websocket");
    set_header("Connection", "Upgrade");
    set_header("Sec-WebSocket-Accept", accept_key(*key));
    if (!protocol->empty()) set_header("Sec-WebSocket-Protocol", *protocol);
    if (*deflate) set_header("Sec-WebSocket-Extensions", answer);
    co_return true;
}

namespace {

task<void> say_going_away(std::shared_ptr<connection> c) {
    result<void> r = co_await c->close(close_code::going_away, "server shutting down");
    (void)r;
}

// Closes the WebSocket with 1001 when the HTTP server stops gracefully, so
// that clients learn why instead of seeing the socket end at the drain.
class going_away_on_shutdown final : public cancel_callback {
public:
    explicit going_away_on_shutdown(std::shared_ptr<connection> c)
        : cancel_callback(&going_away_on_shutdown::fire), conn_(std::move(c)) {}

private:
    static void fire(cancel_callback* cb) noexcept {
        auto* self = static_cast<going_away_on_shutdown*>(cb);
        if (!self->conn_->closed() && !self->conn_->close_sent()) loop::current()->spawn(say_going_away(self->conn_));
    }
    std::shared_ptr<connection> conn_;
};

}  // namespace

task<void> websocket_handler::get() {
    std::optional<deflate_params> deflate;
    std::string protocol;
    bool ok = co_await handshake(&deflate, &protocol);
    if (!ok) co_return;
    auto taken = co_await detach();
    if (!taken) co_return;
    conn_ = std::make_shared<connection>(std::move(taken->stream), std::move(taken->buffered), role::server, ws_options,
                                         deflate, std::move(protocol));
    going_away_on_shutdown goodbye(conn_);
    if (taken->shutdown.can_be_cancelled() && !goodbye.attach(taken->shutdown.state())) {
        result<void> c = co_await conn_->close(close_code::going_away, "server shutting down");
        (void)c;  // already stopping: no session
    }
    bool failed = false;
    try {
        co_await open();
        for (;;) {
            auto m = co_await conn_->read_message();
            if (!m) break;
            co_await on_message(*m);
        }
    } catch (const std::exception& e) {
        spdlog::error("ws: handler for {} failed: {}", request().path, e.what());
        failed = true;
    }
    if (failed) {
        result<void> c = co_await conn_->close(close_code::internal_error, "internal error");
        (void)c;
    }
    on_close();
    co_await conn_->finish();
}

task<result<void>> websocket_handler::write_message(std::string_view data, bool binary) {
    if (!conn_) co_return errc::closed;
    result<void> r = co_await conn_->write_message(data, binary);
    co_return r;
}

result<void> websocket_handler::post_message(std::string data, bool binary) {
    if (!conn_) return errc::closed;
    return conn_->post_message(std::move(data), binary);
}

std::size_t websocket_handler::buffered_amount() const noexcept { return conn_ ? conn_->buffered_amount() : 0; }

task<result<void>> websocket_handler::ping(std::string_view data) {
    if (!conn_) co_return errc::closed;
    result<void> r = co_await conn_->ping(data);
    co_return r;
}

task<result<void>> websocket_handler::close(std::uint16_t code, std::string reason) {
    if (!conn_) co_return errc::closed;
    result<void> r = co_await conn_->close(code, std::move(reason));
    co_return r;
}

std::uint16_t websocket_handler::close_code() const noexcept {
    return conn_ ? conn_->close_code() : close_code::abnormal;
}

std::string websocket_handler::close_reason() const { return conn_ ? conn_->close_reason() : std::string(); }

std::string websocket_handler::selected_subprotocol() const { return conn_ ? conn_->subprotocol() : std::string(); }

}  // namespace squall::ws
