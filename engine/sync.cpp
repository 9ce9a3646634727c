#include <squall/engine/sync.hpp>

#include <cassert>
#include <utility>

namespace squall {

void event::set() noexcept {
    set_ = true;
    waiters_.wake_all();
}

// --- mutex ---------------------------------------------------------------

mutex_guard& mutex_guard::operator=(mutex_guard&& o) noexcept {
    if (this != &o) {
        unlock();
        m_ = std::exchange(o.m_, nullptr);
    }
    return *this;
}

void mutex_guard::unlock() noexcept {
    if (!m_) return;
    // A guard only exists for a lock it holds, so this cannot fail; if it
    // does, a guard was duplicated (a compiler bug once did that).
    [[maybe_unused]] result<void> r = std::exchange(m_, nullptr)->unlock();
    assert(r);
}

mutex::lock_awaitable mutex::lock() noexcept { return {this, {}}; }
mutex::lock_awaitable mutex::lock(clock::time_point deadline) noexcept { return {this, deadline}; }
mutex::lock_awaitable mutex::lock_for(clock::duration d) { return {this, clock::now() + d}; }

bool mutex::try_lock() noexcept {
    // While tasks wait the mutex is never free (unlock hands it over), so
    // a free mutex means nobody is queued and taking it is fair.
    if (locked_) return false;
    locked_ = true;
    return true;
}

result<void> mutex::unlock() noexcept {
    if (!locked_) return errc::not_acquired;
    // The lock passes to the oldest waiter without ever being free, so no
    // task that has not waited can take it first.
    if (detail::handoff_node* n = waiters_.front()) waiters_.grant(n);
    else locked_ = false;
    return {};
}

// --- semaphore -------------------------------------------------------------

semaphore_guard& semaphore_guard::operator=(semaphore_guard&& o) noexcept {
    if (this != &o) {
        release();
        s_ = std::exchange(o.s_, nullptr);
    }
    return *this;
}

void semaphore_guard::release() noexcept {
    if (s_) std::exchange(s_, nullptr)->release();
}

semaphore::acquire_awaitable semaphore::acquire() noexcept { return {this, {}}; }
semaphore::acquire_awaitable semaphore::acquire(clock::time_point deadline) noexcept { return {this, deadline}; }
semaphore::acquire_awaitable semaphore::acquire_for(clock::duration d) { return {this, clock::now() + d}; }

bool semaphore::try_acquire() noexcept {
    // value_ stays 0 while tasks wait (release hands permits over), so a
    // free permit means nobody is queued.
    if (value_ == 0) return false;
    --value_;
    return true;
}

void semaphore::release() noexcept {
    if (detail::handoff_node* n = waiters_.front()) waiters_.grant(n);
    else ++value_;
}

result<void> bounded_semaphore::release() noexcept {
    // Permits handed to waiters are never counted in value(), so value()
    // reaching the bound means every permit is already back.
    if (sem_.value() >= bound_) return errc::not_acquired;
    sem_.release();
    return {};
}

// --- condition -------------------------------------------------------------

void condition::notify(std::size_t n) noexcept {
    // A waiter whose deadline or token fired has already left the list, so
    // each wake_one() reaches a task that is really waiting.
    while (n > 0 && waiters_.wake_one()) --n;
}

}  // namespace squall
