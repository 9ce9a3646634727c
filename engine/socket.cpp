#include <squall/engine/socket.hpp>

#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

#include <squall/engine/op.hpp>
#include <squall/engine/time.hpp>

namespace squall {

address address::ip(std::string_view host, std::uint16_t port) {
    address a;
    std::string h(host);
    if (h.size() > 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
    auto* v4 = reinterpret_cast<sockaddr_in*>(&a.storage_);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.storage_);
    if (::inet_pton(AF_INET, h.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        a.len_ = sizeof(sockaddr_in);
    } else if (::inet_pton(AF_INET6, h.c_str(), &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        a.len_ = sizeof(sockaddr_in6);
    } else {
        throw std::invalid_argument("squall: not a numeric IPv4/IPv6 address: '" + h + "'");
    }
    return a;
}

address address::unix_path(std::string_view path) {
    address a;
    auto* un = reinterpret_cast<sockaddr_un*>(&a.storage_);
    if (path.empty() || path.size() >= sizeof un->sun_path)
        throw std::invalid_argument("squall: unix socket path empty or too long");
    un->sun_family = AF_UNIX;
    std::memcpy(un->sun_path, path.data(), path.size());
    a.len_ = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + 1);
    return a;
}

address address::from(const sockaddr* sa, socklen_t len) {
    address a;
    if (len > sizeof a.storage_) len = sizeof a.storage_;
    std::memcpy(&a.storage_, sa, len);
    a.len_ = len;
    return a;
}

std::uint16_t address::port() const noexcept {
    if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
    if (family() == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
    return 0;
}

std::string address::to_string() const {
    // Built with append: GCC 12 at -O3 flags an operator+ chain here with a
    // false -Wrestrict.
    char buf[INET6_ADDRSTRLEN] = {};
    std::string out;
    if (family() == AF_INET) {
        ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr, buf, sizeof buf);
        out.append(buf).append(":").append(std::to_string(port()));
    } else if (family() == AF_INET6) {
        ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr, buf, sizeof buf);
        out.append("[").append(buf).append("]:").append(std::to_string(port()));
    } else if (family() == AF_UNIX) {
        out.append("unix:").append(reinterpret_cast<const sockaddr_un*>(&storage_)->sun_path);
    } else {
        out = "unknown";
    }
    return out;
}

unique_fd& unique_fd::operator=(unique_fd&& o) noexcept {
    if (this != &o) reset(o.release());
    return *this;
}

void unique_fd::reset(int fd) noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
}

namespace {

[[noreturn]] void fail(const char* what, const address& addr) {
    throw std::system_error(errno, std::system_category(), std::string("squall: ") + what + " " + addr.to_string());
}

void set_int(int fd, int level, int opt, int value, const char* what, const address& addr) {
    if (::setsockopt(fd, level, opt, &value, sizeof value) != 0) fail(what, addr);
}

}  // namespace

unique_fd listen_on(const address& addr, const listen_options& opts) {
    unique_fd fd(::socket(addr.family(), SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) fail("socket", addr);
    if (addr.family() != AF_UNIX) {
        set_int(fd.get(), SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR", addr);
        if (opts.reuse_port) set_int(fd.get(), SOL_SOCKET, SO_REUSEPORT, 1, "SO_REUSEPORT", addr);
        if (addr.family() == AF_INET6)
            set_int(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, opts.v6_only ? 1 : 0, "IPV6_V6ONLY", addr);
        if (opts.no_delay) set_int(fd.get(), IPPROTO_TCP, TCP_NODELAY, 1, "TCP_NODELAY", addr);
    }
    if (::bind(fd.get(), addr.get(), addr.size()) != 0) fail("bind", addr);
    if (::listen(fd.get(), opts.backlog) != 0) fail("listen", addr);
    return fd;
}

address local_address(int fd) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0)
        throw std::system_error(errno, std::system_category(), "squall: getsockname");
    return address::from(reinterpret_cast<sockaddr*>(&ss), len);
}

task<result<unique_fd>> connect_to(address addr, std::chrono::nanoseconds timeout) {
    unique_fd fd(::socket(addr.family(), SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) co_return from_errno(-errno);
    auto r = co_await with_timeout(std::chrono::duration_cast<clock::duration>(timeout),
                                   squall::connect(fd.get(), addr.get(), addr.size()));
    if (!r) co_return r.error();
    if (addr.family() != AF_UNIX) {
        int one = 1;
        ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    co_return std::move(fd);
}

}  // namespace squall
