// The sending half of a WebSocket connection: framing into the send queue,
// the task that drains it, the cap, the write timeout and what a failed
// write does. See connection.hpp and ws/detail/send_queue.hpp.
#include <spdlog/spdlog.h>

#include <squall/engine/loop.hpp>
#include <squall/engine/time.hpp>
#include <squall/ws/connection.hpp>

namespace squall::ws {

namespace {

// Until `e` is set; run under a token that never fires.
task<void> wait_set(squall::event* e) {
    while (!e->is_set()) {
        result<void> w = co_await e->wait();
        (void)w;
    }
}

opcode data_opcode(bool binary) noexcept { return binary ? opcode::binary : opcode::text; }

}  // namespace

task<result<void>> connection::stream_sink::write(std::vector<iovec> iov) {
    busy = true;
    byte_stream* s = c->s_.get();
    task<result<void>> w;
    if (iov.size() == 1) w = s->write(std::span(static_cast<const std::byte*>(iov[0].iov_base), iov[0].iov_len));
    else w = s->writev(std::move(iov));
    result<void> r;
    if (c->opts_.write_timeout > clock::duration::zero()) {
        auto t = with_timeout(c->opts_.write_timeout, std::move(w));
        t.set_cancel_token(c->writes_stop_.token());
        r = co_await std::move(t);
    } else {
        w.set_cancel_token(c->writes_stop_.token());
        r = co_await std::move(w);
    }
    busy = false;
    co_return r;
}

// A write failed or timed out, perhaps in the middle of a frame: nothing
// can follow it, not even a close frame, so the TCP connection ends. The
// reader wakes with the stream closed and the session ends.
void connection::stream_sink::abort() noexcept {
    if (!c->broken_) spdlog::debug("ws: a write failed: closing the connection");
    c->broken_ = true;
    if (!c->s_->closed()) c->s_->close();
}

void connection::abort() noexcept {
    if (finished_) return;  // closed already
    broken_ = true;
    if (!s_->closed()) s_->close();  // ends a write in flight too
    // A write in flight still lends its bytes to the kernel: the drain
    // fails the queue once it returns.
    if (!sink_.busy) queue_.fail_all(errc::closed);
}

// Whether a message of `n` bytes may be queued (capped: data, ping, pong).
result<void> connection::admit(std::size_t n, bool capped) {
    if (closed_ || broken_ || finished_ || queue_.failed()) return errc::closed;
    if (capped && !queue_.fits(n)) {
        if (opts_.on_overflow == overflow_policy::close) abort();
        return errc::queue_full;
    }
    return {};
}

void connection::enqueue(detail::outgoing o) {
    queue_.push(std::move(o));
    if (!draining_) start_drain();
}

void connection::start_drain() {
    draining_ = true;
    writes_idle_.clear();
    loop::current()->spawn(run_drain(shared_from_this()));
}

task<void> connection::run_drain(std::shared_ptr<connection> self) {
    co_await detail::drain(&self->queue_, &self->sink_);
    self->draining_ = false;
    self->writes_idle_.set();
}

// An awaiting writer that finds no drain running writes the queue itself
// until its own message is out (no task to spawn on the echo path), then
// hands what others queued since to a drain task.
task<void> connection::drain_inline(const squall::event* mine) {
    draining_ = true;
    writes_idle_.clear();
    co_await detail::drain(&queue_, &sink_, mine);
    draining_ = false;
    if (!queue_.empty() && !queue_.failed() && !finished_) start_drain();
    else writes_idle_.set();
}

// Queues one frame (or a fragmented message) and waits until the kernel
// took it or the queue failed. The wait ignores the caller's cancel token:
// the queue may point into this frame and the caller's bytes until then.
task<result<void>> connection::send(opcode op, std::span<const std::byte> payload) {
    result<void> ok = admit(payload.size(), op != opcode::close);
    if (!ok) co_return ok;
    detail::send_waiter w;
    detail::outgoing o;
    writer_.frame(op, payload, o.wire);
    o.waiter = &w;
    queue_.push(std::move(o));
    if (!draining_) {
        auto own = drain_inline(&w.done);
        own.set_cancel_token(no_cancel_.token());
        co_await std::move(own);
    }
    auto wait = wait_set(&w.done);
    wait.set_cancel_token(no_cancel_.token());
    co_await std::move(wait);
    if (w.error) co_return w.error;
    co_return result<void>{};
}

task<result<void>> connection::write_message(std::string_view data, bool binary) {
    if (close_sent_) co_return errc::closed;
    result<void> r = co_await send(data_opcode(binary), std::as_bytes(std::span(data)));
    co_return r;
}

result<void> connection::post_message(std::string data, bool binary) {
    if (close_sent_) return errc::closed;
    result<void> ok = admit(data.size(), true);
    if (!ok) return ok;
    detail::outgoing o;
    o.payload = std::move(data);  // (heap bytes keep their place when `o` moves)
    writer_.frame(data_opcode(binary), o.payload, o.wire);
    enqueue(std::move(o));
    return ok;
}

result<void> connection::post_framed(std::shared_ptr<const std::string> wire) {
    if (close_sent_) return errc::closed;
    result<void> ok = admit(wire->size(), true);
    if (!ok) return ok;
    detail::outgoing o;
    o.shared = std::move(wire);
    enqueue(std::move(o));
    return ok;
}

task<result<void>> connection::ping(std::string_view data) {
    if (close_sent_) co_return errc::closed;
    result<void> r = co_await send(opcode::ping, std::as_bytes(std::span(data)));
    co_return r;
}

task<result<void>> connection::pong(std::string_view data) {
    if (close_sent_) co_return errc::closed;
    result<void> r = co_await send(opcode::pong, std::as_bytes(std::span(data)));
    co_return r;
}

task<result<void>> connection::close(std::uint16_t code, std::string reason) {
    if (closed_ || close_sent_ || broken_) co_return errc::closed;
    close_sent_ = true;
    close_deadline_ = clock::now() + opts_.close_timeout;
    if (reading_) {  // let the reader take up the close deadline
        wake_ = true;
        reading_->request_cancel();
    }
    std::string body = message_writer::close_payload(code, reason);
    result<void> r = co_await send(opcode::close, std::as_bytes(std::span(body)));
    co_return r;
}

task<void> connection::finish() {
    closed_ = true;
    if (draining_) {
        writes_stop_.request_cancel();
        auto idle = wait_set(&writes_idle_);
        idle.set_cancel_token(no_cancel_.token());
        co_await std::move(idle);
    }
    queue_.fail_all(errc::closed);  // nothing is in flight now
    finished_ = true;
    lease_.reset();
    in_ = {};
    s_->close();
}

}  // namespace squall::ws
