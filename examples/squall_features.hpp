// The squall-features probes' shared parts: a verdict per feature, a
// throwaway ring per check, provided buffer rings and loopback sockets.
// The checks of the features from Linux 6.2 on are in
// squall_features_recent.cpp. One thread, nothing kept between checks.
// Tests: tests/examples/squall_features_test.py.
#pragma once

#include <fcntl.h>
#include <liburing.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace squall::probe {

struct verdict {
    bool supported = false;
    std::string reason;
};

struct feature {
    const char* key;   // the JSON key
    const char* name;  // the table's label
    verdict v;
};

inline std::string err_name(int negative_errno) {
    const char* n = strerrorname_np(-negative_errno);
    return n ? n : "errno " + std::to_string(-negative_errno);
}

// The fields of a completion the checks look at.
struct completion {
    std::uint64_t user_data = 0;
    int res = 0;
    unsigned flags = 0;
};

inline verdict yes(std::string why) { return {true, std::move(why)}; }
inline verdict no(std::string why) { return {false, std::move(why)}; }

// A small ring that lives for one check.
struct test_ring {
    io_uring r{};
    io_uring_params p{};
    int rc;
    explicit test_ring(unsigned flags, unsigned entries = 8) {
        p.flags = flags;
        if (flags & IORING_SETUP_SQPOLL) p.sq_thread_idle = 100;
        rc = io_uring_queue_init_params(entries, &r, &p);
    }
    ~test_ring() {
        if (rc == 0) io_uring_queue_exit(&r);
    }
    test_ring(const test_ring&) = delete;
    test_ring& operator=(const test_ring&) = delete;
    bool ok() const noexcept { return rc == 0; }

    io_uring_sqe* sqe(std::uint64_t user_data) {
        io_uring_sqe* s = io_uring_get_sqe(&r);
        io_uring_sqe_set_data64(s, user_data);
        return s;
    }
    // Submits, then the next completion within a second (res -ETIME if
    // none came).
    completion wait() {
        io_uring_submit(&r);
        __kernel_timespec ts{1, 0};
        io_uring_cqe* c = nullptr;
        if (int w = io_uring_wait_cqe_timeout(&r, &c, &ts); w < 0) return {0, w, 0};
        completion out{c->user_data, c->res, c->flags};
        io_uring_cqe_seen(&r, c);
        return out;
    }
};

inline verdict setup_flag(unsigned flags, const char* what) {
    test_ring t(flags);
    if (t.ok()) return yes(std::string("io_uring_setup accepts ") + what);
    std::string why = "io_uring_setup with " + std::string(what) + ": " + err_name(t.rc);
    if (t.rc == -EPERM) why += " (needs privileges on this kernel)";
    return no(why);
}

inline verdict kernel_feature(unsigned bit, const char* what) {
    test_ring t(0);
    if (!t.ok()) return no("io_uring_setup: " + err_name(t.rc));
    if (t.p.features & bit) return yes(std::string(what) + " set in io_uring_params.features");
    return no(std::string(what) + " not reported by the kernel");
}

inline verdict registered_ring_fd() {
    test_ring t(0);
    if (!t.ok()) return no("io_uring_setup: " + err_name(t.rc));
    int rc = io_uring_register_ring_fd(&t.r);
    if (rc == 1) return yes("IORING_REGISTER_RING_FDS registered the ring fd");
    return no("io_uring_register_ring_fd: " + (rc < 0 ? err_name(rc) : "returned " + std::to_string(rc)));
}

// A provided buffer ring of `n` buffers of `size` bytes, registered as
// group `bgid`; unregistered and unmapped on destruction.
struct provided_buffers {
    io_uring* r;
    int bgid;
    io_uring_buf_ring* br = nullptr;
    std::size_t ring_bytes;
    std::vector<char> memory;
    int rc = -ENOMEM;
    provided_buffers(io_uring* ring, unsigned n, unsigned size, int group, std::uint16_t reg_flags = 0)
        : r(ring), bgid(group), ring_bytes(n * sizeof(io_uring_buf)), memory(std::size_t{n} * size) {
        void* m = ::mmap(nullptr, ring_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED) return;
        br = static_cast<io_uring_buf_ring*>(m);
        io_uring_buf_ring_init(br);
        io_uring_buf_reg reg{};
        reg.ring_addr = reinterpret_cast<std::uint64_t>(br);
        reg.ring_entries = n;
        reg.bgid = static_cast<std::uint16_t>(bgid);
        reg.pad = reg_flags;  // io_uring_buf_reg.flags since 6.12 (IOU_PBUF_RING_INC)
        rc = io_uring_register_buf_ring(r, &reg, 0);
        for (unsigned i = 0; rc == 0 && i < n; ++i)
            io_uring_buf_ring_add(br, memory.data() + std::size_t{i} * size, size, static_cast<unsigned short>(i),
                                  io_uring_buf_ring_mask(n), static_cast<int>(i));
        if (rc == 0) io_uring_buf_ring_advance(br, static_cast<int>(n));
    }
    ~provided_buffers() {
        if (rc == 0) io_uring_unregister_buf_ring(r, bgid);
        if (br) ::munmap(br, ring_bytes);
    }
    provided_buffers(const provided_buffers&) = delete;
    provided_buffers& operator=(const provided_buffers&) = delete;
};

inline verdict buffer_ring() {
    test_ring t(0);
    if (!t.ok()) return no("io_uring_setup: " + err_name(t.rc));
    provided_buffers b(&t.r, 8, 256, 1);
    if (b.rc == 0) return yes("registered a ring of 8 provided buffers (IORING_REGISTER_PBUF_RING)");
    return no("io_uring_register_buf_ring: " + err_name(b.rc));
}

struct fd_closer {
    int fd = -1;
    ~fd_closer() {
        if (fd >= 0) ::close(fd);
    }
};

// A listening TCP socket on 127.0.0.1 with a kernel-chosen port.
inline int loopback_listener(sockaddr_in& addr) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    addr = {};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) < 0 || ::listen(fd, 8) < 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) < 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

inline int connect_to(const sockaddr_in& addr) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) < 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

// A connected TCP pair over loopback (both ends blocking).
inline bool tcp_pair(fd_closer& a, fd_closer& b) {
    sockaddr_in addr;
    fd_closer l{loopback_listener(addr)};
    if (l.fd < 0) return false;
    a.fd = connect_to(addr);
    if (a.fd < 0) return false;
    b.fd = ::accept4(l.fd, nullptr, nullptr, SOCK_CLOEXEC);
    return b.fd >= 0;
}

inline bool has_opcode(int op) {
    std::unique_ptr<io_uring_probe, void (*)(io_uring_probe*)> p(io_uring_get_probe(), io_uring_free_probe);
    return p && io_uring_opcode_supported(p.get(), op);
}

// The checks of squall_features_recent.cpp, in table order.
std::vector<feature> probe_recent();

}  // namespace squall::probe
