#include <squall/engine/detail/handoff.hpp>

namespace squall::detail {

bool handoff_node::park(std::coroutine_handle<> h, cancel_state* token,
                        std::optional<clock::time_point> deadline, handoff_list& list) {
    // The waiter gets no waiter_list: this node's own links play that part,
    // so that the primitive can reach the awaitable it wakes.
    if (!w_.park(h, token, deadline, nullptr)) return false;
    list.waiting_.push_back(this);
    list_ = &list;
    return true;
}

void handoff_node::unlink() noexcept {
    if (!list_) return;
    // Only grant() wakes the waiter, so "woken" means "on the granted chain".
    (granted() ? list_->granted_ : list_->waiting_).remove(this);
    list_ = nullptr;
}

handoff_list::~handoff_list() {
    // The primitive is going away first: waiting tasks still end through
    // their deadline or token, and granted ones keep what they were given,
    // but none may touch this list again.
    waiting_.detach_all();
    granted_.detach_all();
}

handoff_node* handoff_list::front() noexcept {
    while (handoff_node* n = waiting_.head) {
        if (n->w_.state() == waiter::outcome::waiting) return n;
        // Its deadline or token won; the task resumes with that error and
        // must not be handed anything.
        waiting_.remove(n);
        n->list_ = nullptr;
    }
    return nullptr;
}

void handoff_list::grant(handoff_node* n) noexcept {
    waiting_.remove(n);
    granted_.push_back(n);
    n->w_.wake();
}

void handoff_list::chain::push_back(handoff_node* n) noexcept {
    n->prev_ = tail;
    n->next_ = nullptr;
    if (tail) tail->next_ = n;
    else head = n;
    tail = n;
}

void handoff_list::chain::remove(handoff_node* n) noexcept {
    if (n->prev_) n->prev_->next_ = n->next_;
    else head = n->next_;
    if (n->next_) n->next_->prev_ = n->prev_;
    else tail = n->prev_;
    n->prev_ = n->next_ = nullptr;
}

void handoff_list::chain::detach_all() noexcept {
    while (handoff_node* n = head) {
        head = n->next_;
        n->list_ = nullptr;
        n->prev_ = n->next_ = nullptr;
    }
    tail = nullptr;
}

}  // namespace squall::detail
