// intrusive_list: the one doubly-linked list of borrowed nodes the engine
// uses (waiters, hand-off nodes, cancel callbacks, the loop's root tasks).
//
// A node derives from list_hook<Tag> (a type may sit on several lists
// through different tags) and is linked into at most one list per tag.
// The list is circular around a sentinel, so a node unlinks itself in O(1)
// without knowing its list: a node unlinks itself when it is destroyed,
// and a list detaches (unlinks) every node still on it when it is
// destroyed, so either may go first. No allocation; nothing is owned.
//
// Neither lists nor hooks move or copy (nodes point into both). Not
// thread-safe: the loop thread only. Tests: tests/engine/intrusive_list_test.cpp.
#pragma once

namespace squall::detail {

template <class T, class Tag>
class intrusive_list;

template <class Tag = void>
class list_hook {
public:
    list_hook() noexcept = default;
    list_hook(const list_hook&) = delete;
    list_hook& operator=(const list_hook&) = delete;
    ~list_hook() { unlink(); }

    bool linked() const noexcept { return next_ != nullptr; }
    // Leaves whatever list holds the node; nothing when it is on none.
    void unlink() noexcept {
        if (!next_) return;
        prev_->next_ = next_;
        next_->prev_ = prev_;
        prev_ = next_ = nullptr;
    }

private:
    template <class, class>
    friend class intrusive_list;
    list_hook* prev_ = nullptr;
    list_hook* next_ = nullptr;
};

template <class T, class Tag = void>
class intrusive_list {
    using hook = list_hook<Tag>;

public:
    intrusive_list() noexcept { root_.prev_ = root_.next_ = &root_; }
    intrusive_list(const intrusive_list&) = delete;
    intrusive_list& operator=(const intrusive_list&) = delete;
    ~intrusive_list() { clear(); }

    bool empty() const noexcept { return root_.next_ == &root_; }
    // The first node, or null.
    T* front() noexcept { return empty() ? nullptr : node(root_.next_); }
    // The node after `n` on this list, or null at the end.
    T* next(T* n) noexcept {
        hook* h = as_hook(n)->next_;
        return h == &root_ ? nullptr : node(h);
    }

    // `n` must be on no list of this tag.
    void push_back(T* n) noexcept { link_before(&root_, as_hook(n)); }
    void push_front(T* n) noexcept { link_before(root_.next_, as_hook(n)); }
    // Unlinks and returns the first node, or null.
    T* pop_front() noexcept {
        if (empty()) return nullptr;
        hook* h = root_.next_;
        h->unlink();
        return node(h);
    }
    // Unlinks every node; they stay alive and may be linked again.
    void clear() noexcept {
        while (!empty()) root_.next_->unlink();
    }

private:
    static hook* as_hook(T* n) noexcept { return static_cast<hook*>(n); }
    static T* node(hook* h) noexcept { return static_cast<T*>(h); }
    static void link_before(hook* at, hook* h) noexcept {
        h->next_ = at;
        h->prev_ = at->prev_;
        at->prev_->next_ = h;
        at->prev_ = h;
    }

    // The sentinel: root_.next_ is the first node, root_.prev_ the last.
    // Its own destructor finds it linked to itself and is harmless.
    hook root_;
};

}  // namespace squall::detail
