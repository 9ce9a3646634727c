// Socket set-up: addresses, an owning fd, listening and connected sockets.
//
// These are blocking set-up calls (socket/bind/listen), made once; the
// traffic itself goes through the ring (engine/op.hpp). Sockets are left
// blocking: io_uring drives them and never needs O_NONBLOCK. Errors at
// set-up throw std::system_error naming the call and the address.
// Tests: tests/engine/socket_test.cpp.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include <squall/engine/result.hpp>
#include <squall/engine/task.hpp>

namespace squall {

// An IPv4, IPv6 or unix-domain socket address.
class address {
public:
    address() noexcept = default;
    // A numeric host ("127.0.0.1", "::1", "0.0.0.0", "::") and a port;
    // throws std::invalid_argument for anything else.
    static address ip(std::string_view host, std::uint16_t port);
    static address unix_path(std::string_view path);
    static address from(const sockaddr* sa, socklen_t len);

    const sockaddr* get() const noexcept { return reinterpret_cast<const sockaddr*>(&storage_); }
    socklen_t size() const noexcept { return len_; }
    int family() const noexcept { return storage_.ss_family; }
    std::uint16_t port() const noexcept;
    std::string to_string() const;  // "127.0.0.1:80", "[::1]:80", "unix:/path"

private:
    sockaddr_storage storage_{};
    socklen_t len_ = 0;
};

// Owns one file descriptor; closes it when destroyed.
class unique_fd {
public:
    unique_fd() noexcept = default;
    explicit unique_fd(int fd) noexcept : fd_(fd) {}
    unique_fd(unique_fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    unique_fd& operator=(unique_fd&& o) noexcept;
    unique_fd(const unique_fd&) = delete;
    unique_fd& operator=(const unique_fd&) = delete;
    ~unique_fd() { reset(); }

    int get() const noexcept { return fd_; }
    explicit operator bool() const noexcept { return fd_ >= 0; }
    int release() noexcept { return std::exchange(fd_, -1); }
    void reset(int fd = -1) noexcept;

private:
    int fd_ = -1;
};

struct listen_options {
    int backlog = 4096;
    bool reuse_port = false;  // SO_REUSEPORT: one listener per loop thread
    bool v6_only = false;     // for "::": also accept IPv4 when false
    // TCP_NODELAY, set on the listener: accepted sockets inherit it, so no
    // connection pays a setsockopt.
    bool no_delay = true;
};

// socket + SO_REUSEADDR (+ SO_REUSEPORT) + bind + listen.
unique_fd listen_on(const address& addr, const listen_options& opts = {});

// The same through the loop's ring, so that set-up makes no syscall of its
// own: IORING_OP_SOCKET (5.19), the options with SOCKET_URING_OP_SETSOCKOPT
// (6.7), IORING_OP_BIND and IORING_OP_LISTEN (6.11). A kernel without one
// (io_uring_get_probe, asked once per process) gets its syscall instead.
// Throws as listen_on does. `ring_steps`, when given, counts the steps
// that went through the ring (for tests and squall-features). Loop thread.
task<unique_fd> listen_on_ring(address addr, listen_options opts = {}, int* ring_steps = nullptr);
// The address a bound socket actually has (port 0 resolved).
address local_address(int fd);

// A connected TCP (or unix) socket through the ring; errc::timed_out
// after `timeout` (the kernel connect is cancelled).
task<result<unique_fd>> connect_to(address addr, std::chrono::nanoseconds timeout = std::chrono::seconds(30));

}  // namespace squall
