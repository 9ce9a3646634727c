#include <squall/engine/loop.hpp>

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "log_capture.hpp"
#include <squall/engine/op.hpp>
#include <squall/engine/periodic.hpp>
#include <squall/engine/time.hpp>

using namespace squall;
using namespace std::chrono_literals;

namespace {

task<void> fail_later() {
    co_await sleep(1ms);
    throw std::runtime_error("spawned task failed on purpose");
}

task<void> wait_forever_on_pipe(int fd, bool* resumed) {
    std::byte buf[8];
    auto r = co_await read(fd, buf);
    *resumed = true;
    (void)r;
}

task<void> sleep_long(bool* resumed) {
    co_await sleep(1h);
    *resumed = true;
}

task<void> spin_until(loop* l, const std::atomic<long>* done, long target) {
    while (done->load() < target) co_await sleep(1ms);
    l->stop();
}

}  // namespace

TEST(loop, post_from_eight_threads_loses_nothing) {
    constexpr int threads = 8;
    constexpr long per_thread = 100'000;
    loop l;
    std::vector<long> last(threads, -1);
    std::atomic<long> total{0};
    bool in_order = true;
    std::vector<std::thread> posters;
    for (int t = 0; t < threads; ++t) {
        posters.emplace_back([&, t] {
            for (long i = 0; i < per_thread; ++i) {
                l.post([&, t, i] {
                    // Callbacks from one thread run in the order posted.
                    if (last[t] != i - 1) in_order = false;
                    last[t] = i;
                    total.fetch_add(1);
                });
            }
        });
    }
    l.spawn(spin_until(&l, &total, threads * per_thread));
    l.run();
    for (auto& p : posters) p.join();
    EXPECT_EQ(total.load(), threads * per_thread);
    EXPECT_TRUE(in_order);
}

TEST(loop, post_on_the_loop_thread_runs_in_a_later_turn) {
    loop l;
    std::vector<int> order;
    l.post([&] {
        order.push_back(1);
        l.post([&] {
            order.push_back(3);
            l.stop();
        });
        order.push_back(2);
    });
    l.run();
    EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
}

TEST(loop, stop_from_another_thread_wakes_a_blocked_loop) {
    loop l;
    std::thread t([&] {
        std::this_thread::sleep_for(20ms);
        l.stop();
    });
    l.run();  // nothing to do: blocks in io_uring_enter until stop wakes it
    t.join();
    SUCCEED();
}

TEST(loop, stop_from_another_thread_is_done_with_a_loop_that_ends_at_once) {
    // The loop's thread destroys the loop as soon as run() returns, while
    // the stopping thread may still be inside stop(); a timer wakes the
    // loop by itself too, so it can see the flag before the eventfd write.
    // stop() must be done with the loop (its eventfd, its flags) before the
    // destruction can close them: ThreadSanitizer reports the write and the
    // close as a race otherwise.
    for (int i = 0; i < 50; ++i) {
        std::mutex mu;
        std::condition_variable cv;
        loop* target = nullptr;
        std::thread t([&] {
            loop l;
            auto tick = std::make_shared<std::function<void()>>();
            *tick = [&l, tick] { l.call_later(100us, *tick); };
            l.call_later(100us, *tick);
            l.post([&] {
                std::lock_guard lk(mu);
                target = &l;
                cv.notify_one();
            });
            l.run();
            *tick = nullptr;  // breaks the self-reference
        });
        {
            std::unique_lock lk(mu);
            cv.wait(lk, [&] { return target != nullptr; });
        }
        target->stop();  // the last touch: the loop may be gone right after
        t.join();
    }
    SUCCEED();
}

TEST(loop, exception_in_spawned_task_reaches_the_log) {
    squall::testing::log_capture logs;
    loop l;
    l.spawn(fail_later());
    l.call_later(20ms, [&] { l.stop(); });
    l.run();
    EXPECT_EQ(l.spawned_count(), 0u);
    EXPECT_NE(logs.text().find("spawned task failed on purpose"), std::string::npos) << logs.text();
}

TEST(loop, exception_in_callbacks_is_logged_and_the_loop_goes_on) {
    squall::testing::log_capture logs;
    loop l;
    l.post([] { throw std::runtime_error("posted failure"); });
    l.call_later(1ms, [] { throw std::runtime_error("timer failure"); });
    l.call_later(5ms, [&] { l.stop(); });
    l.run();
    EXPECT_NE(logs.text().find("posted failure"), std::string::npos);
    EXPECT_NE(logs.text().find("timer failure"), std::string::npos);
}

TEST(loop, destroying_the_loop_reaps_abandoned_operations) {
    int p[2];
    ASSERT_EQ(::pipe(p), 0);
    bool read_resumed = false, sleep_resumed = false;
    {
        loop l;
        l.spawn(wait_forever_on_pipe(p[0], &read_resumed));
        l.spawn(sleep_long(&sleep_resumed));
        l.call_later(5ms, [&] { l.stop(); });
        l.run();
        EXPECT_EQ(l.ops_in_flight(), 1u);
        EXPECT_EQ(l.spawned_count(), 2u);
    }  // cancels the read, waits for its completion, frees both frames (ASan checks)
    EXPECT_FALSE(read_resumed);
    EXPECT_FALSE(sleep_resumed);
    ::close(p[0]);
    ::close(p[1]);
}

TEST(loop, run_sync_rethrows_and_the_loop_is_reusable) {
    loop l;
    EXPECT_THROW(l.run_sync(fail_later()), std::runtime_error);
    auto seven = []() -> task<int> { co_return 7; };
    EXPECT_EQ(l.run_sync(seven()), 7);
}

TEST(loop, call_later_runs_in_deadline_order_and_cancel_works) {
    loop l;
    std::vector<int> order;
    l.call_later(3ms, [&] { order.push_back(3); });
    l.call_later(1ms, [&] { order.push_back(1); });
    auto h = l.call_later(2ms, [&] { order.push_back(2); });
    auto now = clock::now();
    l.call_at(now + 4ms, [&] { order.push_back(4); });
    l.call_at(now + 4ms, [&] { order.push_back(5); });  // same instant: FIFO
    l.call_later(6ms, [&] { l.stop(); });
    EXPECT_TRUE(h.pending());
    EXPECT_TRUE(h.cancel());
    EXPECT_FALSE(h.cancel());
    l.run();
    EXPECT_EQ(order, (std::vector<int>{1, 3, 4, 5}));
}

TEST(loop, timers_never_fire_early) {
    loop l;
    auto start = clock::now();
    clock::time_point fired;
    l.call_later(15ms, [&] {
        fired = clock::now();
        l.stop();
    });
    l.run();
    EXPECT_GE(fired - start, 15ms);
}

TEST(loop, periodic_callback_runs_until_stopped) {
    loop l;
    int calls = 0;
    periodic_callback pc(l, 2ms, [&] {
        if (++calls == 5) l.stop();
    });
    pc.start();
    EXPECT_TRUE(pc.running());
    l.run();
    pc.stop();
    EXPECT_FALSE(pc.running());
    l.call_later(10ms, [&] { l.stop(); });
    l.run();
    EXPECT_EQ(calls, 5);  // nothing after stop()
}

TEST(loop, periodic_callback_rejects_a_zero_interval) {
    loop l;
    EXPECT_THROW(periodic_callback(l, 0ms, [] {}), std::invalid_argument);
}

TEST(loop, periodic_callback_with_jitter_still_runs) {
    loop l;
    int calls = 0;
    periodic_callback pc(
        l, 2ms,
        [&] {
            if (++calls == 3) l.stop();
        },
        0.5);
    pc.start();
    l.run();
    EXPECT_EQ(calls, 3);
}

TEST(loop, features_report_what_the_ring_uses) {
    loop l;
    const auto& f = l.features();
    EXPECT_GE(f.cq_entries, 4 * f.sq_entries);
    EXPECT_FALSE(f.describe().empty());
    loop_options plain;
    plain.defer_taskrun = false;
    plain.register_ring_fd = false;
    loop l2(plain);
    EXPECT_FALSE(l2.features().has(IORING_SETUP_DEFER_TASKRUN));
    EXPECT_FALSE(l2.features().registered_fd);
    auto one = []() -> task<int> {
        auto r = co_await nop();
        co_return r ? *r + 1 : -1;
    };
    EXPECT_EQ(l2.run_sync(one()), 1);
}
