// What the files of engine/stream_*.cpp share: the write turn and its
// guard. Private to the stream.
#pragma once

#include <string>

#include <squall/engine/stream.hpp>

namespace squall {

// Waits for this writer's turn: writes go out whole and in call order.
class stream::write_turn {
public:
    explicit write_turn(stream* s) noexcept : s_(s) {}
    // A poisoned stream fails the write at once, without the turn.
    bool await_ready() const noexcept { return !s_->writing_ || s_->write_error_; }
    template <class P>
    bool await_suspend(std::coroutine_handle<P> h) {
        return w_.park(h, token_of(h), std::nullopt, &s_->writers_);
    }
    result<void> await_resume() noexcept {
        if (s_->write_error_) return s_->write_error_;                            // poisoned, before or while waiting
        if (w_.state() == detail::waiter::outcome::waiting) s_->writing_ = true;  // did not suspend
        return w_.status();  // woken: the previous writer handed the turn over
    }

private:
    stream* s_;
    detail::waiter w_;
};

namespace detail {
// Ends the write turn when the writing coroutine returns.
struct turn_guard {
    stream* s;
    void (stream::*end)() noexcept;
    ~turn_guard() { (s->*end)(); }
};
}  // namespace detail

}  // namespace squall
