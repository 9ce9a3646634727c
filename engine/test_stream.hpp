// test_stream: an in-memory byte_stream for testing what runs over one
// (http/ and ws/ connections), after Boost.Beast's test::stream.
//
// Input is scripted (append(): each call is one chunk a read returns, cut
// further to read_size) or comes from a connected peer (pair(): what one
// writes the other reads). A test that splits its input at every byte
// boundary, or sets read_size(1), sees the code under test cope with any
// chunking. Writes go to the peer, or to output() when there is none;
// write_size(n) makes each send take at most n bytes (short sends) and
// write_limit(n) lets at most n unread bytes wait (a peer that stops
// reading): writes then block until they are read, the write timeout or
// the task's cancellation.
//
// Failure injection: a fail_count, shared by the streams of a test, counts
// operations (each chunk read, each send of up to write_size bytes, each
// shutdown_write) and fails the n-th (from 0) with its error. Beast's
// pattern: run the exchange with n = 0, 1, 2, ... until it succeeds without
// reaching n; each run must end cleanly (no leak, no hang, the right
// error). A read that comes to the failing index fails at once, data or
// not, and reading may go on; a failed (or timed out) send poisons the
// writes after it, as on a socket stream, since part of it may be out.
//
// Every write suspends once through the loop's ready queue before it
// completes, as a kernel send does. Ownership: fail_count is borrowed and
// must outlive the stream; the streams of a pair may be destroyed in any
// order (the survivor sees end of stream, its writes fail with
// broken_pipe). Loop thread only. Tests: tests/engine/test_stream_test.cpp.
#pragma once

#include <cstddef>
#include <deque>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include <squall/engine/byte_stream.hpp>

namespace squall {

class fail_count {
public:
    explicit fail_count(std::size_t n, std::error_code ec = std::make_error_code(std::errc::connection_reset)) noexcept
        : n_(n), ec_(ec) {}
    // Counts one operation; true when it is the one that fails.
    bool fail() noexcept { return i_++ == n_; }
    bool next_fails() const noexcept { return i_ == n_; }
    // Whether the failing operation was reached.
    bool reached() const noexcept { return i_ > n_; }
    std::size_t operations() const noexcept { return i_; }
    std::error_code error() const noexcept { return ec_; }

private:
    std::size_t n_;
    std::size_t i_ = 0;
    std::error_code ec_;
};

class test_stream final : public byte_stream {
public:
    explicit test_stream(fail_count* fc = nullptr) noexcept : fc_(fc) {}
    ~test_stream() override;
    // Two connected streams: what one writes, the other reads. Each counts
    // its operations on its own fail_count (the same one, or none).
    static std::pair<std::unique_ptr<test_stream>, std::unique_ptr<test_stream>> pair(fail_count* fc = nullptr,
                                                                                      fail_count* peer_fc = nullptr);

    // --- the script ---------------------------------------------------
    void append(std::string_view bytes);  // one more chunk to read
    void end_input();                     // then reads see errc::eof
    void read_size(std::size_t n) noexcept { read_size_ = n; }
    void write_size(std::size_t n) noexcept { write_size_ = n == 0 ? 1 : n; }
    void write_limit(std::size_t n) noexcept;
    void read_timeout(clock::duration d) noexcept { read_timeout_ = d; }
    void write_timeout(clock::duration d) noexcept { write_timeout_ = d; }
    void set_peer(address a) { peer_addr_ = a; }

    // --- what happened ------------------------------------------------
    // Bytes written (no peer); take_output() also makes room for writes.
    std::string_view output() const noexcept { return out_; }
    std::string take_output();
    bool output_shut() const noexcept { return out_shut_; }
    bool input_pending() const noexcept { return !in_.empty(); }

    // --- byte_stream --------------------------------------------------
    task<result<void>> write(std::span<const std::byte> bytes) override;
    using byte_stream::write;
    task<result<void>> writev(std::vector<iovec> parts) override;
    task<result<void>> write_owned(owned_bytes bytes) override;
    task<result<void>> shutdown_write() override;
    void close() noexcept override;
    bool closed() const noexcept override { return closed_; }
    std::optional<address> peer() const override { return peer_addr_; }

protected:
    bool chunk_ready() const noexcept override;
    bool park_reader(std::coroutine_handle<> h, cancel_state* token, std::optional<clock::time_point> deadline,
                     detail::waiter& w) override;
    result<buffer_lease> take_chunk() override;

private:
    class turn;
    // Bytes queued for the side that reads what this one writes.
    std::size_t unread_out() const noexcept;
    std::size_t room() const noexcept;
    void deliver(std::span<const std::byte> bytes);
    void on_read_by_peer() noexcept { room_waiters_.wake_all(); }
    void end_turn() noexcept;
    task<result<void>> send(std::span<const std::byte> bytes, clock::time_point deadline);
    task<result<void>> send_some(std::span<const std::byte> bytes, clock::time_point deadline);
    clock::time_point write_deadline() const noexcept;
    void unlink_peer() noexcept;

    fail_count* fc_;
    test_stream* peer_ = nullptr;
    std::optional<address> peer_addr_ = address::ip("127.0.0.1", 40000);

    std::deque<std::string> in_;
    bool in_end_ = false;
    std::size_t read_size_ = 0;  // zero: a chunk as appended
    detail::waiter_list readers_;

    std::string out_;
    bool out_shut_ = false;
    bool closed_ = false;
    bool broken_ = false;          // the peer is gone
    std::error_code write_error_;  // a failed send poisons the writes after it
    std::size_t write_size_ = std::numeric_limits<std::size_t>::max();
    std::size_t write_limit_ = std::numeric_limits<std::size_t>::max();
    bool writing_ = false;
    detail::waiter_list turn_waiters_;
    detail::waiter_list room_waiters_;
    clock::duration read_timeout_{};
    clock::duration write_timeout_{};
};

}  // namespace squall
