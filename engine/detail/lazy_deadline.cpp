#include <squall/engine/detail/lazy_deadline.hpp>

#include <utility>

namespace squall::detail {

lazy_deadline::~lazy_deadline() {
    if (armed()) timer_.cancel();
    if (void* h = std::exchange(holder_, nullptr)) fn_(h, false);
}

bool lazy_deadline::hold(void* holder, holder_fn fn, clock::time_point when) {
    if (holder_ && holder_ != holder) return false;
    holder_ = holder;
    fn_ = fn;
    due_ = when;
    // Armed for this deadline or an earlier one: that timer serves. Armed
    // later (or not at all): only a timer of its own is early enough.
    if (when < armed_) {
        if (armed()) timer_.cancel();
        arm(when);
    }
    return true;
}

void lazy_deadline::arm(clock::time_point when) {
    if (!loop_) loop_ = loop::current();
    timer_ = loop_->call_at(when, [this] { fire(); });
    armed_ = when;
}

void lazy_deadline::fire() {
    armed_ = clock::time_point::max();
    if (!holder_) return;  // released since: nothing to time, no timer
    if (due_ <= loop_->now()) {
        fn_(std::exchange(holder_, nullptr), true);
        return;
    }
    arm(due_);  // the held deadline is a later one
}

}  // namespace squall::detail
