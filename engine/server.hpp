// run_server: thread-per-core serving with a graceful stop.
//
// Starts `threads` loops, one per thread (the calling thread runs the
// first), and on each spawns serve(shutdown): the service's own task,
// typically a listener with SO_REUSEPORT and an accept loop. On SIGINT or
// SIGTERM the shutdown token fires on every loop: serve should stop
// accepting and return, while connections it spawned get drain_timeout to
// finish; then each loop stops, and destroying it cancels whatever is
// left. `serve` is called on each loop's thread and must return a task
// that owns what it needs (pass values, not references to the caller's
// locals that could die first). Returns the process exit code.
//
// Behind a load balancer the stop begins with a lame-duck period: from
// the signal on, stopping() is true (a health route answers 503, see
// http/health.hpp) while the listeners keep accepting for `lame_duck`,
// long enough for the balancer's checks (interval x fall) to take the
// server out; only then does the shutdown token fire. stopping() is one
// flag for the whole process, readable from any thread.
// Tests: tests/engine/server_test.cpp.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>

#include <squall/engine/cancel.hpp>
#include <squall/engine/loop.hpp>
#include <squall/engine/task.hpp>

namespace squall {

struct run_options {
    unsigned threads = 1;
    clock::duration drain_timeout = std::chrono::seconds(10);
    clock::duration lame_duck = clock::duration::zero();
    loop_options loop;
};

using serve_fn = std::function<task<void>(cancel_token shutdown)>;

namespace detail {
extern std::atomic<bool> stopping_flag;
}
// Inline: the connection asks once per request.
inline bool stopping() noexcept { return detail::stopping_flag.load(std::memory_order_relaxed); }

int run_server(const run_options& opts, serve_fn serve);

}  // namespace squall
