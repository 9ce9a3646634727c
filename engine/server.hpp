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
// Tests: tests/engine/server_test.cpp.
#pragma once

#include <chrono>
#include <functional>

#include <squall/engine/cancel.hpp>
#include <squall/engine/loop.hpp>
#include <squall/engine/task.hpp>

namespace squall {

struct run_options {
    unsigned threads = 1;
    clock::duration drain_timeout = std::chrono::seconds(10);
    loop_options loop;
};

using serve_fn = std::function<task<void>(cancel_token shutdown)>;

int run_server(const run_options& opts, serve_fn serve);

}  // namespace squall
