// squall-features: which io_uring features the running kernel supports.
//
//   build/examples/squall-features          # a table
//   build/examples/squall-features --json   # one JSON object
//
// Nothing is inferred from the kernel version: each setup flag is tried
// on a small throwaway ring, registrations are really made, opcodes come
// from io_uring_get_probe, and the multishot, zero-copy, MSG_RING, cancel
// and socket operations are really run over 127.0.0.1 and judged by their
// completions (IORING_CQE_F_MORE, IORING_CQE_F_NOTIF, res). Exits 0 once
// it could probe, 1 when io_uring itself is unavailable (the message says
// why and how to fix it). Tests: tests/examples/squall_features_test.py.
#include <CLI/CLI.hpp>
#include <fcntl.h>
#include <liburing.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <squall/engine/ring.hpp>

#include "squall_features.hpp"

#ifndef SQUALL_LIBURING_VERSION
#define SQUALL_LIBURING_VERSION "unknown"
#endif

namespace {

using namespace squall::probe;

// Arms one multishot accept, connects once and reads the completion.
verdict multishot_accept() {
    test_ring t(0);
    if (!t.ok()) return no("io_uring_setup: " + err_name(t.rc));
    sockaddr_in addr;
    fd_closer l{loopback_listener(addr)};
    if (l.fd < 0) return no(std::string("loopback listener: ") + std::strerror(errno));
    io_uring_prep_multishot_accept(t.sqe(1), l.fd, nullptr, nullptr, 0);
    io_uring_submit(&t.r);
    fd_closer c{connect_to(addr)};
    completion cqe = t.wait();
    fd_closer accepted{cqe.res >= 0 ? cqe.res : -1};
    if (cqe.res < 0) return no("multishot accept completed with " + err_name(cqe.res));
    if (!(cqe.flags & IORING_CQE_F_MORE)) return no("accepted, but IORING_CQE_F_MORE clear: one-shot only");
    io_uring_prep_cancel64(t.sqe(2), 1, 0);
    t.wait();
    return yes("accepted a loopback connection with IORING_CQE_F_MORE set");
}

// Arms one multishot recv on a provided buffer ring, sends 5 bytes from
// the peer and reads the completion.
verdict multishot_recv() {
    test_ring t(0);
    if (!t.ok()) return no("io_uring_setup: " + err_name(t.rc));
    provided_buffers b(&t.r, 8, 256, 1);
    if (b.rc != 0) return no("needs a provided buffer ring: " + err_name(b.rc));
    fd_closer a, peer;
    if (!tcp_pair(a, peer)) return no(std::string("loopback pair: ") + std::strerror(errno));
    io_uring_sqe* s = t.sqe(1);
    io_uring_prep_recv_multishot(s, a.fd, nullptr, 0, 0);
    s->flags |= IOSQE_BUFFER_SELECT;
    s->buf_group = 1;
    io_uring_submit(&t.r);
    if (::send(peer.fd, "hello", 5, 0) != 5) return no(std::string("send: ") + std::strerror(errno));
    completion cqe = t.wait();
    if (cqe.res < 0) return no("multishot recv completed with " + err_name(cqe.res));
    if (!(cqe.flags & IORING_CQE_F_MORE)) return no("received, but IORING_CQE_F_MORE clear: one-shot only");
    if (!(cqe.flags & IORING_CQE_F_BUFFER)) return no("received without IORING_CQE_F_BUFFER");
    io_uring_prep_cancel64(t.sqe(2), 1, 0);
    t.wait();
    return yes("received " + std::to_string(cqe.res) + " bytes into a provided buffer with IORING_CQE_F_MORE set");
}

// Sends one byte zero-copy; a working SEND_ZC/SENDMSG_ZC posts the result
// with IORING_CQE_F_MORE and then a notification (IORING_CQE_F_NOTIF).
verdict zero_copy(bool msg) {
    if (!has_opcode(msg ? IORING_OP_SENDMSG_ZC : IORING_OP_SEND_ZC))
        return no("opcode missing from io_uring_get_probe");
    test_ring t(0);
    fd_closer a, peer;
    if (!t.ok() || !tcp_pair(a, peer)) return no("could not set up a ring and a loopback pair");
    char byte = 'x';
    iovec iov{&byte, 1};
    msghdr mh{};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    if (msg) io_uring_prep_sendmsg_zc(t.sqe(1), a.fd, &mh, 0);
    else io_uring_prep_send_zc(t.sqe(1), a.fd, &byte, 1, 0, 0);
    completion first = t.wait();
    if (first.res < 0) return no("in the probe, but the send completed with " + err_name(first.res));
    if (first.res != 1) return no("in the probe, but the send took " + std::to_string(first.res) + " bytes");
    if (!(first.flags & IORING_CQE_F_MORE)) return no("sent, but no notification announced");
    completion notif = t.wait();
    if (!(notif.flags & IORING_CQE_F_NOTIF)) return no("sent, but the notification never came");
    return yes("in the probe; sent over loopback and got the IORING_CQE_F_NOTIF notification");
}

// Posts a completion into a second ring.
verdict msg_ring() {
    if (!has_opcode(IORING_OP_MSG_RING)) return no("opcode missing from io_uring_get_probe");
    test_ring from(0), to(0);
    if (!from.ok() || !to.ok()) return no("io_uring_setup failed");
    io_uring_prep_msg_ring(from.sqe(1), to.r.ring_fd, 42, 0xfeed, 0);
    completion sent = from.wait();
    if (sent.res < 0) return no("in the probe, but MSG_RING completed with " + err_name(sent.res));
    completion got = to.wait();
    if (got.user_data != 0xfeed || got.res != 42) return no("in the probe, but the target ring got nothing");
    return yes("in the probe; a message reached a second ring");
}

// Cancels a pending pipe read by fd, then (with nothing left) asks for
// ANY: kernels without these flags answer EINVAL.
verdict cancel_flags() {
    if (!has_opcode(IORING_OP_ASYNC_CANCEL)) return no("opcode missing from io_uring_get_probe");
    test_ring t(0);
    int p[2];
    if (!t.ok() || ::pipe2(p, O_CLOEXEC) < 0) return no("could not set up a ring and a pipe");
    fd_closer rd{p[0]}, wr{p[1]};
    char buf[8];
    io_uring_prep_read(t.sqe(1), rd.fd, buf, sizeof buf, 0);
    io_uring_prep_cancel_fd(t.sqe(2), rd.fd, 0);
    int by_fd = 0, read_res = 0;
    for (int i = 0; i < 2; ++i) {
        completion c = t.wait();
        (c.user_data == 2 ? by_fd : read_res) = c.res;
    }
    if (by_fd < 0) return no("IORING_ASYNC_CANCEL_FD: " + err_name(by_fd));
    if (read_res != -ECANCELED) return no("cancel by fd did not cancel the read (" + err_name(read_res) + ")");
    io_uring_prep_cancel64(t.sqe(3), 0, IORING_ASYNC_CANCEL_ANY);
    completion any = t.wait();
    if (any.res != -ENOENT && any.res < 0) return no("IORING_ASYNC_CANCEL_ANY: " + err_name(any.res));
    return yes("cancelled a pending read by fd; IORING_ASYNC_CANCEL_ANY accepted");
}

verdict socket_op() {
    if (!has_opcode(IORING_OP_SOCKET)) return no("opcode missing from io_uring_get_probe");
    test_ring t(0);
    if (!t.ok()) return no("io_uring_setup: " + err_name(t.rc));
    io_uring_prep_socket(t.sqe(1), AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0, 0);
    completion c = t.wait();
    if (c.res < 0) return no("in the probe, but IORING_OP_SOCKET completed with " + err_name(c.res));
    ::close(c.res);
    return yes("in the probe; created a TCP socket through the ring");
}

std::vector<feature> probe_all() {
    std::vector<feature> fs{
        {"single_issuer", "SINGLE_ISSUER", setup_flag(IORING_SETUP_SINGLE_ISSUER, "IORING_SETUP_SINGLE_ISSUER")},
        {"defer_taskrun", "DEFER_TASKRUN",
         setup_flag(IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN, "SINGLE_ISSUER|DEFER_TASKRUN")},
        {"coop_taskrun", "COOP_TASKRUN",
         setup_flag(IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG, "COOP_TASKRUN|TASKRUN_FLAG")},
        {"sqpoll", "SQPOLL", setup_flag(IORING_SETUP_SQPOLL, "IORING_SETUP_SQPOLL")},
        {"registered_ring_fd", "registered ring fd", registered_ring_fd()},
        {"ext_arg", "EXT_ARG", kernel_feature(IORING_FEAT_EXT_ARG, "IORING_FEAT_EXT_ARG")},
        {"nodrop", "NODROP", kernel_feature(IORING_FEAT_NODROP, "IORING_FEAT_NODROP")},
        {"buffer_ring", "provided buffer ring", buffer_ring()},
        {"multishot_accept", "multishot accept", multishot_accept()},
        {"multishot_recv", "multishot recv", multishot_recv()},
        {"send_zc", "SEND_ZC", zero_copy(false)},
        {"sendmsg_zc", "SENDMSG_ZC", zero_copy(true)},
        {"msg_ring", "MSG_RING", msg_ring()},
        {"async_cancel_flags", "ASYNC_CANCEL any/fd", cancel_flags()},
        {"socket_op", "socket op", socket_op()},
    };
    for (auto& f : probe_recent()) fs.push_back(std::move(f));
    return fs;
}

std::string json_string(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        if (static_cast<unsigned char>(c) < 0x20) out += ' ';
        else out += c;
    }
    return out + "\"";
}

void print_json(const std::string& kernel, const std::vector<feature>& fs) {
    std::printf("{\"kernel\": %s, \"liburing\": %s, \"features\": {", json_string(kernel).c_str(),
                json_string(SQUALL_LIBURING_VERSION).c_str());
    for (std::size_t i = 0; i < fs.size(); ++i) {
        std::printf("%s\n  \"%s\": {\"supported\": %s, \"reason\": %s}", i ? "," : "", fs[i].key,
                    fs[i].v.supported ? "true" : "false", json_string(fs[i].v.reason).c_str());
    }
    std::printf("\n}}\n");
}

void print_table(const std::string& kernel, const std::vector<feature>& fs) {
    std::printf("kernel    %s\nliburing  %s (built against)\n\n", kernel.c_str(), SQUALL_LIBURING_VERSION);
    std::printf("%-22s %-12s %s\n", "feature", "status", "why");
    for (const feature& f : fs)
        std::printf("%-22s %-12s %s\n", f.name, f.v.supported ? "supported" : "unsupported", f.v.reason.c_str());
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"squall-features: the io_uring features this kernel supports"};
    bool json = false;
    app.add_flag("--json", json, "print one JSON object instead of a table");
    CLI11_PARSE(app, argc, argv);

    utsname u{};
    std::string kernel = ::uname(&u) == 0 ? u.release : "unknown";
    if (test_ring base(0); !base.ok()) {
        std::fprintf(stderr, "%s\n", squall::ring::unavailable_message(base.rc).c_str());
        return 1;
    }
    std::vector<feature> fs = probe_all();
    if (json) print_json(kernel, fs);
    else print_table(kernel, fs);
    return 0;
}
