#include <squall/engine/detail/waiter.hpp>

namespace squall::detail {

bool waiter::park(std::coroutine_handle<> h, cancel_state* token,
                  std::optional<clock::time_point> deadline, waiter_list* list) {
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

void waiter::on_cancel(cancel_callback* cb) noexcept {
    static_cast<waiter*>(cb)->finish(outcome::canceled);
}

void waiter::finish(outcome o) noexcept {
    if (state_ != outcome::waiting) return;
    state_ = o;
    cleanup();
    loop_->schedule(handle_);
}

void waiter::cleanup() noexcept {
    if (list_) list_->remove(this);
    detach();
    timer_.cancel();
}

waiter_list::~waiter_list() {
    // The primitive is going away first: its waiters keep waiting for
    // their deadline or token, but must not touch this list again.
    while (head_) {
        waiter* w = head_;
        head_ = w->next_;
        w->list_ = nullptr;
        w->prev_ = w->next_ = nullptr;
    }
}

void waiter_list::push_back(waiter* w) noexcept {
    w->list_ = this;
    w->prev_ = tail_;
    w->next_ = nullptr;
    if (tail_) tail_->next_ = w;
    else head_ = w;
    tail_ = w;
}

void waiter_list::remove(waiter* w) noexcept {
    if (w->prev_) w->prev_->next_ = w->next_;
    else head_ = w->next_;
    if (w->next_) w->next_->prev_ = w->prev_;
    else tail_ = w->prev_;
    w->prev_ = w->next_ = nullptr;
    w->list_ = nullptr;
}

bool waiter_list::wake_one() noexcept {
    waiter* w = head_;
    if (!w) return false;
    remove(w);
    w->wake();
    return true;
}

void waiter_list::wake_all() noexcept {
    while (wake_one()) {
    }
}

}  // namespace squall::detail
