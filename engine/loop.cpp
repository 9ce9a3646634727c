#include <squall/engine/loop.hpp>

#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <spdlog/spdlog.h>
#include <system_error>

#include <squall/engine/buffer_ring.hpp>
#include <squall/engine/detail/uring_compat.hpp>
#include <squall/engine/thread_pool.hpp>

namespace squall {
namespace {

thread_local loop* current_loop = nullptr;

void ignore_sigpipe() {
    static const bool once = [] {
        std::signal(SIGPIPE, SIG_IGN);
        return true;
    }();
    (void)once;
}

}  // namespace

void detail::log_exception(const char* where, std::exception_ptr e) noexcept {
    try {
        std::rethrow_exception(std::move(e));
    } catch (const std::exception& ex) {
        spdlog::error("squall: unhandled exception in {}: {}", where, ex.what());
    } catch (...) {
        spdlog::error("squall: unhandled exception in {}: not a std::exception", where);
    }
}

bool timer_handle::cancel() noexcept { return loop_ && loop_->timers_.cancel(id_); }
bool timer_handle::pending() const noexcept { return loop_ && loop_->timers_.pending(id_); }

loop* loop::current() noexcept { return current_loop; }

loop::loop(loop_options opts)
    : ring_(opts), previous_(current_loop), owner_(std::this_thread::get_id()), now_(clock::now()), opts_(opts) {
    ignore_sigpipe();
    wake_fd_ = ::eventfd(0, EFD_CLOEXEC);
    if (wake_fd_ < 0) throw std::system_error(errno, std::system_category(), "squall: eventfd");
    current_loop = this;
    arm_wakeup();
}

loop::~loop() {
    closing_ = true;
    pool_.reset();  // joins: no job can touch a frame after this
    drain_for_shutdown();
    destroy_roots();
    // After the tasks (none waits on a lookup any more), before the timers
    // and the ring its channel uses.
    resolver_.reset();
    buffers_.reset();  // every lease lived in a frame or a stream, now gone
    timers_.clear();
    ready_.clear();
    if (signal_fd_ >= 0) ::close(signal_fd_);
    {
        std::lock_guard lk(posted_mu_);  // a post() from another thread may be writing to it
        ::close(wake_fd_);
    }
    current_loop = previous_;
}

void loop::run() {
    if (running_) throw std::logic_error("squall: loop::run called while running");
    running_ = true;
    while (!stop_.load(std::memory_order_acquire)) turn();
    running_ = false;
    stop_.store(false, std::memory_order_relaxed);
}

void loop::stop() noexcept {
    if (std::this_thread::get_id() == owner_) {
        stop_.store(true, std::memory_order_release);  // seen before the next wait
        return;
    }
    // From another thread, as post() does: the flag and the wake-up under
    // the lock. The loop may end and be destroyed as soon as it sees the
    // flag (run_server's second signal stops the workers so), and ~loop
    // takes the lock before closing wake_fd_, so this call's last touch of
    // the loop comes before its destruction (ThreadSanitizer,
    // tests/engine/loop_test.cpp). A lock_guard cannot throw here: the
    // mutex is a plain, valid one.
    std::lock_guard lk(posted_mu_);
    stop_.store(true, std::memory_order_release);
    if (!wake_pending_.exchange(true)) {
        std::uint64_t one = 1;
        [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
    }
}

void loop::post(std::function<void()> fn) {
    // The wake-up is written under the lock: the callback may be what ends
    // this loop (run_server's drain stops it), and ~loop takes the lock
    // before closing wake_fd_, so this call's last touch of the loop comes
    // before its destruction (ThreadSanitizer, tests/engine/server_test.cpp).
    std::lock_guard lk(posted_mu_);
    posted_.push_back(std::move(fn));
    if (std::this_thread::get_id() == owner_) return;  // seen by the next turn
    if (!wake_pending_.exchange(true)) {
        std::uint64_t one = 1;
        [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
    }
}

void loop::spawn(task<void> t, cancel_token token) {
    auto h = t.release();
    if (!h) return;
    detail::promise_base& p = h.promise();
    p.root_ = this;
    if (token.state()) p.cancel_ = token.state();
    roots_.push_front(&p);
    ++roots_count_;
    schedule(h);
}

void loop::unlink_root(detail::promise_base& p) noexcept {
    p.unlink();
    --roots_count_;
}

void loop::on_root_done(detail::promise_base& p, std::coroutine_handle<> h) noexcept {
    if (p.exception_) detail::log_exception("a spawned task", p.exception_);
    unlink_root(p);
    h.destroy();
}

void loop::destroy_roots() noexcept {
    // Destroying a frame destroys the tasks it owns, whose awaitables
    // detach from timers, primitives and cancel states as they go.
    while (detail::promise_base* p = roots_.front()) {
        unlink_root(*p);
        p->root_ = nullptr;
        std::coroutine_handle<detail::promise_base>::from_promise(*p).destroy();
    }
}

timer_handle loop::call_later(clock::duration d, std::function<void()> fn) {
    return call_at(clock::now() + d, std::move(fn));
}

timer_handle loop::call_at(clock::time_point when, std::function<void()> fn) {
    return timer_handle(this, timers_.add(when, std::move(fn)));
}

io_uring_sqe* loop::sqe() {
    io_uring_sqe* s = io_uring_get_sqe(ring_.get());
    while (!s) {
        int rc = io_uring_submit(ring_.get());
        if (rc < 0 && rc != -EAGAIN && rc != -EBUSY && rc != -EINTR)
            throw std::system_error(-rc, std::system_category(), "squall: io_uring_submit");
        s = io_uring_get_sqe(ring_.get());
    }
    return s;
}

std::uint64_t loop::start_op(void* ctx, cqe_fn fn) {
    std::uint32_t idx;
    if (free_head_) {
        idx = free_head_ - 1;
        free_head_ = ops_[idx].next_free;
    } else {
        idx = static_cast<std::uint32_t>(ops_.size());
        ops_.emplace_back();
    }
    op_slot& s = ops_[idx];
    s.ctx = ctx;
    s.fn = fn;
    s.live = true;
    ++ops_live_;
    return (std::uint64_t{s.gen} << 32) | (idx + 1);
}

void loop::cancel_op(std::uint64_t user_data) {
    io_uring_sqe* s = sqe();
    io_uring_prep_cancel64(s, user_data, 0);
    io_uring_sqe_set_data64(s, tag_ignore);
}

void loop::orphan_op(std::uint64_t user_data) {
    auto idx = static_cast<std::uint32_t>(user_data) - 1;
    if (idx >= ops_.size()) return;
    op_slot& s = ops_[idx];
    if (!s.live || s.gen != static_cast<std::uint32_t>(user_data >> 32)) return;
    s.fn = nullptr;
    s.ctx = nullptr;
    if (!closing_) cancel_op(user_data);
}

void loop::turn() {
    ++turns_;
    run_ready();
    now_ = clock::now();
    timers_.run_due(now_);
    if (stop_.load(std::memory_order_acquire)) return;
    wait_for_completions();
    reap();
}

void loop::run_ready() {
    {
        std::lock_guard lk(posted_mu_);
        posted_.swap(posted_work_);
    }
    for (auto& fn : posted_work_) {
        try {
            fn();
        } catch (...) {
            detail::log_exception("a posted callback", std::current_exception());
        }
    }
    posted_work_.clear();
    // Only what was ready when the turn began runs now; what it schedules
    // waits for the next turn, so completions are never starved.
    ready_work_.swap(ready_);
    for (auto h : ready_work_) h.resume();
    ready_work_.clear();
}

void loop::wait_for_completions() {
    io_uring* r = ring_.get();
    bool more_ready = !ready_.empty();
    if (!more_ready) {
        std::lock_guard lk(posted_mu_);
        more_ready = !posted_.empty();
    }
    int rc;
    auto next = timers_.next_deadline();
    auto now = clock::now();
    if (more_ready || (next && *next <= now)) {
        // Nothing to submit and no completion waiting in the kernel (it
        // raises IORING_SQ_TASKRUN or CQ_OVERFLOW when there is): skip the
        // syscall and go on with the ready work.
        if (io_uring_sq_ready(r) == 0 && (ring_.features().setup_flags & IORING_SETUP_TASKRUN_FLAG) &&
            !(IO_URING_READ_ONCE(*r->sq.kflags) & (IORING_SQ_TASKRUN | IORING_SQ_CQ_OVERFLOW)))
            return;
        rc = io_uring_submit_and_get_events(r);
    } else if (ring_.features().min_wait) {
        // Batched: up to wait_batch completions, but no later than
        // min_wait_usec after the first (or the next timer).
        auto ns = next ? std::chrono::duration_cast<std::chrono::nanoseconds>(*next - now).count()
                       : std::int64_t{3600} * 1'000'000'000;
        __kernel_timespec ts{ns / 1'000'000'000, ns % 1'000'000'000};
        rc = uring::submit_and_wait_min(r, opts_.wait_batch, &ts, opts_.min_wait_usec);
    } else if (next) {
        auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(*next - now).count();
        __kernel_timespec ts{ns / 1'000'000'000, ns % 1'000'000'000};
        io_uring_cqe* cqe = nullptr;
        rc = io_uring_submit_and_wait_timeout(r, &cqe, 1, &ts, nullptr);
    } else {
        rc = io_uring_submit_and_wait(r, 1);
    }
    if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY)
        throw std::system_error(-rc, std::system_category(), "squall: io_uring_enter");
}

void loop::reap() {
    struct done {
        std::uint64_t user_data;
        int res;
        unsigned flags;
    };
    io_uring* r = ring_.get();
    io_uring_cqe* cqes[128];
    done batch[128];
    // Copy the batch out and release the CQ slots before dispatching, so
    // handlers may submit (and the kernel may post) freely.
    while (unsigned n = io_uring_peek_batch_cqe(r, cqes, 128)) {
        for (unsigned i = 0; i < n; ++i) batch[i] = {cqes[i]->user_data, cqes[i]->res, cqes[i]->flags};
        io_uring_cq_advance(r, n);
        for (unsigned i = 0; i < n; ++i) dispatch(batch[i].user_data, batch[i].res, batch[i].flags);
    }
}

void loop::dispatch(std::uint64_t user_data, int res, unsigned flags) noexcept {
    auto low = static_cast<std::uint32_t>(user_data);
    if (low == 0) {
        if (user_data == tag_wakeup) on_wakeup();
        else if (user_data == tag_signal) on_signal_ready(res, flags);
        return;
    }
    if (user_data == LIBURING_UDATA_TIMEOUT) return;
    std::uint32_t idx = low - 1;
    if (idx >= ops_.size()) return;
    op_slot& s = ops_[idx];
    if (!s.live || s.gen != static_cast<std::uint32_t>(user_data >> 32)) return;
    cqe_fn fn = s.fn;
    void* ctx = s.ctx;
    if (!(flags & IORING_CQE_F_MORE)) {
        // Free the slot before the handler runs: it may start a new op.
        s.live = false;
        s.fn = nullptr;
        s.ctx = nullptr;
        if (++s.gen == 0) s.gen = 1;
        s.next_free = free_head_;
        free_head_ = idx + 1;
        --ops_live_;
    }
    if (fn) {
        fn(ctx, res, flags);
    } else if ((flags & IORING_CQE_F_BUFFER) && buffers_) {
        // An orphaned receive still picked a buffer: put it back.
        auto bid = static_cast<std::uint16_t>(flags >> IORING_CQE_BUFFER_SHIFT);
        (void)buffers_->take(bid, res > 0 ? static_cast<std::size_t>(res) : 0, flags);
        buffers_->give_back(bid);
    }
}

void loop::arm_wakeup() {
    io_uring_sqe* s = sqe();
    io_uring_prep_read(s, wake_fd_, &wake_buf_, sizeof wake_buf_, 0);
    io_uring_sqe_set_data64(s, tag_wakeup);
    wake_armed_ = true;
}

void loop::on_wakeup() {
    wake_armed_ = false;
    // Clearing the flag before the next turn drains posted_ means a post()
    // that saw it set had already appended its callback (see post()).
    wake_pending_.store(false);
    if (!closing_) arm_wakeup();
}

void loop::drain_for_shutdown() {
    for (std::uint32_t i = 0; i < ops_.size(); ++i) {
        if (ops_[i].live) cancel_op((std::uint64_t{ops_[i].gen} << 32) | (i + 1));
    }
    auto cancel_tag = [&](std::uint64_t tag) {
        io_uring_sqe* s = sqe();
        io_uring_prep_cancel64(s, tag, 0);
        io_uring_sqe_set_data64(s, tag_ignore);
    };
    if (wake_armed_) cancel_tag(tag_wakeup);
    if (signal_armed_) cancel_tag(tag_signal);
    // Completions of cancelled operations normally arrive at once; the
    // bound only guards against an operation the kernel cannot cancel.
    auto give_up = clock::now() + std::chrono::seconds(5);
    while ((ops_live_ || wake_armed_ || signal_armed_) && clock::now() < give_up) {
        __kernel_timespec ts{0, 50'000'000};
        io_uring_cqe* cqe = nullptr;
        io_uring_submit_and_wait_timeout(ring_.get(), &cqe, 1, &ts, nullptr);
        reap();
    }
    if (ops_live_) spdlog::warn("squall: {} io_uring operations still in flight at loop exit", ops_live_);
}

}  // namespace squall

namespace squall {

thread_pool& loop::default_pool() {
    if (!pool_) pool_ = std::make_unique<thread_pool>();
    return *pool_;
}

buffer_ring& loop::buffers() {
    if (!buffers_ && opts_.recv_incremental) {
        buffers_ = std::make_unique<buffer_ring>(*this, opts_.recv_inc_buffers, opts_.recv_inc_buffer_size, 0, true);
        if (!buffers_->incremental()) buffers_.reset();  // a kernel before 6.12: the plain ring below
    }
    if (!buffers_) buffers_ = std::make_unique<buffer_ring>(*this, opts_.recv_buffers, opts_.recv_buffer_size, 0);
    return *buffers_;
}

}  // namespace squall
