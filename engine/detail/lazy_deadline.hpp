// lazy_deadline: one loop timer serving a series of deadlines held one at
// a time, as nginx's lazy timers. A stream's reads (or its writes) each
// take a deadline, and most complete long before it: a heap timer added
// and cancelled per read costs two O(log n) heap operations each time.
// Here the series keeps one timer armed; hold() records the new deadline
// and re-arms only when it is earlier than the armed one, release() just
// forgets it. When the armed timer fires before the held deadline it
// re-arms for that deadline, so a held deadline expires at its own time,
// exactly as its own timer would have made it, while a keep-alive
// connection's steady stream of later deadlines costs one heap operation
// per timeout period instead of two per request.
//
// One holder at a time (a stream has one reader, and the writer holding
// the write turn): hold() by another while one holds returns false, and
// that caller uses a timer of its own. Holders pass a callback: expire
// when the deadline passed, forget when the series is destroyed first (the
// holder then waits without its deadline, as a waiter on a destroyed
// primitive does). Either way the holder is released before the call.
// Loop thread only. Tests: tests/engine/lazy_deadline_test.cpp.
#pragma once

#include <squall/engine/loop.hpp>

namespace squall::detail {

class lazy_deadline {
public:
    // expired: true when the deadline passed, false when the series is
    // being destroyed and the holder must forget it.
    using holder_fn = void (*)(void* holder, bool expired) noexcept;

    lazy_deadline() = default;
    ~lazy_deadline();
    lazy_deadline(const lazy_deadline&) = delete;
    lazy_deadline& operator=(const lazy_deadline&) = delete;

    // `holder` waits until `when`; false when another holder has it.
    bool hold(void* holder, holder_fn fn, clock::time_point when);
    void release(void* holder) noexcept {
        if (holder_ == holder) holder_ = nullptr;
    }
    bool held() const noexcept { return holder_ != nullptr; }
    // Whether a loop timer is armed for the series (tests).
    bool armed() const noexcept { return armed_ != clock::time_point::max(); }

private:
    void arm(clock::time_point when);
    void fire();

    loop* loop_ = nullptr;
    timer_handle timer_;
    clock::time_point armed_ = clock::time_point::max();
    clock::time_point due_{};
    void* holder_ = nullptr;
    holder_fn fn_ = nullptr;
};

}  // namespace squall::detail
