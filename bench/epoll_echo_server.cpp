// epoll_echo_server: a plain single-threaded epoll TCP echo server, the
// baseline examples/echo is measured against (bench/echo_bench.py).
//
//   build/bench/epoll_echo_server --port 9000 [--buffer-size 16384]
//
// Meant as a fair baseline, written the way a careful epoll server is:
// non-blocking sockets registered once, edge-triggered, for
// EPOLLIN|EPOLLOUT|EPOLLRDHUP, so the steady state needs no epoll_ctl at
// all; one read and one write per echoed chunk (a short read means the
// socket was drained, as nginx assumes, unless the peer's FIN is already
// flagged); up to 512 events per epoll_wait. Each connection owns a buffer
// of --buffer-size bytes, allocated at accept; bytes the kernel would not
// take yet stay in it, reading pauses, and the rest goes out on EPOLLOUT
// (backpressure). The listener is level-triggered; when descriptors run
// out it is taken off the set for 20 ms. SIGINT/SIGTERM end it (exit 0).
#include <CLI/CLI.hpp>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

volatile std::sig_atomic_t stop_requested = 0;

void on_stop_signal(int) { stop_requested = 1; }

struct connection {
    int fd;
    std::unique_ptr<char[]> buf;
    std::size_t out_off = 0;  // unsent bytes are buf[out_off, out_end)
    std::size_t out_end = 0;
};

class server {
public:
    server(int listen_fd, std::size_t buffer_size);
    ~server();
    server(const server&) = delete;
    server& operator=(const server&) = delete;
    int run();

private:
    void on_listener();
    void on_connection(connection* c, std::uint32_t events);
    bool read_and_echo(connection* c, bool peer_closing);
    bool flush(connection* c);
    void close_connection(connection* c);
    void set_listening(bool on);

    int epfd_;
    int listen_fd_;
    std::size_t buffer_size_;
    bool listening_ = false;
    std::vector<std::unique_ptr<connection>> conns_;  // indexed by fd
};

server::server(int listen_fd, std::size_t buffer_size)
    : epfd_(::epoll_create1(EPOLL_CLOEXEC)), listen_fd_(listen_fd), buffer_size_(buffer_size) {
    if (epfd_ < 0) throw std::runtime_error(std::string("epoll_create1: ") + std::strerror(errno));
    set_listening(true);
}

server::~server() {
    for (auto& c : conns_)
        if (c) ::close(c->fd);
    ::close(epfd_);
}

void server::set_listening(bool on) {
    if (on == listening_) return;
    epoll_event ev{};
    ev.events = EPOLLIN;  // level-triggered: a backlog left over is seen again
    ev.data.ptr = nullptr;
    if (::epoll_ctl(epfd_, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, listen_fd_, &ev) < 0)
        throw std::runtime_error(std::string("epoll_ctl(listener): ") + std::strerror(errno));
    listening_ = on;
}

int server::run() {
    std::vector<epoll_event> events(512);
    while (!stop_requested) {
        // While the listener is off (out of descriptors), wake to retry.
        int n = ::epoll_wait(epfd_, events.data(), static_cast<int>(events.size()), listening_ ? -1 : 20);
        if (n < 0) {
            if (errno == EINTR) continue;
            std::perror("epoll_wait");
            return 1;
        }
        if (!listening_) set_listening(true);
        for (int i = 0; i < n; ++i) {
            auto* c = static_cast<connection*>(events[static_cast<std::size_t>(i)].data.ptr);
            if (c) on_connection(c, events[static_cast<std::size_t>(i)].events);
            else on_listener();
        }
    }
    return 0;
}

void server::on_listener() {
    // A bounded batch per wake-up, so established connections are served
    // in between while a burst of clients arrives.
    for (int i = 0; i < 256; ++i) {
        int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) set_listening(false);
            else if (errno != EAGAIN && errno != ECONNABORTED && errno != EINTR) std::perror("accept4");
            return;
        }
        auto c = std::make_unique<connection>();
        c->fd = fd;
        c->buf.reset(new char[buffer_size_]);
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
        ev.data.ptr = c.get();
        if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) < 0) {
            std::perror("epoll_ctl(connection)");
            ::close(fd);
            continue;
        }
        auto idx = static_cast<std::size_t>(fd);
        if (idx >= conns_.size()) conns_.resize(idx + 1);
        conns_[idx] = std::move(c);
    }
}

void server::on_connection(connection* c, std::uint32_t events) {
    if (events & EPOLLERR) return close_connection(c);
    // EPOLLOUT: the socket takes bytes again; send what was left, then go
    // back to reading what arrived meanwhile (no new edge will say so).
    if (c->out_off < c->out_end && (events & EPOLLOUT)) {
        if (!flush(c)) return close_connection(c);
        if (c->out_off < c->out_end) return;
        events |= EPOLLIN;
    }
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) {
        if (!read_and_echo(c, events & (EPOLLRDHUP | EPOLLHUP))) close_connection(c);
    }
}

// Reads and echoes until the socket is drained or the peer's side of the
// socket is full. Returns false when the connection should be closed.
bool server::read_and_echo(connection* c, bool peer_closing) {
    while (c->out_off == c->out_end) {
        ssize_t n = ::read(c->fd, c->buf.get(), buffer_size_);
        if (n == 0) return false;
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno == EAGAIN;
        }
        c->out_off = 0;
        c->out_end = static_cast<std::size_t>(n);
        if (!flush(c)) return false;
        // A short read drained the socket: a later arrival raises a new
        // edge. Only an already flagged FIN must still be read (as 0).
        if (static_cast<std::size_t>(n) < buffer_size_ && !peer_closing) return true;
    }
    return true;  // unsent bytes wait for EPOLLOUT; reading pauses
}

// Writes buf[out_off, out_end); false on a hard error.
bool server::flush(connection* c) {
    while (c->out_off < c->out_end) {
        ssize_t n = ::send(c->fd, c->buf.get() + c->out_off, c->out_end - c->out_off, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno == EAGAIN;
        }
        c->out_off += static_cast<std::size_t>(n);
    }
    c->out_off = c->out_end = 0;
    return true;
}

void server::close_connection(connection* c) {
    int fd = c->fd;
    ::close(fd);  // also removes it from the epoll set
    conns_[static_cast<std::size_t>(fd)].reset();
}

// socket + SO_REUSEADDR + TCP_NODELAY (inherited by accepted sockets, as
// squall's listen_on does) + bind + listen(4096), non-blocking.
int listen_tcp(const std::string& host, std::uint16_t port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) throw std::runtime_error("bad --host " + host);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0 || ::listen(fd, 4096) < 0)
        throw std::runtime_error("bind/listen " + host + ":" + std::to_string(port) + ": " + std::strerror(errno));
    return fd;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"plain epoll TCP echo server (the baseline for bench/echo_bench.py)"};
    std::string host = "127.0.0.1";
    std::uint16_t port = 9000;
    std::size_t buffer_size = 16 * 1024;
    app.add_option("--host", host, "numeric IPv4 address to listen on");
    app.add_option("--port", port, "TCP port");
    app.add_option("--buffer-size", buffer_size, "bytes of buffer per connection")->check(CLI::Range(64, 1 << 24));
    CLI11_PARSE(app, argc, argv);

    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;  // no SA_RESTART: epoll_wait returns EINTR
    ::sigaction(SIGINT, &sa, nullptr);
    ::sigaction(SIGTERM, &sa, nullptr);
    std::signal(SIGPIPE, SIG_IGN);
    try {
        int lfd = listen_tcp(host, port);
        std::fprintf(stderr, "epoll echo listening on %s:%u\n", host.c_str(), static_cast<unsigned>(port));
        server s(lfd, buffer_size);
        int rc = s.run();
        ::close(lfd);
        return rc;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "epoll_echo_server: %s\n", e.what());
        return 1;
    }
}
