// tls_core: the state of one tls_stream, shared by the stream and its pump
// task (so the pump can finish a read after the stream is gone). Private
// to engine/tls_stream*.cpp. Loop thread only.
// Tests: tests/engine/tls_stream_test.cpp, tests/engine/tls_test.cpp.
#pragma once

#include <memory>
#include <system_error>

#include <squall/engine/byte_stream.hpp>
#include <squall/engine/detail/tls_session.hpp>
#include <squall/engine/detail/waiter.hpp>
#include <squall/engine/loop.hpp>
#include <squall/engine/tls.hpp>

namespace squall::detail {

struct tls_core {
    tls_core(std::unique_ptr<byte_stream> in, std::shared_ptr<tls_context> c);
    ~tls_core();
    tls_core(const tls_core&) = delete;
    tls_core& operator=(const tls_core&) = delete;

    // Whether a read would complete now (plaintext, an end or an error).
    bool readable() const noexcept;
    // Why a write cannot go on, if it cannot.
    std::error_code write_failure() const noexcept;
    // Handshake and decrypt what was fed; wakes whoever that concerns.
    void advance() noexcept;
    // Fails the session from this side (a send error, the handshake
    // deadline): later reads and writes return the session's error.
    void fail(std::error_code ec) noexcept;
    // The pump ended on the inner stream's end or error.
    void end_input(std::error_code ec) noexcept;
    void arm_handshake_deadline();
    void wake_all() noexcept;
    // Hands what wolfSSL made to the inner stream, in order.
    task<result<void>> send_output();

    std::unique_ptr<byte_stream> inner;
    std::shared_ptr<tls_context> ctx;
    tls_session session;
    loop* lp;
    bool closed = false;
    bool pumping = false;
    bool input_done = false;      // the inner stream ended (eof_or error)
    std::error_code input_error;  // its error, unless a clean end
    std::error_code write_error;  // the first failed write's
    unsigned hs_writers = 0;      // writers waiting for the handshake
    cancel_state pump_stop;       // the pump's token
    timer_handle hs_timer;
    waiter_list readers, handshakers, room;
};

// Starts the pump task if it is not running and there is input to read.
void ensure_pump(const std::shared_ptr<tls_core>& c);

// Parks a task on `list` until woken or its token fires.
class park_on {
public:
    explicit park_on(waiter_list* list) noexcept : list_(list) {}
    bool await_ready() const noexcept { return false; }
    template <class P>
    bool await_suspend(std::coroutine_handle<P> h) {
        return w_.park(h, token_of(h), std::nullopt, list_);
    }
    result<void> await_resume() const noexcept {
        if (w_.state() == waiter::outcome::waiting) return errc::canceled;  // never parked
        return w_.status();
    }

private:
    waiter_list* list_;
    waiter w_;
};

}  // namespace squall::detail
