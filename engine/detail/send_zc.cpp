#include <squall/engine/detail/send_zc.hpp>

#include <liburing.h>
#include <sys/socket.h>

#include <cerrno>

namespace squall::detail {

struct send_zc_awaitable::state {
    std::shared_ptr<void> owner;  // keeps the bytes alive until the last completion
    send_zc_awaitable* awaitable;
    loop* l;
    std::uint64_t user_data = 0;
};

send_zc_awaitable::send_zc_awaitable(int fd, std::span<const std::byte> bytes, std::shared_ptr<void> owner,
                                     clock::time_point deadline) noexcept
    : fd_(fd), bytes_(bytes), owner_(std::move(owner)), deadline_(deadline) {}

send_zc_awaitable::~send_zc_awaitable() {
    timer_.cancel();
    // Abandoned before the last completion: the state lives on until then,
    // but must not touch this awaitable again.
    if (state_) state_->awaitable = nullptr;
}

void send_zc_awaitable::await_suspend(std::coroutine_handle<> h) {
    loop* l = loop::current();
    waiter_ = h;
    state_ = new state{std::move(owner_), this, l};
    io_uring_sqe* s = l->sqe();
    io_uring_prep_send_zc(s, fd_, bytes_.data(), bytes_.size(), MSG_NOSIGNAL, 0);
    state_->user_data = l->start_op(state_, &send_zc_awaitable::on_cqe);
    io_uring_sqe_set_data64(s, state_->user_data);
    if (deadline_ != clock::time_point::max()) {
        timer_ = l->call_at(deadline_, [this] {
            timed_out_ = true;
            state_->l->cancel_op(state_->user_data);
        });
    }
}

result<int> send_zc_awaitable::await_resume() const noexcept {
    if (res_ >= 0) return res_;
    if (res_ == -ECANCELED && timed_out_) return errc::timed_out;
    return from_errno(res_);
}

void send_zc_awaitable::on_cqe(void* ctx, int res, unsigned flags) noexcept {
    auto* st = static_cast<state*>(ctx);
    const bool last = !(flags & IORING_CQE_F_MORE);
    send_zc_awaitable* aw = st->awaitable;
    if (last) {
        if (aw) aw->state_ = nullptr;
        st->awaitable = nullptr;
    }
    if (!(flags & IORING_CQE_F_NOTIF) && aw) {
        aw->res_ = res;
        aw->timer_.cancel();
        if (!st->l->closing()) std::exchange(aw->waiter_, nullptr).resume();
    }
    if (last) delete st;
}

}  // namespace squall::detail
