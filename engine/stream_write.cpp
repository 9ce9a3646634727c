// The socket stream's writes: the turn that keeps them in call order,
// poisoning after a failed write, and the send loops (the one partial-send
// loop for contiguous bytes, plain or SEND_ZC, and the gathered sendmsg
// loop of writev). See stream.hpp.
#include <liburing.h>
#include <sys/socket.h>

#include <algorithm>
#include <climits>

#include <squall/engine/detail/send_zc.hpp>
#include <squall/engine/detail/stream_parts.hpp>
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
    if (!writers_.wake_one()) writing_ = false;
}

// Takes the turn, then sends until all of `bytes` went out (a short send
// goes on from where it ended). With `zc_owner` each send is a SEND_ZC and
// the owner keeps the bytes alive until the kernel's notification.
task<result<void>> stream::send_all(std::span<const std::byte> bytes, std::shared_ptr<owned_bytes> zc_owner) {
    result<void> turn = co_await write_turn(this);
    if (!turn) co_return turn;
    turn_guard g{this, &stream::end_write_turn};
    const auto deadline = write_deadline();
    while (!bytes.empty()) {
        if (!fd_) co_return poison_writes(errc::closed);
        // Two statements, not ?: (GCC 12 destroys a co_await's result in
        // an arm of ?: twice; tests/check_coroutines.sh).
        result<int> r = errc::closed;
        if (zc_owner) {
            r = co_await detail::send_zc_awaitable(fd_.get(), bytes, zc_owner, deadline);
        } else {
            r = co_await send(fd_.get(), bytes).until(write_series_, deadline);
        }
        if (!r) co_return poison_writes(r.error());
        if (zc_owner) ++zc_sends_;
        bytes = bytes.subspan(static_cast<std::size_t>(*r));
    }
    co_return result<void>{};
}

// Not a coroutine itself: the hottest write path pays for one frame.
task<result<void>> stream::write(std::span<const std::byte> bytes) { return send_all(bytes, nullptr); }

task<result<void>> stream::writev(std::vector<iovec> parts) {
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
        auto r = co_await std::move(send).until(write_series_, deadline);
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
    auto r = co_await squall::shutdown(fd_.get(), SHUT_WR);
    if (!r) co_return poison_writes(r.error());
    co_return result<void>{};
}

}  // namespace squall
