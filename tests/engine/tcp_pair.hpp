// A connected TCP loopback pair made with plain blocking calls, for tests
// that drive one end through squall and the other by hand.
#pragma once

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>
#include <utility>

#include <squall/engine/socket.hpp>

namespace squall::testing {

inline std::pair<unique_fd, unique_fd> tcp_pair() {
    unique_fd lfd = listen_on(address::ip("127.0.0.1", 0));
    address addr = local_address(lfd.get());
    unique_fd client(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (::connect(client.get(), addr.get(), addr.size()) != 0) throw std::runtime_error("connect");
    unique_fd server(::accept4(lfd.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!server) throw std::runtime_error("accept");
    int one = 1;
    ::setsockopt(client.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ::setsockopt(server.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return {std::move(server), std::move(client)};
}

// Reads exactly n bytes with blocking recv (or fewer at EOF).
inline std::string recv_n(int fd, std::size_t n) {
    std::string out;
    char buf[65536];
    while (out.size() < n) {
        ssize_t r = ::recv(fd, buf, std::min(sizeof buf, n - out.size()), 0);
        if (r <= 0) break;
        out.append(buf, static_cast<std::size_t>(r));
    }
    return out;
}

inline void send_all(int fd, std::string_view data) {
    while (!data.empty()) {
        ssize_t w = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
        if (w <= 0) throw std::runtime_error("send");
        data.remove_prefix(static_cast<std::size_t>(w));
    }
}

}  // namespace squall::testing
