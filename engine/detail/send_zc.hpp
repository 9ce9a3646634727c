// One IORING_OP_SEND_ZC and the bytes it sends.
//
// The kernel reports a zero-copy send twice: first the result (with
// IORING_CQE_F_MORE), later a notification (IORING_CQE_F_NOTIF) once it no
// longer reads the pages. The sender resumes on the first; the state here,
// which keeps the owner of the bytes alive, is heap-allocated and frees
// itself on the last, so the next send never waits for a notification.
// Loop thread only. Tests: tests/engine/stream_test.cpp (zero_copy_*).
#pragma once

#include <coroutine>
#include <cstdint>
#include <memory>
#include <span>

#include <squall/engine/loop.hpp>
#include <squall/engine/result.hpp>

namespace squall::detail {

class send_zc_awaitable {
public:
    send_zc_awaitable(int fd, std::span<const std::byte> bytes, std::shared_ptr<void> owner,
                      clock::time_point deadline) noexcept;
    send_zc_awaitable(const send_zc_awaitable&) = delete;
    ~send_zc_awaitable();

    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h);
    result<int> await_resume() const noexcept;

private:
    struct state;
    static void on_cqe(void* ctx, int res, unsigned flags) noexcept;

    int fd_;
    std::span<const std::byte> bytes_;
    std::shared_ptr<void> owner_;
    clock::time_point deadline_;
    // The state and the awaitable point at each other; whichever goes
    // first clears the other's pointer.
    state* state_ = nullptr;
    std::coroutine_handle<> waiter_;
    timer_handle timer_;
    int res_ = 0;
    bool timed_out_ = false;
};

}  // namespace squall::detail
