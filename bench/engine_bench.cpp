// engine_bench: micro-benchmarks of the engine's hot paths (spawn, task
// call, post, timers, NOP round trips through the ring, sleep/yield and
// run_in_pool), each reported per item so the per-operation cost shows.
//
// Each benchmark creates its loop on the benchmark thread (the ring is
// SINGLE_ISSUER) before the timed region, and the work that needs a running
// loop happens in a driver coroutine handed to loop::run_sync; the driver
// runs Google Benchmark's iteration loop itself, so loop set-up and
// tear-down are never timed. Drivers and helpers are free functions taking
// pointers: nothing here is a capturing coroutine lambda. The per-item cost
// is the `per_item` counter (seconds per item; `n` = nanoseconds); the
// ring set-up in force is printed as the `squall_ring` context line.
// Project goals: an empty task spawned and finished in <= 50 ns, a NOP at
// batch 64 in <= 100 ns amortised. Run with `make bench`.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <coroutine>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <random>
#include <thread>
#include <utility>
#include <vector>

#include <squall/engine/loop.hpp>
#include <squall/engine/op.hpp>
#include <squall/engine/task.hpp>
#include <squall/engine/thread_pool.hpp>
#include <squall/engine/time.hpp>

namespace {

using squall::loop;
using squall::task;
using namespace std::chrono_literals;

// Resumes the awaiting task in the loop's next turn (after everything
// already in the ready queue).
struct yield_now {
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) const { loop::current()->schedule(h); }
    void await_resume() const noexcept {}
};

// Parks the awaiting task in *slot until someone schedules it again.
struct park {
    std::coroutine_handle<>* slot;
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) const noexcept { *slot = h; }
    void await_resume() const noexcept {}
};

// Hands a parked task back to the loop's ready queue.
void unpark(std::coroutine_handle<>* slot) {
    if (*slot) loop::current()->schedule(std::exchange(*slot, {}));
}

// Items processed, plus their cost as a rate counter inverted to seconds
// per item (on the benchmark's own clock: CPU, or real with UseRealTime).
void report_items(benchmark::State& st, std::int64_t per_iteration) {
    const auto items = st.iterations() * per_iteration;
    st.SetItemsProcessed(items);
    st.counters["per_item"] =
        benchmark::Counter(static_cast<double>(items), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

// --- 1. spawn + finish, and task call ---------------------------------

task<void> empty_task() { co_return; }

task<int> child_value(int x) { co_return x + 1; }

// Per iteration: spawn n empty tasks, then yield; they run ahead of the
// driver in the next turn, so one turn finishes them all.
task<void> spawn_driver(benchmark::State* st, loop* l, int n) {
    const std::size_t base = l->spawned_count();
    for (auto _ : *st) {
        for (int i = 0; i < n; ++i) l->spawn(empty_task());
        co_await yield_now{};
        while (l->spawned_count() != base) co_await yield_now{};
    }
}

void bm_spawn_empty_task(benchmark::State& st) {
    loop l;
    const auto n = static_cast<int>(st.range(0));
    l.run_sync(spawn_driver(&st, &l, n));
    report_items(st, n);
}
BENCHMARK(bm_spawn_empty_task)->Arg(1000)->Arg(10000);

// co_await of a child task that finishes at once: frame allocation,
// symmetric transfer in and out, frame destruction.
task<void> call_driver(benchmark::State* st) {
    int v = 0;
    for (auto _ : *st) {
        v = co_await child_value(v);
        benchmark::DoNotOptimize(v);
    }
}

void bm_task_call(benchmark::State& st) {
    loop l;
    l.run_sync(call_driver(&st));
    report_items(st, 1);
}
BENCHMARK(bm_task_call);

// --- 2. post ------------------------------------------------------------

void count_one(std::uint64_t* c) { ++*c; }

// Per iteration: n posts from the loop thread; they run at the start of
// the next turn, before the driver resumes.
task<void> post_local_driver(benchmark::State* st, loop* l, int n) {
    std::uint64_t ran = 0;
    std::uint64_t* c = &ran;
    for (auto _ : *st) {
        for (int i = 0; i < n; ++i) l->post([c] { count_one(c); });
        co_await yield_now{};
    }
    if (ran != static_cast<std::uint64_t>(st->iterations()) * n) st->SkipWithError("posts lost");
}

void bm_post_same_thread(benchmark::State& st) {
    loop l;
    const auto n = static_cast<int>(st.range(0));
    l.run_sync(post_local_driver(&st, &l, n));
    report_items(st, n);
}
BENCHMARK(bm_post_same_thread)->Arg(1000);

// A producer thread posts `n` callbacks each time `go` moves on; the last
// callback of a batch unparks the driver. `remaining` and `driver` belong
// to the loop thread.
struct post_feed {
    static constexpr std::uint64_t quit = ~std::uint64_t{0};
    loop* l = nullptr;
    int n = 0;
    std::atomic<std::uint64_t> go{0};
    int remaining = 0;
    std::coroutine_handle<> driver;
};

void on_fed(post_feed* f) {
    if (--f->remaining == 0) unpark(&f->driver);
}

void produce(post_feed* f) {
    std::uint64_t seen = 0;
    for (;;) {
        f->go.wait(seen, std::memory_order_acquire);
        seen = f->go.load(std::memory_order_acquire);
        if (seen == post_feed::quit) return;
        for (int i = 0; i < f->n; ++i) f->l->post([f] { on_fed(f); });
    }
}

// Owns the producer thread: tells it to quit and joins it, before the
// loop it posts to is destroyed.
struct producer_thread {
    post_feed* f;
    std::thread t;
    explicit producer_thread(post_feed* feed) : f(feed), t(produce, feed) {}
    ~producer_thread() {
        f->go.store(post_feed::quit, std::memory_order_release);
        f->go.notify_one();
        t.join();
    }
};

task<void> post_remote_driver(benchmark::State* st, post_feed* f) {
    for (auto _ : *st) {
        f->remaining = f->n;
        f->go.fetch_add(1, std::memory_order_release);
        f->go.notify_one();
        co_await park{&f->driver};
    }
}

void bm_post_cross_thread(benchmark::State& st) {
    loop l;
    post_feed f;
    f.l = &l;
    f.n = static_cast<int>(st.range(0));
    producer_thread p(&f);
    l.run_sync(post_remote_driver(&st, &f));
    report_items(st, f.n);
}
BENCHMARK(bm_post_cross_thread)->Arg(1000)->UseRealTime();

// --- 3. timers ----------------------------------------------------------

void bm_timer_add_cancel(benchmark::State& st) {
    loop l;
    for (auto _ : st) {
        squall::timer_handle h = l.call_later(1s, [] {});
        benchmark::DoNotOptimize(h.cancel());
    }
    if (l.timers_pending() != 0) st.SkipWithError("timers left in the heap");
    report_items(st, 1);
}
BENCHMARK(bm_timer_add_cancel);

// Per iteration: add n timers with random deadlines in [1 s, 2 s), then
// cancel them all in a random order. One item is one add + cancel pair.
void bm_timer_add_cancel_bulk(benchmark::State& st) {
    loop l;
    const auto n = static_cast<std::size_t>(st.range(0));
    std::mt19937 rng(42);
    std::uniform_int_distribution<std::int64_t> us(0, 999'999);
    std::vector<squall::clock::duration> delay(n);
    for (auto& d : delay) d = 1s + std::chrono::microseconds(us(rng));
    std::vector<std::size_t> order(n);
    for (std::size_t i = 0; i < n; ++i) order[i] = i;
    std::shuffle(order.begin(), order.end(), rng);
    std::vector<squall::timer_handle> h(n);
    for (auto _ : st) {
        for (std::size_t i = 0; i < n; ++i) h[i] = l.call_later(delay[i], [] {});
        for (std::size_t i : order) benchmark::DoNotOptimize(h[i].cancel());
    }
    if (l.timers_pending() != 0) st.SkipWithError("timers left in the heap");
    report_items(st, static_cast<std::int64_t>(n));
}
BENCHMARK(bm_timer_add_cancel_bulk)->Arg(1000)->Arg(100000);

// --- 4. NOP round trips -------------------------------------------------

// `width` workers each loop on `co_await nop()`. Their NOPs complete in the
// same reap, each worker submits its next NOP as it resumes, so every turn
// is one io_uring_submit_and_wait carrying `width` NOPs. The worker that
// completes a round unparks the driver (which resumes before the next
// submit). Loop thread only.
struct nop_rounds {
    int width = 0;
    int pending = 0;
    bool stop = false;
    std::uint64_t failures = 0;
    std::coroutine_handle<> driver;
};

task<void> nop_worker(nop_rounds* r) {
    while (!r->stop) {
        squall::result<int> res = co_await squall::nop();
        if (!res) ++r->failures;
        if (--r->pending == 0) {
            r->pending = r->width;
            unpark(&r->driver);
        }
    }
}

task<void> nop_driver(benchmark::State* st, loop* l, int width) {
    nop_rounds r;
    r.width = r.pending = width;
    for (int i = 0; i < width; ++i) l->spawn(nop_worker(&r));
    co_await park{&r.driver};  // warm-up: the workers start and submit
    for (auto _ : *st) co_await park{&r.driver};
    r.stop = true;  // the round in flight is the last: workers then return
    co_await park{&r.driver};
    if (r.failures) st->SkipWithError("a NOP failed");
}

void bm_nop_round_trip(benchmark::State& st) {
    loop l;
    const auto width = static_cast<int>(st.range(0));
    l.run_sync(nop_driver(&st, &l, width));
    report_items(st, width);
}
BENCHMARK(bm_nop_round_trip)->Arg(1)->Arg(16)->Arg(64);

// --- 5. sleep(0), yield, run_in_pool --------------------------------------

task<void> sleep_driver(benchmark::State* st) {
    for (auto _ : *st) {
        squall::result<void> slept = co_await squall::sleep(0s);
        if (!slept) st->SkipWithError("sleep failed");
    }
}

void bm_sleep_zero(benchmark::State& st) {
    loop l;
    l.run_sync(sleep_driver(&st));
    report_items(st, 1);
}
BENCHMARK(bm_sleep_zero);

task<void> yield_driver(benchmark::State* st) {
    for (auto _ : *st) co_await yield_now{};
}

void bm_yield(benchmark::State& st) {
    loop l;
    l.run_sync(yield_driver(&st));
    report_items(st, 1);
}
BENCHMARK(bm_yield);

int plus_one(int x) { return x + 1; }

task<void> pool_driver(benchmark::State* st) {
    int v = co_await squall::run_in_pool([] { return plus_one(0); });  // starts the pool
    for (auto _ : *st) {
        auto job = squall::run_in_pool([v] { return plus_one(v); });
        v = co_await std::move(job);
        benchmark::DoNotOptimize(v);
    }
}

void bm_run_in_pool(benchmark::State& st) {
    loop l;
    l.run_sync(pool_driver(&st));
    report_items(st, 1);
}
BENCHMARK(bm_run_in_pool)->UseRealTime();

// Records which ring set-up the figures were measured with.
void add_ring_context() {
    loop l;
    benchmark::AddCustomContext("squall_ring", l.features().describe());
}

}  // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    try {
        add_ring_context();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "engine_bench: %s\n", e.what());
        return 1;
    }
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
