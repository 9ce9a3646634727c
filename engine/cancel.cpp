#include <squall/engine/cancel.hpp>

namespace squall {

bool cancel_callback::attach(cancel_state* state) noexcept {
    detach();
    if (!state) return true;
    if (state->requested_) return false;
    state->callbacks_.push_front(this);
    return true;
}

cancel_state::cancel_state(cancel_state* parent) noexcept {
    if (parent && !parent_link_.attach(parent)) requested_ = true;
}

cancel_state::~cancel_state() {
    // Callbacks still registered belong to awaitables that outlive us
    // (their frames are destroyed later): callbacks_ unlinks them, so
    // they never touch this state again.
}

void cancel_state::request() noexcept {
    if (requested_) return;
    requested_ = true;
    parent_link_.detach();
    // Each callback is unlinked before it runs, so a callback may detach
    // or destroy other nodes without upsetting this walk.
    while (cancel_callback* cb = callbacks_.pop_front()) cb->fn_(cb);
}

void cancel_state::on_parent(cancel_callback* cb) noexcept { static_cast<parent_link*>(cb)->self->request(); }

}  // namespace squall
