// TLS hooks: the ciphertext arrives in pending_ as plain bytes would, is
// fed to the session (tls_pump), and readers take plaintext from it.
#include <liburing.h>

#include <squall/engine/detail/stream_parts.hpp>
#include <squall/engine/detail/tls_session.hpp>
#include <squall/engine/op.hpp>
#include <squall/engine/tls.hpp>

namespace squall {

bool stream::has_unread() const noexcept { return !pending_.empty() || (tls_ && tls_->has_plain()) || has_spill(); }

using detail::turn_guard;

bool stream::tls_readable() const noexcept {
    const auto& t = *tls_;
    return t.has_plain() || t.failed() ||
           t.status() == detail::tls_session::state::peer_closed || (pending_.empty() && (eof_ || recv_error_)) ||
           !fd_ || t.status() == detail::tls_session::state::idle;  // a client before handshake(): an error
}

// The handshake deadline is a timer of its own, not a deadline on the
// first read: a client that finishes its handshake in time may then wait
// (a browser's preconnect) as long as the reader allows.
void stream::arm_handshake_deadline() {
    clock::time_point at = tls_->handshake_deadline();
    if (at == clock::time_point::max()) return;
    hs_timer_ = loop_->call_at(at, [this] {
        if (tls_->established() || tls_->failed()) return;
        tls_fail(errc::timed_out);
    });
}

// The session failed or the peer sent close_notify: nothing more the peer
// sends is of use. The receive stops (an armed one is cancelled) and is not
// armed again, since recv_error_ / eof_ now say so; the reader's error
// comes from the session first.
void stream::tls_end_receive() noexcept {
    drop_pending();
    auto& t = *tls_;
    if (t.failed()) {
        if (!recv_error_) recv_error_ = t.error();
    } else {
        eof_ = true;
    }
    if (recv_armed_ && !pausing_ && fd_ && !loop_->closing()) {
        pausing_ = true;  // one cancel: the final completion clears it
        loop_->cancel_op(recv_ud_);
    }
}

// Fails the session from the stream's side (a send error, the handshake
// deadline): later reads and writes return `ec`.
void stream::tls_fail(std::error_code ec) noexcept {
    tls_->fail(ec);
    poison_writes(tls_->error());  // the session's first error
    tls_end_receive();
    readers_.wake_all();
    handshakers_.wake_all();
}

void stream::tls_pump() noexcept {
    auto& t = *tls_;
    const bool was_established = t.established();
    try {
        // Decrypt no further ahead of the reader than the cap on unread
        // chunks; what is left waits in pending_, which then pauses the
        // receive as for a plain stream.
        while (!pending_.empty() && t.plain_chunks() < opts_.max_pending_buffers &&
               (t.status() == detail::tls_session::state::handshaking || t.status() == detail::tls_session::state::open)) {
            chunk c = pending_.front();
            pending_.pop_front();
            if (c.from_ring) t.feed(buffer_lease(ring_, c.bid, c.data));
            else t.feed(buffer_lease(c.data));
            t.advance();
        }
    } catch (...) {
        t.fail(std::make_error_code(std::errc::not_enough_memory));
    }
    if (t.failed() || t.status() == detail::tls_session::state::peer_closed) tls_end_receive();
    else maybe_rearm();
    if (t.has_output()) tls_kick_send();
    if (!was_established && t.established()) hs_timer_.cancel();
    if (t.failed() || (!was_established && t.established()) || (pending_.empty() && (eof_ || recv_error_)))
        handshakers_.wake_all();
    if (tls_readable()) readers_.wake_one();
}

result<buffer_lease> stream::tls_take_chunk() {
    auto& t = *tls_;
    if (t.has_plain()) {
        buffer_lease l = t.take_plain();
        if (!pending_.empty()) tls_pump();
        else maybe_rearm();
        return l;
    }
    if (!fd_) return errc::closed;
    if (t.status() == detail::tls_session::state::idle) return tls_errc::handshake_first;
    if (t.failed()) return t.error();
    if (recv_error_) return recv_error_;
    if (eof_ || t.status() == detail::tls_session::state::peer_closed) return errc::eof;
    return errc::closed;
}

namespace {
void submit_send(loop* l, int fd, const std::string& bytes, std::size_t off, void* op, cqe_fn fn,
                 std::uint64_t& ud) {
    io_uring_sqe* s = l->sqe();
    io_uring_prep_send(s, fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    ud = l->start_op(op, fn);
    io_uring_sqe_set_data64(s, ud);
}
}  // namespace

// Output the reading side made (handshake messages, alerts, answers to a
// key update) goes out on its own when no writer holds the turn; it then
// holds the turn itself, so records leave in the order wolfSSL made them.
void stream::tls_kick_send() noexcept {
    if (writing_ || write_error_ || tls_send_ || !fd_ || !tls_->has_output() || loop_->closing()) return;
    try {
        auto* op = new tls_send_op{this, tls_->take_output()};
        writing_ = true;
        tls_send_ = op;
        submit_send(loop_, fd_.get(), op->bytes, 0, op, &stream::on_tls_send, tls_send_ud_);
    } catch (...) {
        tls_fail(std::make_error_code(std::errc::not_enough_memory));
    }
}

void stream::on_tls_send(void* ctx, int res, unsigned /*flags*/) noexcept {
    auto* op = static_cast<tls_send_op*>(ctx);
    stream* s = op->owner;
    if (!s) {
        delete op;
        return;
    }
    if (res > 0) {
        op->off += static_cast<std::size_t>(res);
        if (op->off < op->bytes.size() && s->fd_ && !s->loop_->closing()) {
            submit_send(s->loop_, s->fd_.get(), op->bytes, op->off, op, &stream::on_tls_send, s->tls_send_ud_);
            return;
        }
    }
    s->tls_send_ = nullptr;
    delete op;
    if (res <= 0) s->tls_fail(res < 0 ? from_errno(res) : std::make_error_code(std::errc::broken_pipe));
    s->end_write_turn();
}

task<result<void>> stream::tls_send(clock::time_point deadline) {
    std::string out;
    while (tls_->has_output()) {
        tls_->take_output(out);
        auto bytes = std::as_bytes(std::span(out));
        while (!bytes.empty()) {
            if (!fd_) co_return poison_writes(errc::closed);
            auto r = co_await send(fd_.get(), bytes).until(deadline);
            if (!r) {
                // Part of a record may have gone out and the rest of `out`
                // is lost: nothing more can be sent on this session.
                tls_fail(r.error());
                co_return r.error();
            }
            bytes = bytes.subspan(static_cast<std::size_t>(*r));
        }
    }
    tls_->recycle(std::move(out));  // its capacity serves the next write
    co_return result<void>{};
}

// `parts` lives in the calling write's frame, which awaits this.
task<result<void>> stream::tls_write(const iovec* parts, std::size_t n) {
    if (!tls_->established()) {
        // A client that checks certificates needs the host name first;
        // one that does not handshakes now, without a name.
        result<void> hs = co_await handshake();
        if (!hs) co_return hs;
    }
    result<void> turn = co_await write_turn(this);
    if (!turn) co_return turn;
    turn_guard g{this, &stream::end_write_turn};
    if (!fd_) co_return poison_writes(errc::closed);
    if (auto ec = tls_->encrypt(parts, n)) {
        tls_fail(ec);
        co_return ec;
    }
    co_return co_await tls_send(write_deadline());
}

// Parks a handshake until the session moves on.
class stream::tls_wait {
public:
    explicit tls_wait(stream* s) noexcept : s_(s) {}
    bool await_ready() const noexcept { return false; }
    template <class P>
    bool await_suspend(std::coroutine_handle<P> h) {
        if (!w_.park(h, token_of(h), std::nullopt, &s_->handshakers_)) return false;
        s_->maybe_rearm();
        return true;
    }
    result<void> await_resume() noexcept {
        if (w_.state() == detail::waiter::outcome::waiting) return errc::canceled;  // never parked
        return w_.status();
    }

private:
    stream* s_;
    detail::waiter w_;
};

task<result<void>> stream::handshake(std::string host) {
    if (!tls_) co_return result<void>{};
    if (tls_->status() == detail::tls_session::state::idle) {
        // Without a name any certificate the trust store accepts would do.
        if (host.empty() && opts_.tls->checks_host()) co_return tls_errc::handshake_first;
        tls_->start_client(host, opts_.tls->handshake_timeout());
        arm_handshake_deadline();
        tls_pump();
    }
    for (;;) {
        if (tls_->established()) co_return result<void>{};
        if (!fd_) co_return errc::closed;
        if (tls_->failed()) co_return tls_->error();
        if (pending_.empty() && recv_error_) co_return recv_error_;
        if (pending_.empty() && eof_) co_return errc::eof;
        result<void> w = co_await tls_wait(this);
        if (!w) co_return w;
    }
}

std::string stream::tls_alpn() const { return tls_ ? tls_->alpn() : std::string(); }
std::string stream::tls_version() const { return tls_ ? tls_->version() : std::string(); }
std::string stream::tls_cipher() const { return tls_ ? tls_->cipher() : std::string(); }
bool stream::tls_resumed() const { return tls_ && tls_->resumed(); }

}  // namespace squall
