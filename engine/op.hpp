// Kernel operations as awaitables: `co_await squall::read(fd, buf)` and
// friends, plus submit(prep) for any SQE the caller fills.
//
// Each awaitable yields result<int>: cqe->res when it is >= 0, else the
// errno as an error_code. When the awaiting task's cancel token fires, the
// operation is cancelled with IORING_OP_ASYNC_CANCEL and yields
// errc::canceled (unless it completed first). The operation's state lives
// in the loop's slab until its final completion, so a cancelled or
// abandoned operation is always reaped.
//
// Ownership: buffers passed in are borrowed by the kernel until the
// operation completes; they must outlive the co_await (they do when they
// live in the awaiting coroutine's frame). Loop thread only.
// Tests: tests/engine/op_test.cpp.
#pragma once

#include <liburing.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <coroutine>
#include <cstddef>
#include <span>

#include <squall/engine/cancel.hpp>
#include <squall/engine/detail/lazy_deadline.hpp>
#include <squall/engine/loop.hpp>
#include <squall/engine/result.hpp>
#include <squall/engine/task.hpp>

namespace squall {

// Prep is callable as void(io_uring_sqe*) and fills the SQE.
template <class Prep>
class kernel_op : private cancel_callback {
public:
    explicit kernel_op(Prep prep) noexcept : cancel_callback(&kernel_op::on_cancel), prep_(prep) {}
    kernel_op(kernel_op&& o) noexcept
        : cancel_callback(&kernel_op::on_cancel), prep_(o.prep_), deadline_(o.deadline_), series_(o.series_) {}
    kernel_op(const kernel_op&) = delete;
    kernel_op& operator=(const kernel_op&) = delete;
    ~kernel_op() {
        if (user_data_ && !done_) {
            drop_deadline();
            loop_->orphan_op(user_data_);
        }
    }

    bool await_ready() const noexcept { return false; }

    template <class P>
    bool await_suspend(std::coroutine_handle<P> h) {
        if (!attach(token_of(h))) {
            // Already cancelled: never submitted, so never completes.
            res_ = -ECANCELED;
            cancelled_ = true;
            return false;
        }
        loop_ = loop::current();
        waiter_ = h;
        io_uring_sqe* s = loop_->sqe();
        prep_(s);
        user_data_ = loop_->start_op(this, &kernel_op::on_cqe);
        io_uring_sqe_set_data64(s, user_data_);
        if (deadline_ == clock::time_point::max()) {
            series_ = nullptr;
        } else if (!series_ || !series_->hold(this, &kernel_op::on_series, deadline_)) {
            series_ = nullptr;
            timer_ = loop_->call_at(deadline_, [this] { on_deadline(); });
        }
        return true;
    }

    result<int> await_resume() noexcept {
        if (res_ >= 0) return res_;
        if (res_ == -ECANCELED && timed_out_) return errc::timed_out;
        if (res_ == -ECANCELED && cancelled_) return errc::canceled;
        return from_errno(res_);
    }

    // Cancels the operation at `when` (yielding errc::timed_out): a
    // deadline without the frame with_timeout would add.
    kernel_op&& until(clock::time_point when) && noexcept {
        deadline_ = when;
        return std::move(*this);
    }
    // The same with the deadline kept by `series` (lazy_deadline.hpp): a
    // stream's sends, one after another, share one timer.
    kernel_op&& until(detail::lazy_deadline& series, clock::time_point when) && noexcept {
        deadline_ = when;
        series_ = &series;
        return std::move(*this);
    }

private:
    static void on_cqe(void* ctx, int res, unsigned) noexcept {
        auto* self = static_cast<kernel_op*>(ctx);
        self->done_ = true;
        self->res_ = res;
        self->detach();
        self->drop_deadline();
        if (!self->loop_->closing()) self->waiter_.resume();
    }
    static void on_cancel(cancel_callback* cb) noexcept {
        auto* self = static_cast<kernel_op*>(cb);
        self->cancelled_ = true;
        self->loop_->cancel_op(self->user_data_);
    }
    void on_deadline() noexcept {
        timed_out_ = true;
        loop_->cancel_op(user_data_);
    }
    static void on_series(void* self, bool expired) noexcept {
        auto* op = static_cast<kernel_op*>(self);
        op->series_ = nullptr;  // released by the series already
        if (expired) op->on_deadline();
    }
    void drop_deadline() noexcept {
        if (series_) {
            series_->release(this);
            series_ = nullptr;
        } else {
            timer_.cancel();
        }
    }

    Prep prep_;
    loop* loop_ = nullptr;
    std::coroutine_handle<> waiter_;
    std::uint64_t user_data_ = 0;
    clock::time_point deadline_ = clock::time_point::max();
    timer_handle timer_;
    detail::lazy_deadline* series_ = nullptr;  // keeps the deadline instead of timer_
    int res_ = 0;
    bool done_ = false;
    bool cancelled_ = false;
    bool timed_out_ = false;
};

// Any operation: `co_await submit([&](io_uring_sqe* s) { io_uring_prep_...(s, ...); })`.
template <class Prep>
kernel_op<Prep> submit(Prep prep) {
    return kernel_op<Prep>(prep);
}

inline auto nop() {
    return submit([](io_uring_sqe* s) { io_uring_prep_nop(s); });
}

inline auto read(int fd, std::span<std::byte> buf, std::uint64_t offset = -1) {
    return submit(
        [=](io_uring_sqe* s) { io_uring_prep_read(s, fd, buf.data(), static_cast<unsigned>(buf.size()), offset); });
}

inline auto write(int fd, std::span<const std::byte> buf, std::uint64_t offset = -1) {
    return submit(
        [=](io_uring_sqe* s) { io_uring_prep_write(s, fd, buf.data(), static_cast<unsigned>(buf.size()), offset); });
}

inline auto poll(int fd, unsigned events) {
    return submit([=](io_uring_sqe* s) { io_uring_prep_poll_add(s, fd, events); });
}

inline auto accept(int listen_fd, int flags = SOCK_CLOEXEC) {
    return submit([=](io_uring_sqe* s) { io_uring_prep_accept(s, listen_fd, nullptr, nullptr, flags); });
}

inline auto recv(int fd, std::span<std::byte> buf, int flags = 0) {
    return submit([=](io_uring_sqe* s) { io_uring_prep_recv(s, fd, buf.data(), buf.size(), flags); });
}

// MSG_NOSIGNAL: a peer that went away yields EPIPE, never SIGPIPE.
inline auto send(int fd, std::span<const std::byte> buf, int flags = MSG_NOSIGNAL) {
    return submit([=](io_uring_sqe* s) { io_uring_prep_send(s, fd, buf.data(), buf.size(), flags); });
}

// `addr` is borrowed until the operation completes.
inline auto connect(int fd, const sockaddr* addr, socklen_t len) {
    return submit([=](io_uring_sqe* s) { io_uring_prep_connect(s, fd, addr, len); });
}

inline auto shutdown(int fd, int how) {
    return submit([=](io_uring_sqe* s) { io_uring_prep_shutdown(s, fd, how); });
}

inline auto close(int fd) {
    return submit([=](io_uring_sqe* s) { io_uring_prep_close(s, fd); });
}

// A kernel timeout (IORING_OP_TIMEOUT). Loop timers (sleep, call_later)
// are cheaper; this exists to exercise and measure the ring's own timers.
// Yields 0 when the time has passed (the kernel's -ETIME).
class ring_timeout {
public:
    explicit ring_timeout(std::chrono::nanoseconds d) noexcept
        : ts_{d.count() / 1'000'000'000, d.count() % 1'000'000'000}, op_(prep{&ts_}) {}
    ring_timeout(const ring_timeout&) = delete;

    bool await_ready() const noexcept { return false; }
    template <class P>
    bool await_suspend(std::coroutine_handle<P> h) {
        return op_.await_suspend(h);
    }
    result<int> await_resume() noexcept {
        auto r = op_.await_resume();
        if (!r && r.error() == std::errc::stream_timeout) return 0;
        return r;
    }

private:
    struct prep {
        __kernel_timespec* ts;
        void operator()(io_uring_sqe* s) const { io_uring_prep_timeout(s, ts, 0, 0); }
    };
    __kernel_timespec ts_;
    kernel_op<prep> op_;
};

}  // namespace squall
