// close_watch: noticing a client that leaves while its handler waits.
//
// watched_call runs one handler step (prepare() or a verb). A step that
// finishes without suspending costs nothing more. One that suspends while
// the request is fully read and no next request is buffered has the
// connection watch the stream with a pending read: EOF or a reset means
// the client left (the connection fires on_connection_close() and the
// request's tokens, the response is dropped and logged as 499), while
// bytes that arrive are the client's next request and are kept for it
// (the watch then stops: the client is still talking). The connection
// ends the watch (cancel, then wait for the read to finish) before it
// reads again, detaches, or returns from the handler. Loop thread only.
// Tests: tests/http/close_watch_test.cpp.
#pragma once

#include <coroutine>

#include <squall/engine/task.hpp>

namespace squall::http::detail {

class connection;

class watched_call {
public:
    watched_call(connection& c, task<void>& step) noexcept : c_(c), h_(step.handle()) {}
    bool await_ready() const noexcept { return !h_ || h_.done(); }
    template <class P>
    bool await_suspend(std::coroutine_handle<P> parent) {
        if (!h_.promise().cancel_) h_.promise().cancel_ = token_of(parent);
        // Run the step here (its continuation unset, so a step that ends
        // at once comes back to this call), to learn whether it suspends.
        h_.resume();
        if (h_.done()) return false;
        h_.promise().continuation_ = parent;
        start_watch();
        return true;
    }
    void await_resume() { h_.promise().take(); }

private:
    void start_watch();
    connection& c_;
    task<void>::handle_type h_;
};

// Awaits the end of a watch task that was asked to stop.
struct watch_join {
    task<void>::handle_type h;
    bool await_ready() const noexcept { return !h || h.done(); }
    bool await_suspend(std::coroutine_handle<> parent) noexcept {
        h.promise().continuation_ = parent;
        return true;
    }
    void await_resume() const noexcept {}
};

}  // namespace squall::http::detail
