// Time in tasks: sleep, and with_timeout / with_deadline, which bound any
// task or awaitable and really cancel what it waits on.
//
// `co_await sleep(d)` yields result<void>: ok when the time has passed,
// errc::canceled when the task's token fired first. with_timeout(d, t)
// runs t under a cancel source linked to the caller's token, fires it at
// the deadline (kernel operations are cancelled with ASYNC_CANCEL, waits on
// primitives end), waits for t to finish, then yields result<T>:
// errc::timed_out when the deadline fired and t produced no value, t's
// value otherwise (a value that raced the deadline is never thrown away).
// t's exceptions propagate. Loop thread only. Tests: tests/engine/time_test.cpp.
#pragma once

#include <chrono>
#include <coroutine>
#include <optional>
#include <type_traits>
#include <utility>

#include <squall/engine/cancel.hpp>
#include <squall/engine/detail/waiter.hpp>
#include <squall/engine/loop.hpp>
#include <squall/engine/result.hpp>
#include <squall/engine/task.hpp>

namespace squall {

class sleep_awaitable {
public:
    explicit sleep_awaitable(clock::time_point until) noexcept : until_(until) {}
    // Movable until awaited (with_timeout moves its awaitable into a task).
    sleep_awaitable(sleep_awaitable&& o) noexcept : until_(o.until_) {}
    bool await_ready() const noexcept { return false; }
    template <class P>
    bool await_suspend(std::coroutine_handle<P> h) {
        return w_.park(h, token_of(h), until_, nullptr);
    }
    result<void> await_resume() const noexcept {
        if (w_.state() == detail::waiter::outcome::canceled) return errc::canceled;
        return {};
    }

private:
    clock::time_point until_;
    detail::waiter w_;
};

inline sleep_awaitable sleep(clock::duration d) { return sleep_awaitable(clock::now() + d); }
inline sleep_awaitable sleep_until(clock::time_point t) { return sleep_awaitable(t); }

template <class T>
struct as_result {
    using type = result<T>;
};
template <class T>
struct as_result<result<T>> {
    using type = result<T>;
};
template <class T>
using as_result_t = typename as_result<T>::type;

template <class A>
using await_result_t = decltype(std::declval<A&>().await_resume());

template <class T>
struct is_task : std::false_type {};
template <class T>
struct is_task<task<T>> : std::true_type {};
// An awaitable that is not a task: with_deadline wraps it in one.
template <class A>
concept not_task = !is_task<A>::value;

namespace detail {

// Cancels the deadline timer however the coroutine leaves.
struct timer_guard {
    timer_handle h;
    ~timer_guard() { h.cancel(); }
};

template <class A>
task<await_result_t<A>> as_task(A a) {
    co_return co_await std::move(a);
}

}  // namespace detail

template <class T>
task<as_result_t<T>> with_deadline(clock::time_point when, task<T> t) {
    cancel_source src(co_await current_cancel_token());
    bool expired = false;
    detail::timer_guard guard{loop::current()->call_at(when, [&src, &expired] {
        expired = true;
        src.request_cancel();
    })};
    t.set_cancel_token(src.token());
    if constexpr (std::is_void_v<T>) {
        co_await std::move(t);
        if (expired) co_return errc::timed_out;
        co_return result<void>{};
    } else if constexpr (is_result<T>::value) {
        T v = co_await std::move(t);
        if (expired && !v) co_return errc::timed_out;
        co_return v;
    } else {
        co_return co_await std::move(t);
    }
}

template <class T>
task<as_result_t<T>> with_timeout(clock::duration d, task<T> t) {
    return with_deadline(clock::now() + d, std::move(t));
}

template <not_task A>
auto with_deadline(clock::time_point when, A a) {
    return with_deadline(when, detail::as_task(std::move(a)));
}

template <not_task A>
auto with_timeout(clock::duration d, A a) {
    return with_deadline(clock::now() + d, detail::as_task(std::move(a)));
}

}  // namespace squall
