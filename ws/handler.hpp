// websocket_handler: Tornado's WebSocketHandler for squall.
//
// Derive from it, route it like any handler (app.add<chat_socket>("/ws")),
// and override the hooks:
//   open()            after the handshake (path_args() holds the captures)
//   on_message(m)     a coroutine per message; the next frame is not read
//                     until it returns, so a slow handler slows its peer
//                     (backpressure) rather than queueing without bound
//   on_close()        once, when the connection ends (close_code() tells why)
//   check_origin(o)   default: the Origin's host[:port] must equal Host
//   select_subprotocol(offered)  default: none
// and talk back with write_message (awaitable: returns when the kernel took
// the bytes), post_message (queues and returns at once, for broadcasts
// from other tasks; see ws/broadcast.hpp), ping, close. Both refuse a
// message that would take buffered_amount() past max_queued_bytes
// (errc::queue_full; with overflow_policy::close the connection is closed
// too). Options (ping_interval, ping_timeout, max_message_size,
// max_queued_bytes, write_timeout, compression) live in `ws_options`, set
// in the constructor or initialize().
//
// The handshake answers bad upgrades as shared/BAD_INPUT.md says (400 for
// a missing Upgrade/Connection token, a bad key, HEAD or HTTP/1.0; 426
// with Sec-WebSocket-Version: 13 for other versions; 403 for a refused
// Origin), then answers 101 and takes the connection over with
// request_handler::detach(). The session runs inside get(), which returns
// when the connection is closed; the HTTP server then closes the socket.
// Loop thread only. Tests: tests/ws/handler_test.cpp and the real-peer
// tests in tests/examples/ws_*.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <squall/engine/task.hpp>
#include <squall/http/handler.hpp>
#include <squall/ws/connection.hpp>

namespace squall::ws {

class websocket_handler : public http::request_handler {
public:
    task<void> get();

    // --- hooks --------------------------------------------------------
    virtual task<void> open() { co_return; }
    virtual task<void> on_message(message m) = 0;
    virtual void on_close() {}
    virtual bool check_origin(std::string_view origin);
    virtual std::optional<std::string> select_subprotocol(const std::vector<std::string_view>& offered);

    // --- talking back -------------------------------------------------
    task<result<void>> write_message(std::string_view data, bool binary = false);
    // Queues the message and returns: ok, errc::queue_full (the handler
    // may drop it or close) or errc::closed.
    result<void> post_message(std::string data, bool binary = false);
    // Bytes queued and not yet taken by the kernel.
    std::size_t buffered_amount() const noexcept;
    task<result<void>> ping(std::string_view data = {});
    task<result<void>> close(std::uint16_t code = close_code::normal, std::string reason = {});

    // The open connection (null before open()); shared so that other tasks
    // can write to it safely after this handler is gone.
    const std::shared_ptr<connection>& ws_connection() const noexcept { return conn_; }
    std::uint16_t close_code() const noexcept;
    std::string close_reason() const;
    std::string selected_subprotocol() const;

protected:
    connection_options ws_options;

private:
    task<bool> handshake(std::optional<deflate_params>* deflate, std::string* protocol);
    std::shared_ptr<connection> conn_;
};

}  // namespace squall::ws
