#include <squall/http/server.hpp>

#include <spdlog/spdlog.h>

#include <csignal>
#include <memory>

#include <squall/engine/tls.hpp>
#include <squall/http/detail/connection.hpp>

namespace squall::http {
namespace {

task<void> serve_on_loop(address addr, bool reuse_port, const application* app, stream_options st,
                         listener_options lo, cancel_token shutdown) {
    listener l(listen_on(addr, {.reuse_port = reuse_port}), lo);
    spdlog::info("squall: listening on {}://{}/", st.tls ? "https" : "http", l.local().to_string());
    if (st.tls) {
        // SIGHUP re-reads the certificates for new connections; open ones
        // keep theirs. A bad file is logged and the old ones stay.
        loop::current()->add_signal_handler(SIGHUP, [ctx = st.tls](int) {
            try {
                ctx->reload();
                spdlog::info("squall: TLS certificates reloaded");
            } catch (const std::exception& e) {
                spdlog::error("squall: TLS reload failed, keeping the current certificates: {}", e.what());
            }
        });
    }
    co_await serve_listener(&l, app, st, shutdown);
}

}  // namespace

task<void> serve_connection(unique_fd fd, const application* app, stream_options opts, cancel_token shutdown) {
    // On the heap, not a local of this coroutine: GCC 12 with
    // -fsanitize=address lays a local this large (about 1 KiB) out past
    // the end of the frame it allocates, and the constructor then writes
    // out of bounds (tests/http/bad_input_test.cpp under ASan).
    auto c = std::make_unique<detail::connection>(std::move(fd), *app, opts, shutdown);
    co_await c->run();
}

task<void> serve_listener(listener* l, const application* app, stream_options opts, cancel_token shutdown) {
    auto accept_loop = [](listener* lp, const application* a, stream_options o, cancel_token stop) -> task<void> {
        for (;;) {
            auto c = co_await lp->accept();
            if (!c) co_return;  // closed, or the shutdown token fired
            loop::current()->spawn(serve_connection(std::move(*c), a, o, stop));
        }
    }(l, app, opts, shutdown);
    accept_loop.set_cancel_token(shutdown);
    co_await std::move(accept_loop);
}

int serve(const application& app, const server_options& opts) {
    address addr = address::ip(opts.host, opts.port);
    bool reuse_port = opts.run.threads > 1;
    const application* a = &app;
    stream_options st = opts.stream;
    listener_options lo = opts.listener;
    if (st.tls) block_signals({SIGHUP});  // every thread: only the loops' signalfds take it
    return run_server(opts.run, [=](cancel_token shutdown) {
        return serve_on_loop(addr, reuse_port, a, st, lo, shutdown);
    });
}

}  // namespace squall::http
