// listener: accepts connections on a listening socket through the ring.
//
// With multishot accept (the default) one IORING_OP_ACCEPT stays armed and
// every completion is a new connection, queued until accept() takes it;
// the queue is capped (max_queued), past which accepting pauses until the
// application catches up. The cap is soft: the kernel accepts a whole
// burst (up to the listen backlog) before the listener sees one
// completion, so one burst may go past it. When the process is out of descriptors (EMFILE,
// ENFILE) accepting pauses for `fd_backoff` and resumes on its own, so
// connections already open keep being served and waiting clients are
// accepted once descriptors free up. Multishot can be switched off
// (one-shot accept per call) for comparison.
//
// Ownership: the listener owns the listening fd; it belongs to the loop
// that created it and must be destroyed before that loop. accept() yields
// the connection's unique_fd, errc::closed after close(), errc::canceled
// when the task's token fires. Tests: tests/engine/listener_test.cpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>

#include <squall/engine/detail/waiter.hpp>
#include <squall/engine/loop.hpp>
#include <squall/engine/result.hpp>
#include <squall/engine/socket.hpp>

namespace squall {

struct listener_options {
    bool multishot = true;
    // The listening socket is set up through the ring (listen_on_ring in
    // engine/socket.hpp) by the servers that take these options.
    bool ring_setup = true;
    std::size_t max_queued = 1024;
    clock::duration fd_backoff = std::chrono::milliseconds(20);
};

class listener {
public:
    explicit listener(unique_fd fd, listener_options opts = {});
    ~listener();
    listener(const listener&) = delete;
    listener& operator=(const listener&) = delete;

    class accept_awaitable;
    accept_awaitable accept() noexcept;
    // Stops accepting; waiting and later accept() calls get errc::closed.
    void close() noexcept;

    int fd() const noexcept { return fd_.get(); }
    address local() const { return local_address(fd_.get()); }
    // How often accepting paused for lack of descriptors.
    std::uint64_t fd_pauses() const noexcept { return fd_pauses_; }
    std::size_t queued() const noexcept { return ready_.size(); }

private:
    friend class accept_awaitable;
    static void on_accept(void* ctx, int res, unsigned flags) noexcept;
    void handle_accept(int res, unsigned flags) noexcept;
    void arm();
    void maybe_arm();
    result<unique_fd> take();

    loop* loop_;
    unique_fd fd_;
    listener_options opts_;
    std::deque<int> ready_;
    std::uint64_t ud_ = 0;
    bool armed_ = false;
    bool cancel_sent_ = false;  // over the cap: one cancel, not one per completion
    bool backing_off_ = false;
    timer_handle backoff_timer_;
    std::error_code error_;
    detail::waiter_list waiters_;
    std::uint64_t fd_pauses_ = 0;
};

class listener::accept_awaitable {
public:
    explicit accept_awaitable(listener* l) noexcept : l_(l) {}
    bool await_ready() const noexcept { return !l_->ready_.empty() || !l_->fd_ || l_->error_; }
    template <class P>
    bool await_suspend(std::coroutine_handle<P> h) {
        if (!w_.park(h, token_of(h), std::nullopt, &l_->waiters_)) return false;
        l_->maybe_arm();
        return true;
    }
    result<unique_fd> await_resume() {
        if (auto st = w_.status(); !st) return st.error();
        return l_->take();
    }

private:
    listener* l_;
    detail::waiter w_;
};

inline listener::accept_awaitable listener::accept() noexcept { return accept_awaitable(this); }

}  // namespace squall
