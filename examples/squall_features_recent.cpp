// squall-features: the checks of the io_uring features from Linux 6.2 on
// that squall has switches for. Each really runs the feature over
// 127.0.0.1 (or registers it) and judges it by its completions; none is
// inferred from the kernel version. The constants liburing 2.3 lacks come
// from engine/detail/uring_compat.hpp.
#include <netinet/tcp.h>

#include <chrono>

#include <squall/engine/detail/uring_compat.hpp>

#include "squall_features.hpp"

namespace squall::probe {
namespace {

bool send_all(int fd, const char* p, std::size_t n) {
    while (n) {
        ssize_t k = ::send(fd, p, n, 0);
        if (k <= 0) return false;
        p += k;
        n -= static_cast<std::size_t>(k);
    }
    return true;
}

// IORING_OP_BIND and IORING_OP_LISTEN (6.11) on a socket made by the
// ring, then a connect to the port the kernel chose.
verdict bind_listen() {
    if (!has_opcode(uring::op_bind) || !has_opcode(uring::op_listen))
        return no("IORING_OP_BIND/LISTEN missing from io_uring_get_probe (Linux 6.11)");
    test_ring t(0);
    if (!t.ok()) return no("io_uring_setup: " + err_name(t.rc));
    fd_closer s{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    uring::prep_bind(t.sqe(1), s.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    if (completion c = t.wait(); c.res < 0)
        return no("in the probe, but IORING_OP_BIND completed with " + err_name(c.res));
    uring::prep_listen(t.sqe(2), s.fd, 8);
    if (completion c = t.wait(); c.res < 0)
        return no("in the probe, but IORING_OP_LISTEN completed with " + err_name(c.res));
    socklen_t len = sizeof addr;
    ::getsockname(s.fd, reinterpret_cast<sockaddr*>(&addr), &len);
    fd_closer c{connect_to(addr)};
    if (c.fd < 0) return no("bound and listening through the ring, but a connect failed");
    return yes("in the probe; bound and listened through the ring, and a loopback connect got in");
}

// SOCKET_URING_OP_SETSOCKOPT (6.7): SO_REUSEADDR set through the ring,
// read back with getsockopt.
verdict setsockopt_cmd() {
    if (!has_opcode(IORING_OP_URING_CMD)) return no("IORING_OP_URING_CMD missing from io_uring_get_probe");
    test_ring t(0);
    if (!t.ok()) return no("io_uring_setup: " + err_name(t.rc));
    fd_closer s{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    int one = 1;
    uring::prep_setsockopt(t.sqe(1), s.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    completion c = t.wait();
    if (c.res < 0) return no("SOCKET_URING_OP_SETSOCKOPT completed with " + err_name(c.res) + " (Linux 6.7)");
    int got = 0;
    socklen_t len = sizeof got;
    ::getsockopt(s.fd, SOL_SOCKET, SO_REUSEADDR, &got, &len);
    if (got != 1) return no("SOCKET_URING_OP_SETSOCKOPT succeeded but SO_REUSEADDR reads back 0");
    return yes("set SO_REUSEADDR through IORING_OP_URING_CMD; getsockopt reads it back");
}

// min_wait_usec (6.12): one NOP, a batch of 8 asked for, 2 ms minimum wait
// and a 1 s timeout: the wait must end with the one completion long
// before the second.
verdict min_timeout() {
    test_ring t(0);
    if (!t.ok()) return no("io_uring_setup: " + err_name(t.rc));
    if (!(t.p.features & IORING_FEAT_MIN_TIMEOUT)) return no("IORING_FEAT_MIN_TIMEOUT not reported (Linux 6.12)");
    io_uring_prep_nop(t.sqe(1));
    __kernel_timespec ts{1, 0};
    auto t0 = std::chrono::steady_clock::now();
    int rc = uring::submit_and_wait_min(&t.r, 8, &ts, 2000);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
    if (rc < 0 && rc != -ETIME) return no("io_uring_enter with min_wait_usec: " + err_name(rc));
    if (io_uring_cq_ready(&t.r) != 1) return no("the NOP's completion did not arrive");
    if (ms >= 500) return no("the wait ran to its full timeout (" + std::to_string(ms) + " ms): min_wait_usec ignored");
    return yes("IORING_FEAT_MIN_TIMEOUT; a wait for 8 returned with 1 after the 2 ms minimum (" + std::to_string(ms) +
               " ms)");
}

// IORING_REGISTER_NAPI (6.9): registering busy poll on a ring.
verdict napi() {
    test_ring t(0);
    if (!t.ok()) return no("io_uring_setup: " + err_name(t.rc));
    uring::napi_reg reg;
    reg.busy_poll_to = 50;
    int rc = uring::register_raw(&t.r, uring::register_napi, &reg, 1);
    if (rc < 0) return no("IORING_REGISTER_NAPI: " + err_name(rc) + " (Linux 6.9, CONFIG_NET_RX_BUSY_POLL)");
    uring::napi_reg old;
    uring::register_raw(&t.r, uring::unregister_napi, &old, 1);
    return yes("registered 50 us of NAPI busy poll (loopback has no NAPI to poll: no gain to see here)");
}

// A ring of provided buffers, a loopback pair and one receive armed on it.
struct recv_setup {
    test_ring t{0};
    fd_closer a, peer;
    bool ok = false;
    recv_setup() { ok = t.ok() && tcp_pair(a, peer); }
};

// IOU_PBUF_RING_INC (6.12): one 4 KiB buffer, two 5-byte sends; the
// first completion says IORING_CQE_F_BUF_MORE and the second lands in
// the same buffer right behind the first.
verdict incremental_buffers() {
    recv_setup r;
    if (!r.ok) return no("could not set up a ring and a loopback pair");
    provided_buffers b(&r.t.r, 1, 4096, 1, uring::pbuf_ring_inc);
    if (b.rc != 0) return no("io_uring_register_buf_ring with IOU_PBUF_RING_INC: " + err_name(b.rc) + " (Linux 6.12)");
    completion first{}, second{};
    for (completion* c : {&first, &second}) {
        io_uring_sqe* s = r.t.sqe(1);
        io_uring_prep_recv(s, r.a.fd, nullptr, 0, 0);
        s->flags |= IOSQE_BUFFER_SELECT;
        s->buf_group = 1;
        io_uring_submit(&r.t.r);
        if (!send_all(r.peer.fd, c == &first ? "hello" : "world", 5)) return no("send failed");
        *c = r.t.wait();
        if (c->res != 5) return no("recv from the incremental ring gave " + err_name(c->res));
    }
    if (!(first.flags & IORING_CQE_F_BUF_MORE)) return no("registered, but IORING_CQE_F_BUF_MORE was not set");
    if (std::memcmp(b.memory.data(), "helloworld", 10) != 0)
        return no("the second recv did not follow the first in the buffer");
    return yes("two receives shared one buffer, the first with IORING_CQE_F_BUF_MORE");
}

// IORING_RECVSEND_BUNDLE (6.10): 1000 bytes into 256-byte buffers, one
// completion.
verdict recv_bundle() {
    recv_setup r;
    if (!r.ok) return no("could not set up a ring and a loopback pair");
    if (!(r.t.p.features & IORING_FEAT_RECVSEND_BUNDLE))
        return no("IORING_FEAT_RECVSEND_BUNDLE not reported (Linux 6.10)");
    provided_buffers b(&r.t.r, 8, 256, 1);
    if (b.rc != 0) return no("io_uring_register_buf_ring: " + err_name(b.rc));
    std::string data(1000, 'b');
    if (!send_all(r.peer.fd, data.data(), data.size())) return no("send failed");
    io_uring_sqe* s = r.t.sqe(1);
    io_uring_prep_recv(s, r.a.fd, nullptr, 0, 0);
    s->flags |= IOSQE_BUFFER_SELECT;
    s->buf_group = 1;
    s->ioprio |= IORING_RECVSEND_BUNDLE;
    completion c = r.t.wait();
    if (c.res < 0) return no("recv with IORING_RECVSEND_BUNDLE: " + err_name(c.res));
    if (c.res <= 256) return no("a bundle recv took only " + std::to_string(c.res) + " bytes (one buffer)");
    return yes("one completion carried " + std::to_string(c.res) + " bytes over " +
               std::to_string((c.res + 255) / 256) + " buffers");
}

// IORING_RECVSEND_FIXED_BUF on SEND_ZC (6.0) or on plain SEND (where the
// kernel takes it; 6.18 answers EINVAL): five
// bytes from a registered buffer.
verdict fixed_send(bool zc) {
    recv_setup r;
    if (!r.ok) return no("could not set up a ring and a loopback pair");
    static char buf[64] = "fixed";
    iovec iov{buf, sizeof buf};
    if (int rc = io_uring_register_buffers(&r.t.r, &iov, 1); rc < 0)
        return no("io_uring_register_buffers: " + err_name(rc));
    io_uring_sqe* s = r.t.sqe(1);
    if (zc) {
        io_uring_prep_send_zc_fixed(s, r.a.fd, buf, 5, 0, 0, 0);
    } else {
        io_uring_prep_send(s, r.a.fd, buf, 5, 0);
        s->ioprio |= IORING_RECVSEND_FIXED_BUF;
        s->buf_index = 0;
    }
    completion c = r.t.wait();
    if (c.res != 5)
        return no(std::string(zc ? "SEND_ZC" : "SEND") + " with IORING_RECVSEND_FIXED_BUF: " +
                  (c.res < 0 ? err_name(c.res) : std::to_string(c.res) + " bytes"));
    if (zc && (c.flags & IORING_CQE_F_MORE)) r.t.wait();  // the notification
    char got[8] = {};
    if (::recv(r.peer.fd, got, 5, MSG_WAITALL) != 5 || std::memcmp(got, "fixed", 5) != 0)
        return no("sent, but the peer did not get the registered buffer's bytes");
    return yes("sent 5 bytes from a registered buffer; the peer got them");
}

// Multishot accept into direct descriptors (5.19): the completion names a
// slot of the registered file table, not an fd.
verdict accept_direct() {
    test_ring t(0);
    if (!t.ok()) return no("io_uring_setup: " + err_name(t.rc));
    if (int rc = io_uring_register_files_sparse(&t.r, 8); rc < 0)
        return no("io_uring_register_files_sparse: " + err_name(rc));
    sockaddr_in addr;
    fd_closer l{loopback_listener(addr)};
    io_uring_prep_multishot_accept_direct(t.sqe(1), l.fd, nullptr, nullptr, 0);
    io_uring_submit(&t.r);
    fd_closer c{connect_to(addr)};
    completion cqe = t.wait();
    if (cqe.res < 0) return no("multishot accept direct completed with " + err_name(cqe.res));
    io_uring_prep_cancel64(t.sqe(2), 1, 0);
    t.wait();
    return yes("accepted into direct descriptor slot " + std::to_string(cqe.res));
}

}  // namespace

std::vector<feature> probe_recent() {
    return {
        {"bind_listen", "BIND/LISTEN ops", bind_listen()},
        {"setsockopt_cmd", "setsockopt cmd", setsockopt_cmd()},
        {"min_timeout", "min_wait_usec", min_timeout()},
        {"napi", "NAPI busy poll", napi()},
        {"pbuf_ring_inc", "incremental buffers", incremental_buffers()},
        {"recv_bundle", "recv bundle", recv_bundle()},
        {"send_fixed_buf", "SEND fixed buffer", fixed_send(false)},
        {"send_zc_fixed_buf", "SEND_ZC fixed buffer", fixed_send(true)},
        {"accept_direct", "accept direct fd", accept_direct()},
    };
}

}  // namespace squall::probe
