#include <squall/engine/periodic.hpp>

#include <random>
#include <stdexcept>

namespace squall {

periodic_callback::periodic_callback(loop& l, clock::duration interval, std::function<void()> fn, double jitter)
    : loop_(l), interval_(interval), fn_(std::move(fn)), jitter_(jitter) {
    if (interval <= clock::duration::zero())
        throw std::invalid_argument("squall: periodic_callback interval must be positive");
}

void periodic_callback::start() {
    if (running_) return;
    running_ = true;
    next_ = clock::now();
    schedule_next();
}

void periodic_callback::stop() noexcept {
    running_ = false;
    timer_.cancel();
}

void periodic_callback::schedule_next() {
    auto now = clock::now();
    auto step = interval_;
    if (jitter_ > 0) {
        thread_local std::minstd_rand rng{std::random_device{}()};
        std::uniform_real_distribution<double> d(-jitter_ / 2, jitter_ / 2);
        step += std::chrono::duration_cast<clock::duration>(interval_ * d(rng));
    }
    next_ += step;
    if (next_ <= now) {
        // Fell behind: skip to the first slot after now on the grid.
        auto behind = (now - next_) / interval_ + 1;
        next_ += behind * interval_;
    }
    timer_ = loop_.call_at(next_, [this] { fire(); });
}

void periodic_callback::fire() {
    try {
        fn_();
    } catch (...) {
        detail::log_exception("a periodic callback", std::current_exception());
    }
    if (running_) schedule_next();
}

}  // namespace squall
