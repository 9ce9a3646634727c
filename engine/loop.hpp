// loop: one io_uring event loop per thread, in Tornado's IOLoop terms.
//
// run() turns until stop(); each turn runs ready callbacks and resumed
// tasks, fires due timers, then makes one io_uring_submit_and_wait call
// whose timeout is the next timer's deadline. Completions resume the
// awaiting task directly. post() is the one thread-safe entry point
// (Tornado's add_callback); it wakes the ring through an eventfd read kept
// armed in it. Signals arrive through a signalfd read in the ring, and
// SIGPIPE is ignored once a loop exists.
//
// Ownership: the loop owns spawned tasks, timers' callbacks and the state
// of every kernel operation (a slab indexed by user_data) until its final
// completion, cancellation included. Destroying the loop cancels what is
// in flight, waits for those completions, then destroys the tasks that
// never finished. Thread: a loop belongs to the thread that created it
// (SINGLE_ISSUER); only post() and stop() may be called from elsewhere.
// Tests: tests/engine/loop_test.cpp, timer_test.cpp, signal_test.cpp.
#pragma once

#include <atomic>
#include <chrono>
#include <coroutine>
#include <cstdint>
#include <exception>
#include <functional>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

#include <squall/engine/detail/log.hpp>
#include <squall/engine/detail/timer_heap.hpp>
#include <squall/engine/ring.hpp>
#include <squall/engine/task.hpp>

namespace squall {

class loop;
class thread_pool;
class buffer_ring;
namespace detail {
class resolver_state;
}

using clock = std::chrono::steady_clock;

// A handle to a pending call_later/call_at callback (Tornado's timeout
// handle). Copyable; cancelling a timer that already ran is a no-op.
class timer_handle {
public:
    timer_handle() noexcept = default;
    bool cancel() noexcept;
    bool pending() const noexcept;

private:
    friend class loop;
    timer_handle(loop* l, detail::timer_heap::id id) noexcept : loop_(l), id_(id) {}
    loop* loop_ = nullptr;
    detail::timer_heap::id id_{};
};

// Called for each completion of a kernel operation registered with
// loop::start_op; IORING_CQE_F_MORE in `flags` means more will follow.
// Completions keep arriving while the loop is being destroyed (closing()):
// a handler must then release what it holds but resume no task.
using cqe_fn = void (*)(void* ctx, int res, unsigned flags) noexcept;

class loop final : private detail::root_owner {
public:
    explicit loop(loop_options opts = {});
    ~loop();
    loop(const loop&) = delete;
    loop& operator=(const loop&) = delete;

    // The loop created on this thread (the innermost one if several).
    static loop* current() noexcept;

    void run();
    void stop() noexcept;  // any thread
    bool stopping() const noexcept { return stop_.load(std::memory_order_relaxed); }

    // Runs the loop until `t` finishes and returns its value, rethrowing
    // its exception (Tornado's run_sync).
    template <class T>
    T run_sync(task<T> t);

    // Any thread. `fn` runs on the loop thread in a later turn, in order.
    void post(std::function<void()> fn);

    // The loop owns `t` from now on; an exception escaping it is logged.
    void spawn(task<void> t, cancel_token token = {});
    std::size_t spawned_count() const noexcept { return roots_count_; }

    timer_handle call_later(clock::duration d, std::function<void()> fn);
    timer_handle call_at(clock::time_point when, std::function<void()> fn);
    // The time cached at the start of this turn (libuv's uv_now).
    clock::time_point now() const noexcept { return now_; }
    // Counts turns: what ran in the same turn sees the same number (a
    // stream's per-turn read budget).
    std::uint64_t turns() const noexcept { return turns_; }
    std::size_t timers_pending() const noexcept { return timers_.size(); }
    std::uint64_t timers_added() const noexcept { return timers_.added(); }

    // Runs `fn` on this loop for each delivery of `sig` (SIGINT, SIGTERM,
    // SIGHUP, ...). The signal is blocked on this thread; block it on the
    // process's other threads too (block_signals) so it reaches the ring.
    void add_signal_handler(int sig, std::function<void(int)> fn);

    // The pool run_in_pool uses, created on first use with one thread per
    // core; joined when the loop is destroyed.
    thread_pool& default_pool();

    // The loop's provided receive buffer ring (created on first use, sized
    // by loop_options::recv_buffers / recv_buffer_size).
    buffer_ring& buffers();

    // The loop's DNS resolver state (engine/resolver.hpp: its c-ares
    // channel and cache), made on first use and destroyed with the loop.
    detail::resolver_state& resolver();

    // --- for awaitables and the layers above ---------------------------
    // Resumes `h` in this turn's ready queue (loop thread only).
    void schedule(std::coroutine_handle<> h) { ready_.push_back(h); }
    // An SQE to fill; submits pending ones first when the queue is full.
    io_uring_sqe* sqe();
    // Registers an operation: its completions go to fn(ctx, ...) until one
    // arrives without IORING_CQE_F_MORE. Returns the user_data to set.
    std::uint64_t start_op(void* ctx, cqe_fn fn);
    // Asks the kernel to cancel the operation (IORING_OP_ASYNC_CANCEL);
    // its completions still arrive.
    void cancel_op(std::uint64_t user_data);
    // The operation's owner is going away: cancel it and drop its
    // completions (buffers they carry go back to the ring); the slot is
    // freed at its final completion.
    void orphan_op(std::uint64_t user_data);
    std::size_t ops_in_flight() const noexcept { return ops_live_; }
    bool closing() const noexcept { return closing_; }

    io_uring* raw_ring() noexcept { return ring_.get(); }
    const ring_features& features() const noexcept { return ring_.features(); }

private:
    friend class timer_handle;
    // Internal user_data values: the low 32 bits are 0 (slots use index + 1).
    static constexpr std::uint64_t tag_ignore = 0;
    static constexpr std::uint64_t tag_wakeup = std::uint64_t{1} << 32;
    static constexpr std::uint64_t tag_signal = std::uint64_t{2} << 32;

    struct op_slot {
        void* ctx = nullptr;
        cqe_fn fn = nullptr;
        std::uint32_t gen = 1;
        std::uint32_t next_free = 0;
        bool live = false;
    };

    void on_root_done(detail::promise_base& p, std::coroutine_handle<> h) noexcept override;
    void unlink_root(detail::promise_base& p) noexcept;
    void turn();
    void run_ready();
    void wait_for_completions();
    void reap();
    void dispatch(std::uint64_t user_data, int res, unsigned flags) noexcept;
    void arm_wakeup();
    void on_wakeup();
    void arm_signals();
    void on_signal_ready(int res, unsigned flags);
    void drain_for_shutdown();
    void destroy_roots() noexcept;

    ring ring_;
    loop* previous_;
    std::thread::id owner_;
    std::atomic<bool> stop_{false};
    bool running_ = false;
    bool closing_ = false;
    clock::time_point now_;
    std::uint64_t turns_ = 0;

    std::vector<std::coroutine_handle<>> ready_, ready_work_;
    detail::timer_heap timers_;

    std::vector<op_slot> ops_;
    std::uint32_t free_head_ = 0;  // 1-based index of the first free slot
    std::size_t ops_live_ = 0;

    detail::intrusive_list<detail::promise_base, detail::root_tag> roots_;
    std::size_t roots_count_ = 0;

    // post(): other threads append under the mutex and write the eventfd
    // once per batch (wake_pending_ says a write is already on its way).
    std::mutex posted_mu_;
    std::vector<std::function<void()>> posted_, posted_work_;
    std::atomic<bool> wake_pending_{false};
    int wake_fd_ = -1;
    std::uint64_t wake_buf_ = 0;
    bool wake_armed_ = false;

    int signal_fd_ = -1;
    std::vector<std::pair<int, std::function<void(int)>>> signal_handlers_;
    bool signal_armed_ = false;

    loop_options opts_;
    std::unique_ptr<thread_pool> pool_;
    std::unique_ptr<buffer_ring> buffers_;
    // A function deleter keeps the type (and c-ares) out of this header.
    std::unique_ptr<detail::resolver_state, void (*)(detail::resolver_state*)> resolver_{nullptr, nullptr};
};

// Blocks `signals` in the calling thread (and threads it creates later).
void block_signals(std::initializer_list<int> signals);

template <class T>
T loop::run_sync(task<T> t) {
    std::optional<std::conditional_t<std::is_void_v<T>, bool, T>> out;
    std::exception_ptr err;
    auto runner = [](task<T> inner, loop* self, decltype(out)* o, std::exception_ptr* e) -> task<void> {
        try {
            if constexpr (std::is_void_v<T>) {
                co_await std::move(inner);
                o->emplace(true);
            } else {
                o->emplace(co_await std::move(inner));
            }
        } catch (...) {
            *e = std::current_exception();
        }
        self->stop();
    };
    spawn(runner(std::move(t), this, &out, &err));
    run();
    if (err) std::rethrow_exception(err);
    if (!out) throw std::logic_error("squall: loop stopped before run_sync's task finished");
    if constexpr (!std::is_void_v<T>) return std::move(*out);
}

}  // namespace squall
