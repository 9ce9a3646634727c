#include <squall/engine/detail/waiter.hpp>

#include <utility>

namespace squall::detail {

bool waiter::park(std::coroutine_handle<> h, cancel_state* token, std::optional<clock::time_point> deadline,
                  waiter_list* list) {
    if (!attach(token)) {
        state_ = outcome::canceled;
        return false;
    }
    handle_ = h;
    loop_ = loop::current();
    state_ = outcome::waiting;
    if (list) list->push_back(this);
    if (deadline) timer_ = loop_->call_at(*deadline, [this] { finish(outcome::timed_out); });
    return true;
}

bool waiter::park(std::coroutine_handle<> h, cancel_state* token, lazy_deadline& series, clock::time_point deadline,
                  waiter_list* list) {
    if (!park(h, token, std::nullopt, list)) return false;
    if (series.hold(this, &waiter::on_series, deadline)) series_ = &series;
    else timer_ = loop_->call_at(deadline, [this] { finish(outcome::timed_out); });
    return true;
}

void waiter::on_series(void* self, bool expired) noexcept {
    auto* w = static_cast<waiter*>(self);
    w->series_ = nullptr;  // released by the series already
    if (expired) w->finish(outcome::timed_out);
}

result<void> waiter::status() const noexcept {
    switch (state_) {
        case outcome::timed_out: return errc::timed_out;
        case outcome::canceled: return errc::canceled;
        default: return {};
    }
}

void waiter::on_cancel(cancel_callback* cb) noexcept { static_cast<waiter*>(cb)->finish(outcome::canceled); }

void waiter::finish(outcome o) noexcept {
    if (state_ != outcome::waiting) return;
    state_ = o;
    cleanup();
    loop_->schedule(handle_);
}

void waiter::cleanup() noexcept {
    list_hook<waiter>::unlink();
    detach();
    if (series_) std::exchange(series_, nullptr)->release(this);
    timer_.cancel();
}

bool waiter_list::wake_one() noexcept {
    waiter* w = list_.pop_front();
    if (!w) return false;
    w->wake();
    return true;
}

void waiter_list::wake_all() noexcept {
    while (wake_one()) {}
}

}  // namespace squall::detail
