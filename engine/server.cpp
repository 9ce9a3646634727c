#include <squall/engine/server.hpp>

#include <atomic>
#include <csignal>
#include <latch>
#include <memory>
#include <spdlog/spdlog.h>
#include <thread>
#include <vector>

namespace squall {
namespace {

using namespace std::chrono_literals;

// One loop's share of the server, living on its own thread.
struct worker {
    loop* l = nullptr;
    cancel_source* shutdown = nullptr;
};

// On the worker's loop: fire the token, then stop the loop once every
// spawned task has finished or the drain deadline has passed.
void begin_drain(loop* l, cancel_source* shutdown, clock::duration drain) {
    shutdown->request_cancel();
    auto deadline = clock::now() + drain;
    auto check = std::make_shared<std::function<void()>>();
    *check = [l, deadline, check] {
        if (l->spawned_count() == 0 || clock::now() >= deadline) {
            if (l->spawned_count() != 0)
                spdlog::warn("squall: drain deadline passed with {} tasks left; closing them", l->spawned_count());
            l->stop();
            *check = nullptr;  // breaks the self-reference
            return;
        }
        l->call_later(10ms, *check);
    };
    (*check)();
}

void run_worker(const run_options& opts, const serve_fn& serve, worker* out, std::latch* ready) {
    loop l(opts.loop);
    cancel_source shutdown;
    l.spawn(serve(shutdown.token()));
    out->l = &l;
    out->shutdown = &shutdown;
    ready->count_down();
    l.run();
}

}  // namespace

namespace detail {
std::atomic<bool> stopping_flag{false};
}

int run_server(const run_options& opts, serve_fn serve) {
    unsigned n = opts.threads ? opts.threads : 1;
    // Blocked before any thread starts, so only the first loop's signalfd
    // sees them.
    block_signals({SIGINT, SIGTERM});
    std::vector<worker> workers(n);
    std::latch ready(n);
    std::vector<std::thread> threads;
    for (unsigned i = 1; i < n; ++i)
        threads.emplace_back(run_worker, std::cref(opts), std::cref(serve), &workers[i], &ready);

    loop main_loop(opts.loop);
    cancel_source shutdown;
    main_loop.spawn(serve(shutdown.token()));
    workers[0] = {&main_loop, &shutdown};
    ready.count_down();
    ready.wait();

    bool stopping = false;
    auto on_signal = [&](int sig) {
        if (stopping) {
            spdlog::warn("squall: signal {} again, stopping now", sig);
            for (auto& w : workers) w.l->stop();
            return;
        }
        stopping = true;
        detail::stopping_flag.store(true, std::memory_order_relaxed);
        auto ms = [](clock::duration d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); };
        spdlog::info("squall: signal {}, accepting for {} ms more, then draining for up to {} ms", sig,
                     ms(opts.lame_duck), ms(opts.drain_timeout));
        main_loop.call_later(opts.lame_duck, [&workers, drain = opts.drain_timeout] {
            for (auto& w : workers) {
                loop* l = w.l;
                cancel_source* src = w.shutdown;
                l->post([l, src, drain] { begin_drain(l, src, drain); });
            }
        });
    };
    main_loop.add_signal_handler(SIGINT, on_signal);
    main_loop.add_signal_handler(SIGTERM, on_signal);
    main_loop.run();
    for (auto& t : threads) t.join();
    return 0;
}

}  // namespace squall
