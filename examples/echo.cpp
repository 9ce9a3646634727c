// echo: a TCP echo server on squall's engine, one loop per thread, each
// with its own SO_REUSEPORT listener (thread-per-core).
//
//   build/examples/echo --port 8888 --threads 2
//
// Each connection is one coroutine: recv into a buffer in its frame, send
// it all back, until the peer closes. SIGINT/SIGTERM stop every loop.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <latch>
#include <thread>
#include <vector>

#include "engine/loop.hpp"
#include "engine/op.hpp"
#include "engine/socket.hpp"
#include "engine/time.hpp"

using namespace squall;
using namespace std::chrono_literals;

namespace {

task<void> echo_client(unique_fd fd) {
    std::array<std::byte, 16 * 1024> buf;
    for (;;) {
        auto n = co_await recv(fd.get(), buf);
        if (!n || *n == 0) co_return;
        std::size_t sent = 0;
        while (sent < static_cast<std::size_t>(*n)) {
            auto w = co_await send(fd.get(), std::span(buf).subspan(sent, *n - sent));
            if (!w) co_return;
            sent += *w;
        }
    }
}

task<void> accept_loop(loop* l, int listen_fd) {
    for (;;) {
        auto c = co_await accept(listen_fd);
        if (c) {
            l->spawn(echo_client(unique_fd(*c)));
        } else if (c.error() == std::errc::too_many_files_open ||
                   c.error() == std::errc::too_many_files_open_in_system) {
            // Out of descriptors: pause accepting; open connections go on.
            co_await sleep(100ms);
        } else if (c.error() == errc::canceled) {
            co_return;
        } else {
            spdlog::warn("echo: accept: {}", c.error().message());
        }
    }
}

void serve(const address& addr, bool reuse_port, loop** out, std::latch* ready) {
    loop l;
    unique_fd lfd = listen_on(addr, {.reuse_port = reuse_port});
    l.spawn(accept_loop(&l, lfd.get()));
    *out = &l;
    ready->count_down();
    l.run();
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"squall TCP echo server"};
    std::string host = "127.0.0.1";
    std::uint16_t port = 8888;
    unsigned threads = 1;
    app.add_option("--host", host, "numeric address to listen on");
    app.add_option("--port", port, "TCP port");
    app.add_option("--threads", threads, "loops, one per thread, each with a SO_REUSEPORT listener")
        ->check(CLI::Range(1u, 256u));
    CLI11_PARSE(app, argc, argv);

    // Blocked before any thread starts, so only the main loop's signalfd sees them.
    block_signals({SIGINT, SIGTERM});
    address addr = address::ip(host, port);
    std::vector<loop*> loops(threads, nullptr);
    std::latch ready(threads);
    std::vector<std::thread> workers;
    for (unsigned i = 1; i < threads; ++i) workers.emplace_back(serve, addr, true, &loops[i], &ready);

    loop main_loop;
    unique_fd lfd = listen_on(addr, {.reuse_port = threads > 1});
    main_loop.spawn(accept_loop(&main_loop, lfd.get()));
    loops[0] = &main_loop;
    ready.count_down();
    ready.wait();
    auto stop_all = [&](int sig) {
        spdlog::info("echo: signal {}, stopping", sig);
        for (loop* l : loops) l->stop();
    };
    main_loop.add_signal_handler(SIGINT, stop_all);
    main_loop.add_signal_handler(SIGTERM, stop_all);
    spdlog::info("squall echo listening on {} ({} thread{})", local_address(lfd.get()).to_string(), threads,
                 threads == 1 ? "" : "s");
    main_loop.run();
    for (auto& w : workers) w.join();
    return 0;
}
