// The close watch of a connection: see close_watch.hpp.
#include <squall/http/detail/close_watch.hpp>

#include <spdlog/spdlog.h>

#include <squall/http/detail/connection.hpp>
#include <squall/http/detail/exchange.hpp>

namespace squall::http::detail {

void watched_call::start_watch() { c_.start_watch(); }

void connection::start_watch() {
    // Only with the whole request read (no body read competes with this
    // one) and no next request buffered (that one is parsed from rest_,
    // which must stay a view into the newest lease).
    if (watch_.valid() || !current_ || !p_.message_complete() || !rest_.empty()) return;
    if (detached_ || broken_ || !s_ || s_->closed() || gone_.requested()) return;
    watch_stop_.emplace();
    watch_ = watch_close();
    watch_.set_cancel_token(cancel_token(&*watch_stop_));
    watch_.handle().resume();  // runs to its read, or to the end if the client is gone already
}

task<void> connection::end_watch() {
    if (!watch_.valid()) co_return;
    if (!watch_.done()) {
        watch_stop_->request();
        // The read resumes in a later turn (with a chunk that came first,
        // or cancelled): wait for it, so that nothing reads after it.
        watch_join j{watch_.handle()};
        co_await j;
    }
    watch_ = {};
    watch_stop_.reset();
}

task<void> connection::watch_close() {
    result<buffer_lease> got = co_await s_->read_some();
    if (got) {
        // The client's next request (pipelined): kept for it, in order.
        auto bytes = got->bytes();
        held_.push_back(std::move(*got));
        rest_ = std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size());
        co_return;
    }
    if (got.error() == make_error_code(errc::canceled)) co_return;
    client_left();
}

void connection::client_left() {
    if (gone_.requested()) return;
    close_ = broken_ = true;
    if (current_ex_) current_ex_->closed = true;
    gone_.request();
    stop_wait_.request();
    if (!current_) return;
    try {
        current_->on_connection_close();
    } catch (const std::exception& e) {
        spdlog::error("squall: on_connection_close failed: {}", e.what());
    }
}

}  // namespace squall::http::detail
