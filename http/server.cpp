#include <squall/http/server.hpp>

#include <spdlog/spdlog.h>

#include <netdb.h>

#include <csignal>
#include <memory>
#include <stdexcept>
#include <system_error>

#include <squall/engine/when.hpp>

#include <squall/engine/tls.hpp>
#include <squall/http/detail/connection.hpp>

namespace squall::http {
namespace {

// One listener per address; a ::1 that cannot be bound (IPv6 off) is
// skipped when another address was, as Tornado does for "localhost".
task<std::vector<std::unique_ptr<listener>>> listen_all(std::vector<address> addrs, bool reuse_port,
                                                        listener_options lo) {
    std::vector<std::unique_ptr<listener>> out;
    for (const auto& a : addrs) {
        try {
            listen_options o{.reuse_port = reuse_port};
            // Not a conditional expression: GCC 12 destroys a co_await's
            // result inside one twice (the fd was closed under the listener).
            unique_fd fd;
            if (lo.ring_setup) fd = co_await listen_on_ring(a, o);
            else fd = listen_on(a, o);
            out.push_back(std::make_unique<listener>(std::move(fd), lo));
        } catch (const std::system_error& e) {
            if (e.code().value() != EADDRNOTAVAIL || addrs.size() == 1) throw;
            spdlog::warn("squall: cannot listen on {}: {}", a.to_string(), e.what());
        }
    }
    co_return out;
}

void reload_on_sighup(std::shared_ptr<tls_context> tls) {
    // SIGHUP re-reads the certificates for new connections; open ones
    // keep theirs. A bad file is logged and the old ones stay.
    loop::current()->add_signal_handler(SIGHUP, [ctx = std::move(tls)](int) {
        try {
            ctx->reload();
            spdlog::info("squall: TLS certificates reloaded");
        } catch (const std::exception& e) {
            spdlog::error("squall: TLS reload failed, keeping the current certificates: {}", e.what());
        }
    });
}

task<void> serve_on_loop(std::vector<address> addrs, bool reuse_port, const application* app, stream_options st,
                         std::shared_ptr<tls_context> tls, listener_options lo, server_options::start_fn on_start,
                         cancel_token shutdown) {
    auto listeners = co_await listen_all(addrs, reuse_port, lo);
    if (tls) reload_on_sighup(tls);
    if (on_start) {
        auto started = on_start(shutdown);
        loop::current()->spawn(std::move(started), shutdown);
    }
    std::vector<task<void>> serving;
    for (auto& l : listeners) {
        spdlog::info("squall: listening on {}://{}/", tls ? "https" : "http", l->local().to_string());
        serving.push_back(serve_listener(l.get(), app, st, shutdown, tls));
    }
    auto all = when_all(std::move(serving));
    auto done = co_await std::move(all);
    (void)done;
}

}  // namespace

task<void> serve_connection(unique_fd fd, const application* app, stream_options opts, cancel_token shutdown,
                            std::shared_ptr<tls_context> tls) {
    // On the heap, not a local of this coroutine: GCC 12 with
    // -fsanitize=address lays a local this large (about 1 KiB) out past
    // the end of the frame it allocates, and the constructor then writes
    // out of bounds (tests/http/bad_input_test.cpp under ASan).
    auto c = std::make_unique<detail::connection>(std::move(fd), *app, opts, shutdown, std::move(tls));
    co_await c->run();
}

task<void> serve_listener(listener* l, const application* app, stream_options opts, cancel_token shutdown,
                          std::shared_ptr<tls_context> tls) {
    auto accept_loop = [](listener* lp, const application* a, stream_options o, cancel_token stop,
                          std::shared_ptr<tls_context> t) -> task<void> {
        for (;;) {
            auto c = co_await lp->accept();
            if (!c) co_return;  // closed, or the shutdown token fired
            loop::current()->spawn(serve_connection(std::move(*c), a, o, stop, t));
        }
    }(l, app, opts, shutdown, std::move(tls));
    accept_loop.set_cancel_token(shutdown);
    co_await std::move(accept_loop);
}

std::vector<address> resolve_host(const std::string& host, std::uint16_t port) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* found = nullptr;
    std::string service = std::to_string(port);
    int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found);
    if (rc != 0) throw std::runtime_error("squall: cannot resolve host '" + host + "': " + ::gai_strerror(rc));
    std::vector<address> out;
    for (addrinfo* ai = found; ai; ai = ai->ai_next) {
        address a = address::from(ai->ai_addr, ai->ai_addrlen);
        bool seen = false;
        for (const auto& b : out) seen = seen || b.to_string() == a.to_string();
        if (!seen) out.push_back(a);
    }
    ::freeaddrinfo(found);
    if (out.empty()) throw std::runtime_error("squall: host '" + host + "' has no address");
    return out;
}

int serve(const application& app, const server_options& opts) {
    if (loop::current())
        spdlog::warn(
            "squall: serve() runs loops of its own; what was set up on this thread's loop will not run "
            "(use server_options::on_start)");
    std::vector<address> addrs = resolve_host(opts.host, opts.port);
    bool reuse_port = opts.run.threads > 1;
    const application* a = &app;
    stream_options st = opts.stream;
    std::shared_ptr<tls_context> tls = opts.tls;
    listener_options lo = opts.listener;
    server_options::start_fn on_start = opts.on_start;
    if (tls) block_signals({SIGHUP});  // every thread: only the loops' signalfds take it
    return run_server(opts.run, [=](cancel_token shutdown) {
        return serve_on_loop(addrs, reuse_port, a, st, tls, lo, on_start, shutdown);
    });
}

}  // namespace squall::http
