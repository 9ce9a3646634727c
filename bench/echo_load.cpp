// echo_load: the load client of bench/echo_bench.py, the same for every
// server measured.
//
//   build/bench/echo_load --port 9000 --connections 64 --size 64 --duration 5 [--threads 1] [--json]
//
// Opens --connections TCP connections to 127.0.0.1 (blocking connects,
// before the clock starts), then each connection does request/response
// round trips: send --size bytes, read until all of them came back, check
// every byte against what was sent (a pattern that changes with the
// connection and the round), send the next. Connections are split over
// --threads threads, each with its own edge-triggered epoll loop; a short
// read means the socket was drained (one recv per response). Reports round
// trips, round trips/s and the client's own CPU time (getrusage) over the
// measured window, so a client-bound run is visible. With --sync-stdin it
// prints "ready" once connected and waits for a line on stdin before
// starting, and after printing the result keeps the connections open until
// stdin closes, so the harness can sample the server around exactly the
// measured window. Exit 0 when every byte matched, 1 otherwise, 2 when it
// could not connect.
#include <CLI/CLI.hpp>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

namespace {

using steady = std::chrono::steady_clock;

struct options {
    std::string host = "127.0.0.1";
    std::uint16_t port = 9000;
    unsigned connections = 1;
    std::size_t size = 64;
    double duration = 5;
    unsigned threads = 1;
    bool json = false;
    bool sync_stdin = false;
};

struct connection {
    int fd = -1;
    std::uint32_t id = 0;
    std::uint64_t round = 0;
    std::size_t sent = 0, received = 0;
    std::vector<unsigned char> out;  // this round's request
    bool dead = false;
};

struct thread_result {
    std::uint64_t round_trips = 0;
    std::uint64_t errors = 0;
    std::string first_error;
};

// The request of round `round` on connection `id`.
void fill(connection& c) {
    auto seed = static_cast<unsigned>(c.id * 131u + c.round * 7u);
    for (std::size_t i = 0; i < c.out.size(); ++i) c.out[i] = static_cast<unsigned char>(seed + i * 13u);
    c.sent = c.received = 0;
}

class worker {
public:
    worker(std::vector<connection*> conns, std::size_t size) : conns_(std::move(conns)), scratch_(size) {}
    thread_result run(steady::time_point deadline);

private:
    void fail(connection& c, const std::string& why);
    void send_some(connection& c);
    void on_event(connection& c, std::uint32_t events, bool more);

    std::vector<connection*> conns_;
    std::vector<unsigned char> scratch_;
    thread_result res_;
    int epfd_ = -1;
};

void worker::fail(connection& c, const std::string& why) {
    if (res_.errors++ == 0) res_.first_error = "connection " + std::to_string(c.id) + ": " + why;
    c.dead = true;
    ::epoll_ctl(epfd_, EPOLL_CTL_DEL, c.fd, nullptr);
}

void worker::send_some(connection& c) {
    while (c.sent < c.out.size()) {
        ssize_t n = ::send(c.fd, c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno != EAGAIN) fail(c, std::string("send: ") + std::strerror(errno));
            return;  // EAGAIN: EPOLLOUT (registered, edge-triggered) resumes it
        }
        c.sent += static_cast<std::size_t>(n);
    }
}

// Reads this round's echo; when complete, counts it and (while `more`)
// starts the next round.
void worker::on_event(connection& c, std::uint32_t events, bool more) {
    if (events & EPOLLOUT) send_some(c);
    while (!c.dead && c.received < c.sent) {
        std::size_t want = c.sent - c.received;
        ssize_t n = ::recv(c.fd, scratch_.data(), want, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno != EAGAIN) fail(c, std::string("recv: ") + std::strerror(errno));
            return;
        }
        if (n == 0) return fail(c, "server closed the connection");
        if (std::memcmp(scratch_.data(), c.out.data() + c.received, static_cast<std::size_t>(n)) != 0)
            return fail(c, "echoed bytes differ from the request (round " + std::to_string(c.round) + ")");
        c.received += static_cast<std::size_t>(n);
        if (c.received == c.out.size()) {
            ++res_.round_trips;
            if (!more) return;
            ++c.round;
            fill(c);
            send_some(c);
            return;  // nothing of the new round can have come back yet
        }
        if (static_cast<std::size_t>(n) < want && !(events & (EPOLLRDHUP | EPOLLHUP))) return;  // drained
    }
}

thread_result worker::run(steady::time_point deadline) {
    epfd_ = ::epoll_create1(EPOLL_CLOEXEC);
    for (connection* c : conns_) {
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
        ev.data.ptr = c;
        ::epoll_ctl(epfd_, EPOLL_CTL_ADD, c->fd, &ev);
        fill(*c);
        send_some(*c);
    }
    std::vector<epoll_event> events(512);
    for (;;) {
        bool more = steady::now() < deadline;
        if (!more) break;
        int n = ::epoll_wait(epfd_, events.data(), static_cast<int>(events.size()), 100);
        if (n < 0 && errno != EINTR) {
            res_.first_error = std::string("epoll_wait: ") + std::strerror(errno);
            ++res_.errors;
            break;
        }
        for (int i = 0; i < n; ++i) {
            auto& ev = events[static_cast<std::size_t>(i)];
            auto* c = static_cast<connection*>(ev.data.ptr);
            if (!c->dead) on_event(*c, ev.events, more);
        }
    }
    ::close(epfd_);
    return res_;
}

int connect_one(const sockaddr_in& addr) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) < 0) {
        int e = errno;
        ::close(fd);
        errno = e;
        return -1;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int fl = ::fcntl(fd, F_GETFL);
    ::fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    return fd;
}

// Connects every connection in turn (blocking), before the clock starts.
bool connect_all(const options& o, std::vector<connection>& conns) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(o.port);
    if (::inet_pton(AF_INET, o.host.c_str(), &addr.sin_addr) != 1) {
        std::fprintf(stderr, "echo_load: bad --host %s\n", o.host.c_str());
        return false;
    }
    for (std::uint32_t i = 0; i < conns.size(); ++i) {
        conns[i].id = i;
        conns[i].out.resize(o.size);
        conns[i].fd = connect_one(addr);
        if (conns[i].fd < 0) {
            std::fprintf(stderr, "echo_load: connection %u: connect: %s\n", i, std::strerror(errno));
            return false;
        }
    }
    return true;
}

double cpu_seconds(const rusage& u, bool user) {
    const timeval& t = user ? u.ru_utime : u.ru_stime;
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
}

struct totals {
    thread_result sum;
    double seconds = 0, user = 0, sys = 0;
};

// Starts the workers together, joins them, and adds up what they did.
totals run_workers(const options& o, std::vector<connection>& conns) {
    std::vector<std::vector<connection*>> parts(o.threads);
    for (std::size_t i = 0; i < conns.size(); ++i) parts[i % o.threads].push_back(&conns[i]);
    std::vector<thread_result> results(o.threads);
    rusage before{}, after{};
    ::getrusage(RUSAGE_SELF, &before);
    auto start = steady::now();
    auto deadline = start + std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(o.duration));
    std::vector<std::thread> threads;
    for (unsigned t = 0; t < o.threads; ++t)
        threads.emplace_back([&, t] { results[t] = worker(parts[t], o.size).run(deadline); });
    for (auto& th : threads) th.join();
    totals out;
    out.seconds = std::chrono::duration<double>(steady::now() - start).count();
    ::getrusage(RUSAGE_SELF, &after);
    out.user = cpu_seconds(after, true) - cpu_seconds(before, true);
    out.sys = cpu_seconds(after, false) - cpu_seconds(before, false);
    for (auto& r : results) {
        out.sum.round_trips += r.round_trips;
        if (r.errors && out.sum.errors == 0) out.sum.first_error = r.first_error;
        out.sum.errors += r.errors;
    }
    return out;
}

void report(const options& o, const totals& t) {
    double rate = static_cast<double>(t.sum.round_trips) / t.seconds;
    double cpu = t.user + t.sys;
    if (o.json) {
        std::printf(
            "{\"connections\": %u, \"size\": %zu, \"threads\": %u, \"seconds\": %.6f, "
            "\"round_trips\": %llu, \"round_trips_per_s\": %.1f, \"client_user_s\": %.6f, "
            "\"client_sys_s\": %.6f, \"client_cpu_fraction\": %.4f, \"errors\": %llu, \"first_error\": \"%s\"}\n",
            o.connections, o.size, o.threads, t.seconds, static_cast<unsigned long long>(t.sum.round_trips), rate,
            t.user, t.sys, cpu / t.seconds, static_cast<unsigned long long>(t.sum.errors), t.sum.first_error.c_str());
    } else {
        std::printf(
            "%u connections x %zu bytes, %u thread(s), %.2f s: %llu round trips, %.0f/s\n"
            "client CPU %.2f s (user %.2f, sys %.2f) = %.0f%% of one core; errors %llu %s\n",
            o.connections, o.size, o.threads, t.seconds, static_cast<unsigned long long>(t.sum.round_trips), rate, cpu,
            t.user, t.sys, 100 * cpu / t.seconds, static_cast<unsigned long long>(t.sum.errors),
            t.sum.first_error.c_str());
    }
    std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"echo_load: request/response load on a TCP echo server"};
    options o;
    app.add_option("--host", o.host, "numeric IPv4 address of the server");
    app.add_option("--port", o.port, "server port");
    app.add_option("--connections", o.connections, "concurrent connections")->check(CLI::Range(1u, 100000u));
    app.add_option("--size", o.size, "bytes per request (and response)")->check(CLI::Range(1, 1 << 20));
    app.add_option("--duration", o.duration, "seconds to measure")->check(CLI::Range(0.1, 3600.0));
    app.add_option("--threads", o.threads, "client threads, each with its own epoll loop")->check(CLI::Range(1u, 64u));
    app.add_flag("--json", o.json, "print one JSON object");
    app.add_flag("--sync-stdin", o.sync_stdin,
                 "print 'ready', wait for a stdin line; hold connections until stdin EOF");
    CLI11_PARSE(app, argc, argv);

    std::vector<connection> conns(o.connections);
    if (!connect_all(o, conns)) return 2;
    std::string line;
    if (o.sync_stdin) {
        std::printf("ready\n");
        std::fflush(stdout);
        std::getline(std::cin, line);
    }
    totals t = run_workers(o, conns);
    report(o, t);
    if (o.sync_stdin)
        while (std::getline(std::cin, line)) {}
    for (auto& c : conns) ::close(c.fd);
    return t.sum.errors ? 1 : 0;
}
