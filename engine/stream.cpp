// The socket stream: set-up, close, and the receive side. The write turn
// and the send loops are in stream_write.cpp, SEND_ZC in stream_zc.cpp;
// TLS is an adapter over any byte_stream (tls_stream.cpp).
#include <squall/engine/stream.hpp>

#include <arpa/inet.h>
#include <liburing.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <thread>

#include <squall/engine/detail/stream_parts.hpp>
#include <squall/engine/op.hpp>

namespace squall {

stream::stream(unique_fd fd, stream_options opts) : loop_(loop::current()), fd_(std::move(fd)), opts_(opts) {
    if (!opts_.buffer_ring) opts_.multishot_recv = false;
    if (opts_.max_pending_buffers == 0) opts_.max_pending_buffers = 1;
    if (opts_.buffer_ring) ring_ = &loop_->buffers();
}

stream::~stream() { close(); }

std::optional<address> stream::peer() const {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (!fd_ || ::getpeername(fd_.get(), reinterpret_cast<sockaddr*>(&ss), &len) != 0) return std::nullopt;
    return address::from(reinterpret_cast<sockaddr*>(&ss), len);
}

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
    // A writer blocked in a send to a peer that reads nothing would wait
    // out its deadline holding its bytes: shutting the socket down ends
    // that send now (EPIPE). What the kernel took already still goes out.
    if (writing_) ::shutdown(fd_.get(), SHUT_RDWR);
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
    release_fd();
    poison_writes(errc::closed);
    readers_.wake_all();  // they see errc::closed
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
    } else if (pending_.empty() && !readers_.empty()) {
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
        std::span<std::byte> buf = ring_->take(bid, res > 0 ? static_cast<std::size_t>(res) : 0, flags);
        if (res > 0) pending_.push_back({bid, true, buf});
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
    if (chunk_or_end()) readers_.wake_one();
}

bool stream::park_reader(std::coroutine_handle<> h, cancel_state* token, std::optional<clock::time_point> deadline,
                         detail::waiter& w) {
    if (!pending_.empty()) {
        // Over this turn's read budget: the chunk is there, the turn is
        // the other connections'. Resumed in the next turn's ready queue.
        if (!w.park(h, token, std::nullopt, nullptr)) return false;
        w.wake();
        return true;
    }
    if (!deadline) deadline = read_deadline();
    bool parked =
        deadline ? w.park(h, token, read_series_, *deadline, &readers_) : w.park(h, token, std::nullopt, &readers_);
    if (!parked) return false;
    maybe_rearm();
    return true;
}

result<buffer_lease> stream::take_chunk() {
    if (!pending_.empty()) {
        chunk c = pending_.front();
        pending_.pop_front();
        if (budget_turn_ != loop_->turns()) {
            budget_turn_ = loop_->turns();
            taken_in_turn_ = 0;
        }
        taken_in_turn_ += c.data.size();
        maybe_rearm();
        if (c.from_ring) return buffer_lease(ring_, c.bid, c.data);
        return buffer_lease(c.data);
    }
    if (recv_error_) return recv_error_;
    if (!fd_) return errc::closed;
    if (eof_) return errc::eof;
    return errc::closed;
}

}  // namespace squall
