// A small squall echo server (listener + stream, as in examples/echo.cpp)
// with counters the loopback stress tests read, and the clients' helpers:
// payloads compared byte for byte, plain blocking POSIX sockets, and
// client processes forked off the test.
//
// echo_server runs its own loop on a thread of its own; the test thread
// reads the server's state only through snapshot()/wait_until(), which run
// on the loop thread (loop::post). The coroutine functions (echo_connection,
// echo_accept_loop) can also be spawned on a loop the test owns. Counters
// live on the loop thread that runs the server. Used by
// tests/engine/echo_stress_test.cpp and tests/engine/listener_test.cpp.
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <squall/engine/listener.hpp>
#include <squall/engine/loop.hpp>
#include <squall/engine/op.hpp>
#include <squall/engine/socket.hpp>
#include <squall/engine/stream.hpp>
#include <squall/engine/time.hpp>
#include <squall/engine/when.hpp>

namespace squall::stress {

using namespace std::chrono_literals;

// What the server saw, summed over its connections.
struct echo_stats {
    std::size_t accepted = 0;
    std::size_t finished = 0;     // connection tasks that returned
    std::size_t active_peak = 0;  // most connections open at once
    std::size_t writing = 0;      // connections inside a write right now
    std::size_t eofs = 0;         // ended by the peer's FIN (errc::eof)
    std::size_t errors = 0;       // ended by anything else (reset, ...)
    std::error_code last_error;
    std::uint64_t bytes_in = 0, bytes_out = 0;
    std::uint64_t starvations = 0, recv_pauses = 0, zc_sends = 0;
};

// One connection: each received chunk goes straight back out (owned, so
// with SEND_ZC, at or above the zero-copy threshold, like the example).
inline task<void> echo_connection(unique_fd fd, stream_options opts, echo_stats* st) {
    stream s(std::move(fd), opts);
    std::error_code end;
    for (;;) {
        auto chunk = co_await s.read_some();
        if (!chunk) {
            end = chunk.error();
            break;
        }
        std::size_t n = chunk->size();
        st->bytes_in += n;
        ++st->writing;
        // Two statements, not ?: (docs/coroutines.md: GCC 12).
        result<void> w;
        if (opts.send_zc && n >= opts.zc_threshold) w = co_await s.write_owned(std::move(*chunk));
        else w = co_await s.write(chunk->bytes());
        --st->writing;
        if (!w) {
            end = w.error();
            break;
        }
        st->bytes_out += n;
    }
    st->starvations += s.recv_starvations();
    st->recv_pauses += s.recv_pauses();
    st->zc_sends += s.zc_sends();
    if (end == errc::eof) {
        ++st->eofs;
    } else {
        ++st->errors;
        st->last_error = end;
    }
    ++st->finished;
}

inline task<void> echo_accept_loop(listener* l, stream_options opts, echo_stats* st) {
    for (;;) {
        auto c = co_await l->accept();
        if (!c) co_return;  // closed or cancelled
        ++st->accepted;
        st->active_peak = std::max(st->active_peak, st->accepted - st->finished);
        loop::current()->spawn(echo_connection(std::move(*c), opts, st));
    }
}

// The server's state as the test thread sees it.
struct server_snapshot {
    echo_stats stats;
    std::size_t ops_in_flight = 0;
    std::size_t spawned = 0;
    std::size_t queued = 0;
    unsigned buffers_in_use = 0;
    std::uint64_t fd_pauses = 0;
};

inline server_snapshot snapshot_of(loop& l, listener& lst, const echo_stats& st) {
    return {st, l.ops_in_flight(), l.spawned_count(), lst.queued(), l.buffers().in_use(), lst.fd_pauses()};
}

struct server_config {
    loop_options loop;
    stream_options stream;
    listener_options listen;
};

// An echo server on 127.0.0.1 (a free port) with its loop on a thread.
class echo_server {
public:
    explicit echo_server(server_config cfg = {}) {
        std::promise<address> ready;
        auto started = ready.get_future();
        thread_ = std::thread([this, cfg, &ready] { serve(cfg, &ready); });
        try {
            addr_ = started.get();  // set-up failures are rethrown here
        } catch (...) {
            thread_.join();
            throw;
        }
    }
    ~echo_server() { stop(); }
    echo_server(const echo_server&) = delete;
    echo_server& operator=(const echo_server&) = delete;

    const address& addr() const noexcept { return addr_; }

    void stop() {
        {
            std::lock_guard lk(mu_);
            if (loop_) loop_->stop();
        }
        if (thread_.joinable()) thread_.join();
    }

    server_snapshot snapshot() {
        auto p = std::make_shared<std::promise<server_snapshot>>();
        auto got = p->get_future();
        {
            std::lock_guard lk(mu_);
            if (!loop_) throw std::runtime_error("echo_server: the loop is not running");
            loop_->post([this, p] { p->set_value(snapshot_of(*loop_, *listener_, stats_)); });
        }
        if (got.wait_for(60s) != std::future_status::ready)
            throw std::runtime_error("echo_server: the loop did not answer for 60 s");
        return got.get();
    }

    // Polls the server until `pred(snapshot)` holds or `guard` passes (a
    // guard against hangs, never a measure); returns the last snapshot.
    server_snapshot wait_until(const std::function<bool(const server_snapshot&)>& pred, clock::duration guard = 60s) {
        auto give_up = clock::now() + guard;
        server_snapshot s = snapshot();
        while (!pred(s) && clock::now() < give_up) {
            std::this_thread::sleep_for(2ms);
            s = snapshot();
        }
        return s;
    }

private:
    void serve(server_config cfg, std::promise<address>* ready) {
        std::optional<loop> l;
        std::optional<listener> lst;
        try {
            l.emplace(cfg.loop);
            lst.emplace(listen_on(address::ip("127.0.0.1", 0)), cfg.listen);
            l->spawn(echo_accept_loop(&*lst, cfg.stream, &stats_));
        } catch (...) {
            ready->set_exception(std::current_exception());
            return;
        }
        {
            std::lock_guard lk(mu_);
            loop_ = &*l;
            listener_ = &*lst;
        }
        ready->set_value(lst->local());
        try {
            l->run();
        } catch (const std::exception& e) {
            std::fprintf(stderr, "echo_server: the loop failed: %s\n", e.what());  // snapshot() then throws
        }
        std::lock_guard lk(mu_);
        loop_ = nullptr;
        listener_ = nullptr;
    }

    std::thread thread_;
    std::mutex mu_;
    loop* loop_ = nullptr;  // guarded by mu_; null once the loop stopped
    listener* listener_ = nullptr;
    echo_stats stats_;  // loop thread only
    address addr_;
};

// --- payloads ----------------------------------------------------------

// Pseudo-random bytes, different for every seed (so crossed connections
// show up as mismatches, not as equal bytes).
inline std::vector<std::byte> make_payload(std::size_t n, std::uint32_t seed) {
    std::vector<std::byte> v(n);
    std::mt19937 g(seed);
    std::size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        std::uint32_t x = g();
        std::memcpy(v.data() + i, &x, 4);
    }
    for (; i < n; ++i) v[i] = static_cast<std::byte>(g());
    return v;
}

// Writes `data`, then half-closes. "" when all went out.
inline task<std::string> write_then_half_close(stream* s, std::span<const std::byte> data) {
    result<void> w = co_await s->write(data);
    if (!w) co_return "write: " + w.error().message();
    result<void> sh = co_await s->shutdown_write();
    if (!sh) co_return "shutdown_write: " + sh.error().message();
    co_return "";
}

// Reads until EOF, comparing every byte with `expect`. "" when the echo
// was exactly `expect` followed by errc::eof.
inline task<std::string> read_and_compare(stream* s, std::span<const std::byte> expect) {
    std::size_t got = 0;
    for (;;) {
        auto c = co_await s->read_some();
        if (!c) {
            if (c.error() == errc::eof) break;
            co_return "read after " + std::to_string(got) + " bytes: " + c.error().message();
        }
        auto b = c->bytes();
        if (b.size() > expect.size() - got) co_return "more bytes than sent (" + std::to_string(got + b.size()) + ")";
        auto diff = std::mismatch(b.begin(), b.end(), expect.begin() + static_cast<std::ptrdiff_t>(got)).first;
        if (diff != b.end())
            co_return "byte " + std::to_string(got + static_cast<std::size_t>(diff - b.begin())) + " differs";
        got += b.size();
    }
    if (got != expect.size()) co_return "EOF after " + std::to_string(got) + " bytes";
    co_return "";
}

// One client: sends `payload`, half-closes, and checks the whole echo and
// the server's EOF. "" on success.
inline task<std::string> echo_through(stream* s, std::span<const std::byte> payload) {
    auto [w, r] = co_await when_all(write_then_half_close(s, payload), read_and_compare(s, payload));
    co_return w.empty() ? r : w;
}

inline task<std::string> echo_client(address addr, std::size_t size, std::uint32_t seed, stream_options opts) {
    std::vector<std::byte> payload = make_payload(size, seed);
    auto fd = co_await connect_to(addr);
    if (!fd) co_return "connect: " + fd.error().message();
    stream s(std::move(*fd), opts);
    std::string err = co_await echo_through(&s, payload);
    if (!err.empty()) err = std::to_string(size) + "-byte echo: " + err;
    co_return err;
}

// --- plain POSIX clients -------------------------------------------------

// A blocking loopback connection; receive and send time out after 30 s so
// a broken server fails the test instead of hanging it.
inline unique_fd raw_connect(const address& addr, int rcvbuf = 0) {
    unique_fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) throw std::system_error(errno, std::system_category(), "socket");
    timeval tv{30, 0};
    ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (rcvbuf > 0) ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    if (::connect(fd.get(), addr.get(), addr.size()) != 0) {
        // A thread that owns a ring can see EINTR here (io_uring task work
        // interrupts a wait that has a timeout); the connect goes on.
        if (errno != EINTR) throw std::system_error(errno, std::system_category(), "connect");
        pollfd p{fd.get(), POLLOUT, 0};
        while (::poll(&p, 1, 30'000) < 0 && errno == EINTR) {}
        int err = ETIMEDOUT;
        socklen_t len = sizeof err;
        if (p.revents) ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) throw std::system_error(err, std::system_category(), "connect");
    }
    return fd;
}

// Closes with SO_LINGER {1, 0}: the peer gets RST instead of FIN.
inline void reset_close(unique_fd fd) {
    linger lg{1, 0};
    if (::setsockopt(fd.get(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg) != 0)
        throw std::system_error(errno, std::system_category(), "SO_LINGER");
    fd.reset();
}

inline void send_all_raw(int fd, std::span<const std::byte> data) {
    while (!data.empty()) {
        ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) throw std::system_error(errno, std::system_category(), "send");
        data = data.subspan(static_cast<std::size_t>(n));
    }
}

// Reads up to n bytes (fewer at EOF, reset or the 30 s receive timeout).
inline std::vector<std::byte> recv_raw(int fd, std::size_t n) {
    std::vector<std::byte> out(n);
    std::size_t got = 0;
    while (got < n) {
        ssize_t r = ::recv(fd, out.data() + got, n - got, 0);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += static_cast<std::size_t>(r);
    }
    out.resize(got);
    return out;
}

// --- client processes ---------------------------------------------------

// A forked child running clients; `report` gets its verdict ("ok" or what
// failed) and EOF when it exits.
struct child_process {
    pid_t pid = -1;
    unique_fd report;
};

// Forks; the child runs fn() (returning "ok" or a failure) and _exits with
// 0 only for "ok". Fork before the parent creates a loop: the child must
// not inherit a ring or threads.
template <class Fn>
child_process fork_child(Fn fn) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) throw std::system_error(errno, std::system_category(), "pipe2");
    pid_t pid = ::fork();
    if (pid < 0) throw std::system_error(errno, std::system_category(), "fork");
    if (pid == 0) {
        ::close(p[0]);
        std::string verdict;
        try {
            verdict = fn();
        } catch (const std::exception& e) {
            verdict = std::string("exception: ") + e.what();
        } catch (...) {
            verdict = "unknown exception";
        }
        [[maybe_unused]] auto n = ::write(p[1], verdict.data(), verdict.size());
        ::_exit(verdict == "ok" ? 0 : 1);
    }
    ::close(p[1]);
    return {pid, unique_fd(p[0])};
}

// The child's verdict, read through the ring until EOF (the child exited).
inline task<std::string> read_report(int fd) {
    std::string out;
    std::byte buf[4096];
    for (;;) {
        auto n = co_await read(fd, buf);
        if (!n) co_return out + " [report read: " + n.error().message() + "]";
        if (*n == 0) co_return out;
        out.append(reinterpret_cast<const char*>(buf), static_cast<std::size_t>(*n));
    }
}

// Reaps the child (killing it first if `kill_first`); its exit code, or
// 128 + signal.
inline int reap_child(pid_t pid, bool kill_first) {
    if (kill_first) ::kill(pid, SIGKILL);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    return 128 + WTERMSIG(status);
}

// Turns the loop until the server's connection tasks have all finished
// (guard: 60 s).
inline task<void> wait_connections_done(const echo_stats* st) {
    auto give_up = clock::now() + 60s;
    while (st->finished < st->accepted && clock::now() < give_up) co_await sleep(1ms);
}

// Turns the loop until at most `target` kernel operations are in flight
// (cancelled ones complete a little later; guard: 30 s).
inline task<std::size_t> settle_ops(loop* l, std::size_t target = 0) {
    auto give_up = clock::now() + 30s;
    while (l->ops_in_flight() > target && clock::now() < give_up) co_await sleep(1ms);
    co_return l->ops_in_flight();
}

// Waits for a forked client process: its verdict once its report pipe
// reaches EOF (guard: `guard`), then for the server's connections to end.
inline task<std::string> await_child(int report_fd, const echo_stats* st, clock::duration guard) {
    auto verdict = co_await with_timeout(guard, read_report(report_fd));
    co_await wait_connections_done(st);
    co_return std::move(*verdict);
}

}  // namespace squall::stress
