// Signal delivery through a signalfd watched by a multishot poll in the
// ring. The fd is non-blocking and read on the loop thread, because a
// signalfd read punted to an io-wq worker would see the worker's signals,
// not the loop thread's.
#include <poll.h>
#include <pthread.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <spdlog/spdlog.h>
#include <system_error>

#include <squall/engine/loop.hpp>

namespace squall {

void block_signals(std::initializer_list<int> signals) {
    sigset_t set;
    sigemptyset(&set);
    for (int s : signals) sigaddset(&set, s);
    if (int rc = pthread_sigmask(SIG_BLOCK, &set, nullptr))
        throw std::system_error(rc, std::system_category(), "squall: pthread_sigmask");
}

void loop::add_signal_handler(int sig, std::function<void(int)> fn) {
    block_signals({sig});
    sigset_t set;
    sigemptyset(&set);
    for (auto& [s, f] : signal_handlers_) sigaddset(&set, s);
    sigaddset(&set, sig);
    int fd = ::signalfd(signal_fd_, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd < 0) throw std::system_error(errno, std::system_category(), "squall: signalfd");
    signal_fd_ = fd;
    signal_handlers_.emplace_back(sig, std::move(fn));
    if (!signal_armed_) arm_signals();
}

void loop::arm_signals() {
    io_uring_sqe* s = sqe();
    io_uring_prep_poll_multishot(s, signal_fd_, POLLIN);
    io_uring_sqe_set_data64(s, tag_signal);
    signal_armed_ = true;
}

void loop::on_signal_ready(int res, unsigned flags) {
    if (!(flags & IORING_CQE_F_MORE)) signal_armed_ = false;
    if (res < 0 && res != -ECANCELED) spdlog::warn("squall: signalfd poll failed: {}", std::strerror(-res));
    signalfd_siginfo info;
    while (::read(signal_fd_, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
        for (auto& [s, fn] : signal_handlers_) {
            if (s != static_cast<int>(info.ssi_signo)) continue;
            try {
                fn(s);
            } catch (...) {
                detail::log_exception("a signal handler", std::current_exception());
            }
        }
    }
    if (!signal_armed_ && !closing_) arm_signals();
}

}  // namespace squall
