// chunk_ring: a FIFO of small values in one power-of-two array that is
// allocated on first use and grows by doubling. A stream's unread chunks
// live here: an idle connection holds no allocation (std::deque holds
// about 600 bytes even when empty), and a busy one reuses its array.
// Loop thread only. Tests: tests/engine/stream_test.cpp.
#pragma once

#include <cstddef>
#include <memory>
#include <utility>

namespace squall::detail {

template <class T>
class chunk_ring {
public:
    bool empty() const noexcept { return size_ == 0; }
    std::size_t size() const noexcept { return size_; }
    T& front() noexcept { return items_[head_]; }

    void push_back(T v) {
        if (size_ == capacity_) grow();
        items_[(head_ + size_) & (capacity_ - 1)] = std::move(v);
        ++size_;
    }
    void pop_front() noexcept {
        head_ = (head_ + 1) & (capacity_ - 1);
        --size_;
    }
    template <class F>
    void for_each(F&& f) {
        for (std::size_t i = 0; i < size_; ++i) f(items_[(head_ + i) & (capacity_ - 1)]);
    }
    void clear() noexcept { head_ = size_ = 0; }

private:
    void grow() {
        std::size_t cap = capacity_ ? capacity_ * 2 : 8;
        auto next = std::make_unique<T[]>(cap);
        for (std::size_t i = 0; i < size_; ++i) next[i] = std::move(items_[(head_ + i) & (capacity_ - 1)]);
        items_ = std::move(next);
        capacity_ = cap;
        head_ = 0;
    }

    std::unique_ptr<T[]> items_;
    std::size_t capacity_ = 0;
    std::size_t head_ = 0;
    std::size_t size_ = 0;
};

}  // namespace squall::detail
