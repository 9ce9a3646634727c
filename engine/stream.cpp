#include <squall/engine/stream.hpp>

#include <liburing.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <thread>

#include <squall/engine/detail/send_zc.hpp>
#include <squall/engine/detail/tls_session.hpp>
#include <squall/engine/op.hpp>
#include <squall/engine/tls.hpp>

namespace squall {

// A send of TLS output no writer carries (see tls_kick_send).
struct stream::tls_send_op {
    stream* owner;  // null once the stream is gone: the op frees itself
    std::string bytes;
    std::size_t off = 0;
};

stream::stream(unique_fd fd, stream_options opts)
    : loop_(loop::current()), fd_(std::move(fd)), opts_(opts) {
    if (!opts_.buffer_ring) opts_.multishot_recv = false;
    if (opts_.max_pending_buffers == 0) opts_.max_pending_buffers = 1;
    if (opts_.buffer_ring) ring_ = &loop_->buffers();
    if (opts_.tls) {
        tls_ = std::make_unique<detail::tls_session>(*opts_.tls);
        if (tls_->is_server()) arm_handshake_deadline();
    }
}

stream::~stream() { close(); }

namespace {
// Whether an SQE not yet consumed by the kernel names `fd`. SQEs reach the
// kernel only when the loop submits (or a full queue forces it), and the
// kernel looks the fd number up then: one queued against a number closed
// since would act on whatever file the number names by then, perhaps a
// connection another loop thread just accepted. liburing maps SQ slots to
// SQEs one to one.
bool queued_for(io_uring* r, int fd) noexcept {
    unsigned head = io_uring_smp_load_acquire(r->sq.khead);
    for (unsigned i = head; i != r->sq.sqe_tail; ++i) {
        const io_uring_sqe& e = r->sq.sqes[i & r->sq.ring_mask];
        if (e.fd == fd && !(e.flags & IOSQE_FIXED_FILE)) return true;
    }
    return false;
}
}  // namespace

void stream::release_fd() noexcept {
    if (!fd_) return;
    io_uring* r = loop_->raw_ring();
    // A closing loop submits nothing more (what is queued dies with the
    // ring), and must not start operations on memory about to be freed.
    if (!loop_->closing() && queued_for(r, fd_.get())) {
        // Hand them to the kernel while the number is still ours (each then
        // holds the file; the cancels queued behind them end the receive).
        // A kernel SQ thread takes them on its own time: wait until it has.
        io_uring_submit(r);
        if (r->flags & IORING_SETUP_SQPOLL) {
            for (int spins = 0; spins < 100000 && queued_for(r, fd_.get()); ++spins) std::this_thread::yield();
        }
    }
    fd_.reset();
}

void stream::close() noexcept {
    if (recv_armed_) {
        loop_->orphan_op(recv_ud_);  // its buffers go back to the ring
        recv_armed_ = false;
    }
    if (starved_) ring_->cancel_wait(starve_wait_);
    starved_ = false;
    drop_pending();
    if (tls_) {
        hs_timer_.cancel();
        tls_->fail(errc::closed);  // its ciphertext leases go back too
        if (tls_send_) {
            // The send frees its bytes at its completion; writers waiting
            // behind it get their turn (and errc::closed).
            tls_send_->owner = nullptr;
            if (!loop_->closing()) loop_->cancel_op(tls_send_ud_);
            tls_send_ = nullptr;
            if (fd_) {
                release_fd();
                end_write_turn();
            }
        }
    }
    release_fd();
    readers_.wake_all();  // they see errc::closed
    handshakers_.wake_all();
}

void stream::drop_pending() noexcept {
    pending_.for_each([this](chunk& c) {
        if (c.from_ring) ring_->give_back(c.bid);
    });
    pending_.clear();
}

std::optional<clock::time_point> stream::read_deadline() const noexcept {
    if (opts_.read_timeout <= clock::duration::zero()) return std::nullopt;
    return clock::now() + opts_.read_timeout;
}

clock::time_point stream::write_deadline() const noexcept {
    if (opts_.write_timeout <= clock::duration::zero()) return clock::time_point::max();
    return clock::now() + opts_.write_timeout;
}

namespace {
// Whether the kernel takes a total byte limit on a multishot recv (the
// SQE's optlen, which liburing 2.3 still calls file_index): 1 yes, 0 no,
// -1 not known yet. Kernels without it reject the SQE with -EINVAL.
std::atomic<int> mshot_limit_known{-1};
}  // namespace

void stream::arm_recv() {
    io_uring_sqe* s = loop_->sqe();
    recv_limited_ = false;
    if (ring_) {
        if (opts_.multishot_recv) {
            io_uring_prep_recv_multishot(s, fd_.get(), nullptr, 0, 0);
            if (opts_.recv_byte_limit && mshot_limit_known.load(std::memory_order_relaxed) != 0) {
                // The kernel stops this receive once the unread chunks
                // would reach the cap: one connection cannot drain the ring.
                auto credit = opts_.max_pending_buffers - pending_.size();
                s->file_index = static_cast<std::uint32_t>(credit * ring_->buffer_size());
                recv_limited_ = true;
            }
        } else {
            io_uring_prep_recv(s, fd_.get(), nullptr, ring_->buffer_size(), 0);
        }
        s->flags |= IOSQE_BUFFER_SELECT;
        s->buf_group = ring_->group();
    } else {
        if (!plain_buf_) plain_buf_ = std::make_unique<std::byte[]>(opts_.plain_buffer_size);
        io_uring_prep_recv(s, fd_.get(), plain_buf_.get(), opts_.plain_buffer_size, 0);
    }
    recv_ud_ = loop_->start_op(this, &stream::on_recv);
    io_uring_sqe_set_data64(s, recv_ud_);
    recv_armed_ = true;
}

void stream::maybe_rearm() {
    if (recv_armed_ || !fd_ || eof_ || recv_error_ || starved_ || loop_->closing()) return;
    if (opts_.multishot_recv) {
        // Armed ahead of the reader, up to the cap on unread chunks.
        if (pending_.size() < opts_.max_pending_buffers) arm_recv();
    } else if (pending_.empty() && (!readers_.empty() || !handshakers_.empty())) {
        // One-shot: only for a waiting reader, and (without the ring) only
        // once the previous chunk of the shared buffer was taken.
        arm_recv();
    }
}

void stream::on_recv(void* ctx, int res, unsigned flags) noexcept {
    static_cast<stream*>(ctx)->handle_recv(res, flags);
}

void stream::handle_recv(int res, unsigned flags) noexcept {
    const bool final = !(flags & IORING_CQE_F_MORE);
    if (final) recv_armed_ = false;
    if (flags & IORING_CQE_F_BUFFER) {
        auto bid = static_cast<std::uint16_t>(flags >> IORING_CQE_BUFFER_SHIFT);
        std::span<std::byte> buf = ring_->take(bid);
        if (res > 0) pending_.push_back({bid, true, buf.first(static_cast<std::size_t>(res))});
        else ring_->give_back(bid);
    } else if (!ring_ && res > 0) {
        pending_.push_back({0, false, {plain_buf_.get(), static_cast<std::size_t>(res)}});
    }
    if (res == -EINVAL && recv_limited_ && mshot_limit_known.load(std::memory_order_relaxed) == -1) {
        // An older kernel: no byte limit. Fall back to cancelling the
        // receive when the reader falls behind.
        mshot_limit_known.store(0, std::memory_order_relaxed);
        maybe_rearm();
        return;
    }
    if (recv_limited_ && res > 0) mshot_limit_known.store(1, std::memory_order_relaxed);
    if (res == 0) {
        eof_ = true;
    } else if (res == -ENOBUFS) {
        // The ring ran dry (many connections at once): wait for leases to
        // come back rather than spin.
        starved_ = true;
        ++starvations_;
        starve_wait_ = ring_->wait_for_buffers([this] {
            starved_ = false;
            maybe_rearm();
        });
    } else if (res < 0 && res != -ECANCELED) {
        recv_error_ = from_errno(res);
    }
    if (final) {
        // A limited receive that used up its credit: paused until read.
        if (recv_limited_ && res > 0 && pending_.size() >= opts_.max_pending_buffers) ++pauses_;
        pausing_ = false;
        maybe_rearm();
    } else if (!recv_limited_ && !pausing_ && pending_.size() >= opts_.max_pending_buffers) {
        // The reader is behind: stop taking buffers from the shared ring.
        pausing_ = true;
        ++pauses_;
        loop_->cancel_op(recv_ud_);
    }
    if (tls_) tls_pump();
    else if (readable(true)) readers_.wake_one();
}

result<buffer_lease> stream::take_chunk(bool raw) {
    if (tls_) return tls_take_chunk(raw);
    if (!raw && has_spill()) {
        auto rest = std::as_writable_bytes(std::span(spill_)).subspan(spill_pos_);
        spill_pos_ = spill_.size();
        return buffer_lease(rest);
    }
    if (!pending_.empty()) {
        chunk c = pending_.front();
        pending_.pop_front();
        maybe_rearm();
        if (c.from_ring) return buffer_lease(ring_, c.bid, c.data);
        return buffer_lease(c.data);
    }
    if (recv_error_) return recv_error_;
    if (!fd_) return errc::closed;
    if (eof_) return errc::eof;
    return errc::closed;
}

task<result<std::string_view>> stream::read_until(std::string delim, std::size_t max) {
    spill_.erase(0, spill_pos_);
    spill_pos_ = 0;
    std::size_t scanned = 0;
    for (;;) {
        std::size_t pos = delim.empty() ? std::string::npos : spill_.find(delim, scanned);
        if (pos != std::string::npos) {
            if (pos + delim.size() > max) co_return errc::too_long;
            spill_pos_ = pos + delim.size();
            co_return std::string_view(spill_).substr(0, spill_pos_);
        }
        if (spill_.size() >= max) co_return errc::too_long;
        scanned = spill_.size() >= delim.size() ? spill_.size() - delim.size() + 1 : 0;
        auto got = co_await read_awaitable(this, true);
        if (!got) co_return got.error();
        auto bytes = got->bytes();
        spill_.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    }
}

task<result<std::span<const std::byte>>> stream::read_exactly(std::size_t n) {
    spill_.erase(0, spill_pos_);
    spill_pos_ = 0;
    while (spill_.size() < n) {
        auto got = co_await read_awaitable(this, true);
        if (!got) co_return got.error();
        auto bytes = got->bytes();
        spill_.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    }
    spill_pos_ = n;
    co_return std::as_bytes(std::span(spill_)).first(n);
}

}  // namespace squall

namespace squall {

// Waits for this writer's turn: writes go out whole and in call order.
class stream::write_turn {
public:
    explicit write_turn(stream* s) noexcept : s_(s) {}
    bool await_ready() const noexcept { return !s_->writing_; }
    template <class P>
    bool await_suspend(std::coroutine_handle<P> h) {
        return w_.park(h, token_of(h), std::nullopt, &s_->writers_);
    }
    result<void> await_resume() noexcept {
        if (w_.state() == detail::waiter::outcome::waiting) s_->writing_ = true;  // did not suspend
        return w_.status();  // woken: the previous writer handed the turn over
    }

private:
    stream* s_;
    detail::waiter w_;
};

void stream::end_write_turn() noexcept {
    // Hand the turn straight to the oldest waiting writer, if any.
    if (!writers_.wake_one()) {
        writing_ = false;
        if (tls_) tls_kick_send();  // what the reading side made since
    }
}

namespace {
struct turn_guard {
    stream* s;
    void (stream::*end)() noexcept;
    ~turn_guard() { (s->*end)(); }
};
}  // namespace

task<result<void>> stream::send_all(std::span<const std::byte> bytes, clock::time_point deadline) {
    while (!bytes.empty()) {
        if (!fd_) co_return errc::closed;
        auto r = co_await send(fd_.get(), bytes).until(deadline);
        if (!r) co_return r.error();
        bytes = bytes.subspan(static_cast<std::size_t>(*r));
    }
    co_return result<void>{};
}

task<result<void>> stream::write(std::span<const std::byte> bytes) {
    if (tls_) {
        iovec one{const_cast<std::byte*>(bytes.data()), bytes.size()};
        co_return co_await tls_write(&one, 1);
    }
    result<void> turn = co_await write_turn(this);
    if (!turn) co_return turn;
    turn_guard g{this, &stream::end_write_turn};
    // The send loop inline (not send_all): the hottest write path saves a
    // coroutine frame per call.
    auto deadline = write_deadline();
    while (!bytes.empty()) {
        if (!fd_) co_return errc::closed;
        auto r = co_await send(fd_.get(), bytes).until(deadline);
        if (!r) co_return r.error();
        bytes = bytes.subspan(static_cast<std::size_t>(*r));
    }
    co_return result<void>{};
}

task<result<void>> stream::writev(std::vector<iovec> parts) {
    if (tls_) co_return co_await tls_write(parts.data(), parts.size());
    result<void> turn = co_await write_turn(this);
    if (!turn) co_return turn;
    turn_guard g{this, &stream::end_write_turn};
    auto deadline = write_deadline();
    std::size_t first = 0;
    msghdr mh{};
    for (;;) {
        while (first < parts.size() && parts[first].iov_len == 0) ++first;
        if (first == parts.size()) co_return result<void>{};
        if (!fd_) co_return errc::closed;
        mh.msg_iov = &parts[first];
        mh.msg_iovlen = std::min<std::size_t>(parts.size() - first, IOV_MAX);
        int fd = fd_.get();
        auto send = submit([fd, &mh](io_uring_sqe* s) { io_uring_prep_sendmsg(s, fd, &mh, MSG_NOSIGNAL); });
        auto r = co_await std::move(send).until(deadline);
        if (!r) co_return r.error();
        // A short send: skip what went out, trim the part it ended in.
        auto sent = static_cast<std::size_t>(*r);
        while (sent > 0) {
            iovec& v = parts[first];
            std::size_t take = std::min(sent, v.iov_len);
            v.iov_base = static_cast<char*>(v.iov_base) + take;
            v.iov_len -= take;
            sent -= take;
            if (v.iov_len == 0) ++first;
        }
    }
}

bool stream::zero_copy_pays() noexcept {
    if (zc_peer_ < 0) {
        // Looked up once, at the first large owned write.
        sockaddr_storage ss{};
        socklen_t len = sizeof ss;
        bool loopback = true;
        if (fd_ && ::getpeername(fd_.get(), reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
            if (ss.ss_family == AF_INET) {
                auto a = ntohl(reinterpret_cast<const sockaddr_in*>(&ss)->sin_addr.s_addr);
                loopback = (a >> 24) == 127;
            } else if (ss.ss_family == AF_INET6) {
                const auto& a6 = reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_addr;
                loopback = IN6_IS_ADDR_LOOPBACK(&a6) || (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
            }
        }
        zc_peer_ = (!loopback || opts_.zc_on_loopback) ? 1 : 0;
    }
    return zc_peer_ == 1;
}

task<result<void>> stream::write_owned(owned_bytes bytes) {
    auto view = std::visit(
        [](auto& b) -> std::span<const std::byte> {
            using B = std::decay_t<decltype(b)>;
            if constexpr (std::is_same_v<B, buffer_lease>) return b.bytes();
            else return std::as_bytes(std::span(b));
        },
        bytes);
    if (tls_) {
        iovec one{const_cast<std::byte*>(view.data()), view.size()};
        co_return co_await tls_write(&one, 1);
    }
    result<void> turn = co_await write_turn(this);
    if (!turn) co_return turn;
    turn_guard g{this, &stream::end_write_turn};
    if (opts_.send_zc && view.size() >= opts_.zc_threshold && zero_copy_pays())
        co_return co_await send_zc(view, std::make_shared<owned_bytes>(std::move(bytes)), write_deadline());
    co_return co_await send_all(view, write_deadline());
}

task<result<void>> stream::shutdown_write() {
    result<void> turn = co_await write_turn(this);
    if (!turn) co_return turn;
    turn_guard g{this, &stream::end_write_turn};
    if (!fd_) co_return errc::closed;
    if (tls_) {
        tls_->close_notify();
        result<void> sent = co_await tls_send(write_deadline());
        if (!sent) co_return sent;
    }
    auto r = co_await squall::shutdown(fd_.get(), SHUT_WR);
    if (!r) co_return r.error();
    co_return result<void>{};
}

}  // namespace squall

namespace squall {

task<result<void>> stream::send_zc(std::span<const std::byte> bytes, std::shared_ptr<owned_bytes> owner,
                                   clock::time_point deadline) {
    while (!bytes.empty()) {
        if (!fd_) co_return errc::closed;
        auto r = co_await detail::send_zc_awaitable(fd_.get(), bytes, owner, deadline);
        if (!r) co_return r.error();
        ++zc_sends_;
        bytes = bytes.subspan(static_cast<std::size_t>(*r));
    }
    co_return result<void>{};
}

}  // namespace squall

// TLS hooks: the ciphertext arrives in pending_ as plain bytes would, is
// fed to the session (tls_pump), and readers take plaintext from it.
namespace squall {

bool stream::tls_readable(bool raw) const noexcept {
    const auto& t = *tls_;
    return t.has_plain() || (!raw && has_spill()) || t.failed() ||
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
    if (tls_readable(true)) readers_.wake_one();
}

result<buffer_lease> stream::tls_take_chunk(bool raw) {
    if (!raw && has_spill()) {
        auto rest = std::as_writable_bytes(std::span(spill_)).subspan(spill_pos_);
        spill_pos_ = spill_.size();
        return buffer_lease(rest);
    }
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
    if (writing_ || tls_send_ || !fd_ || !tls_->has_output() || loop_->closing()) return;
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
            if (!fd_) co_return errc::closed;
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
    if (!fd_) co_return errc::closed;
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
