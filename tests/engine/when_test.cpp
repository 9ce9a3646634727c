#include <squall/engine/when.hpp>

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include <squall/engine/time.hpp>

using namespace squall;
using namespace std::chrono_literals;

namespace {

task<int> after(std::chrono::milliseconds d, int v) {
    co_await sleep(d);
    co_return v;
}

task<std::string> text_after(std::chrono::milliseconds d, std::string s) {
    co_await sleep(d);
    co_return s;
}

task<void> mark_after(std::chrono::milliseconds d, int* out, int v) {
    auto r = co_await sleep(d);
    *out = r ? v : -1;  // -1: cancelled
}

task<int> fail_after(std::chrono::milliseconds d) {
    co_await sleep(d);
    throw std::runtime_error("child failed");
}

}  // namespace

TEST(when_all, gathers_values_in_argument_order) {
    loop l;
    int marked = 0;
    auto [a, b, c] = l.run_sync(when_all(after(3ms, 1), text_after(1ms, "two"), mark_after(2ms, &marked, 3)));
    EXPECT_EQ(a, 1);
    EXPECT_EQ(b, "two");
    EXPECT_EQ(c, std::monostate{});
    EXPECT_EQ(marked, 3);
}

TEST(when_all, vector_form_and_immediate_children) {
    loop l;
    std::vector<task<int>> ts;
    for (int i = 0; i < 100; ++i) ts.push_back(after(std::chrono::milliseconds(i % 3), i));
    auto values = l.run_sync(when_all(std::move(ts)));
    ASSERT_EQ(values.size(), 100u);
    for (int i = 0; i < 100; ++i) EXPECT_EQ(values[i], i);
    EXPECT_TRUE(l.run_sync(when_all(std::vector<task<int>>{})).empty());
}

TEST(when_all, a_failure_cancels_the_siblings_and_rethrows) {
    loop l;
    int sibling = 0;
    EXPECT_THROW(l.run_sync(when_all(fail_after(1ms), mark_after(1h, &sibling, 1))), std::runtime_error);
    EXPECT_EQ(sibling, -1);
    EXPECT_EQ(l.timers_pending(), 0u);
}

TEST(when_any, first_to_finish_wins_and_the_rest_are_cancelled) {
    loop l;
    int slow = 0;
    auto v = l.run_sync(when_any(after(1h, 1), text_after(2ms, "fast"), mark_after(1h, &slow, 3)));
    ASSERT_EQ(v.index(), 1u);
    EXPECT_EQ(std::get<1>(v), "fast");
    EXPECT_EQ(slow, -1);
    EXPECT_EQ(l.timers_pending(), 0u);
}

TEST(when_any, vector_form) {
    loop l;
    std::vector<task<int>> ts;
    ts.push_back(after(1h, 10));
    ts.push_back(after(1ms, 20));
    auto [index, value] = l.run_sync(when_any(std::move(ts)));
    EXPECT_EQ(index, 1u);
    EXPECT_EQ(value, 20);
    EXPECT_THROW(l.run_sync(when_any(std::vector<task<int>>{})), std::invalid_argument);
}

TEST(when_any, outer_cancellation_reaches_every_child) {
    loop l;
    int a = 0, b = 0;
    auto r = l.run_sync(with_timeout(2ms, when_any(mark_after(1h, &a, 1), mark_after(1h, &b, 2))));
    // Both children saw the cancel; the first to finish (cancelled) wins.
    EXPECT_EQ(a, -1);
    EXPECT_EQ(b, -1);
    EXPECT_TRUE(r.has_value());
}
