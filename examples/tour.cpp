// The README's tour of the engine, built and run by the test suite so that
// the README cannot drift from the API: a bounded queue with worker tasks
// (Tornado's queue example), with_timeout, run_in_pool and when_all.
#include <spdlog/spdlog.h>

#include <chrono>
#include <thread>

#include <squall/engine/loop.hpp>
#include <squall/engine/queue.hpp>
#include <squall/engine/thread_pool.hpp>
#include <squall/engine/time.hpp>
#include <squall/engine/when.hpp>

using namespace squall;
using namespace std::chrono_literals;

int expensive_blocking_call() {
    std::this_thread::sleep_for(5ms);  // stands for a blocking library call
    return 100;
}

// Errors are values: a task passes its awaits' errors (here: cancelled by
// a deadline) on to its caller.
task<result<int>> slow_square(int x) {
    result<void> slept = co_await sleep(10ms);
    if (!slept) co_return slept.error();
    co_return x* x;
}

task<void> worker(queue<int>* q, int* total) {
    for (;;) {
        auto item = co_await q->get();  // result<int>
        if (!item) co_return;           // cancelled
        auto square = co_await slow_square(*item);
        if (!square) co_return;
        *total += *square;
        (void)q->task_done();
    }
}

task<int> main_task() {
    queue<int> q(2);  // bounded, like tornado.queues.Queue
    int total = 0;
    cancel_source workers;
    for (int i = 0; i < 3; ++i) loop::current()->spawn(worker(&q, &total), workers.token());
    for (int i = 1; i <= 10; ++i) co_await q.put(i);
    co_await q.join();  // every item marked done
    workers.request_cancel();

    // Any task or kernel operation can be bounded; the timeout really
    // cancels the operation in the kernel (IORING_OP_ASYNC_CANCEL).
    auto r = co_await with_timeout(5ms, slow_square(3));
    if (!r) spdlog::info("slow_square(3): {}", r.error().message());  // "operation timed out"

    // Blocking work goes to a thread pool; the task resumes on its loop.
    int n = co_await run_in_pool([] { return expensive_blocking_call(); });

    auto [a, b] = co_await when_all(slow_square(2), slow_square(3));
    co_return total + n + a.value() + b.value() + (r ? 1000 : 0);
}

int main() {
    loop l;
    int result = l.run_sync(main_task());  // Tornado's IOLoop.run_sync
    spdlog::info("tour: {}", result);
    // 1² + ... + 10² = 385, plus 100 from the pool, plus 4 + 9.
    return result == 385 + 100 + 13 ? 0 : 1;
}
