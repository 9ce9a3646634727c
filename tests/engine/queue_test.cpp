// Tests for engine/queue.hpp on a real loop: bounds, FIFO hand-off between
// waiting and non-waiting callers, deadlines and cancellation that neither
// lose nor leak items, move-only items, join/task_done, Tornado's worker
// pool, and a long run through a small bounded queue.
#include <squall/engine/queue.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <vector>

#include <squall/engine/cancel.hpp>
#include <squall/engine/loop.hpp>
#include <squall/engine/time.hpp>

using namespace squall;
using namespace std::chrono_literals;

// ASSERT_* returns, which a coroutine may not do. co_await is never put
// inside a gtest macro, an if condition or an arm of ?: here, because
// GCC 12 miscompiles those (double destruction, hangs; see Catch2 issue
// #2925); results are bound to a variable first.
#define CO_ASSERT_TRUE(cond)                      \
    if (!(cond)) {                                \
        ADD_FAILURE() << "expected true: " #cond; \
        co_return;                                \
    }

namespace {

using int_queue = queue<int>;
using ptr_queue = queue<std::unique_ptr<int>>;

task<void> settle(int turns = 4) {
    for (int i = 0; i < turns; ++i) co_await sleep(0ms);
}

// One get (deadline `d` unless zero); records the value or the error.
task<void> get_one(int_queue* q, clock::duration d, std::vector<int>* got, std::error_code* out) {
    result<int> r = co_await (d == clock::duration::zero() ? q->get() : q->get_for(d));
    if (out) *out = r.error();
    if (r) got->push_back(*r);
}

task<void> put_one(int_queue* q, int v, clock::duration d, std::error_code* out) {
    result<void> r = co_await (d == clock::duration::zero() ? q->put(v) : q->put_for(v, d));
    *out = r ? std::error_code() : r.error();
}

}  // namespace

TEST(queue, nowait_bounds_and_fifo) {
    loop l;
    ptr_queue q(2);
    EXPECT_EQ(q.maxsize(), 2u);
    EXPECT_TRUE(q.empty());
    EXPECT_EQ(q.get_nowait().error(), errc::empty);
    EXPECT_TRUE(q.put_nowait(std::make_unique<int>(1)));
    EXPECT_TRUE(q.put_nowait(std::make_unique<int>(2)));
    EXPECT_TRUE(q.full());
    auto third = std::make_unique<int>(3);
    EXPECT_EQ(q.put_nowait(std::move(third)).error(), errc::full);
    ASSERT_TRUE(third);  // a failed put_nowait leaves the item with the caller
    EXPECT_EQ(q.qsize(), 2u);
    EXPECT_EQ(**q.get_nowait(), 1);
    EXPECT_TRUE(q.put_nowait(std::move(third)));
    EXPECT_EQ(**q.get_nowait(), 2);
    EXPECT_EQ(**q.get_nowait(), 3);
    EXPECT_TRUE(q.empty());

    int_queue unbounded;
    for (int i = 0; i < 1000; ++i) EXPECT_TRUE(unbounded.put_nowait(i));
    EXPECT_FALSE(unbounded.full());
    EXPECT_EQ(unbounded.qsize(), 1000u);
}

TEST(queue, bounded_put_waits_for_a_get_and_keeps_fifo) {
    loop l;
    int_queue q(1);
    l.run_sync([](loop* l, int_queue* q) -> task<void> {
        result<void> first = co_await q->put(1);
        CO_ASSERT_TRUE(first);
        std::error_code a{errc::closed}, b{errc::closed};
        l->spawn(put_one(q, 2, {}, &a));
        l->spawn(put_one(q, 3, {}, &b));
        co_await settle();
        EXPECT_EQ(a, errc::closed);  // still waiting
        EXPECT_EQ(q->qsize(), 1u);
        EXPECT_EQ(*q->get_nowait(), 1);
        // Item 2 entered the queue at once, so a put_nowait cannot overtake
        // it or item 3, which is still waiting.
        EXPECT_EQ(q->qsize(), 1u);
        EXPECT_EQ(q->put_nowait(4).error(), errc::full);
        result<int> two = co_await q->get();
        result<int> three = co_await q->get();
        EXPECT_EQ(*two, 2);
        EXPECT_EQ(*three, 3);
        co_await settle();
        EXPECT_FALSE(a);
        EXPECT_FALSE(b);
        EXPECT_TRUE(q->empty());
    }(&l, &q));
}

TEST(queue, woken_getter_owns_its_item_and_getters_are_fifo) {
    loop l;
    int_queue q;
    std::vector<int> got;
    l.run_sync([](loop* l, int_queue* q, std::vector<int>* got) -> task<void> {
        l->spawn(get_one(q, {}, got, nullptr));
        l->spawn(get_one(q, {}, got, nullptr));
        co_await settle();
        EXPECT_TRUE(q->put_nowait(10));
        // The item went to the first getter, which has not run yet; a
        // get_nowait now must not steal it.
        EXPECT_EQ(q->get_nowait().error(), errc::empty);
        result<void> put = co_await q->put(20);
        EXPECT_TRUE(put);
        EXPECT_TRUE(got->empty());
        co_await settle();
        EXPECT_EQ(*got, (std::vector<int>{10, 20}));
    }(&l, &q, &got));
}

TEST(queue, timed_out_or_cancelled_get_loses_nothing) {
    loop l;
    int_queue q;
    l.run_sync([](loop* l, int_queue* q) -> task<void> {
        std::vector<int> got;
        std::error_code timed, canceled;
        cancel_source src;
        l->spawn(get_one(q, 10ms, &got, &timed));
        l->spawn(get_one(q, {}, &got, &canceled), src.token());
        co_await settle();
        src.request_cancel();
        co_await sleep(30ms);
        EXPECT_EQ(timed, errc::timed_out);
        EXPECT_EQ(canceled, errc::canceled);
        result<int> late = co_await with_timeout(5ms, q->get());
        EXPECT_EQ(late.error(), errc::timed_out);
        EXPECT_TRUE(q->put_nowait(7));
        EXPECT_EQ(q->qsize(), 1u);  // no dead getter swallowed it
        EXPECT_EQ(*q->get_nowait(), 7);
        EXPECT_TRUE(got.empty());
    }(&l, &q));
}

TEST(queue, timed_out_or_cancelled_put_leaves_no_item) {
    loop l;
    int_queue q(1);
    l.run_sync([](loop* l, int_queue* q) -> task<void> {
        CO_ASSERT_TRUE(q->put_nowait(1));
        std::error_code timed, canceled;
        cancel_source src;
        l->spawn(put_one(q, 2, 10ms, &timed));
        l->spawn(put_one(q, 3, {}, &canceled), src.token());
        co_await settle();
        src.request_cancel();
        co_await sleep(30ms);
        EXPECT_EQ(timed, errc::timed_out);
        EXPECT_EQ(canceled, errc::canceled);
        result<void> late = co_await with_timeout(5ms, q->put(4));
        EXPECT_EQ(late.error(), errc::timed_out);
        EXPECT_EQ(*q->get_nowait(), 1);
        EXPECT_TRUE(q->empty());  // neither 2, 3 nor 4 got in
        EXPECT_TRUE(q->put_nowait(5));
        EXPECT_EQ(*q->get_nowait(), 5);
    }(&l, &q));
}

TEST(queue, move_only_items_through_waiting_paths) {
    loop l;
    ptr_queue q(1);
    l.run_sync([](loop* l, ptr_queue* q) -> task<void> {
        auto getter = [](ptr_queue* q, int* out) -> task<void> {
            result<std::unique_ptr<int>> r = co_await q->get();
            if (r) *out = **r;
        };
        int got = 0;
        l->spawn(getter(q, &got));
        co_await settle();
        result<void> p41 = co_await q->put(std::make_unique<int>(41));
        CO_ASSERT_TRUE(p41);
        result<void> p42 = co_await q->put(std::make_unique<int>(42));
        CO_ASSERT_TRUE(p42);
        co_await settle();
        EXPECT_EQ(got, 41);
        result<std::unique_ptr<int>> r = co_await with_timeout(1s, q->get());
        CO_ASSERT_TRUE(r && *r);
        EXPECT_EQ(**r, 42);
        result<std::unique_ptr<int>> none = co_await q->get_for(1ms);
        EXPECT_EQ(none.error(), errc::timed_out);
    }(&l, &q));
}

TEST(queue, join_waits_for_task_done_of_every_item) {
    loop l;
    int_queue q;
    l.run_sync([](loop* l, int_queue* q) -> task<void> {
        result<void> idle = co_await q->join();  // nothing put yet: no wait
        EXPECT_TRUE(idle);
        for (int i = 0; i < 3; ++i) CO_ASSERT_TRUE(q->put_nowait(i));
        result<void> early = co_await q->join_for(5ms);
        EXPECT_EQ(early.error(), errc::timed_out);
        auto joiner = [](int_queue* q, bool* done) -> task<void> {
            result<void> r = co_await q->join();
            *done = r.has_value();
        };
        bool done = false;
        l->spawn(joiner(q, &done));
        for (int i = 0; i < 3; ++i) CO_ASSERT_TRUE(q->get_nowait());
        EXPECT_TRUE(q->task_done());
        EXPECT_TRUE(q->task_done());
        co_await settle();
        EXPECT_FALSE(done);  // one item is still being processed
        EXPECT_TRUE(q->task_done());
        co_await settle();
        EXPECT_TRUE(done);
        EXPECT_EQ(q->task_done().error(), errc::not_acquired);
    }(&l, &q));
}

namespace {

struct pool_state {
    int_queue q{2};
    std::vector<int> seen;  // how often each item was processed
    int busy_max = 0;
    int busy = 0;
    std::vector<std::error_code> exits;
};

// Tornado's queue example: consumers get forever and mark items done.
task<void> consumer(pool_state* s) {
    for (;;) {
        result<int> r = co_await s->q.get();
        if (!r) {
            s->exits.push_back(r.error());
            co_return;
        }
        s->busy_max = std::max(s->busy_max, ++s->busy);
        co_await sleep(0ms);  // the work
        --s->busy;
        ++s->seen[static_cast<std::size_t>(*r)];
        (void)s->q.task_done();
    }
}

task<void> producer(pool_state* s, int n) {
    for (int i = 0; i < n; ++i) {
        result<void> r = co_await s->q.put(i);
        if (!r) co_return;
        EXPECT_LE(s->q.qsize(), 2u);
    }
    result<void> joined = co_await s->q.join();
    EXPECT_TRUE(joined);
}

}  // namespace

TEST(queue, worker_pool_processes_every_item_once) {
    constexpr int n = 200;
    constexpr int k = 3;
    loop l;
    pool_state s;
    s.seen.assign(n, 0);
    cancel_source workers;
    for (int i = 0; i < k; ++i) l.spawn(consumer(&s), workers.token());
    l.run_sync(producer(&s, n));
    for (int i = 0; i < n; ++i) EXPECT_EQ(s.seen[static_cast<std::size_t>(i)], 1) << "item " << i;
    EXPECT_EQ(s.busy_max, k);  // the consumers really worked side by side
    EXPECT_TRUE(s.q.empty());
    workers.request_cancel();
    l.run_sync(settle());
    EXPECT_EQ(s.exits, std::vector<std::error_code>(k, errc::canceled));
}

namespace {

task<void> count_up(int_queue* q, int n) {
    for (int i = 0; i < n; ++i) {
        result<void> r = co_await q->put(i);
        if (!r) co_return;
    }
}

task<void> check_order(int_queue* q, int n, int* received) {
    for (int i = 0; i < n; ++i) {
        result<int> r = co_await q->get();
        if (!r || *r != i) {
            ADD_FAILURE() << "item " << i << " came out as " << (r ? *r : -1);
            co_return;
        }
        ++*received;
    }
}

}  // namespace

TEST(queue, hundred_thousand_items_in_order) {
    constexpr int n = 100'000;
    loop l;
    int_queue q(16);
    int received = 0;
    l.spawn(count_up(&q, n));
    l.run_sync(check_order(&q, n, &received));
    EXPECT_EQ(received, n);
    EXPECT_TRUE(q.empty());
}

TEST(queue, destroyed_queue_while_tasks_wait_is_safe) {
    loop l;
    l.run_sync([](loop* l) -> task<void> {
        auto q = std::make_unique<int_queue>(1);
        CO_ASSERT_TRUE(q->put_nowait(1));
        std::vector<int> got;
        std::error_code put_ec, get_ec;
        auto empty = std::make_unique<int_queue>();
        l->spawn(put_one(q.get(), 2, 10ms, &put_ec));
        l->spawn(get_one(empty.get(), 10ms, &got, &get_ec));
        co_await settle();
        q.reset();
        empty.reset();
        co_await sleep(30ms);
        EXPECT_EQ(put_ec, errc::timed_out);
        EXPECT_EQ(get_ec, errc::timed_out);
    }(&l));
}

// An item handed to a getter whose frame the loop destroys before it ran
// goes back into the queue.
TEST(queue, loop_destroyed_before_a_woken_getter_runs_returns_the_item) {
    int_queue q;
    std::vector<int> got;
    {
        loop l;
        l.run_sync([](loop* l, int_queue* q, std::vector<int>* got) -> task<void> {
            l->spawn(get_one(q, {}, got, nullptr));
            co_await settle();
            EXPECT_TRUE(q->put_nowait(9));
        }(&l, &q, &got));
    }
    EXPECT_TRUE(got.empty());
    ASSERT_EQ(q.qsize(), 1u);
    EXPECT_EQ(*q.get_nowait(), 9);
}
