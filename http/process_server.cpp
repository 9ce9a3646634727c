#include <squall/http/process_server.hpp>

#include <fcntl.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <csignal>
#include <memory>
#include <system_error>

#include <squall/engine/cancel.hpp>
#include <squall/engine/log_file.hpp>
#include <squall/engine/process.hpp>
#include <squall/engine/time.hpp>
#include <squall/engine/tls.hpp>

namespace squall::http {
namespace {

// What each accepted connection is served with.
struct conn_opts {
    stream_options stream;
    std::shared_ptr<tls_context> tls;  // null: plain HTTP
};

task<void> counted(unique_fd fd, const application* app, conn_opts st, cancel_token shutdown) {
    connection_opened();
    co_await serve_connection(std::move(fd), app, st.stream, shutdown, st.tls);
    connection_closed();
}

// At a graceful stop the listener stops accepting (listener::
// stop_accepting) rather than having its accept cancelled: a connection
// the kernel handed to this child's accept just as the stop came (its
// completion racing the cancel) is served, where an orphaned accept left
// it open and unanswered until the child exited (a request lost now and
// then across a binary upgrade or a rolling restart).
class stop_accepting_on_shutdown final : public cancel_callback {
public:
    explicit stop_accepting_on_shutdown(listener* l) noexcept
        : cancel_callback(&stop_accepting_on_shutdown::fire), l_(l) {}

private:
    static void fire(cancel_callback* cb) noexcept {
        static_cast<stop_accepting_on_shutdown*>(cb)->l_->stop_accepting();
    }
    listener* l_;
};

// serve_listener's loop, but a child with more connections than its
// siblings waits (up to 50 ms) before arming its accept, so that a burst
// is not taken by whichever child runs first (engine/process.hpp).
task<void> accept_loop(listener* l, const application* app, conn_opts st, cancel_token shutdown) {
    stop_accepting_on_shutdown stop(l);
    if (!stop.attach(shutdown.state())) l->stop_accepting();
    for (;;) {
        for (int i = 0; i < 50 && !shutdown.cancel_requested() && should_defer_accept(); ++i) {
            auto slept = co_await sleep(std::chrono::milliseconds(1));
            (void)slept;
        }
        auto c = co_await l->accept();
        if (!c) co_return;  // closed: stopped and nothing left to take
        // One taken after the stop began has its request served (with
        // Connection: close), not cut short as an idle keep-alive would be.
        cancel_token t = shutdown.cancel_requested() ? cancel_token{} : shutdown;
        loop::current()->spawn(counted(std::move(*c), app, st, t));
    }
}

task<void> serve_fd(int fd, const application* app, conn_opts st, listener_options lo, cancel_token shutdown) {
    listener l(unique_fd(fd), lo);
    // Not under the shutdown token: the stop ends the loop through the
    // listener, once the connections handed over are taken.
    co_await accept_loop(&l, app, st, shutdown);
}

void add_reload_handlers(const conn_opts& st) {
    loop* l = loop::current();
    l->add_signal_handler(SIGUSR1, [](int) { reopen_log_file(); });
    if (!st.tls) return;
    l->add_signal_handler(SIGHUP, [ctx = st.tls](int) {
        try {
            ctx->reload();
            spdlog::info("squall: TLS certificates reloaded");
        } catch (const std::exception& e) {
            spdlog::error("squall: TLS reload failed, keeping the current certificates: {}", e.what());
        }
    });
}

task<void> serve_loop(std::vector<int> fds, const application* app, conn_opts st, listener_options lo,
                      cancel_token shutdown) {
    add_reload_handlers(st);
    for (int fd : fds) loop::current()->spawn(serve_fd(fd, app, st, lo, shutdown));
    co_return;
}

}  // namespace

int serve_sockets(const application& app, const server_options& opts, std::vector<unique_fd> sockets) {
    // Each loop gets its own copies now; the originals close before serving,
    // so that once every loop has closed its listeners at a stop the kernel
    // refuses new connections instead of queueing them for nobody.
    unsigned loops = opts.run.threads ? opts.run.threads : 1;
    auto sets = std::make_shared<std::vector<std::vector<int>>>(loops);
    for (const auto& s : sockets) {
        spdlog::info("squall: serving {}://{}/", opts.tls ? "https" : "http", local_address(s.get()).to_string());
        for (auto& set : *sets) {
            int mine = ::fcntl(s.get(), F_DUPFD_CLOEXEC, 0);
            if (mine < 0) throw std::system_error(errno, std::system_category(), "squall: dup of a listening socket");
            set.push_back(mine);
        }
    }
    sockets.clear();
    auto next = std::make_shared<std::atomic<unsigned>>(0);
    const application* a = &app;
    conn_opts st{opts.stream, opts.tls};
    listener_options lo = opts.listener;
    lo.multishot = false;
    block_signals({SIGHUP, SIGUSR1});  // every thread: only the loops' signalfds take them
    return run_server(opts.run, [=](cancel_token shutdown) {
        return serve_loop((*sets)[next->fetch_add(1) % loops], a, st, lo, shutdown);
    });
}

}  // namespace squall::http
