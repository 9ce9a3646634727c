// timer_heap: the loop's timers, an indexed binary min-heap keyed by
// (deadline, insertion order) so that cancel is O(log n) and timers due at
// the same instant fire in the order they were added.
//
// Nodes live in a slab; a handle is (slot, generation), so a stale handle
// never cancels a later timer that reused the slot. One ring timeout per
// loop turn (the wait's timeout) drives the whole heap. Loop-thread only.
// Tests: tests/engine/timer_test.cpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

namespace squall::detail {

class timer_heap {
public:
    using clock = std::chrono::steady_clock;
    struct id {
        std::uint32_t slot = 0;
        std::uint32_t gen = 0;  // 0 never names a live timer
    };

    id add(clock::time_point when, std::function<void()> fn);
    // True when the timer was pending (it will not run); false when it
    // already ran, was cancelled, or the id is stale.
    bool cancel(id t) noexcept;
    bool pending(id t) const noexcept;

    std::optional<clock::time_point> next_deadline() const noexcept;
    // Runs every timer due at `now`, earliest first. Timers added by the
    // callbacks wait for the next call; one cancelled by an earlier
    // callback of the same batch does not run. Returns how many ran.
    std::size_t run_due(clock::time_point now);
    std::size_t size() const noexcept { return heap_.size(); }
    std::uint64_t added() const noexcept { return seq_; }  // timers ever added
    void clear() noexcept;

private:
    static constexpr std::uint32_t not_in_heap = UINT32_MAX;
    struct node {
        clock::time_point when;
        std::uint64_t seq = 0;
        std::uint32_t pos = not_in_heap;
        std::uint32_t gen = 1;
        std::function<void()> fn;
    };

    bool less(std::uint32_t a, std::uint32_t b) const noexcept;
    void place(std::uint32_t pos, std::uint32_t slot) noexcept;
    void sift_up(std::uint32_t pos) noexcept;
    void sift_down(std::uint32_t pos) noexcept;
    void remove_at(std::uint32_t pos) noexcept;
    void release(std::uint32_t slot) noexcept;

    std::vector<node> nodes_;
    std::vector<std::uint32_t> free_;
    std::vector<std::uint32_t> heap_;
    std::vector<id> due_;
    std::uint64_t seq_ = 0;
};

}  // namespace squall::detail
