// Tests for engine/sync.hpp on a real loop: wake order, deadlines,
// cancellation (token and with_timeout), hand-off without barging, guards,
// and primitives or loops destroyed while tasks wait.
#include <squall/engine/sync.hpp>

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

// Lets spawned and woken tasks run: each sleep(0) takes one loop turn.
task<void> settle(int turns = 4) {
    for (int i = 0; i < turns; ++i) co_await sleep(0ms);
}

// Waits on `e` (deadline `d` unless zero) and records the outcome.
task<void> wait_event(event* e, int id, clock::duration d, std::vector<int>* order, std::error_code* out) {
    result<void> r = co_await (d == clock::duration::zero() ? e->wait() : e->wait_for(d));
    if (out) *out = r.error();
    if (r) order->push_back(id);
}

// Locks `m`, records `id`, keeps the lock for one turn so that the next
// waiter cannot run before this one is done.
task<void> lock_and_record(mutex* m, int id, clock::duration d, std::vector<int>* order, std::error_code* out) {
    result<mutex_guard> g = co_await (d == clock::duration::zero() ? m->lock() : m->lock_for(d));
    if (out) *out = g.error();
    if (!g) co_return;
    order->push_back(id);
    co_await sleep(0ms);
}

task<void> acquire_and_record(semaphore* s, int id, clock::duration d, std::vector<int>* order, std::error_code* out) {
    result<semaphore_guard> g = co_await (d == clock::duration::zero() ? s->acquire() : s->acquire_for(d));
    if (out) *out = g.error();
    if (!g) co_return;
    order->push_back(id);
    co_await sleep(0ms);
}

task<void> wait_condition(condition* c, int id, clock::duration d, std::vector<int>* order, std::error_code* out) {
    result<void> r = co_await (d == clock::duration::zero() ? c->wait() : c->wait_for(d));
    if (out) *out = r.error();
    if (r) order->push_back(id);
}

}  // namespace

TEST(sync_event, set_wakes_every_waiter_in_order) {
    loop l;
    event e;
    std::vector<int> order;
    l.run_sync([](loop* l, event* e, std::vector<int>* order) -> task<void> {
        for (int i = 1; i <= 3; ++i) l->spawn(wait_event(e, i, {}, order, nullptr));
        co_await settle();
        EXPECT_TRUE(order->empty());
        e->set();
        e->clear();                   // too late: the waiters were already woken
        EXPECT_TRUE(order->empty());  // woken tasks run in a later turn
        co_await settle();
        EXPECT_EQ(*order, (std::vector<int>{1, 2, 3}));
        e->set();
        result<void> r = co_await e->wait();  // a set event does not wait
        EXPECT_TRUE(r);
        EXPECT_TRUE(e->is_set());
    }(&l, &e, &order));
}

TEST(sync_event, deadline_token_and_with_timeout) {
    loop l;
    event e;
    l.run_sync([](loop* l, event* e) -> task<void> {
        auto start = clock::now();
        result<void> r = co_await e->wait_for(20ms);
        EXPECT_EQ(r.error(), errc::timed_out);
        EXPECT_GE(clock::now() - start, 20ms);

        r = co_await with_timeout(10ms, e->wait());
        EXPECT_EQ(r.error(), errc::timed_out);

        cancel_source src;
        std::vector<int> order;
        std::error_code ec;
        l->spawn(wait_event(e, 1, 10s, &order, &ec), src.token());
        co_await settle();
        src.request_cancel();
        co_await settle();
        EXPECT_EQ(ec, errc::canceled);
        e->set();
        co_await settle();
        EXPECT_TRUE(order.empty());
    }(&l, &e));
}

TEST(sync_mutex, hands_over_in_fifo_order_without_barging) {
    loop l;
    mutex m;
    std::vector<int> order;
    l.run_sync([](loop* l, mutex* m, std::vector<int>* order) -> task<void> {
        CO_ASSERT_TRUE(m->try_lock());
        EXPECT_FALSE(m->try_lock());
        for (int i = 1; i <= 3; ++i) l->spawn(lock_and_record(m, i, {}, order, nullptr));
        co_await settle();
        EXPECT_TRUE(order->empty());
        EXPECT_TRUE(m->unlock());
        // Task 1 owns the lock before it runs: nobody can barge in.
        EXPECT_TRUE(m->locked());
        EXPECT_FALSE(m->try_lock());
        co_await settle(10);
        EXPECT_EQ(*order, (std::vector<int>{1, 2, 3}));
        EXPECT_FALSE(m->locked());
        EXPECT_EQ(m->unlock().error(), errc::not_acquired);
    }(&l, &m, &order));
}

TEST(sync_mutex, guard_unlocks_on_scope_exit_and_moves) {
    loop l;
    mutex m;
    l.run_sync([](mutex* m) -> task<void> {
        {
            result<mutex_guard> g = co_await m->lock();
            CO_ASSERT_TRUE(g);
            EXPECT_TRUE(g->owns_lock());
            EXPECT_TRUE(m->locked());
            mutex_guard moved = std::move(*g);
            EXPECT_FALSE(g->owns_lock());
            EXPECT_TRUE(m->locked());
            moved.unlock();
            EXPECT_FALSE(m->locked());
            result<mutex_guard> again = co_await m->lock();
            moved = std::move(*again);
            EXPECT_TRUE(m->locked());
        }
        EXPECT_FALSE(m->locked());
    }(&m));
}

TEST(sync_mutex, deadline_and_cancel_do_not_leak_the_lock) {
    loop l;
    mutex m;
    l.run_sync([](loop* l, mutex* m) -> task<void> {
        CO_ASSERT_TRUE(m->try_lock());
        std::vector<int> order;
        std::error_code timed, canceled, late;
        cancel_source src;
        l->spawn(lock_and_record(m, 1, 10ms, &order, &timed));
        l->spawn(lock_and_record(m, 2, 0ms, &order, &canceled), src.token());
        l->spawn(lock_and_record(m, 3, 10s, &order, &late));
        co_await settle();
        src.request_cancel();
        co_await sleep(30ms);
        EXPECT_EQ(timed, errc::timed_out);
        EXPECT_EQ(canceled, errc::canceled);
        result<mutex_guard> g = co_await with_timeout(10ms, m->lock());
        EXPECT_EQ(g.error(), errc::timed_out);
        // The only waiter left is task 3; the timed-out ones got nothing.
        EXPECT_TRUE(m->unlock());
        co_await settle();
        EXPECT_EQ(order, (std::vector<int>{3}));
        EXPECT_FALSE(late);
        EXPECT_FALSE(m->locked());
    }(&l, &m));
}

TEST(sync_semaphore, counts_and_fifo_hand_off) {
    loop l;
    semaphore s(2);
    std::vector<int> order;
    l.run_sync([](loop* l, semaphore* s, std::vector<int>* order) -> task<void> {
        result<semaphore_guard> a = co_await s->acquire();
        CO_ASSERT_TRUE(a);
        EXPECT_EQ(s->value(), 1u);
        CO_ASSERT_TRUE(s->try_acquire());
        EXPECT_EQ(s->value(), 0u);
        EXPECT_FALSE(s->try_acquire());
        for (int i = 1; i <= 3; ++i) l->spawn(acquire_and_record(s, i, {}, order, nullptr));
        co_await settle();
        EXPECT_TRUE(order->empty());
        s->release();  // the try_acquire permit goes to task 1
        EXPECT_EQ(s->value(), 0u);
        EXPECT_FALSE(s->try_acquire());
        a->release();  // the guard's permit goes to task 2
        EXPECT_FALSE(a->owns_permit());
        co_await settle(10);
        EXPECT_EQ(*order, (std::vector<int>{1, 2, 3}));
        EXPECT_EQ(s->value(), 2u);
    }(&l, &s, &order));
}

TEST(sync_semaphore, deadline_and_cancel_keep_the_count) {
    loop l;
    semaphore s(0);
    l.run_sync([](loop* l, semaphore* s) -> task<void> {
        std::vector<int> order;
        std::error_code timed, canceled;
        cancel_source src;
        l->spawn(acquire_and_record(s, 1, 10ms, &order, &timed));
        l->spawn(acquire_and_record(s, 2, 0ms, &order, &canceled), src.token());
        co_await settle();
        src.request_cancel();
        co_await sleep(30ms);
        EXPECT_EQ(timed, errc::timed_out);
        EXPECT_EQ(canceled, errc::canceled);
        result<semaphore_guard> g = co_await with_timeout(5ms, s->acquire());
        EXPECT_EQ(g.error(), errc::timed_out);
        s->release();
        EXPECT_EQ(s->value(), 1u);  // nobody took it
        EXPECT_TRUE(order.empty());
    }(&l, &s));
}

TEST(sync_bounded_semaphore, release_past_the_bound_is_an_error) {
    loop l;
    bounded_semaphore s(1);
    l.run_sync([](bounded_semaphore* s) -> task<void> {
        EXPECT_EQ(s->release().error(), errc::not_acquired);
        EXPECT_EQ(s->value(), 1u);
        {
            result<semaphore_guard> g = co_await s->acquire();
            CO_ASSERT_TRUE(g);
            EXPECT_EQ(s->value(), 0u);
            result<semaphore_guard> second = co_await s->acquire_for(5ms);
            EXPECT_EQ(second.error(), errc::timed_out);
        }
        EXPECT_EQ(s->value(), 1u);
        CO_ASSERT_TRUE(s->try_acquire());
        EXPECT_TRUE(s->release());
        EXPECT_FALSE(s->release());
    }(&s));
}

TEST(sync_condition, notify_n_then_notify_all_in_order) {
    loop l;
    condition c;
    std::vector<int> order;
    l.run_sync([](loop* l, condition* c, std::vector<int>* order) -> task<void> {
        std::error_code timed;
        l->spawn(wait_condition(c, 0, 5ms, order, &timed));
        for (int i = 1; i <= 5; ++i) l->spawn(wait_condition(c, i, {}, order, nullptr));
        co_await sleep(20ms);
        EXPECT_EQ(timed, errc::timed_out);
        c->notify();  // skips the timed-out waiter 0
        co_await settle();
        EXPECT_EQ(*order, (std::vector<int>{1}));
        c->notify(2);
        co_await settle();
        EXPECT_EQ(*order, (std::vector<int>{1, 2, 3}));
        c->notify_all();
        co_await settle();
        EXPECT_EQ(*order, (std::vector<int>{1, 2, 3, 4, 5}));
        c->notify(3);  // nobody waits: nothing happens, nothing is remembered
        result<void> r = co_await c->wait_for(5ms);
        EXPECT_EQ(r.error(), errc::timed_out);
    }(&l, &c, &order));
}

TEST(sync, destroying_primitives_while_tasks_wait_is_safe) {
    loop l;
    l.run_sync([](loop* l) -> task<void> {
        auto e = std::make_unique<event>();
        auto m = std::make_unique<mutex>();
        auto s = std::make_unique<semaphore>(0);
        auto c = std::make_unique<condition>();
        CO_ASSERT_TRUE(m->try_lock());
        std::vector<int> order;
        std::error_code ec[4];
        l->spawn(wait_event(e.get(), 1, 10ms, &order, &ec[0]));
        l->spawn(lock_and_record(m.get(), 2, 10ms, &order, &ec[1]));
        l->spawn(acquire_and_record(s.get(), 3, 10ms, &order, &ec[2]));
        l->spawn(wait_condition(c.get(), 4, 10ms, &order, &ec[3]));
        co_await settle();
        e.reset();
        m.reset();
        s.reset();
        c.reset();
        co_await sleep(30ms);
        for (auto& code : ec) EXPECT_EQ(code, errc::timed_out);
        EXPECT_TRUE(order.empty());
    }(&l));
}

TEST(sync, loop_destroyed_before_a_granted_waiter_runs_returns_the_grant) {
    mutex m;
    semaphore s(0);
    std::vector<int> order;
    {
        loop l;
        l.run_sync([](loop* l, mutex* m, semaphore* s, std::vector<int>* order) -> task<void> {
            EXPECT_TRUE(m->try_lock());
            l->spawn(lock_and_record(m, 1, {}, order, nullptr));
            l->spawn(acquire_and_record(s, 2, {}, order, nullptr));
            co_await settle();
            // Both waiters now own what they waited for, but run_sync
            // returns before they run, and the loop destroys their frames.
            EXPECT_TRUE(m->unlock());
            s->release();
        }(&l, &m, &s, &order));
    }
    EXPECT_TRUE(order.empty());
    EXPECT_FALSE(m.locked());
    EXPECT_EQ(s.value(), 1u);
}
