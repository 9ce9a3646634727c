#include <squall/engine/thread_pool.hpp>

#include <gtest/gtest.h>
#include <pthread.h>

#include <atomic>
#include <csignal>
#include <stdexcept>
#include <thread>
#include <vector>

#include <squall/engine/when.hpp>

using namespace squall;
using namespace std::chrono_literals;

namespace {

task<bool> resumes_on_loop_thread(std::thread::id loop_thread) {
    std::thread::id worker = co_await run_in_pool([] { return std::this_thread::get_id(); });
    co_return worker != loop_thread&& std::this_thread::get_id() == loop_thread;
}

task<int> blocking_square(int v) {
    auto job = run_in_pool([v] {
        std::this_thread::sleep_for(100us);
        return v * v;
    });
    co_return co_await std::move(job);
}

task<std::string> pool_exception() {
    try {
        co_await run_in_pool([] { throw std::runtime_error("from the pool"); });
    } catch (const std::runtime_error& e) {
        co_return e.what();
    }
    co_return "no exception";
}

}  // namespace

TEST(thread_pool, result_resumes_the_task_on_its_own_loop) {
    loop l;
    EXPECT_TRUE(l.run_sync(resumes_on_loop_thread(std::this_thread::get_id())));
}

TEST(thread_pool, exceptions_reach_the_awaiting_task) {
    loop l;
    EXPECT_EQ(l.run_sync(pool_exception()), "from the pool");
}

TEST(thread_pool, many_concurrent_jobs_all_complete) {
    loop l;
    std::vector<task<int>> ts;
    for (int i = 0; i < 1000; ++i) ts.push_back(blocking_square(i));
    auto values = l.run_sync(when_all(std::move(ts)));
    for (int i = 0; i < 1000; ++i) ASSERT_EQ(values[i], i * i);
}

TEST(thread_pool, explicit_pool_and_void_jobs) {
    loop l;
    thread_pool pool(2);
    EXPECT_EQ(pool.size(), 2u);
    std::atomic<int> ran{0};
    auto job = [](thread_pool* p, std::atomic<int>* counter) -> task<void> {
        auto job = run_in_pool([counter] { counter->fetch_add(1); }, p);
        co_await std::move(job);
    };
    l.run_sync(job(&pool, &ran));
    EXPECT_EQ(ran.load(), 1);
}

TEST(thread_pool, workers_block_signals) {
    thread_pool pool(1);
    std::atomic<int> blocked{-1};
    pool.submit([&] {
        sigset_t cur;
        pthread_sigmask(SIG_BLOCK, nullptr, &cur);
        blocked = sigismember(&cur, SIGTERM) && sigismember(&cur, SIGINT);
    });
    while (blocked.load() == -1) std::this_thread::yield();
    EXPECT_EQ(blocked.load(), 1);
}

TEST(thread_pool, queued_jobs_run_before_the_pool_is_destroyed) {
    std::atomic<int> ran{0};
    {
        thread_pool pool(1);
        for (int i = 0; i < 100; ++i) pool.submit([&] { ran.fetch_add(1); });
    }
    EXPECT_EQ(ran.load(), 100);
}
