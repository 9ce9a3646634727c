// zc_bench: what SEND_ZC buys over a copying send, by write size, on this
// kernel, to choose stream_options::zc_threshold. A stream writes owned
// buffers of each size over loopback TCP with SEND_ZC on and off while a
// thread drains the other end; Google Benchmark reports bytes/s.
// Loopback is the worst case for zero copy (the kernel copies into the
// receiving socket anyway and the notification costs extra); on a NIC the
// gain starts lower. Run: build/bench/zc_bench.
#include <benchmark/benchmark.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>

#include <squall/engine/loop.hpp>
#include <squall/engine/socket.hpp>
#include <squall/engine/stream.hpp>

namespace {

using squall::task;

struct tcp_pair {
    squall::unique_fd server, client;
};

tcp_pair make_pair() {
    squall::unique_fd lfd = squall::listen_on(squall::address::ip("127.0.0.1", 0));
    squall::address addr = squall::local_address(lfd.get());
    squall::unique_fd client(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (::connect(client.get(), addr.get(), addr.size()) != 0) throw std::runtime_error("connect");
    squall::unique_fd server(::accept4(lfd.get(), nullptr, nullptr, SOCK_CLOEXEC));
    return {std::move(server), std::move(client)};
}

task<void> writer(benchmark::State* st, squall::stream* s, std::size_t size) {
    for (auto _ : *st) {
        squall::result<void> w = co_await s->write_owned(std::string(size, 'x'));
        if (!w) {
            st->SkipWithError("write failed");
            co_return;
        }
    }
}

void bm_write(benchmark::State& state) {
    const auto size = static_cast<std::size_t>(state.range(0));
    const bool zc = state.range(1) != 0;
    squall::loop l;
    auto [server, client] = make_pair();
    std::atomic<bool> done{false};
    std::thread drain([fd = client.get(), &done] {
        std::string buf(1 << 20, '\0');
        while (!done.load(std::memory_order_relaxed)) {
            if (::recv(fd, buf.data(), buf.size(), 0) <= 0) break;
        }
    });
    squall::stream_options o;
    o.send_zc = zc;
    o.zc_threshold = 0;
    o.zc_on_loopback = true;  // this benchmark measures exactly that
    {
        squall::stream s(std::move(server), o);
        l.run_sync(writer(&state, &s, size));
        state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * size));
        state.counters["zc_sends"] = static_cast<double>(s.zc_sends());
        done = true;
        s.close();
    }
    client.reset();
    drain.join();
}
BENCHMARK(bm_write)
    ->ArgsProduct({{4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20}, {0, 1}})
    ->ArgNames({"bytes", "zc"})
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
