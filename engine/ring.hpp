// ring: the RAII owner of one io_uring instance, and the options that set
// it up.
//
// Set-up tries the fastest configuration first (SINGLE_ISSUER +
// DEFER_TASKRUN, a completion queue several times the submission queue,
// a registered ring fd) and falls back flag by flag on older kernels;
// features() says what was kept. When io_uring itself is unavailable the
// constructor throws std::system_error whose message names the cause
// (kernel without io_uring, the io_uring_disabled sysctl, a seccomp
// profile) and the fix. A ring belongs to the thread that created it.
// Tests: tests/engine/ring_test.cpp.
#pragma once

#include <liburing.h>

#include <string>

namespace squall {

struct loop_options {
    unsigned sq_entries = 256;
    unsigned cq_entries = 0;    // 0: four times sq_entries
    bool defer_taskrun = true;  // SINGLE_ISSUER + DEFER_TASKRUN
    bool coop_taskrun = true;   // COOP_TASKRUN + TASKRUN_FLAG (without DEFER)
    bool sqpoll = false;        // a kernel thread polls the submission queue
    unsigned sqpoll_idle_ms = 1000;
    bool register_ring_fd = true;
    // NAPI busy poll (IORING_REGISTER_NAPI, Linux 6.9): a wait spins on the
    // device's receive queue for this long first; 0 leaves it off. Over
    // loopback there is no NAPI context to poll, so no gain shows there.
    unsigned napi_busy_poll_usec = 0;
    bool napi_prefer_busy_poll = false;
    // Batched waits (min_wait_usec, Linux 6.12): a blocking wait asks for
    // wait_batch completions but returns once min_wait_usec has passed
    // with at least one; 0 waits for the first, as before. Ignored with
    // SQPOLL and on kernels without IORING_FEAT_MIN_TIMEOUT.
    unsigned min_wait_usec = 0;
    unsigned wait_batch = 16;
    // The loop's provided buffer ring for receives (created on first use).
    unsigned recv_buffers = 4096;
    unsigned recv_buffer_size = 4096;
    // Incremental consumption (IOU_PBUF_RING_INC, Linux 6.12; the plain
    // ring above where the kernel lacks it): fewer, large buffers that
    // several receives fill in turn. On by default: 16 connections POSTing
    // 64 KiB cost ~30% less server CPU per request than with 4 KiB buffers
    // (make bench-features), GET / no more.
    bool recv_incremental = true;
    unsigned recv_inc_buffers = 256;
    unsigned recv_inc_buffer_size = 64 * 1024;
};

struct ring_features {
    unsigned setup_flags = 0;      // IORING_SETUP_* actually in force
    unsigned kernel_features = 0;  // IORING_FEAT_* reported by the kernel
    unsigned sq_entries = 0;
    unsigned cq_entries = 0;
    bool registered_fd = false;
    bool napi = false;      // busy poll registered
    bool min_wait = false;  // blocking waits batch with min_wait_usec

    bool has(unsigned setup_flag) const noexcept { return setup_flags & setup_flag; }
    std::string describe() const;
};

class ring {
public:
    explicit ring(const loop_options& opts = {});
    ~ring();
    ring(const ring&) = delete;
    ring& operator=(const ring&) = delete;

    io_uring* get() noexcept { return &ring_; }
    const ring_features& features() const noexcept { return features_; }

    // The message start-up failure carries for a given -errno from
    // io_uring_queue_init_params; exposed for tests and tools.
    static std::string unavailable_message(int negative_errno);

private:
    io_uring ring_{};
    ring_features features_;
};

}  // namespace squall
