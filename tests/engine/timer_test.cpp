#include <squall/engine/detail/timer_heap.hpp>

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include <squall/engine/loop.hpp>

using namespace squall;
using namespace std::chrono_literals;
using detail::timer_heap;

TEST(timer_heap, runs_due_timers_in_order_with_fifo_ties) {
    timer_heap h;
    std::vector<int> order;
    auto t0 = timer_heap::clock::now();
    h.add(t0 + 3ms, [&] { order.push_back(3); });
    h.add(t0 + 1ms, [&] { order.push_back(1); });
    h.add(t0 + 2ms, [&] { order.push_back(20); });
    h.add(t0 + 2ms, [&] { order.push_back(21); });
    EXPECT_EQ(h.next_deadline(), t0 + 1ms);
    EXPECT_EQ(h.run_due(t0 + 2ms), 3u);
    EXPECT_EQ(order, (std::vector<int>{1, 20, 21}));
    EXPECT_EQ(h.size(), 1u);
}

TEST(timer_heap, a_callback_can_cancel_a_timer_of_the_same_batch) {
    timer_heap h;
    auto t0 = timer_heap::clock::now();
    int ran = 0;
    timer_heap::id second;
    h.add(t0, [&] {
        ++ran;
        EXPECT_TRUE(h.cancel(second));
    });
    second = h.add(t0, [&] { ran += 100; });
    EXPECT_EQ(h.run_due(t0), 1u);
    EXPECT_EQ(ran, 1);
}

TEST(timer_heap, timers_added_by_callbacks_wait_for_the_next_run) {
    timer_heap h;
    auto t0 = timer_heap::clock::now();
    int ran = 0;
    h.add(t0, [&] {
        ++ran;
        h.add(t0, [&] { ++ran; });
    });
    EXPECT_EQ(h.run_due(t0), 1u);
    EXPECT_EQ(h.run_due(t0), 1u);
    EXPECT_EQ(ran, 2);
}

TEST(timer_heap, stale_ids_do_not_cancel_a_reused_slot) {
    timer_heap h;
    auto t0 = timer_heap::clock::now();
    auto a = h.add(t0, [] {});
    EXPECT_TRUE(h.cancel(a));
    auto b = h.add(t0, [] {});
    EXPECT_EQ(a.slot, b.slot);
    EXPECT_FALSE(h.cancel(a));
    EXPECT_TRUE(h.pending(b));
}

TEST(timer_heap, random_cancels_keep_heap_order) {
    timer_heap h;
    std::mt19937 rng(42);
    auto t0 = timer_heap::clock::now();
    std::vector<timer_heap::id> ids;
    std::vector<timer_heap::clock::time_point> fired;
    for (int i = 0; i < 20'000; ++i) {
        auto when = t0 + std::chrono::microseconds(rng() % 100'000);
        ids.push_back(h.add(when, [&fired, when] { fired.push_back(when); }));
    }
    for (std::size_t i = 0; i < ids.size(); i += 3) EXPECT_TRUE(h.cancel(ids[i]));
    h.run_due(t0 + 1s);
    EXPECT_EQ(fired.size(), 20'000u - (20'000u + 2) / 3);
    EXPECT_TRUE(std::is_sorted(fired.begin(), fired.end()));
}

// The scale test: a million loop timers, half cancelled, every
// callback accounted for.
TEST(loop_timers, million_timers_half_cancelled) {
    constexpr int n = 1'000'000;
    loop l;
    std::vector<char> fired(n, 0);
    std::vector<timer_handle> handles;
    handles.reserve(n);
    std::mt19937 rng(7);
    for (int i = 0; i < n; ++i) {
        auto delay = std::chrono::microseconds(rng() % 50'000);
        handles.push_back(l.call_later(delay, [&fired, i] { ++fired[i]; }));
    }
    int cancelled = 0;
    for (int i = 0; i < n; i += 2) cancelled += handles[i].cancel();
    EXPECT_EQ(cancelled, n / 2);
    EXPECT_EQ(l.timers_pending(), static_cast<std::size_t>(n / 2));
    l.call_later(60ms, [&] { l.stop(); });
    l.run();
    EXPECT_EQ(l.timers_pending(), 0u);
    long ran = 0, wrong = 0;
    for (int i = 0; i < n; ++i) {
        ran += fired[i];
        if (fired[i] != (i % 2 == 0 ? 0 : 1)) ++wrong;
    }
    EXPECT_EQ(ran, n / 2);
    EXPECT_EQ(wrong, 0);
}
