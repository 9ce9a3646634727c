// thread_pool and run_in_pool: blocking work off the loop (Tornado's
// run_in_executor).
//
// `co_await run_in_pool(fn)` runs fn() on the loop's default pool and
// resumes the awaiting task on its own loop with fn's value, or rethrows
// fn's exception there. fn is moved into the awaitable and lives until it
// has run. Work that has started cannot be cancelled (a thread cannot be
// interrupted safely): a cancel request or deadline is seen only once fn
// returns. Pool threads block every signal, so signals reach the loop's
// signalfd. Destroying a pool runs the jobs already queued, then joins.
// Tests: tests/engine/thread_pool_test.cpp.
#pragma once

#include <condition_variable>
#include <coroutine>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>
#include <vector>

#include <squall/engine/loop.hpp>

namespace squall {

class thread_pool {
public:
    explicit thread_pool(unsigned threads = 0);  // 0: one per core
    ~thread_pool();
    thread_pool(const thread_pool&) = delete;
    thread_pool& operator=(const thread_pool&) = delete;

    // Any thread.
    void submit(std::function<void()> job);
    unsigned size() const noexcept { return static_cast<unsigned>(workers_.size()); }

private:
    void work();

    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<std::function<void()>> jobs_;
    bool stopping_ = false;
    std::vector<std::thread> workers_;
};

template <class F>
class pool_awaitable {
public:
    using value_type = std::invoke_result_t<F&>;

    pool_awaitable(F fn, thread_pool* pool) : fn_(std::move(fn)), pool_(pool) {}

    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) {
        loop* l = loop::current();
        thread_pool& pool = pool_ ? *pool_ : l->default_pool();
        pool.submit([this, h, l] {
            try {
                if constexpr (std::is_void_v<value_type>) {
                    fn_();
                    value_.emplace(true);
                } else {
                    value_.emplace(fn_());
                }
            } catch (...) {
                error_ = std::current_exception();
            }
            l->post([h] { h.resume(); });
        });
    }
    value_type await_resume() {
        if (error_) std::rethrow_exception(error_);
        if constexpr (!std::is_void_v<value_type>) return std::move(*value_);
    }

private:
    F fn_;
    thread_pool* pool_;
    std::optional<std::conditional_t<std::is_void_v<value_type>, bool, value_type>> value_;
    std::exception_ptr error_;
};

// Runs fn on the current loop's default pool (or on `pool`).
template <class F>
pool_awaitable<F> run_in_pool(F fn, thread_pool* pool = nullptr) {
    return pool_awaitable<F>(std::move(fn), pool);
}

}  // namespace squall
