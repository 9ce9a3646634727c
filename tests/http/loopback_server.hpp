// An HTTP server for end-to-end tests and the raw clients that talk to it.
//
// loopback_server runs http::serve_listener with an application of the
// test's making on 127.0.0.1 (a free port), on a loop of its own thread;
// the test thread reads the server's state only through stats(), which
// runs on the loop thread (loop::post). The application is built on the
// test thread before the loop starts and only read afterwards.
//
// raw_client is a blocking POSIX socket with a read buffer: it sends bytes
// exactly as given and parses responses itself, so that tests see the
// status line, the fields and the close exactly as the server sent them.
// Every receive gives up after 15 s (a guard against a hung server, not a
// measure). Used by tests/http/bad_input_test.cpp.
#pragma once

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include <squall/http/detail/grammar.hpp>

#include <squall/engine/buffer_ring.hpp>
#include <squall/engine/cancel.hpp>
#include <squall/engine/listener.hpp>
#include <squall/engine/loop.hpp>
#include <squall/engine/socket.hpp>
#include <squall/http/application.hpp>
#include <squall/http/request.hpp>
#include <squall/http/server.hpp>

namespace squall::http::testing {

using namespace std::chrono_literals;

// What the server holds, as the test thread sees it.
struct server_stats {
    std::size_t connections = 0;  // connection tasks still running
    unsigned buffers_in_use = 0;  // receive buffers leased out of the ring
    std::uint64_t fd_pauses = 0;  // times accepting paused for EMFILE
};

class loopback_server {
public:
    // serve_now false: the listener exists but accepts nothing until
    // start_serving() (tests that must lower the fd limit in between).
    // `so`: the connections' stream options (e.g. TLS).
    explicit loopback_server(std::unique_ptr<application> app, listener_options lo = {}, bool serve_now = true,
                             stream_options so = {}, std::shared_ptr<tls_context> tls = nullptr)
        : app_(std::move(app)), stream_opts_(std::move(so)), tls_(std::move(tls)), serve_now_(serve_now) {
        std::promise<std::uint16_t> ready;
        auto started = ready.get_future();
        thread_ = std::thread([this, lo, &ready] { serve(lo, &ready); });
        try {
            port_ = started.get();
        } catch (...) {
            thread_.join();
            throw;
        }
    }
    ~loopback_server() { stop(); }
    loopback_server(const loopback_server&) = delete;
    loopback_server& operator=(const loopback_server&) = delete;

    std::uint16_t port() const noexcept { return port_; }
    const application& app() const noexcept { return *app_; }

    void stop() {
        {
            std::lock_guard lk(mu_);
            if (loop_) loop_->stop();
        }
        if (thread_.joinable()) thread_.join();
    }

    void start_serving() {
        call_on_loop<bool>([this] {
            loop_->spawn(serve_listener(listener_, app_.get(), stream_opts_, shutdown_->token(), tls_));
            return true;
        });
    }

    // Fires the shutdown token serve_listener runs under (a graceful stop).
    void begin_shutdown() {
        call_on_loop<bool>([this] {
            shutdown_->request_cancel();
            return true;
        });
    }

    server_stats stats() {
        return call_on_loop<server_stats>([this] {
            // The roots are serve_listener's task and one per connection.
            std::size_t roots = loop_->spawned_count();
            return server_stats{roots > 0 ? roots - 1 : 0, loop_->buffers().in_use(), listener_->fd_pauses()};
        });
    }

    // Polls until `pred(stats)` holds or `guard` passes (a guard against
    // hangs, never a measure); returns the last stats.
    server_stats wait_until(const std::function<bool(const server_stats&)>& pred,
                            std::chrono::milliseconds guard = 15s) {
        auto give_up = std::chrono::steady_clock::now() + guard;
        server_stats s = stats();
        while (!pred(s) && std::chrono::steady_clock::now() < give_up) {
            std::this_thread::sleep_for(2ms);
            s = stats();
        }
        return s;
    }

    // Until no connection is left open (all freed).
    server_stats wait_idle(std::chrono::milliseconds guard = 15s) {
        return wait_until([](const server_stats& s) { return s.connections == 0 && s.buffers_in_use == 0; }, guard);
    }

private:
    // Runs fn on the loop thread and returns its value. A mutex and a
    // condition variable, not std::promise: nothing here has a vtable, so
    // UBSan's vptr check never runs (it needs a pipe for a type it has not
    // seen yet, and a test may have used up every descriptor). The posted
    // callback refers to this frame, so a loop that does not answer within
    // 60 s is fatal rather than a return.
    template <class T, class Fn>
    T call_on_loop(Fn fn) {
        struct slot {
            std::mutex m;
            std::condition_variable cv;
            std::optional<T> value;
        } s;
        {
            std::lock_guard lk(mu_);
            if (!loop_) throw std::runtime_error("loopback_server: the loop is not running");
            loop_->post([&s, &fn] {
                T v = fn();
                std::lock_guard lk(s.m);
                s.value.emplace(std::move(v));
                s.cv.notify_one();
            });
        }
        std::unique_lock lk(s.m);
        if (!s.cv.wait_for(lk, 60s, [&] { return s.value.has_value(); })) {
            std::fputs("loopback_server: the loop did not answer for 60 s\n", stderr);
            std::abort();
        }
        return std::move(*s.value);
    }

    void serve(listener_options lo, std::promise<std::uint16_t>* ready) {
        std::optional<loop> l;
        std::optional<listener> lst;
        cancel_source shutdown;
        try {
            l.emplace();
            lst.emplace(listen_on(address::ip("127.0.0.1", 0)), lo);
            (void)l->buffers();  // made now, not inside a test's fd limit
            if (serve_now_) l->spawn(serve_listener(&*lst, app_.get(), stream_opts_, shutdown.token(), tls_));
        } catch (...) {
            ready->set_exception(std::current_exception());
            return;
        }
        {
            std::lock_guard lk(mu_);
            loop_ = &*l;
            listener_ = &*lst;
            shutdown_ = &shutdown;
        }
        ready->set_value(lst->local().port());
        l->run();
        std::lock_guard lk(mu_);
        loop_ = nullptr;
        listener_ = nullptr;
        shutdown_ = nullptr;
    }

    std::unique_ptr<application> app_;
    stream_options stream_opts_;
    std::shared_ptr<tls_context> tls_;  // HTTPS when set
    std::thread thread_;
    std::mutex mu_;
    loop* loop_ = nullptr;  // guarded by mu_; null once the loop stopped
    listener* listener_ = nullptr;
    cancel_source* shutdown_ = nullptr;
    bool serve_now_ = true;
    std::uint16_t port_ = 0;
};

// --- raw clients --------------------------------------------------------

struct response {
    std::string status_line;  // "HTTP/1.1 200 OK"
    std::vector<std::pair<std::string, std::string>> fields;
    std::string body;

    std::optional<std::string_view> field(std::string_view name) const {
        for (const auto& [n, v] : fields) {
            if (iequals(n, name)) return std::string_view(v);
        }
        return std::nullopt;
    }
    bool closes() const {
        auto c = field("connection");
        return c && iequals(*c, "close");
    }
};

class raw_client {
public:
    explicit raw_client(std::uint16_t port, int rcvbuf = 0) : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
        if (!fd_) throw std::system_error(errno, std::system_category(), "socket");
        timeval tv{15, 0};
        ::setsockopt(fd_.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        ::setsockopt(fd_.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        int one = 1;
        ::setsockopt(fd_.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (rcvbuf > 0) ::setsockopt(fd_.get(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_port = htons(port);
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        for (;;) {
            if (::connect(fd_.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0) break;
            if (errno == EINTR) continue;
            if (errno == EISCONN) break;
            throw std::system_error(errno, std::system_category(), "connect");
        }
    }
    // A socket made now and connected later (connect_now), for tests that
    // must have the descriptor before they lower the process's fd limit.
    struct deferred {};
    explicit raw_client(deferred) : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
        if (!fd_) throw std::system_error(errno, std::system_category(), "socket");
        timeval tv{15, 0};
        ::setsockopt(fd_.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        ::setsockopt(fd_.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    }
    void connect_now(std::uint16_t port) {
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_port = htons(port);
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        while (::connect(fd_.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
            if (errno == EISCONN) break;
            if (errno != EINTR) throw std::system_error(errno, std::system_category(), "connect");
        }
    }

    int fd() const noexcept { return fd_.get(); }

    // Sends all of `bytes`; false when the server closed or reset.
    bool send(std::string_view bytes) {
        while (!bytes.empty()) {
            ssize_t n = ::send(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return false;
            bytes.remove_prefix(static_cast<std::size_t>(n));
        }
        return true;
    }

    // One response; nullopt when the connection ended (or the guard
    // passed) before a whole one came. `head_request`: no body follows.
    std::optional<response> read_response(bool head_request = false) {
        std::size_t end;
        while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
            if (!fill()) return std::nullopt;
        }
        response r;
        std::string all = buf_.substr(0, end + 2);
        buf_.erase(0, end + 4);
        std::string_view head = all;
        std::size_t eol = head.find("\r\n");
        r.status_line = std::string(head.substr(0, eol));
        head.remove_prefix(eol + 2);
        while (!head.empty()) {
            eol = head.find("\r\n");
            std::string_view line = head.substr(0, eol);
            head.remove_prefix(eol + 2);
            std::size_t colon = line.find(':');
            std::string_view value = line.substr(colon + 1);
            while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
            r.fields.emplace_back(line.substr(0, colon), value);
        }
        if (r.status_line.starts_with("HTTP/1.1 1")) return r;  // interim: no body
        if (head_request || r.status_line.starts_with("HTTP/1.1 204") || r.status_line.starts_with("HTTP/1.1 304"))
            return r;
        auto te = r.field("transfer-encoding");
        if (te && iequals(*te, "chunked")) {
            if (!read_chunked(r.body)) return std::nullopt;
        } else if (auto cl = r.field("content-length")) {
            std::size_t n = std::stoul(std::string(*cl));
            while (buf_.size() < n) {
                if (!fill()) return std::nullopt;
            }
            r.body = buf_.substr(0, n);
            buf_.erase(0, n);
        } else {
            while (fill()) {}
            r.body = std::move(buf_);
            buf_.clear();
        }
        return r;
    }

    // Whether the server ends the connection next: recv gives 0 (or a
    // reset) with no byte before it. Bytes that do come are kept in
    // unexpected() for the message.
    bool closed_by_server() {
        if (!buf_.empty()) return false;
        char c[4096];
        for (;;) {
            ssize_t n = ::recv(fd_.get(), c, sizeof c, 0);
            if (n < 0 && errno == EINTR) continue;
            if (n > 0) {
                buf_.append(c, static_cast<std::size_t>(n));
                return false;
            }
            return n == 0 || errno == ECONNRESET;
        }
    }
    // Strictly recv() == 0: an orderly close after everything was sent.
    bool eof_next() {
        if (!buf_.empty()) return false;
        char c[4096];
        for (;;) {
            ssize_t n = ::recv(fd_.get(), c, sizeof c, 0);
            if (n < 0 && errno == EINTR) continue;
            if (n > 0) buf_.append(c, static_cast<std::size_t>(n));
            return n == 0;
        }
    }
    const std::string& unexpected() const noexcept { return buf_; }
    // Hands over (and forgets) bytes read past the last response.
    std::string take_unexpected() { return std::exchange(buf_, std::string()); }

    // True when nothing arrives (and the connection stays open) for `d`.
    bool quiet_for(std::chrono::milliseconds d) {
        if (!buf_.empty()) return false;
        pollfd p{fd_.get(), POLLIN, 0};
        int n;
        while ((n = ::poll(&p, 1, static_cast<int>(d.count()))) < 0 && errno == EINTR) {}
        return n == 0;
    }

    // Receives and discards until the connection ends; the byte count.
    std::size_t drain_to_close() {
        std::size_t total = buf_.size();
        buf_.clear();
        char c[65536];
        for (;;) {
            ssize_t n = ::recv(fd_.get(), c, sizeof c, 0);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return total;
            total += static_cast<std::size_t>(n);
        }
    }

    // Closes with SO_LINGER {1, 0}: the server gets RST instead of FIN.
    void reset() {
        linger lg{1, 0};
        ::setsockopt(fd_.get(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        fd_.reset();
    }
    void shutdown_write() { ::shutdown(fd_.get(), SHUT_WR); }

private:
    bool fill() {
        char c[65536];
        for (;;) {
            ssize_t n = ::recv(fd_.get(), c, sizeof c, 0);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return false;
            buf_.append(c, static_cast<std::size_t>(n));
            return true;
        }
    }

    bool read_chunked(std::string& body) {
        for (;;) {
            std::size_t eol;
            while ((eol = buf_.find("\r\n")) == std::string::npos) {
                if (!fill()) return false;
            }
            // squall writes the bare hex size: anything else on the line fails.
            std::size_t digits = 0;
            const auto parsed = squall::http::detail::parse_chunk_size(std::string_view(buf_).substr(0, eol), &digits);
            if (!parsed || digits != eol) return false;
            const std::size_t size = *parsed;
            while (buf_.size() < eol + 2 + size + 2) {
                if (!fill()) return false;
            }
            body.append(buf_, eol + 2, size);
            buf_.erase(0, eol + 2 + size + 2);
            if (size == 0) return true;  // no trailers in these tests
        }
    }

    unique_fd fd_;
    std::string buf_;
};

}  // namespace squall::http::testing
