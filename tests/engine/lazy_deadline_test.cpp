#include <squall/engine/detail/lazy_deadline.hpp>

#include <gtest/gtest.h>

#include <coroutine>

#include <squall/engine/detail/waiter.hpp>
#include <squall/engine/time.hpp>

using namespace squall;
using namespace squall::detail;
using namespace std::chrono_literals;

namespace {

// Waits on `list` (when given) until `when`, the deadline held by `series`.
struct series_wait {
    series_wait(lazy_deadline* s, clock::time_point t) noexcept : series(s), when(t) {}
    lazy_deadline* series;
    clock::time_point when;
    waiter_list* list = nullptr;
    waiter w;
    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> h) { return w.park(h, nullptr, *series, when, list); }
    result<void> await_resume() const noexcept { return w.status(); }
};

task<result<void>> wait_until(lazy_deadline* series, clock::time_point when) {
    co_return co_await series_wait{series, when};
}

// Parks a waiter on `series` with no task behind it (noop handle) and
// wakes it through its list, as a read that completes does.
void wait_and_wake(lazy_deadline& series, clock::time_point when) {
    waiter w;
    waiter_list list;
    ASSERT_TRUE(w.park(std::noop_coroutine(), nullptr, series, when, &list));
    ASSERT_TRUE(list.wake_one());
    EXPECT_EQ(w.state(), waiter::outcome::woken);
}

struct recorder {
    int expired = 0, forgotten = 0;
    static void fn(void* self, bool expired) noexcept {
        auto* r = static_cast<recorder*>(self);
        ++(expired ? r->expired : r->forgotten);
    }
};

}  // namespace

TEST(lazy_deadline, a_held_deadline_expires_at_its_time) {
    loop l;
    lazy_deadline series;
    auto start = clock::now();
    auto r = l.run_sync(wait_until(&series, start + 20ms));
    EXPECT_EQ(r.error(), errc::timed_out);
    EXPECT_GE(clock::now() - start, 20ms);
    EXPECT_FALSE(series.held());
    EXPECT_EQ(l.timers_pending(), 0u);  // nothing left to time
}

TEST(lazy_deadline, later_deadlines_one_after_another_share_one_timer) {
    loop l;
    lazy_deadline series;
    auto base = clock::now() + 1h;
    for (int i = 0; i < 100; ++i) {
        wait_and_wake(series, base + i * 1ms);
        EXPECT_FALSE(series.held());
        EXPECT_TRUE(series.armed());
        EXPECT_EQ(l.timers_pending(), 1u);  // the first wait's timer serves them all
    }
}

TEST(lazy_deadline, an_earlier_deadline_gets_a_timer_early_enough) {
    loop l;
    lazy_deadline series;
    wait_and_wake(series, clock::now() + 1h);  // armed an hour out
    auto start = clock::now();
    // (Bounded: were the hour-long timer kept, the wait would last an hour.)
    auto r = l.run_sync(with_timeout(10s, wait_until(&series, start + 5ms)));
    EXPECT_EQ(r.error(), errc::timed_out);
    EXPECT_LT(clock::now() - start, 10s);
    EXPECT_EQ(l.timers_pending(), 0u);  // the hour-long timer was replaced, not kept
}

TEST(lazy_deadline, a_timer_armed_for_an_earlier_wait_does_not_cut_a_later_one_short) {
    loop l;
    lazy_deadline series;
    auto start = clock::now();
    wait_and_wake(series, start + 5ms);  // armed for 5 ms, then released
    auto r = l.run_sync(wait_until(&series, start + 60ms));
    EXPECT_EQ(r.error(), errc::timed_out);
    EXPECT_GE(clock::now() - start, 60ms);  // re-armed at 5 ms for 60 ms
}

TEST(lazy_deadline, a_released_deadline_never_expires) {
    loop l;
    lazy_deadline series;
    recorder rec;
    ASSERT_TRUE(series.hold(&rec, &recorder::fn, clock::now() + 2ms));
    series.release(&rec);
    l.run_sync([]() -> task<void> { co_await sleep(10ms); }());
    EXPECT_EQ(rec.expired, 0);
    EXPECT_FALSE(series.armed());  // it fired, found nobody, and stopped
}

TEST(lazy_deadline, a_second_holder_is_refused_and_times_itself) {
    loop l;
    lazy_deadline series;
    recorder first;
    ASSERT_TRUE(series.hold(&first, &recorder::fn, clock::now() + 1h));
    recorder other;
    EXPECT_FALSE(series.hold(&other, &recorder::fn, clock::now() + 1ms));
    // A waiter refused by the series falls back to a timer of its own.
    auto start = clock::now();
    auto r = l.run_sync(wait_until(&series, start + 5ms));
    EXPECT_EQ(r.error(), errc::timed_out);
    EXPECT_EQ(first.expired, 0);
    EXPECT_TRUE(series.held());  // still the first holder's
}

TEST(lazy_deadline, a_destroyed_series_tells_its_holder_to_forget_it) {
    loop l;
    recorder rec;
    {
        lazy_deadline series;
        ASSERT_TRUE(series.hold(&rec, &recorder::fn, clock::now() + 1h));
    }
    EXPECT_EQ(rec.forgotten, 1);
    EXPECT_EQ(rec.expired, 0);
    EXPECT_EQ(l.timers_pending(), 0u);

    // A waiter whose series is gone waits on without a deadline, and is
    // still woken (and unlinked) safely.
    waiter w;
    waiter_list list;
    {
        lazy_deadline series;
        ASSERT_TRUE(w.park(std::noop_coroutine(), nullptr, series, clock::now() + 1h, &list));
    }
    EXPECT_EQ(w.state(), waiter::outcome::waiting);
    ASSERT_TRUE(list.wake_one());
    EXPECT_EQ(w.state(), waiter::outcome::woken);
}
