#include <squall/engine/detail/waiter.hpp>

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
