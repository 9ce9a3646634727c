// A scripted HTTP server over raw POSIX sockets, for the client's tests:
// each accepted connection runs the test's script on a thread of its own,
// which reads requests and writes exactly the bytes it is told to (broken
// framing, drips, closes), so the client meets servers that no real
// server would be. Every receive gives up after 15 s (a guard, not a
// measure). The destructor stops accepting, shuts the connections down
// and joins the threads. A script records what it read through its
// connection (scripted_conn::record), never through a pointer to the
// server handed to it after the server started: the accepting thread
// would read that pointer with no synchronisation (ThreadSanitizer).
// Used by tests/http/client_*_test.cpp.
#pragma once

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <squall/http/detail/grammar.hpp>

namespace squall::http::testing {

// One request as the script read it.
struct seen_request {
    std::string head;  // request line and fields, up to the empty line
    std::string body;
    bool ok = false;  // false: the client closed or the guard fired
};

class scripted_server;

class scripted_conn {
public:
    scripted_conn(int fd, scripted_server* owner) : fd_(fd), owner_(owner) {}
    // Reads one request: head, then a Content-Length or chunked body.
    seen_request read_request();
    // Keeps `r` in the server's requests() (under its lock).
    void record(const seen_request& r);
    void send(std::string_view bytes) {
        while (!bytes.empty()) {
            ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
            if (n <= 0) return;
            bytes.remove_prefix(static_cast<std::size_t>(n));
        }
    }
    void close_write() { ::shutdown(fd_, SHUT_WR); }
    // Waits until the client closes (or the guard fires).
    void wait_close() {
        char b[256];
        while (fill_once(b, sizeof b)) {}
    }
    int fd() const { return fd_; }

private:
    bool fill_once(char* b, std::size_t n) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 15000) <= 0) return false;
        ssize_t got = ::recv(fd_, b, n, 0);
        return got > 0;
    }
    bool fill() {
        char b[4096];
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 15000) <= 0) return false;
        ssize_t got = ::recv(fd_, b, sizeof b, 0);
        if (got <= 0) return false;
        buf_.append(b, static_cast<std::size_t>(got));
        return true;
    }
    bool read_chunked(std::string* body);
    int fd_;
    scripted_server* owner_;
    std::string buf_;
};

inline bool scripted_conn::read_chunked(std::string* body) {
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
        body->append(buf_, eol + 2, size);
        buf_.erase(0, eol + 2 + size + 2);
        if (size == 0) return true;
    }
}

inline seen_request scripted_conn::read_request() {
    seen_request r;
    std::size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
        if (!fill()) return r;
    }
    r.head = buf_.substr(0, end + 2);
    buf_.erase(0, end + 4);
    std::string lower = r.head;
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower.find("transfer-encoding: chunked") != std::string::npos) {
        r.ok = read_chunked(&r.body);
        return r;
    }
    std::size_t cl = 0;
    if (auto at = lower.find("content-length:"); at != std::string::npos) cl = std::stoul(lower.substr(at + 15));
    while (buf_.size() < cl) {
        if (!fill()) return r;
    }
    r.body = buf_.substr(0, cl);
    buf_.erase(0, cl);
    r.ok = true;
    return r;
}

class scripted_server {
public:
    using script = std::function<void(scripted_conn&, int index)>;
    explicit scripted_server(script s) : script_(std::move(s)) {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int one = 1;
        ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), len) != 0 || ::listen(fd_, 64) != 0)
            throw std::runtime_error("scripted_server: bind/listen failed");
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
        port_ = ntohs(a.sin_port);
        acceptor_ = std::thread([this] { accept_loop(); });
    }
    ~scripted_server() {
        stop_ = true;
        acceptor_.join();
        {
            std::lock_guard g(mu_);
            for (int c : conns_) ::shutdown(c, SHUT_RDWR);
        }
        for (auto& t : workers_) t.join();
        for (int c : conns_) ::close(c);
        ::close(fd_);
    }
    scripted_server(const scripted_server&) = delete;
    scripted_server& operator=(const scripted_server&) = delete;

    std::uint16_t port() const { return port_; }
    std::string url(std::string_view path = "/") const {
        return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
    }
    int accepted() const { return accepted_; }
    int max_concurrent() const { return max_live_; }
    // Requests the scripts recorded with record().
    std::vector<seen_request> requests() {
        std::lock_guard g(mu_);
        return seen_;
    }
    void record(const seen_request& r) {
        std::lock_guard g(mu_);
        seen_.push_back(r);
    }

private:
    void accept_loop() {
        while (!stop_) {
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, 50) <= 0) continue;
            int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
            if (c < 0) continue;
            const int index = accepted_++;
            std::lock_guard g(mu_);
            conns_.push_back(c);
            workers_.emplace_back([this, c, index] {
                const int now = ++live_;
                for (int m = max_live_; now > m && !max_live_.compare_exchange_weak(m, now);) {}
                scripted_conn conn(c, this);
                script_(conn, index);
                --live_;
                ::shutdown(c, SHUT_RDWR);
            });
        }
    }

    script script_;
    int fd_ = -1;
    std::uint16_t port_ = 0;
    std::atomic<bool> stop_{false};
    std::atomic<int> accepted_{0}, live_{0}, max_live_{0};
    std::thread acceptor_;
    std::mutex mu_;
    std::vector<int> conns_;
    std::vector<std::thread> workers_;
    std::vector<seen_request> seen_;
};

inline void scripted_conn::record(const seen_request& r) { owner_->record(r); }

}  // namespace squall::http::testing
