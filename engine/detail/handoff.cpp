#include <squall/engine/detail/handoff.hpp>

namespace squall::detail {

bool handoff_node::park(std::coroutine_handle<> h, cancel_state* token, std::optional<clock::time_point> deadline,
                        handoff_list& list) {
    // The waiter gets no waiter_list: this node's own links play that part,
    // so that the primitive can reach the awaitable it wakes.
    if (!w_.park(h, token, deadline, nullptr)) return false;
    list.waiting_.push_back(this);
    list_ = &list;
    return true;
}

void handoff_node::unlink() noexcept {
    // Off whichever chain holds it: the hook needs no list to leave it.
    list_hook<handoff_node>::unlink();
    list_ = nullptr;
}

handoff_list::~handoff_list() {
    // The primitive is going away first: waiting tasks still end through
    // their deadline or token, and granted ones keep what they were given,
    // but none may touch this list again.
    detach_all(waiting_);
    detach_all(granted_);
}

handoff_node* handoff_list::front() noexcept {
    while (handoff_node* n = waiting_.front()) {
        if (n->w_.state() == waiter::outcome::waiting) return n;
        // Its deadline or token won; the task resumes with that error and
        // must not be handed anything.
        n->unlink();
    }
    return nullptr;
}

void handoff_list::grant(handoff_node* n) noexcept {
    n->list_hook<handoff_node>::unlink();
    granted_.push_back(n);
    n->w_.wake();
}

void handoff_list::detach_all(chain& c) noexcept {
    while (handoff_node* n = c.pop_front()) n->list_ = nullptr;
}

}  // namespace squall::detail
