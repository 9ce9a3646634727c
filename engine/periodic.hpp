// periodic_callback: calls a function every `interval` on a loop
// (Tornado's PeriodicCallback).
//
// Calls are aligned to the start time: when a call (or a busy loop) makes
// the schedule fall behind, missed calls are skipped rather than run in a
// burst. An optional jitter (0..1) spreads each interval by up to
// ±jitter/2 of its length, as Tornado does, so that many periodic tasks do
// not line up. Destroying it stops it. Loop thread only; the loop must
// outlive it. Tests: tests/engine/loop_test.cpp (periodic_*).
#pragma once

#include <functional>

#include <squall/engine/loop.hpp>

namespace squall {

class periodic_callback {
public:
    periodic_callback(loop& l, clock::duration interval, std::function<void()> fn, double jitter = 0);
    ~periodic_callback() { stop(); }
    periodic_callback(const periodic_callback&) = delete;
    periodic_callback& operator=(const periodic_callback&) = delete;

    void start();
    void stop() noexcept;
    bool running() const noexcept { return running_; }

private:
    void schedule_next();
    void fire();

    loop& loop_;
    clock::duration interval_;
    std::function<void()> fn_;
    double jitter_;
    bool running_ = false;
    clock::time_point next_;
    timer_handle timer_;
};

}  // namespace squall
