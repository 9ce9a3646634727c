#include <squall/engine/detail/timer_heap.hpp>

#include <utility>

#include <squall/engine/detail/log.hpp>

namespace squall::detail {

timer_heap::id timer_heap::add(clock::time_point when, std::function<void()> fn) {
    std::uint32_t slot;
    if (!free_.empty()) {
        slot = free_.back();
        free_.pop_back();
    } else {
        slot = static_cast<std::uint32_t>(nodes_.size());
        nodes_.emplace_back();
    }
    node& n = nodes_[slot];
    n.when = when;
    n.seq = seq_++;
    n.fn = std::move(fn);
    heap_.push_back(slot);
    n.pos = static_cast<std::uint32_t>(heap_.size() - 1);
    sift_up(n.pos);
    return {slot, n.gen};
}

bool timer_heap::pending(id t) const noexcept {
    return t.slot < nodes_.size() && nodes_[t.slot].gen == t.gen && t.gen != 0;
}

bool timer_heap::cancel(id t) noexcept {
    if (!pending(t)) return false;
    node& n = nodes_[t.slot];
    if (n.pos != not_in_heap) remove_at(n.pos);
    release(t.slot);
    return true;
}

std::optional<timer_heap::clock::time_point> timer_heap::next_deadline() const noexcept {
    if (heap_.empty()) return std::nullopt;
    return nodes_[heap_.front()].when;
}

std::size_t timer_heap::run_due(clock::time_point now) {
    // Take the whole due batch out of the heap first, so that callbacks
    // adding timers at `now` cannot keep this call going for ever.
    due_.clear();
    while (!heap_.empty() && nodes_[heap_.front()].when <= now) {
        std::uint32_t slot = heap_.front();
        remove_at(0);
        due_.push_back({slot, nodes_[slot].gen});
    }
    std::size_t ran = 0;
    // Index loop: a callback may add timers, which can grow nodes_ but
    // never touches due_ (run_due is not reentrant).
    for (std::size_t i = 0; i < due_.size(); ++i) {
        id t = due_[i];
        if (!pending(t)) continue;  // cancelled by an earlier callback
        std::function<void()> fn = std::move(nodes_[t.slot].fn);
        release(t.slot);
        try {
            fn();
        } catch (...) {
            log_exception("a timer callback", std::current_exception());
        }
        ++ran;
    }
    return ran;
}

void timer_heap::clear() noexcept {
    for (std::uint32_t slot : heap_) release(slot);
    heap_.clear();
}

bool timer_heap::less(std::uint32_t a, std::uint32_t b) const noexcept {
    const node& x = nodes_[a];
    const node& y = nodes_[b];
    return x.when < y.when || (x.when == y.when && x.seq < y.seq);
}

void timer_heap::place(std::uint32_t pos, std::uint32_t slot) noexcept {
    heap_[pos] = slot;
    nodes_[slot].pos = pos;
}

void timer_heap::sift_up(std::uint32_t pos) noexcept {
    std::uint32_t slot = heap_[pos];
    while (pos > 0) {
        std::uint32_t parent = (pos - 1) / 2;
        if (!less(slot, heap_[parent])) break;
        place(pos, heap_[parent]);
        pos = parent;
    }
    place(pos, slot);
}

void timer_heap::sift_down(std::uint32_t pos) noexcept {
    std::uint32_t slot = heap_[pos];
    const auto n = static_cast<std::uint32_t>(heap_.size());
    for (;;) {
        std::uint32_t child = 2 * pos + 1;
        if (child >= n) break;
        if (child + 1 < n && less(heap_[child + 1], heap_[child])) ++child;
        if (!less(heap_[child], slot)) break;
        place(pos, heap_[child]);
        pos = child;
    }
    place(pos, slot);
}

void timer_heap::remove_at(std::uint32_t pos) noexcept {
    std::uint32_t removed = heap_[pos];
    std::uint32_t last = heap_.back();
    heap_.pop_back();
    nodes_[removed].pos = not_in_heap;
    if (pos == heap_.size()) return;
    place(pos, last);
    if (pos > 0 && less(last, heap_[(pos - 1) / 2])) sift_up(pos);
    else sift_down(pos);
}

void timer_heap::release(std::uint32_t slot) noexcept {
    node& n = nodes_[slot];
    n.fn = nullptr;
    n.pos = not_in_heap;
    if (++n.gen == 0) n.gen = 1;
    free_.push_back(slot);
}

}  // namespace squall::detail
