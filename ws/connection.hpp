// connection: one open WebSocket (RFC 6455, + RFC 7692 when negotiated)
// over a squall stream, for either role. The server handler
// (ws/handler.hpp) and the client (ws/client.hpp) both hand their
// messages through it.
//
// Reading: read_message() returns the next data message and answers what
// comes between (ping -> pong, the peer's close -> our close echo, a
// protocol error -> close 1002/1007/1009). The message's bytes are a view
// valid until the next read_message(); one reader at a time. It ends with
// errc::closed once the connection is closed; close_code()/close_reason()
// then tell what the peer sent (1006 when the stream just ended).
// With a ping_interval, a ping goes out whenever the interval passes and
// a missing pong closes the connection after ping_timeout.
//
// Writing: write_message() frames (and deflates, when negotiated) the
// message and returns once the kernel took it (backpressure). Writers may
// run in several tasks at once: each message goes out as one write, its
// fragments included, so messages never interleave. A write that started
// ignores its caller's cancellation (a half-sent frame would break the
// stream); it ends at the stream's write timeout or at finish().
// close() sends a close frame; the reader then waits close_timeout for
// the peer's answer.
//
// Ownership: `s` is borrowed (the server's connection owns it) or owned
// (client). The object lives in a shared_ptr so that a task writing to it
// from elsewhere (a chat's broadcast) can outlive the session: after
// finish() every call fails with errc::closed without touching the stream.
// Loop thread only. Tests: tests/ws/connection_test.cpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <squall/engine/buffer_ring.hpp>
#include <squall/engine/cancel.hpp>
#include <squall/engine/result.hpp>
#include <squall/engine/stream.hpp>
#include <squall/engine/sync.hpp>
#include <squall/engine/task.hpp>
#include <squall/engine/time.hpp>
#include <squall/ws/deflate.hpp>
#include <squall/ws/frame.hpp>
#include <squall/ws/reader.hpp>

namespace squall::ws {

enum class errc {
    closed = 1,        // the WebSocket is closed (see close_code())
    handshake_failed,  // the peer did not complete the opening handshake
    bad_url,           // websocket_connect: not a ws:// URL we can reach
};
const std::error_category& ws_category() noexcept;
inline std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), ws_category()}; }

enum class role { server, client };

struct connection_options {
    std::size_t max_message_size = 10 * 1024 * 1024;  // also after inflating
    clock::duration ping_interval{0};                 // zero: no pings
    clock::duration ping_timeout{0};                  // zero: max(3 x interval, 30 s)
    clock::duration close_timeout = std::chrono::seconds(5);
    std::size_t max_frame_size = 0;  // outgoing fragments; zero: one frame per message
    deflate_options deflate;         // permessage-deflate, when enabled and agreed
};

struct message {
    std::string_view data;  // valid until the next read_message()
    bool binary = false;
};

class connection {
public:
    connection(stream* s, std::string buffered, role r, const connection_options& opts,
               std::optional<deflate_params> deflate, std::string subprotocol = {});
    connection(std::unique_ptr<stream> owned, std::string buffered, role r, const connection_options& opts,
               std::optional<deflate_params> deflate, std::string subprotocol = {});
    ~connection();
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;

    task<result<message>> read_message();
    task<result<void>> write_message(std::string_view data, bool binary = false);
    task<result<void>> ping(std::string_view data = {});
    task<result<void>> pong(std::string_view data = {});
    // Sends a close frame (once); code 1005 sends an empty one.
    task<result<void>> close(std::uint16_t code = close_code::normal, std::string reason = {});
    // Ends the session: later calls fail, writes still in flight are
    // cancelled and awaited. The stream stays open (its owner closes it).
    task<void> finish();

    bool closed() const noexcept { return closed_; }
    bool close_sent() const noexcept { return close_sent_; }
    std::uint16_t close_code() const noexcept { return close_code_; }
    const std::string& close_reason() const noexcept { return close_reason_; }
    const std::string& subprotocol() const noexcept { return subprotocol_; }
    bool deflate() const noexcept { return static_cast<bool>(deflater_); }
    // The last pong's payload arrives here when set (Tornado's on_pong).
    std::string last_pong;

private:
    task<result<void>> send_frame(opcode op, std::span<const std::byte> payload, bool rsv1);
    void build_frames(opcode op, std::span<const std::byte> payload, bool rsv1, std::size_t frag, bool copy,
                      std::string& buf, std::vector<std::pair<std::size_t, std::size_t>>& heads);
    task<bool> on_event(event ev);
    task<bool> on_wake();
    task<result<buffer_lease>> read_chunk();
    result<void> on_timeout();
    task<void> close_stream();
    std::optional<clock::time_point> next_deadline() const noexcept;
    mask_key next_mask() noexcept;
    std::string take_buffer();
    void give_buffer(std::string b);

    stream* s_;
    std::unique_ptr<stream> owned_;
    role role_;
    connection_options opts_;
    std::string subprotocol_;
    std::unique_ptr<deflater> deflater_;
    std::unique_ptr<inflater> inflater_;
    message_reader reader_;

    std::string buffered_;
    buffer_lease lease_;
    std::span<std::byte> in_;

    bool closed_ = false;      // no more reads or writes
    bool close_sent_ = false;
    bool broken_ = false;      // a write failed or was cut: the stream is unusable
    std::uint16_t close_code_ = close_code::abnormal;
    std::string close_reason_;
    clock::time_point close_deadline_{};
    clock::time_point next_ping_{};
    clock::time_point pong_deadline_{};
    bool awaiting_pong_ = false;

    cancel_source* reading_ = nullptr;  // the read in progress, woken by close()
    std::optional<cancel_source> read_src_;
    cancel_state* read_parent_ = nullptr;
    bool wake_ = false;
    cancel_source writes_stop_;  // finish() cancels writes in flight
    unsigned writes_in_flight_ = 0;
    squall::event writes_idle_;

    std::vector<std::string> spare_;
    std::uint8_t mask_pool_[256]{};
    std::size_t mask_pos_ = sizeof mask_pool_;
    std::string compressed_;  // scratch for deflate output
};

}  // namespace squall::ws

template <>
struct std::is_error_code_enum<squall::ws::errc> : std::true_type {};
