// waiter: one task parked on a loop primitive (sleep, event, queue, ...)
// with an optional deadline and the task's cancel token.
//
// The waiter lives in the awaiting coroutine's frame (inside the
// awaitable). Whoever wakes it first wins: the primitive (wake), the
// deadline timer or the cancel token; the others are detached. The task is
// resumed in the loop's ready queue, never inline, so a primitive's method
// never runs a waiter's code before it returns. A waiter_list detaches its
// waiters when destroyed, and a waiter unlinks itself when destroyed, so
// either may go first. Loop thread only. Tests: tests/engine/sync_test.cpp.
#pragma once

#include <coroutine>
#include <optional>

#include <squall/engine/cancel.hpp>
#include <squall/engine/detail/intrusive_list.hpp>
#include <squall/engine/detail/lazy_deadline.hpp>
#include <squall/engine/loop.hpp>
#include <squall/engine/result.hpp>

namespace squall::detail {

class waiter_list;

class waiter : private cancel_callback, private list_hook<waiter> {
public:
    enum class outcome { waiting, woken, timed_out, canceled };

    waiter() noexcept : cancel_callback(&waiter::on_cancel) {}
    waiter(const waiter&) = delete;
    waiter& operator=(const waiter&) = delete;
    ~waiter() { cleanup(); }

    // Parks the task on `list` (may be null: wait only for the deadline or
    // the token). Returns false, without parking, when the token is
    // already cancelled: the caller should not suspend.
    bool park(std::coroutine_handle<> h, cancel_state* token, std::optional<clock::time_point> deadline,
              waiter_list* list);
    // The same with the deadline kept by `series` (lazy_deadline.hpp): a
    // stream's reads, one after another, share one timer.
    bool park(std::coroutine_handle<> h, cancel_state* token, lazy_deadline& series, clock::time_point deadline,
              waiter_list* list);
    // Called by the primitive after unlinking this waiter from its list.
    void wake() noexcept { finish(outcome::woken); }

    outcome state() const noexcept { return state_; }
    // woken -> ok; timed_out / canceled -> the matching errc.
    result<void> status() const noexcept;

private:
    friend class waiter_list;
    template <class, class>
    friend class intrusive_list;
    static void on_cancel(cancel_callback* cb) noexcept;
    static void on_series(void* self, bool expired) noexcept;
    void finish(outcome o) noexcept;
    void cleanup() noexcept;

    std::coroutine_handle<> handle_;
    loop* loop_ = nullptr;
    timer_handle timer_;
    lazy_deadline* series_ = nullptr;  // holds this waiter's deadline instead of timer_
    outcome state_ = outcome::waiting;
};

// FIFO of parked waiters, owned by a primitive.
class waiter_list {
public:
    bool empty() const noexcept { return list_.empty(); }
    void push_back(waiter* w) noexcept { list_.push_back(w); }
    // Unlinks and wakes the oldest waiter; false when there is none.
    bool wake_one() noexcept;
    void wake_all() noexcept;

private:
    // Destroyed first, it detaches its waiters: they keep waiting for
    // their deadline or token, but never touch this list again.
    intrusive_list<waiter, waiter> list_;
};

}  // namespace squall::detail
