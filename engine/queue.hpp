// queue<T>: tornado.queues.Queue for one loop, a FIFO between tasks with
// an optional bound, plus task_done() / join() to wait until every item
// put has been processed.
//
// put(item) waits while the queue is full and yields result<void>; get()
// waits while it is empty and yields result<T>. Both take an optional
// deadline and honour the awaiting task's cancel token: errc::timed_out /
// errc::canceled, as for the primitives in engine/sync.hpp. Items move
// straight to the oldest waiter: a put that finds a task waiting in get()
// stores the item in that task's awaitable (no later get_nowait() can take
// it), and a get that makes room moves the oldest waiting put's item into
// the queue, so order is FIFO across waiting and non-waiting callers.
// join() completes once task_done() was called once per item put.
//
// Ownership: items are moved in and out, T may be move-only. A waiting put
// keeps its item in its awaitable; if it times out or is cancelled, the
// item is destroyed with the awaitable and never enters the queue. A get
// that times out or is cancelled was handed nothing. put_nowait(T&&) leaves
// the caller's item untouched when it fails. The queue borrows the parked
// awaitables and must not move while tasks wait; destroying it while tasks
// wait is allowed (they end by deadline or token). Awaitables may be moved
// only before they are awaited. Errors: put_nowait -> errc::full, get_nowait
// -> errc::empty, task_done() more often than items were put ->
// errc::not_acquired (Tornado's ValueError). Thread: the loop thread only.
// Tests: tests/engine/queue_test.cpp.
#pragma once

#include <coroutine>
#include <cstddef>
#include <deque>
#include <optional>
#include <type_traits>
#include <utility>

#include <squall/engine/detail/handoff.hpp>
#include <squall/engine/loop.hpp>
#include <squall/engine/result.hpp>
#include <squall/engine/sync.hpp>
#include <squall/engine/task.hpp>

namespace squall {

template <class T>
class queue {
public:
    class put_awaitable;
    class get_awaitable;

    // maxsize 0 means unbounded.
    explicit queue(std::size_t maxsize = 0) : maxsize_(maxsize) { finished_.set(); }
    queue(const queue&) = delete;
    queue& operator=(const queue&) = delete;

    [[nodiscard]] put_awaitable put(T item) { return {this, std::move(item), {}}; }
    [[nodiscard]] put_awaitable put(T item, clock::time_point deadline) { return {this, std::move(item), deadline}; }
    [[nodiscard]] put_awaitable put_for(T item, clock::duration d) { return {this, std::move(item), clock::now() + d}; }
    [[nodiscard]] result<void> put_nowait(T&& item);
    [[nodiscard]] result<void> put_nowait(const T& item);

    [[nodiscard]] get_awaitable get() noexcept { return {this, {}}; }
    [[nodiscard]] get_awaitable get(clock::time_point deadline) noexcept { return {this, deadline}; }
    [[nodiscard]] get_awaitable get_for(clock::duration d) { return {this, clock::now() + d}; }
    [[nodiscard]] result<T> get_nowait();

    // Marks one item taken by get as processed.
    result<void> task_done() noexcept;
    [[nodiscard]] wait_awaitable join() noexcept { return finished_.wait(); }
    [[nodiscard]] wait_awaitable join(clock::time_point deadline) noexcept { return finished_.wait(deadline); }
    [[nodiscard]] wait_awaitable join_for(clock::duration d) { return finished_.wait_for(d); }

    std::size_t qsize() const noexcept { return items_.size(); }
    bool empty() const noexcept { return items_.empty(); }
    bool full() const noexcept { return maxsize_ != 0 && items_.size() >= maxsize_; }
    std::size_t maxsize() const noexcept { return maxsize_; }

private:
    bool try_put(T& item);
    bool try_get(std::optional<T>& out);
    void admit_putter();
    void give_back(T&& item);
    void count_put() noexcept {
        ++unfinished_;
        finished_.clear();
    }

    std::deque<T> items_;
    std::size_t maxsize_;
    std::size_t unfinished_ = 0;
    event finished_;
    detail::handoff_list getters_;
    detail::handoff_list putters_;
};

// Yields result<void>. Holds the item until the queue takes it.
template <class T>
class queue<T>::put_awaitable : private detail::handoff_node {
public:
    put_awaitable(queue* q, T&& item, deadline_opt deadline) noexcept(std::is_nothrow_move_constructible_v<T>)
        : q_(q), item_(std::move(item)), deadline_(deadline) {}
    put_awaitable(put_awaitable&& o) noexcept(std::is_nothrow_move_constructible_v<T>)
        : put_awaitable(o.q_, std::move(o.item_), o.deadline_) {}
    bool await_ready() {
        done_ = q_->try_put(item_);
        return done_;
    }
    template <class P>
    bool await_suspend(std::coroutine_handle<P> h) {
        return park(h, token_of(h), deadline_, q_->putters_);
    }
    result<void> await_resume() noexcept {
        unlink();
        if (done_ || granted()) return {};
        return status();
    }

private:
    friend class queue;
    queue* q_;
    T item_;
    deadline_opt deadline_;
    bool done_ = false;
};

// Yields result<T>. A put that wakes this task stores the item here.
template <class T>
class queue<T>::get_awaitable : private detail::handoff_node {
public:
    get_awaitable(queue* q, deadline_opt deadline) noexcept : q_(q), deadline_(deadline) {}
    get_awaitable(get_awaitable&& o) noexcept : get_awaitable(o.q_, o.deadline_) {}
    ~get_awaitable() {
        // The frame is destroyed after a put chose this task but before it
        // ran: the item goes back rather than being lost.
        if (holds_grant()) {
            unlink();
            q_->give_back(std::move(*item_));
        }
    }
    bool await_ready() { return q_->try_get(item_); }
    template <class P>
    bool await_suspend(std::coroutine_handle<P> h) {
        return park(h, token_of(h), deadline_, q_->getters_);
    }
    result<T> await_resume() {
        unlink();
        if (item_) return std::move(*item_);
        return status().error();
    }

private:
    friend class queue;
    queue* q_;
    deadline_opt deadline_;
    std::optional<T> item_;
};

}  // namespace squall

#include <squall/engine/detail/queue_impl.hpp>
