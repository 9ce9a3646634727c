// stream: a connected socket driven by the ring, in the spirit of
// Tornado's IOStream but in coroutine form.
//
// Receiving: one multishot recv stays armed and the kernel fills buffers
// from the loop's provided buffer ring only when data arrives; each chunk
// reaches the reader as a buffer_lease (zero-copy). At most
// `max_pending_buffers` chunks wait unread: past that the receive is
// cancelled and re-armed once the reader catches up, so one connection
// cannot drain the pool. -ENOBUFS (the ring ran dry) parks the stream
// until buffers come back. read_until/read_exactly gather into a
// per-stream buffer (the one copy) and return a view valid until the next
// read. The cap is a byte limit the kernel enforces on the multishot recv
// (Linux 6.15+); older kernels get the cancel-and-re-arm fallback, which
// can overshoot by what one io_uring_enter receives. The ring and multishot can be switched off (stream_options) for
// comparison: then reads are one-shot, into the ring or into a
// per-connection buffer.
//
// Sending: write(span) borrows the bytes until it returns, and returns
// once the kernel has taken all of them (backpressure). write(owned)
// takes ownership; at or above zc_threshold it goes out with SEND_ZC and
// the bytes stay owned by the operation until the kernel's notification,
// which the next write never waits for. Writes are serialised in call
// order. Reads and writes each take a deadline (errc::timed_out) and honour
// the task's cancel token (errc::canceled); end of stream is errc::eof.
// A write that fails once it has its turn (an error, its deadline, a
// cancel) may have sent part of its bytes, so it poisons the stream: the
// writes waiting their turn and every later one fail at once with that
// first error (write_error()), none of their bytes is sent, and each
// returns (freeing what it owns) without waiting. The stream is then good
// only for close(), which also wakes a send blocked on a peer that does
// not read (the socket is shut down first) and poisons writes with
// errc::closed.
//
// TLS is an adapter over any byte_stream (engine/tls_stream.hpp): this
// stream carries bytes only.
//
// close() hands the kernel any SQE still queued for the fd before closing
// it, so none can reach whatever file the number names next.
//
// Ownership and threads: a stream owns its fd, belongs to the loop that
// created it and must be destroyed before that loop; it is not movable
// (the kernel's completions point at it). One reader at a time.
// Tests: tests/engine/stream_test.cpp, tests/engine/echo_stress_test.cpp,
// tests/engine/stream_poison_test.cpp.
#pragma once

#include <sys/uio.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <squall/engine/buffer_ring.hpp>
#include <squall/engine/byte_stream.hpp>
#include <squall/engine/detail/chunk_ring.hpp>
#include <squall/engine/detail/lazy_deadline.hpp>
#include <squall/engine/detail/waiter.hpp>
#include <squall/engine/loop.hpp>
#include <squall/engine/result.hpp>
#include <squall/engine/socket.hpp>
#include <squall/engine/task.hpp>

namespace squall {

struct stream_options {
    bool buffer_ring = true;     // receive into the loop's provided buffer ring
    bool multishot_recv = true;  // keep one multishot recv armed (needs buffer_ring)
    // SEND_ZC for owned writes of zc_threshold bytes or more. Measured with
    // bench/zc_bench: over loopback it is 2-3x slower than copying at every
    // size (the kernel copies into the receiving socket anyway), so peers on
    // loopback or unix sockets get copies unless zc_on_loopback is set; the
    // threshold for other peers follows the kernel's MSG_ZEROCOPY guidance
    // (copy avoidance pays from about 10 KB), as no NIC is here to measure.
    bool send_zc = true;
    std::size_t zc_threshold = 32 * 1024;
    bool zc_on_loopback = false;
    unsigned max_pending_buffers = 16;
    // Bytes a reader takes in one loop turn before its next read waits for
    // the next turn (0: no limit), so that a peer sending faster than it is
    // served cannot keep the loop from the other connections' completions:
    // a chat poster's input is otherwise read and fanned out up to
    // max_pending_buffers chunks at a time while no send goes out.
    std::size_t read_budget = 64 * 1024;
    bool recv_byte_limit = true;                              // let the kernel enforce the cap (where it can)
    std::size_t plain_buffer_size = 16 * 1024;                // when buffer_ring is off
    clock::duration read_timeout = clock::duration::zero();   // zero: none
    clock::duration write_timeout = clock::duration::zero();  // zero: none
};

class stream final : public byte_stream {
public:
    explicit stream(unique_fd fd, stream_options opts = {});
    ~stream() override;

    // read_some() (the next received chunk, errc::eof once the peer has
    // closed; without a deadline, read_timeout applies), read_until and
    // read_exactly come from byte_stream.
    task<result<void>> write(std::span<const std::byte> bytes) override;
    using byte_stream::write;
    task<result<void>> writev(std::vector<iovec> parts) override;
    // Takes the bytes; SEND_ZC at or above zc_threshold (see above).
    task<result<void>> write_owned(owned_bytes bytes) override;

    // Sends FIN after queued writes (half-close); reads go on.
    task<result<void>> shutdown_write() override;
    // Stops receiving and closes the fd now; later reads give errc::closed.
    void close() noexcept override;
    bool closed() const noexcept override { return !fd_; }
    std::optional<address> peer() const override;

    int fd() const noexcept { return fd_.get(); }
    // The error that poisoned writes (see above); empty while they work.
    std::error_code write_error() const noexcept { return write_error_; }
    const stream_options& options() const noexcept { return opts_; }
    // Received chunks or gathered bytes no read took yet.
    bool has_unread() const noexcept override { return !pending_.empty() || has_spill(); }
    // Receive state, for tests and metrics.
    std::size_t pending_chunks() const noexcept { return pending_.size(); }
    std::uint64_t recv_pauses() const noexcept { return pauses_; }
    std::uint64_t recv_starvations() const noexcept { return starvations_; }
    std::uint64_t zc_sends() const noexcept { return zc_sends_; }

protected:
    // Ready: a chunk within this turn's budget, an end or an error.
    bool chunk_ready() const noexcept override {
        if (!pending_.empty()) return !over_budget();
        return eof_ || recv_error_ || !fd_;
    }
    // What wakes a parked reader: anything to take, whatever the budget
    // (the reader resumes in a later turn anyway).
    bool chunk_or_end() const noexcept { return !pending_.empty() || eof_ || recv_error_ || !fd_; }
    bool park_reader(std::coroutine_handle<> h, cancel_state* token, std::optional<clock::time_point> deadline,
                     detail::waiter& w) override;
    result<buffer_lease> take_chunk() override;

private:
    struct chunk {
        std::uint16_t bid = 0;
        bool from_ring = false;
        std::span<std::byte> data;
    };
    class write_turn;

    static void on_recv(void* ctx, int res, unsigned flags) noexcept;
    void handle_recv(int res, unsigned flags) noexcept;
    void arm_recv();
    void maybe_rearm();
    void release_fd() noexcept;
    void drop_pending() noexcept;
    std::optional<clock::time_point> read_deadline() const noexcept;
    clock::time_point write_deadline() const noexcept;
    bool over_budget() const noexcept {
        return opts_.read_budget != 0 && budget_turn_ == loop_->turns() && taken_in_turn_ >= opts_.read_budget;
    }
    void end_write_turn() noexcept;
    std::error_code poison_writes(std::error_code ec) noexcept;
    bool zero_copy_pays() noexcept;
    // The one partial-send loop, in its write turn: sends until all of
    // `bytes` went out, with SEND_ZC when `zc_owner` holds them.
    task<result<void>> send_all(std::span<const std::byte> bytes, std::shared_ptr<owned_bytes> zc_owner);

    loop* loop_;
    unique_fd fd_;
    stream_options opts_;
    buffer_ring* ring_ = nullptr;

    detail::chunk_ring<chunk> pending_;
    std::unique_ptr<std::byte[]> plain_buf_;
    std::uint64_t recv_ud_ = 0;
    bool recv_armed_ = false;
    bool recv_limited_ = false;  // the armed recv carries a kernel byte limit
    bool pausing_ = false;       // cancelled the recv to cap pending chunks (older kernels)
    bool starved_ = false;       // waiting for the ring to refill
    std::uint64_t starve_wait_ = 0;
    bool eof_ = false;
    std::error_code recv_error_;
    detail::waiter_list readers_;
    std::uint64_t budget_turn_ = 0;  // the turn taken_in_turn_ counts for
    std::size_t taken_in_turn_ = 0;

    detail::waiter_list writers_;
    bool writing_ = false;
    std::error_code write_error_;  // the first failed write's error: later ones fail at once

    // The deadlines of the reads, and of the sends, one after another:
    // one loop timer each, re-armed lazily (lazy_deadline.hpp).
    detail::lazy_deadline read_series_, write_series_;

    std::uint64_t pauses_ = 0, starvations_ = 0, zc_sends_ = 0;
    signed char zc_peer_ = -1;  // zero copy worth it for this peer: 1, 0, or not looked up yet
};

}  // namespace squall
