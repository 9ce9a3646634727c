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
// Writing: every message is framed (ws/writer.hpp) into the connection's
// send queue (ws/detail/send_queue.hpp), which one task writes out in
// order, several messages per write; messages never interleave.
// write_message() returns once the kernel took its message
// (backpressure); it ignores its caller's cancellation (the queue may
// hold its bytes) and ends at the latest at write_timeout or finish().
// post_message() queues a copy and returns at once (no task per message).
// buffered_amount() is the bytes queued and not yet taken by the kernel
// (node's ws bufferedAmount); a data message, ping or pong that would take
// it past max_queued_bytes is refused with errc::queue_full and, with
// overflow_policy::close, the TCP connection is closed as well. A write
// that fails or passes write_timeout closes the TCP connection (no close
// frame can follow a half-sent frame) and fails everything queued.
// close() sends a close frame; the reader then waits close_timeout for
// the peer's answer. abort() closes the TCP connection at once.
//
// Ownership: the connection owns its stream (the server's comes from
// request_handler::detach(), the client's from websocket_connect). The
// object lives in a shared_ptr so that a task writing to it from elsewhere
// (a chat's broadcast) can outlive the session: finish() closes the
// stream, and every later call fails with errc::closed without touching it.
// Loop thread only. Tests: tests/ws/connection_test.cpp, slow_reader_test.cpp,
// partial_write_test.cpp, send_queue_test.cpp, fault_injection_test.cpp.
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
#include <squall/engine/byte_stream.hpp>
#include <squall/engine/cancel.hpp>
#include <squall/engine/result.hpp>
#include <squall/engine/sync.hpp>
#include <squall/engine/task.hpp>
#include <squall/engine/time.hpp>
#include <squall/http/limits.hpp>
#include <squall/ws/deflate.hpp>
#include <squall/ws/detail/send_queue.hpp>
#include <squall/ws/frame.hpp>
#include <squall/ws/reader.hpp>
#include <squall/ws/writer.hpp>

namespace squall::ws {

enum class errc {
    closed = 1,        // the WebSocket is closed (see close_code())
    handshake_failed,  // the peer did not complete the opening handshake
    bad_url,           // websocket_connect: not a ws:// URL we can reach
    queue_full,        // the send queue is at max_queued_bytes
};
const std::error_category& ws_category() noexcept;
inline std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), ws_category()}; }

enum class role { server, client };

// What a write that would pass max_queued_bytes does besides failing.
enum class overflow_policy {
    fail,   // nothing more: the caller may drop the message or close
    close,  // the TCP connection is closed as well (a slow reader is dropped)
};

struct connection_options {
    std::size_t max_message_size = default_max_message_size;  // also after inflating
    clock::duration ping_interval{0};                         // zero: no pings
    clock::duration ping_timeout{0};                          // zero: max(3 x interval, 30 s)
    clock::duration close_timeout = std::chrono::seconds(5);
    std::size_t max_frame_size = 0;  // outgoing fragments; zero: one frame per message
    deflate_options deflate;         // permessage-deflate, when enabled and agreed
    // Bytes queued for sending at most (one message always fits an empty
    // queue), and what passing it does.
    std::size_t max_queued_bytes = 4 * 1024 * 1024;
    overflow_policy on_overflow = overflow_policy::fail;
    // Each write to the socket (HTTP's default); zero: none.
    clock::duration write_timeout = http::default_write_timeout;
};

struct message {
    std::string_view data;  // valid until the next read_message()
    bool binary = false;
};

class connection : public std::enable_shared_from_this<connection> {
public:
    connection(std::unique_ptr<byte_stream> s, std::string buffered, role r, const connection_options& opts,
               std::optional<deflate_params> deflate, std::string subprotocol = {});
    ~connection();
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;

    task<result<message>> read_message();
    task<result<void>> write_message(std::string_view data, bool binary = false);
    // Queues the message and returns: ok, errc::queue_full or errc::closed.
    result<void> post_message(std::string data, bool binary = false);
    // Queues bytes already framed for this connection (a server's, not
    // compressed: see ws/broadcast.hpp), shared with other connections.
    result<void> post_framed(std::shared_ptr<const std::string> wire);
    task<result<void>> ping(std::string_view data = {});
    task<result<void>> pong(std::string_view data = {});
    // Sends a close frame (once); code 1005 sends an empty one.
    task<result<void>> close(std::uint16_t code = close_code::normal, std::string reason = {});
    // Ends the session: later calls fail, writes still in flight are
    // cancelled and awaited, and the stream is closed.
    task<void> finish();
    // Closes the TCP connection now, without a close frame (a peer that
    // does not read); queued messages fail with errc::closed.
    void abort() noexcept;

    std::size_t buffered_amount() const noexcept { return queue_.bytes(); }
    // Whether `n` more bytes stay within max_queued_bytes.
    bool fits(std::size_t n) const noexcept { return queue_.fits(n); }
    const connection_options& options() const noexcept { return opts_; }
    role side() const noexcept { return role_; }
    bool closed() const noexcept { return closed_; }
    bool close_sent() const noexcept { return close_sent_; }
    // A write failed or abort() cut the connection: nothing more goes out.
    bool broken() const noexcept { return broken_; }
    std::uint16_t close_code() const noexcept { return close_code_; }
    const std::string& close_reason() const noexcept { return close_reason_; }
    const std::string& subprotocol() const noexcept { return subprotocol_; }
    bool deflate() const noexcept { return static_cast<bool>(deflater_); }
    // The last pong's payload arrives here when set (Tornado's on_pong).
    std::string last_pong;

private:
    // Writes batches of the queue to the stream (ws/detail/send_queue.hpp).
    struct stream_sink {
        connection* c;
        bool busy = false;  // a write is in flight (its bytes are the kernel's)
        task<result<void>> write(std::vector<iovec> iov);
        void abort() noexcept;
    };
    task<result<void>> send(opcode op, std::span<const std::byte> payload);
    result<void> admit(std::size_t n, bool capped);
    void enqueue(detail::outgoing o);
    void start_drain();
    task<void> drain_inline(const squall::event* mine);
    static task<void> run_drain(std::shared_ptr<connection> self);
    task<bool> on_event(event ev);
    task<bool> on_wake();
    task<result<buffer_lease>> read_chunk();
    result<void> on_timeout();
    task<void> close_stream();
    std::optional<clock::time_point> next_deadline() const noexcept;

    std::unique_ptr<byte_stream> s_;
    role role_;
    connection_options opts_;
    std::string subprotocol_;
    std::unique_ptr<deflater> deflater_;
    std::unique_ptr<inflater> inflater_;
    message_reader reader_;
    message_writer writer_;
    detail::send_queue queue_;
    stream_sink sink_{this};
    bool draining_ = false;

    std::string buffered_;
    buffer_lease lease_;
    std::span<std::byte> in_;

    bool closed_ = false;  // no more reads or writes
    bool close_sent_ = false;
    bool broken_ = false;    // a write failed or was cut: the stream is unusable
    bool finished_ = false;  // finish() ran: the stream may be gone
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
    cancel_source writes_stop_;  // finish() cancels the write in flight
    cancel_source no_cancel_;    // never fired: what queued writers wait under
    squall::event writes_idle_;  // no drain running
};

}  // namespace squall::ws

template <>
struct std::is_error_code_enum<squall::ws::errc> : std::true_type {};
