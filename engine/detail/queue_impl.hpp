// Definitions of queue<T>'s members, kept out of engine/queue.hpp so that
// the header reads as the contract. Included only by engine/queue.hpp.
#pragma once

#include <optional>
#include <utility>

#include <squall/engine/queue.hpp>

namespace squall {

template <class T>
result<void> queue<T>::put_nowait(T&& item) {
    if (!try_put(item)) return errc::full;
    return {};
}

template <class T>
result<void> queue<T>::put_nowait(const T& item) {
    T copy(item);
    return put_nowait(std::move(copy));
}

template <class T>
result<T> queue<T>::get_nowait() {
    std::optional<T> out;
    if (!try_get(out)) return errc::empty;
    return std::move(*out);
}

template <class T>
result<void> queue<T>::task_done() noexcept {
    if (unfinished_ == 0) return errc::not_acquired;
    if (--unfinished_ == 0) finished_.set();
    return {};
}

// Moves `item` into the queue, or into the oldest waiting getter, unless
// the queue is full; `item` is untouched when this returns false.
template <class T>
bool queue<T>::try_put(T& item) {
    if (detail::handoff_node* n = getters_.front()) {
        // A getter waits only while the queue is empty, so handing it the
        // item keeps FIFO order.
        count_put();
        static_cast<get_awaitable*>(n)->item_.emplace(std::move(item));
        getters_.grant(n);
        return true;
    }
    if (full()) return false;
    count_put();
    items_.push_back(std::move(item));
    return true;
}

template <class T>
bool queue<T>::try_get(std::optional<T>& out) {
    if (items_.empty()) return false;
    out.emplace(std::move(items_.front()));
    items_.pop_front();
    admit_putter();
    return true;
}

// A get made room: the oldest waiting put's item joins the queue now, so a
// later put_nowait cannot overtake it.
template <class T>
void queue<T>::admit_putter() {
    detail::handoff_node* n = putters_.front();
    if (!n) return;
    count_put();
    items_.push_back(std::move(static_cast<put_awaitable*>(n)->item_));
    putters_.grant(n);
}

// An item granted to a getter that will never run. It was counted when it
// was put, so only its place changes: the next getter, else the head.
template <class T>
void queue<T>::give_back(T&& item) {
    if (detail::handoff_node* n = getters_.front()) {
        static_cast<get_awaitable*>(n)->item_.emplace(std::move(item));
        getters_.grant(n);
        return;
    }
    items_.push_front(std::move(item));
}

}  // namespace squall
