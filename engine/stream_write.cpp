// The socket stream's writes: the turn that keeps them in call order,
// poisoning after a failed write, and the send loops. See stream.hpp.
#include <liburing.h>
#include <sys/socket.h>

#include <algorithm>
#include <climits>

#include <squall/engine/detail/stream_parts.hpp>
#include <squall/engine/detail/tls_session.hpp>
#include <squall/engine/op.hpp>

namespace squall {

using detail::turn_guard;

// Called where a write that had its turn fails: part of it may be out, so
// no later byte may follow it. Keeps the first error; the writers waiting
// their turn wake and fail with it.
std::error_code stream::poison_writes(std::error_code ec) noexcept {
    if (!write_error_) write_error_ = ec;
    writers_.wake_all();
    return ec;
}

void stream::end_write_turn() noexcept {
    if (write_error_) {
        writing_ = false;  // nobody takes the turn again
        writers_.wake_all();
        return;
    }
    // Hand the turn straight to the oldest waiting writer, if any.
    if (!writers_.wake_one()) {
        writing_ = false;
        if (tls_) tls_kick_send();  // what the reading side made since
    }
}

task<result<void>> stream::send_all(std::span<const std::byte> bytes, clock::time_point deadline) {
    while (!bytes.empty()) {
        if (!fd_) co_return poison_writes(errc::closed);
        auto r = co_await send(fd_.get(), bytes).until(deadline);
        if (!r) co_return poison_writes(r.error());
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
        if (!fd_) co_return poison_writes(errc::closed);
        auto r = co_await send(fd_.get(), bytes).until(deadline);
        if (!r) co_return poison_writes(r.error());
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
        if (!fd_) co_return poison_writes(errc::closed);
        mh.msg_iov = &parts[first];
        mh.msg_iovlen = std::min<std::size_t>(parts.size() - first, IOV_MAX);
        int fd = fd_.get();
        auto send = submit([fd, &mh](io_uring_sqe* s) { io_uring_prep_sendmsg(s, fd, &mh, MSG_NOSIGNAL); });
        auto r = co_await std::move(send).until(deadline);
        if (!r) co_return poison_writes(r.error());
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

task<result<void>> stream::shutdown_write() {
    result<void> turn = co_await write_turn(this);
    if (!turn) co_return turn;
    turn_guard g{this, &stream::end_write_turn};
    if (!fd_) co_return poison_writes(errc::closed);
    if (tls_) {
        tls_->close_notify();
        result<void> sent = co_await tls_send(write_deadline());
        if (!sent) co_return sent;
    }
    auto r = co_await squall::shutdown(fd_.get(), SHUT_WR);
    if (!r) co_return poison_writes(r.error());
    co_return result<void>{};
}

}  // namespace squall
