#include <squall/engine/cancel.hpp>

namespace squall {

bool cancel_callback::attach(cancel_state* state) noexcept {
    detach();
    if (!state) return true;
    if (state->requested_) return false;
    state_ = state;
    prev_ = nullptr;
    next_ = state->head_;
    if (next_) next_->prev_ = this;
    state->head_ = this;
    return true;
}

void cancel_callback::detach() noexcept {
    if (!state_) return;
    if (prev_) prev_->next_ = next_;
    else state_->head_ = next_;
    if (next_) next_->prev_ = prev_;
    state_ = nullptr;
    prev_ = next_ = nullptr;
}

cancel_state::cancel_state(cancel_state* parent) noexcept {
    if (parent && !parent_link_.attach(parent)) requested_ = true;
}

cancel_state::~cancel_state() {
    // Callbacks still registered belong to awaitables that outlive us
    // (their frames are destroyed later); they must not touch this state.
    while (head_) head_->detach();
}

void cancel_state::request() noexcept {
    if (requested_) return;
    requested_ = true;
    parent_link_.detach();
    // Each callback is unlinked before it runs, so a callback may detach
    // or destroy other nodes without upsetting this walk.
    while (cancel_callback* cb = head_) {
        cb->detach();
        cb->fn_(cb);
    }
}

void cancel_state::on_parent(cancel_callback* cb) noexcept {
    static_cast<parent_link*>(cb)->self->request();
}

}  // namespace squall
