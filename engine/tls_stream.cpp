// tls_stream: the shared state, the pump that feeds wolfSSL from the inner
// stream, the handshake and the reading side. Writes are in
// tls_stream_write.cpp. See tls_stream.hpp.
#include <squall/engine/tls_stream.hpp>

#include <squall/engine/detail/tls_core.hpp>

namespace squall {

namespace detail {

using session_state = tls_session::state;

tls_core::tls_core(std::unique_ptr<byte_stream> in, std::shared_ptr<tls_context> c)
    : inner(std::move(in)), ctx(std::move(c)), session(*ctx), lp(loop::current()) {}

tls_core::~tls_core() { hs_timer.cancel(); }

bool tls_core::readable() const noexcept {
    return closed || session.has_plain() || session.failed() || session.status() == session_state::peer_closed ||
           input_done || session.status() == session_state::idle;  // a client before handshake(): an error
}

std::error_code tls_core::write_failure() const noexcept {
    if (write_error) return write_error;
    if (closed) return errc::closed;
    if (session.failed()) return session.error();
    return {};
}

void tls_core::wake_all() noexcept {
    readers.wake_all();
    handshakers.wake_all();
    room.wake_all();
}

// The handshake deadline is a timer of its own, not a deadline on the
// first read: a client that finishes its handshake in time may then wait
// (a browser's preconnect) as long as the reader allows.
void tls_core::arm_handshake_deadline() {
    clock::time_point at = session.handshake_deadline();
    if (at == clock::time_point::max() || !lp) return;
    hs_timer = lp->call_at(at, [this] {
        if (!session.established() && !session.failed()) fail(errc::timed_out);
    });
}

void tls_core::fail(std::error_code ec) noexcept {
    session.fail(ec);
    if (!write_error) write_error = session.error();  // the session's first error
    hs_timer.cancel();
    pump_stop.request();  // nothing the peer sends is of use now
    wake_all();
}

void tls_core::end_input(std::error_code ec) noexcept {
    input_done = true;
    if (ec != errc::eof) input_error = ec;
    readers.wake_all();
    handshakers.wake_all();
}

void tls_core::advance() noexcept {
    const bool was_established = session.established();
    try {
        session.advance();
    } catch (...) {
        session.fail(std::make_error_code(std::errc::not_enough_memory));
    }
    if (!was_established && session.established()) hs_timer.cancel();
    if (session.failed() || (!was_established && session.established())) handshakers.wake_all();
    if (readable()) readers.wake_one();
}

// Every record leaves through here, taken from wolfSSL's output and handed
// to the inner stream with nothing in between that could suspend: the
// inner stream queues writes in call order, so records leave in the order
// wolfSSL made them, whichever task sends them.
task<result<void>> tls_core::send_output() {
    if (!session.has_output()) co_return result<void>{};
    // A session that failed on its own still sends its alert.
    if (write_error) co_return write_error;
    if (closed) co_return errc::closed;
    result<void> sent = co_await inner->write_owned(session.take_output());
    if (!sent) {
        // Part of a record may be out, or one was made and never sent:
        // nothing more can go on this session.
        fail(sent.error());
        co_return write_error;
    }
    co_return result<void>{};
}

namespace {

bool session_over(const tls_core& c) noexcept {
    return c.closed || c.input_done || c.session.failed() || c.session.status() == session_state::peer_closed;
}

// Reads ciphertext while the session lives, no further ahead of the
// reader than max_plain_chunks, and sends what the reading side makes
// (handshake messages, alerts). Holds the state, so the stream may go
// while a read is in flight: close() cancels it through pump_stop.
task<void> pump(std::shared_ptr<tls_core> c) {
    while (!session_over(*c)) {
        if (c->session.plain_chunks() >= tls_stream::max_plain_chunks) {
            result<void> w = co_await park_on(&c->room);
            if (!w) break;
            continue;
        }
        result<buffer_lease> got = co_await c->inner->read_some();
        if (c->closed || c->pump_stop.requested()) break;
        if (!got) {
            c->end_input(got.error());
            break;
        }
        c->session.feed(std::move(*got));
        c->advance();
        if (c->session.has_output()) (void)co_await c->send_output();
    }
    c->pumping = false;
}

}  // namespace

void ensure_pump(const std::shared_ptr<tls_core>& c) {
    if (c->pumping || session_over(*c) || !c->lp || c->lp->closing()) return;
    c->pumping = true;
    c->lp->spawn(pump(c), cancel_token(&c->pump_stop));
}

}  // namespace detail

using detail::session_state;

tls_stream::tls_stream(std::unique_ptr<byte_stream> inner, std::shared_ptr<tls_context> ctx)
    : core_(std::make_shared<detail::tls_core>(std::move(inner), std::move(ctx))) {
    if (core_->session.is_server()) core_->arm_handshake_deadline();
}

tls_stream::~tls_stream() { close(); }

void tls_stream::close() noexcept {
    auto& c = *core_;
    if (c.closed) return;
    c.closed = true;
    c.hs_timer.cancel();
    c.hs_timer = {};
    c.session.fail(errc::closed);  // its ciphertext leases go back
    if (!c.write_error) c.write_error = errc::closed;
    c.inner->close();  // wakes a send blocked on a peer that reads nothing
    c.pump_stop.request();
    c.wake_all();
}

bool tls_stream::closed() const noexcept { return core_->closed; }
std::optional<address> tls_stream::peer() const { return core_->inner->peer(); }
byte_stream& tls_stream::inner() noexcept { return *core_->inner; }
std::error_code tls_stream::write_error() const noexcept { return core_->write_error; }

bool tls_stream::has_unread() const noexcept {
    const auto& c = *core_;
    return has_spill() || c.session.has_plain() || !c.session.input_empty() || c.inner->has_unread();
}

std::string tls_stream::alpn() const { return core_->session.alpn(); }
std::string tls_stream::version() const { return core_->session.version(); }
std::string tls_stream::cipher() const { return core_->session.cipher(); }
bool tls_stream::resumed() const { return core_->session.resumed(); }

bool tls_stream::chunk_ready() const noexcept { return core_->readable(); }

bool tls_stream::park_reader(std::coroutine_handle<> h, cancel_state* token, std::optional<clock::time_point> deadline,
                             detail::waiter& w) {
    if (!deadline && read_timeout_ > clock::duration::zero()) deadline = clock::now() + read_timeout_;
    if (!w.park(h, token, deadline, &core_->readers)) return false;
    detail::ensure_pump(core_);
    return true;
}

result<buffer_lease> tls_stream::take_chunk() {
    auto& c = *core_;
    if (c.closed) return errc::closed;
    if (c.session.has_plain()) {
        buffer_lease l = c.session.take_plain();
        if (c.session.plain_chunks() < max_plain_chunks) c.room.wake_one();
        return l;
    }
    if (c.session.status() == session_state::idle) return tls_errc::handshake_first;
    if (c.session.failed()) return c.session.error();
    if (c.input_error) return c.input_error;
    return errc::eof;  // the inner stream ended, or close_notify
}

task<result<void>> tls_stream::handshake(std::string host) {
    auto& c = *core_;
    if (c.closed) co_return errc::closed;
    if (c.session.status() == session_state::idle) {
        // Without a name any certificate the trust store accepts would do.
        if (host.empty() && c.ctx->checks_host()) co_return tls_errc::handshake_first;
        try {
            c.session.start_client(host, c.ctx->handshake_timeout());  // the ClientHello
        } catch (...) {
            c.fail(std::make_error_code(std::errc::not_enough_memory));
        }
        c.arm_handshake_deadline();
        result<void> sent = co_await c.send_output();
        if (!sent) co_return sent;
    }
    for (;;) {
        if (c.session.established()) co_return result<void>{};
        if (c.closed) co_return errc::closed;
        if (c.session.failed()) co_return c.session.error();
        if (c.input_done) co_return c.input_error ? c.input_error : make_error_code(errc::eof);
        detail::ensure_pump(core_);
        result<void> w = co_await detail::park_on(&c.handshakers);
        if (!w) co_return w;
    }
}

}  // namespace squall
