// listen_on_ring: a listening socket set up through the ring
// (engine/socket.hpp), each step falling back to its syscall.
#include <liburing.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <memory>
#include <system_error>
#include <vector>

#include <squall/engine/detail/uring_compat.hpp>
#include <squall/engine/op.hpp>
#include <squall/engine/socket.hpp>

namespace squall {
namespace {

struct ring_ops {
    bool socket = false, sockopt = false, bind = false, listen = false;
};

// What the running kernel's ring offers, asked once per process.
ring_ops probe_ops(io_uring* r) {
    static std::atomic<int> known{-1};  // bit 4: probed
    int k = known.load(std::memory_order_relaxed);
    if (k < 0) {
        std::unique_ptr<io_uring_probe, void (*)(io_uring_probe*)> p(io_uring_get_probe_ring(r), io_uring_free_probe);
        k = 16;
        if (p && io_uring_opcode_supported(p.get(), IORING_OP_SOCKET)) k |= 1;
        if (p && io_uring_opcode_supported(p.get(), IORING_OP_URING_CMD)) k |= 2;
        if (p && io_uring_opcode_supported(p.get(), uring::op_bind)) k |= 4;
        if (p && io_uring_opcode_supported(p.get(), uring::op_listen)) k |= 8;
        known.store(k, std::memory_order_relaxed);
    }
    return {(k & 1) != 0, (k & 2) != 0, (k & 4) != 0, (k & 8) != 0};
}

// Sockets on kernels before 6.7 answer a URING_CMD with one of these.
std::atomic<bool> sockopt_cmd_missing{false};

[[noreturn]] void fail(int err, const char* what, const address& addr) {
    throw std::system_error(err, std::system_category(), std::string("squall: ") + what + " " + addr.to_string());
}

[[noreturn]] void fail(std::error_code ec, const char* what, const address& addr) {
    throw std::system_error(ec, std::string("squall: ") + what + " " + addr.to_string());
}

}  // namespace

task<unique_fd> listen_on_ring(address addr, listen_options opts, int* ring_steps) {
    ring_ops ops = probe_ops(loop::current()->raw_ring());
    int steps = 0;
    unique_fd fd;
    if (ops.socket) {
        auto prep = [&](io_uring_sqe* s) { io_uring_prep_socket(s, addr.family(), SOCK_STREAM | SOCK_CLOEXEC, 0, 0); };
        result<int> r = co_await submit(prep);
        if (!r) fail(r.error(), "socket", addr);
        fd.reset(*r);
        ++steps;
    } else {
        fd.reset(::socket(addr.family(), SOCK_STREAM | SOCK_CLOEXEC, 0));
        if (!fd) fail(errno, "socket", addr);
    }
    if (addr.family() != AF_UNIX) {
        struct opt {
            int level, name, value;
            const char* what;
        };
        std::vector<opt> want{{SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR"}};
        if (opts.reuse_port) want.push_back({SOL_SOCKET, SO_REUSEPORT, 1, "SO_REUSEPORT"});
        if (addr.family() == AF_INET6) want.push_back({IPPROTO_IPV6, IPV6_V6ONLY, opts.v6_only ? 1 : 0, "IPV6_V6ONLY"});
        if (opts.no_delay) want.push_back({IPPROTO_TCP, TCP_NODELAY, 1, "TCP_NODELAY"});
        for (opt& o : want) {
            if (ops.sockopt && !sockopt_cmd_missing.load(std::memory_order_relaxed)) {
                auto prep = [&](io_uring_sqe* s) {
                    uring::prep_setsockopt(s, fd.get(), o.level, o.name, &o.value, sizeof o.value);
                };
                result<int> r = co_await submit(prep);
                if (r) {
                    ++steps;
                    continue;
                }
                int e = r.error().value();
                if (e != EOPNOTSUPP && e != EINVAL && e != ENOTSUP) fail(e, o.what, addr);
                sockopt_cmd_missing.store(true, std::memory_order_relaxed);
            }
            if (::setsockopt(fd.get(), o.level, o.name, &o.value, sizeof o.value) != 0) fail(errno, o.what, addr);
        }
    }
    if (ops.bind) {
        auto prep = [&](io_uring_sqe* s) { uring::prep_bind(s, fd.get(), addr.get(), addr.size()); };
        result<int> r = co_await submit(prep);
        if (!r) fail(r.error(), "bind", addr);
        ++steps;
    } else if (::bind(fd.get(), addr.get(), addr.size()) != 0) {
        fail(errno, "bind", addr);
    }
    if (ops.listen) {
        auto prep = [&](io_uring_sqe* s) { uring::prep_listen(s, fd.get(), opts.backlog); };
        result<int> r = co_await submit(prep);
        if (!r) fail(r.error(), "listen", addr);
        ++steps;
    } else if (::listen(fd.get(), opts.backlog) != 0) {
        fail(errno, "listen", addr);
    }
    if (ring_steps) *ring_steps = steps;
    co_return fd;
}

}  // namespace squall
