#include <squall/engine/listener.hpp>

#include <liburing.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <spdlog/spdlog.h>

namespace squall {

listener::listener(unique_fd fd, listener_options opts) : loop_(loop::current()), fd_(std::move(fd)), opts_(opts) {}

listener::~listener() { close(); }

void listener::close() noexcept {
    if (armed_) {
        loop_->orphan_op(ud_);
        armed_ = false;
    }
    backoff_timer_.cancel();
    backing_off_ = false;
    for (int fd : ready_) ::close(fd);
    ready_.clear();
    fd_.reset();
    waiters_.wake_all();
}

void listener::stop_accepting() noexcept {
    stopped_ = true;
    backoff_timer_.cancel();
    backing_off_ = false;
    if (armed_ && !cancel_sent_) {
        cancel_sent_ = true;
        loop_->cancel_op(ud_);  // its last completion may still bring a connection
    }
    if (!armed_) waiters_.wake_all();
}

void listener::arm() {
    io_uring_sqe* s = loop_->sqe();
    if (opts_.multishot) io_uring_prep_multishot_accept(s, fd_.get(), nullptr, nullptr, SOCK_CLOEXEC);
    else io_uring_prep_accept(s, fd_.get(), nullptr, nullptr, SOCK_CLOEXEC);
    ud_ = loop_->start_op(this, &listener::on_accept);
    io_uring_sqe_set_data64(s, ud_);
    armed_ = true;
}

void listener::maybe_arm() {
    if (armed_ || backing_off_ || stopped_ || error_ || !fd_ || loop_->closing()) return;
    if (opts_.multishot) {
        if (ready_.size() < opts_.max_queued) arm();
    } else if (ready_.empty() && !waiters_.empty()) {
        arm();
    }
}

void listener::on_accept(void* ctx, int res, unsigned flags) noexcept {
    static_cast<listener*>(ctx)->handle_accept(res, flags);
}

void listener::handle_accept(int res, unsigned flags) noexcept {
    const bool last = !(flags & IORING_CQE_F_MORE);
    if (last) armed_ = false;
    if (res >= 0) {
        if (fd_ && !loop_->closing()) ready_.push_back(res);
        else ::close(res);
    } else if (res == -EMFILE || res == -ENFILE || res == -ENOBUFS || res == -ENOMEM) {
        // Out of descriptors or memory: pause, then try again. The
        // connection waits in the kernel's backlog meanwhile.
        if (!backing_off_ && fd_ && !loop_->closing()) {
            backing_off_ = true;
            ++fd_pauses_;
            if (!last) loop_->cancel_op(ud_);
            backoff_timer_ = loop_->call_later(opts_.fd_backoff, [this] {
                backing_off_ = false;
                maybe_arm();
            });
        }
    } else if (res != -ECANCELED && res != -ECONNABORTED && res != -EINTR && res != -EAGAIN) {
        // Anything else (EINVAL, EBADF, ...) will not get better: stop
        // accepting and tell the waiters.
        spdlog::error("squall: accept on fd {}: {}", fd_.get(), std::strerror(-res));
        error_ = from_errno(res);
        waiters_.wake_all();
    }
    if (!armed_) {
        cancel_sent_ = false;
        maybe_arm();
    } else if (ready_.size() >= opts_.max_queued && !cancel_sent_) {
        cancel_sent_ = true;  // nobody is taking them
        loop_->cancel_op(ud_);
    }
    if (!ready_.empty()) waiters_.wake_one();
    if (stopped_ && !armed_) waiters_.wake_all();  // nothing more will come: they get errc::closed
}

result<unique_fd> listener::take() {
    if (ready_.empty()) return error_ ? error_ : make_error_code(errc::closed);
    unique_fd fd(ready_.front());
    ready_.pop_front();
    maybe_arm();
    return fd;
}

}  // namespace squall
