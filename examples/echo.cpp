// echo: a TCP echo server on squall's engine, one loop per thread, each
// with its own SO_REUSEPORT listener (thread-per-core).
//
//   build/examples/echo --port 8888 --threads 2
//
// Each connection is one coroutine: the stream lends each received chunk
// from the loop's buffer ring, and the chunk goes straight back out (with
// SEND_ZC at or above the threshold, holding the lease until the kernel is
// done). Every io_uring feature squall uses can be switched off from the
// command line to measure what it buys (see --help and make bench-features).
// SIGINT/SIGTERM stop accepting, give open connections --drain seconds,
// then stop every loop.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <csignal>

#include "common/server_flags.hpp"
#include <squall/engine/listener.hpp>
#include <squall/engine/loop.hpp>
#include <squall/engine/server.hpp>
#include <squall/engine/stream.hpp>
#include <squall/engine/tls_stream.hpp>

using namespace squall;

namespace {

task<void> echo_client(unique_fd fd, stream_options opts, std::shared_ptr<tls_context> tls) {
    std::unique_ptr<byte_stream> sp = std::make_unique<stream>(std::move(fd), opts);
    if (tls) sp = std::make_unique<tls_stream>(std::move(sp), std::move(tls));  // --cert: TLS over it
    byte_stream& s = *sp;
    for (;;) {
        auto chunk = co_await s.read_some();
        if (!chunk) co_return;  // eof, reset or closed
        // Large chunks go back zero-copy, the lease held until the kernel
        // is done with it. (No co_await inside ?: or an if condition:
        // GCC 12 miscompiles those; see docs/coroutines.md.)
        result<void> w;
        if (opts.send_zc && chunk->size() >= opts.zc_threshold) {  // write_owned decides per peer
            w = co_await s.write_owned(std::move(*chunk));
        } else {
            w = co_await s.write(chunk->bytes());
        }
        if (!w) co_return;
    }
}

task<void> accept_loop(listener* l, stream_options opts, std::shared_ptr<tls_context> tls) {
    for (;;) {
        auto c = co_await l->accept();
        if (!c) co_return;  // closed, or cancelled at shutdown
        loop::current()->spawn(echo_client(std::move(*c), opts, tls));
    }
}

// One loop's service: its own SO_REUSEPORT listener and accept loop, until
// the shutdown token fires.
task<void> serve(address addr, bool reuse_port, stream_options st, std::shared_ptr<tls_context> tls,
                 listener_options lo, cancel_token shutdown) {
    listener l(listen_on(addr, {.reuse_port = reuse_port}), lo);
    spdlog::info("squall echo listening on {}", l.local().to_string());
    auto accepting = accept_loop(&l, st, std::move(tls));
    accepting.set_cancel_token(shutdown);
    co_await std::move(accepting);
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"squall TCP echo server"};
    std::string host = "127.0.0.1";
    std::uint16_t port = 8888;
    run_options so;
    stream_options st;
    listener_options lo;
    std::shared_ptr<tls_context> tls;
    examples::feature_flags flags;
    app.add_option("--host", host, "numeric address to listen on");
    app.add_option("--port", port, "TCP port");
    examples::add_server_flags(app, so, st, flags);
    CLI11_PARSE(app, argc, argv);
    examples::apply_server_flags(flags, so, st, lo, tls);

    address addr = address::ip(host, port);
    bool reuse_port = so.threads > 1;
    return run_server(so, [=](cancel_token shutdown) { return serve(addr, reuse_port, st, tls, lo, shutdown); });
}
