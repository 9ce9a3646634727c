// send_queue: a WebSocket connection's outgoing messages, framed and in
// order, with the count of their bytes (buffered_amount) and the cap on
// it; and drain(), the one task per connection that writes them.
//
// push() takes a framed message (ws/writer.hpp) or bytes framed once and
// shared by a broadcast; an entry may name a send_waiter, the awaiting
// writer, which learns the outcome. drain() gathers up to batch_bytes of
// entries into one write to the sink, pops them when it is done, and
// stops at the first failure: the sink is aborted (no later frame could
// follow a half-sent one), every entry still queued fails with that error
// and is freed, and later pushes are refused. drain() never writes to the
// sink again after a failed write. Nothing here touches I/O but the
// sink: `Sink` has `task<result<void>> write(std::vector<iovec>)` and
// `void abort()` (ws/connection.cpp's stream sink; a failing sink in
// tests/ws/send_queue_test.cpp).
//
// Ownership: entries own their bytes, except a borrowed payload, which
// the entry's awaiting writer keeps alive until its waiter is told.
// Loop thread only.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <deque>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include <squall/engine/result.hpp>
#include <squall/engine/sync.hpp>
#include <squall/engine/task.hpp>
#include <squall/ws/writer.hpp>

namespace squall::ws::detail {

// Lives in an awaiting writer's frame until `done` is set.
struct send_waiter {
    squall::event done;
    std::error_code error;
};

struct outgoing {
    std::string payload;  // a posted message's bytes, which `wire` may borrow
    wire_message wire;
    std::shared_ptr<const std::string> shared;  // bytes framed once for many connections
    send_waiter* waiter = nullptr;
    std::size_t size() const noexcept { return shared ? shared->size() : wire.size(); }
};

class send_queue {
public:
    static constexpr std::size_t batch_bytes = 256 * 1024;

    explicit send_queue(std::size_t max_bytes) noexcept : max_(max_bytes) {}

    // Whether `n` more bytes stay within the cap (a message always fits an
    // empty queue, so that one larger than the cap can still be sent).
    bool fits(std::size_t n) const noexcept { return bytes_ == 0 || bytes_ + n <= max_; }
    std::size_t bytes() const noexcept { return bytes_; }
    bool empty() const noexcept { return q_.empty(); }
    std::error_code failed() const noexcept { return failed_; }

    void push(outgoing o);
    // Fills `iov` with the first entries, up to batch_bytes (at least one);
    // returns how many it took.
    std::size_t next_batch(std::vector<iovec>& iov) const;
    // The first `n` entries went out: freed, their waiters told.
    void pop(std::size_t n) noexcept;
    // Fails and frees every entry; later pushes are refused.
    void fail_all(std::error_code ec) noexcept;

private:
    std::deque<outgoing> q_;
    std::size_t bytes_ = 0;
    std::size_t max_;
    std::error_code failed_;
};

// Writes until the queue is empty or a write fails (see above), or, with
// `until`, once that event is set (an awaiting writer that drains inline
// stops when its own message is out).
template <class Sink>
task<void> drain(send_queue* q, Sink* sink, const squall::event* until = nullptr) {
    std::vector<iovec> iov;
    while (!q->empty() && !q->failed() && !(until && until->is_set())) {
        iov.clear();
        std::size_t n = q->next_batch(iov);
        result<void> w = co_await sink->write(iov);
        if (!w) {
            sink->abort();
            q->fail_all(w.error());
            co_return;
        }
        q->pop(n);
    }
}

}  // namespace squall::ws::detail
