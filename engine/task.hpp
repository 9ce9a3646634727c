// task<T>: a lazy, move-only coroutine returning T, with symmetric transfer.
//
// A task does nothing until it is awaited (or handed to loop::spawn /
// loop::run_sync). Awaiting a task starts it and resumes the awaiter, via
// symmetric transfer, when it finishes; an exception escaping the task is
// rethrown in the awaiter. The task object owns the coroutine frame.
//
// Cancellation: a task runs under its awaiter's cancel token unless one was
// set for it (with_timeout, when_any and spawn set their own). Awaitables
// read the token through token_of(handle).
//
// Thread: a task runs on the loop thread that started it.
// Tests: tests/engine/task_test.cpp.
#pragma once

#include <concepts>
#include <coroutine>
#include <cstddef>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

#include <squall/engine/cancel.hpp>
#include <squall/engine/detail/intrusive_list.hpp>

namespace squall {

template <class T = void>
class task;

namespace detail {

struct promise_base;

// Owner of a detached (spawned) root task: told when the task finishes,
// and responsible for destroying its frame.
class root_owner {
public:
    virtual void on_root_done(promise_base& p, std::coroutine_handle<> h) noexcept = 0;

protected:
    ~root_owner() = default;
};

// Recycles coroutine frames per thread by size class; frames are the
// commonest allocation in a server and malloc is most of a spawn's cost.
void* frame_alloc(std::size_t n);
void frame_free(void* p, std::size_t n) noexcept;

// The tag of the loop's list of spawned (root) tasks.
struct root_tag;

struct promise_base : list_hook<root_tag> {
    struct final_awaiter {
        bool await_ready() const noexcept { return false; }
        template <class P>
        std::coroutine_handle<> await_suspend(std::coroutine_handle<P> h) noexcept {
            promise_base& p = h.promise();
            if (p.root_) {
                p.root_->on_root_done(p, h);  // destroys the frame
                return std::noop_coroutine();
            }
            return p.continuation_ ? p.continuation_ : std::noop_coroutine();
        }
        void await_resume() const noexcept {}
    };

    std::suspend_always initial_suspend() const noexcept { return {}; }
    final_awaiter final_suspend() const noexcept { return {}; }
    void unhandled_exception() noexcept { exception_ = std::current_exception(); }

    static void* operator new(std::size_t n) { return frame_alloc(n); }
    static void operator delete(void* p, std::size_t n) noexcept { frame_free(p, n); }

    std::coroutine_handle<> continuation_;
    std::exception_ptr exception_;
    cancel_state* cancel_ = nullptr;
    // Set by spawn: the loop that owns this root task (which lists it
    // through the list_hook base).
    root_owner* root_ = nullptr;
};

template <class T>
struct promise final : promise_base {
    task<T> get_return_object() noexcept;
    template <std::convertible_to<T> U>
    void return_value(U&& v) {
        value_.emplace(std::forward<U>(v));
    }
    T take() {
        if (exception_) std::rethrow_exception(exception_);
        return std::move(*value_);
    }
    std::optional<T> value_;
};

template <>
struct promise<void> final : promise_base {
    task<void> get_return_object() noexcept;
    void return_void() const noexcept {}
    void take() const {
        if (exception_) std::rethrow_exception(exception_);
    }
};

}  // namespace detail

// The cancel state a coroutine runs under, for awaitables' await_suspend.
template <class P>
cancel_state* token_of(std::coroutine_handle<P> h) noexcept {
    if constexpr (std::is_base_of_v<detail::promise_base, P>) return h.promise().cancel_;
    else return nullptr;
}

template <class T>
class [[nodiscard]] task {
public:
    using promise_type = detail::promise<T>;
    using handle_type = std::coroutine_handle<promise_type>;
    using value_type = T;

    task() noexcept = default;
    explicit task(handle_type h) noexcept : h_(h) {}
    task(task&& o) noexcept : h_(std::exchange(o.h_, {})) {}
    task& operator=(task&& o) noexcept {
        if (this != &o) {
            if (h_) h_.destroy();
            h_ = std::exchange(o.h_, {});
        }
        return *this;
    }
    task(const task&) = delete;
    task& operator=(const task&) = delete;
    ~task() {
        if (h_) h_.destroy();
    }

    bool valid() const noexcept { return static_cast<bool>(h_); }
    bool done() const noexcept { return h_ && h_.done(); }
    handle_type release() noexcept { return std::exchange(h_, {}); }
    handle_type handle() const noexcept { return h_; }

    // Runs this task under `token` instead of the awaiter's.
    void set_cancel_token(cancel_token token) noexcept { h_.promise().cancel_ = token.state(); }

    struct awaiter {
        handle_type h;
        bool await_ready() const noexcept { return !h || h.done(); }
        template <class P>
        std::coroutine_handle<> await_suspend(std::coroutine_handle<P> parent) noexcept {
            h.promise().continuation_ = parent;
            if (!h.promise().cancel_) h.promise().cancel_ = token_of(parent);
            return h;
        }
        T await_resume() { return h.promise().take(); }
    };
    awaiter operator co_await() && noexcept { return awaiter{h_}; }
    awaiter operator co_await() & noexcept { return awaiter{h_}; }

private:
    handle_type h_;
};

namespace detail {
template <class T>
task<T> promise<T>::get_return_object() noexcept {
    return task<T>(std::coroutine_handle<promise<T>>::from_promise(*this));
}
inline task<void> promise<void>::get_return_object() noexcept {
    return task<void>(std::coroutine_handle<promise<void>>::from_promise(*this));
}
}  // namespace detail

// `co_await current_cancel_token()` gives the token the calling task runs
// under, to poll it or to hand it to work that outlives a single await.
struct current_cancel_token {
    cancel_state* state = nullptr;
    bool await_ready() const noexcept { return false; }
    template <class P>
    bool await_suspend(std::coroutine_handle<P> h) noexcept {
        state = token_of(h);
        return false;
    }
    cancel_token await_resume() const noexcept { return cancel_token(state); }
};

}  // namespace squall
