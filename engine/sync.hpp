// Tornado's tornado.locks for one loop: event, mutex, semaphore,
// bounded_semaphore and condition, as coroutine awaitables.
//
// Every wait yields a result: ok, errc::timed_out when its deadline passed
// first, errc::canceled when the awaiting task's cancel token fired first
// (with_timeout cancels through that token). A wait that can finish at once
// does so, even past its deadline or with its token already cancelled, as
// in Tornado. Woken tasks resume in a later loop turn, never inside set(),
// unlock() or release(). mutex and semaphore hand the lock or the permit
// straight to the oldest waiter (FIFO, no barging): a woken task already
// owns it, so try_lock() by another task cannot take it in between.
//
// Ownership: the primitive borrows the awaitables parked on it and must not
// move while they wait. Destroying it while tasks wait is allowed: they
// keep waiting for their deadline or token. Guards point at their
// primitive, which must outlive them. Awaitables may be moved (into
// with_timeout, say) only before they are awaited. Errors: misuse that
// Tornado answers with ValueError or RuntimeError (unlock of an unlocked
// mutex, bounded_semaphore::release past its initial value) returns
// errc::not_acquired and changes nothing. Thread: the loop thread only;
// nothing here is thread-safe. Tests: tests/engine/sync_test.cpp.
#pragma once

#include <coroutine>
#include <cstddef>
#include <optional>

#include <squall/engine/detail/handoff.hpp>
#include <squall/engine/detail/waiter.hpp>
#include <squall/engine/loop.hpp>
#include <squall/engine/result.hpp>
#include <squall/engine/task.hpp>

namespace squall {

using deadline_opt = std::optional<clock::time_point>;

// What event::wait, condition::wait and queue::join return.
class wait_awaitable {
public:
    // `ready` (may be null) is read when awaited: true means no wait.
    wait_awaitable(detail::waiter_list* list, const bool* ready, deadline_opt deadline) noexcept
        : list_(list), ready_(ready), deadline_(deadline) {}
    wait_awaitable(wait_awaitable&& o) noexcept : wait_awaitable(o.list_, o.ready_, o.deadline_) {}
    bool await_ready() const noexcept { return ready_ && *ready_; }
    template <class P>
    bool await_suspend(std::coroutine_handle<P> h) {
        return w_.park(h, token_of(h), deadline_, list_);
    }
    result<void> await_resume() const noexcept { return w_.status(); }

private:
    detail::waiter_list* list_;
    const bool* ready_;
    deadline_opt deadline_;
    detail::waiter w_;
};

class event {
public:
    event() noexcept = default;
    event(const event&) = delete;
    event& operator=(const event&) = delete;

    bool is_set() const noexcept { return set_; }
    // Wakes every waiter; later waits finish at once until clear().
    void set() noexcept;
    void clear() noexcept { set_ = false; }
    [[nodiscard]] wait_awaitable wait() noexcept { return {&waiters_, &set_, {}}; }
    [[nodiscard]] wait_awaitable wait(clock::time_point deadline) noexcept { return {&waiters_, &set_, deadline}; }
    [[nodiscard]] wait_awaitable wait_for(clock::duration d) { return wait(clock::now() + d); }

private:
    bool set_ = false;
    detail::waiter_list waiters_;
};

class mutex;

// Owns a locked mutex and unlocks it when destroyed. Move-only.
class mutex_guard {
public:
    mutex_guard() noexcept = default;
    mutex_guard(mutex_guard&& o) noexcept : m_(o.m_) { o.m_ = nullptr; }
    mutex_guard& operator=(mutex_guard&& o) noexcept;
    ~mutex_guard() { unlock(); }
    bool owns_lock() const noexcept { return m_ != nullptr; }
    // Unlocks now (no-op when the guard owns nothing).
    void unlock() noexcept;

private:
    friend class mutex;
    template <class, class>
    friend class detail::grant_awaitable;
    explicit mutex_guard(mutex* m) noexcept : m_(m) {}
    mutex* m_ = nullptr;
};

class mutex {
public:
    // Yields result<mutex_guard>.
    using lock_awaitable = detail::grant_awaitable<mutex, mutex_guard>;
    mutex() noexcept = default;
    mutex(const mutex&) = delete;
    mutex& operator=(const mutex&) = delete;

    [[nodiscard]] lock_awaitable lock() noexcept;
    [[nodiscard]] lock_awaitable lock(clock::time_point deadline) noexcept;
    [[nodiscard]] lock_awaitable lock_for(clock::duration d);
    // Takes the lock when free; the caller must unlock() it later.
    [[nodiscard]] bool try_lock() noexcept;
    // Hands the lock to the oldest waiter, or frees it.
    result<void> unlock() noexcept;
    bool locked() const noexcept { return locked_; }

private:
    friend lock_awaitable;
    bool take() noexcept { return try_lock(); }
    void give_back() noexcept { (void)unlock(); }
    bool locked_ = false;
    detail::handoff_list waiters_;
};

class semaphore;

// Owns one permit of a semaphore and releases it when destroyed. Move-only.
class semaphore_guard {
public:
    semaphore_guard() noexcept = default;
    semaphore_guard(semaphore_guard&& o) noexcept : s_(o.s_) { o.s_ = nullptr; }
    semaphore_guard& operator=(semaphore_guard&& o) noexcept;
    ~semaphore_guard() { release(); }
    bool owns_permit() const noexcept { return s_ != nullptr; }
    // Releases the permit now (no-op when the guard owns nothing).
    void release() noexcept;

private:
    friend class semaphore;
    template <class, class>
    friend class detail::grant_awaitable;
    explicit semaphore_guard(semaphore* s) noexcept : s_(s) {}
    semaphore* s_ = nullptr;
};

class semaphore {
public:
    // Yields result<semaphore_guard>.
    using acquire_awaitable = detail::grant_awaitable<semaphore, semaphore_guard>;
    explicit semaphore(std::size_t value = 1) noexcept : value_(value) {}
    semaphore(const semaphore&) = delete;
    semaphore& operator=(const semaphore&) = delete;

    [[nodiscard]] acquire_awaitable acquire() noexcept;
    [[nodiscard]] acquire_awaitable acquire(clock::time_point deadline) noexcept;
    [[nodiscard]] acquire_awaitable acquire_for(clock::duration d);
    // Takes a permit when one is free; the caller must release() it later.
    [[nodiscard]] bool try_acquire() noexcept;
    // Hands a permit to the oldest waiter, or adds one to value().
    void release() noexcept;
    std::size_t value() const noexcept { return value_; }

private:
    friend acquire_awaitable;
    bool take() noexcept { return try_acquire(); }
    void give_back() noexcept { release(); }
    std::size_t value_;
    detail::handoff_list waiters_;
};

// A semaphore whose release() refuses to go past the initial value, which
// catches a release without an acquire (Tornado's ValueError) as
// errc::not_acquired. Guards release through the inner semaphore, since a
// guard's permit is always one that was acquired.
class bounded_semaphore {
public:
    explicit bounded_semaphore(std::size_t value = 1) noexcept : sem_(value), bound_(value) {}

    [[nodiscard]] semaphore::acquire_awaitable acquire() noexcept { return sem_.acquire(); }
    [[nodiscard]] semaphore::acquire_awaitable acquire(clock::time_point deadline) noexcept {
        return sem_.acquire(deadline);
    }
    [[nodiscard]] semaphore::acquire_awaitable acquire_for(clock::duration d) { return sem_.acquire_for(d); }
    [[nodiscard]] bool try_acquire() noexcept { return sem_.try_acquire(); }
    [[nodiscard]] result<void> release() noexcept;
    std::size_t value() const noexcept { return sem_.value(); }

private:
    semaphore sem_;
    std::size_t bound_;
};

// Tornado's Condition: tasks wait until notified; it holds no lock.
class condition {
public:
    condition() noexcept = default;
    condition(const condition&) = delete;
    condition& operator=(const condition&) = delete;

    [[nodiscard]] wait_awaitable wait() noexcept { return {&waiters_, nullptr, {}}; }
    [[nodiscard]] wait_awaitable wait(clock::time_point deadline) noexcept { return {&waiters_, nullptr, deadline}; }
    [[nodiscard]] wait_awaitable wait_for(clock::duration d) { return wait(clock::now() + d); }
    // Wakes the `n` oldest waiters still waiting (fewer if there are fewer).
    void notify(std::size_t n = 1) noexcept;
    void notify_all() noexcept { waiters_.wake_all(); }

private:
    detail::waiter_list waiters_;
};

}  // namespace squall
