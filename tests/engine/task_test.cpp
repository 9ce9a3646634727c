#include <squall/engine/task.hpp>

#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>

#include <squall/engine/loop.hpp>

using namespace squall;

namespace {

task<int> value(int v) { co_return v; }

task<int> sum_to(int n) {
    int total = 0;
    for (int i = 1; i <= n; ++i) total += co_await value(i);
    co_return total;
}

task<int> count_awaits(int n) {
    int total = 0;
    for (int i = 0; i < n; ++i) total += co_await value(1);
    co_return total;
}

task<void> thrower() {
    throw std::runtime_error("boom");
    co_return;
}

task<std::string> catches() {
    try {
        co_await thrower();
    } catch (const std::runtime_error& e) {
        co_return std::string("caught ") + e.what();
    }
    co_return "not caught";
}

task<std::unique_ptr<int>> move_only() { co_return std::make_unique<int>(5); }

task<bool> is_lazy(bool* started) {
    *started = true;
    co_return true;
}

task<cancel_state*> token_seen() { co_return (co_await current_cancel_token()).state(); }

task<cancel_state*> outer_token() { co_return co_await token_seen(); }

}  // namespace

TEST(task, returns_values_through_nested_awaits) {
    loop l;
    EXPECT_EQ(l.run_sync(sum_to(100)), 5050);
}

// A million synchronously completing awaits would overflow the stack
// without symmetric transfer. GCC emits the transfer as a tail call only
// in optimised builds without AddressSanitizer (ASan's instrumentation
// keeps each resume frame alive), so the sanitizer build checks the same
// chain at a depth its stack holds.
#if defined(__SANITIZE_ADDRESS__)
constexpr int await_depth = 1'000;
#else
constexpr int await_depth = 1'000'000;
#endif

TEST(task, symmetric_transfer_keeps_the_stack_flat) {
    loop l;
    EXPECT_EQ(l.run_sync(count_awaits(await_depth)), await_depth);
}

TEST(task, exceptions_propagate_to_the_awaiter) {
    loop l;
    EXPECT_EQ(l.run_sync(catches()), "caught boom");
    EXPECT_THROW(l.run_sync(thrower()), std::runtime_error);
}

TEST(task, move_only_results) {
    loop l;
    auto p = l.run_sync(move_only());
    ASSERT_TRUE(p);
    EXPECT_EQ(*p, 5);
}

TEST(task, is_lazy_until_awaited) {
    loop l;
    bool started = false;
    {
        auto t = is_lazy(&started);
        EXPECT_FALSE(started);
    }  // destroyed without running
    EXPECT_FALSE(started);
    EXPECT_TRUE(l.run_sync(is_lazy(&started)));
    EXPECT_TRUE(started);
}

TEST(task, children_inherit_the_cancel_token) {
    loop l;
    cancel_source src;
    auto t = outer_token();
    t.set_cancel_token(src.token());
    EXPECT_EQ(l.run_sync(std::move(t)), src.token().state());
    EXPECT_EQ(l.run_sync(outer_token()), nullptr);
}
