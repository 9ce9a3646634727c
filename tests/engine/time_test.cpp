#include <squall/engine/time.hpp>

#include <gtest/gtest.h>

#include <stdexcept>

using namespace squall;
using namespace std::chrono_literals;

namespace {

task<int> slow_value(std::chrono::milliseconds d, int v) {
    co_await sleep(d);
    co_return v;
}

task<result<int>> slow_result(std::chrono::milliseconds d, int v) {
    auto r = co_await sleep(d);
    if (!r) co_return r.error();
    co_return v;
}

task<void> slow_void(std::chrono::milliseconds d, bool* finished) {
    auto r = co_await sleep(d);
    *finished = r.has_value();
}

task<void> slow_throw() {
    co_await sleep(1ms);
    throw std::runtime_error("inner failure");
}

}  // namespace

TEST(time, sleep_waits_at_least_the_duration) {
    loop l;
    auto start = clock::now();
    auto r = l.run_sync([]() -> task<result<void>> { co_return co_await sleep(10ms); }());
    EXPECT_TRUE(r);
    EXPECT_GE(clock::now() - start, 10ms);
    EXPECT_EQ(l.timers_pending(), 0u);
}

TEST(time, with_timeout_passes_a_fast_value_through) {
    loop l;
    auto r = l.run_sync(with_timeout(1s, slow_value(1ms, 42)));
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, 42);
    EXPECT_EQ(l.timers_pending(), 0u);  // the deadline timer is gone
}

TEST(time, with_timeout_cancels_a_slow_task) {
    loop l;
    auto r = l.run_sync(with_timeout(2ms, slow_result(1h, 1)));
    EXPECT_EQ(r.error(), errc::timed_out);
    EXPECT_EQ(l.timers_pending(), 0u);  // the hour-long sleep was cancelled
}

TEST(time, with_timeout_on_a_void_task) {
    loop l;
    bool finished = true;
    auto r = l.run_sync(with_timeout(2ms, slow_void(1h, &finished)));
    EXPECT_EQ(r.error(), errc::timed_out);
    EXPECT_FALSE(finished);
}

TEST(time, with_timeout_propagates_exceptions) {
    loop l;
    EXPECT_THROW((void)l.run_sync(with_timeout(1s, slow_throw())), std::runtime_error);
}

TEST(time, nested_timeouts_the_outer_wins_when_shorter) {
    loop l;
    auto nested = []() -> task<result<int>> { co_return co_await with_timeout(1h, slow_result(1h, 5)); };
    auto r = l.run_sync(with_timeout(3ms, nested()));
    EXPECT_EQ(r.error(), errc::timed_out);
    EXPECT_EQ(l.timers_pending(), 0u);
}

TEST(time, with_timeout_takes_an_awaitable) {
    loop l;
    auto r = l.run_sync(with_timeout(2ms, sleep(1h)));
    EXPECT_EQ(r.error(), errc::timed_out);  // the cancelled sleep is reported as the timeout
    EXPECT_EQ(l.timers_pending(), 0u);
}

TEST(time, sleep_is_cancelled_by_its_token) {
    loop l;
    cancel_source src;
    l.call_later(2ms, [&] { src.request_cancel(); });
    auto t = []() -> task<result<void>> { co_return co_await sleep(1h); }();
    t.set_cancel_token(src.token());
    auto r = l.run_sync(std::move(t));
    EXPECT_EQ(r.error(), errc::canceled);
}
