// uring_compat: the io_uring ABI squall uses beyond what the system's
// headers declare, defined once, here, each with the kernel version that
// introduced it, and small hand-written helpers for it.
//
// squall builds against Debian's liburing 2.3 and 6.1 kernel headers but
// runs on newer kernels; nothing here assumes the running kernel has a
// feature (callers probe it: squall-features, or the operation's -EINVAL).
// The #defines are guarded by #ifndef so newer headers win. Opcodes,
// register codes and buffer-ring flags are enum members in the uapi
// header, which #ifndef cannot see, so they are squall-named constants.
// Header only, no state; any thread. Tests: tests/engine/uring_features_test.cpp.
#pragma once

#include <liburing.h>

#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstring>

// --- flags (uapi #defines) ----------------------------------------------
#ifndef IORING_FEAT_REG_REG_RING
#define IORING_FEAT_REG_REG_RING (1U << 13)  // 6.3: io_uring_register through a registered ring fd
#endif
#ifndef IORING_RECVSEND_BUNDLE
#define IORING_RECVSEND_BUNDLE (1U << 4)  // 6.10: one recv/send completion for several ring buffers
#endif
#ifndef IORING_FEAT_RECVSEND_BUNDLE
#define IORING_FEAT_RECVSEND_BUNDLE (1U << 14)  // 6.10
#endif
#ifndef IORING_FEAT_MIN_TIMEOUT
#define IORING_FEAT_MIN_TIMEOUT (1U << 15)  // 6.12: min_wait_usec in io_uring_getevents_arg
#endif
#ifndef IORING_CQE_F_BUF_MORE
#define IORING_CQE_F_BUF_MORE (1U << 4)  // 6.12: the buffer (IOU_PBUF_RING_INC) gets more data
#endif

namespace squall::uring {

// The numbering below follows enum io_uring_op; pin it to what 2.3 knows.
static_assert(IORING_OP_SENDMSG_ZC == 48, "io_uring opcode numbering moved");

// --- opcodes, register codes, flags (uapi enum members) ------------------
inline constexpr std::uint8_t op_bind = 56;    // IORING_OP_BIND, 6.11
inline constexpr std::uint8_t op_listen = 57;  // IORING_OP_LISTEN, 6.11
// IORING_OP_URING_CMD on a socket: cmd_op values (enum io_uring_socket_op).
inline constexpr std::uint32_t socket_op_getsockopt = 2;  // SOCKET_URING_OP_GETSOCKOPT, 6.7
inline constexpr std::uint32_t socket_op_setsockopt = 3;  // SOCKET_URING_OP_SETSOCKOPT, 6.7
inline constexpr unsigned register_napi = 27;             // IORING_REGISTER_NAPI, 6.9
inline constexpr unsigned unregister_napi = 28;           // IORING_UNREGISTER_NAPI, 6.9
// io_uring_buf_reg.flags (enum io_uring_register_pbuf_ring_flags).
inline constexpr std::uint16_t pbuf_ring_inc = 2;  // IOU_PBUF_RING_INC, 6.12

// struct io_uring_napi, 6.9 (the argument of IORING_(UN)REGISTER_NAPI).
struct napi_reg {
    std::uint32_t busy_poll_to = 0;  // microseconds
    std::uint8_t prefer_busy_poll = 0;
    std::uint8_t pad[3] = {};
    std::uint64_t resv = 0;
};
static_assert(sizeof(napi_reg) == 16);

// struct io_uring_getevents_arg with the 6.12 name of the field liburing
// 2.3 calls `pad`.
struct getevents_arg {
    std::uint64_t sigmask = 0;
    std::uint32_t sigmask_sz = 0;
    std::uint32_t min_wait_usec = 0;  // 6.12 (IORING_FEAT_MIN_TIMEOUT)
    std::uint64_t ts = 0;
};
static_assert(sizeof(getevents_arg) == sizeof(io_uring_getevents_arg));

// --- helpers liburing 2.3 lacks ------------------------------------------
inline void prep_bind(io_uring_sqe* s, int fd, const sockaddr* addr, socklen_t len) noexcept {
    io_uring_prep_rw(op_bind, s, fd, addr, 0, len);
}

inline void prep_listen(io_uring_sqe* s, int fd, int backlog) noexcept {
    io_uring_prep_rw(op_listen, s, fd, nullptr, static_cast<unsigned>(backlog), 0);
}

// io_uring_prep_cmd_sock(SOCKET_URING_OP_SETSOCKOPT): the 6.7 SQE puts
// level/optname where `addr` is, optlen where `file_index` is and optval
// where `addr3` is; liburing 2.3's struct has no names for them.
inline void prep_setsockopt(io_uring_sqe* s, int fd, int level, int optname, const void* optval, int optlen) noexcept {
    io_uring_prep_rw(IORING_OP_URING_CMD, s, fd, nullptr, 0, 0);
    s->cmd_op = socket_op_setsockopt;
    auto l = static_cast<std::uint32_t>(level), n = static_cast<std::uint32_t>(optname);
    auto* base = reinterpret_cast<unsigned char*>(s);
    std::memcpy(base + offsetof(io_uring_sqe, addr), &l, 4);
    std::memcpy(base + offsetof(io_uring_sqe, addr) + 4, &n, 4);
    s->file_index = static_cast<std::uint32_t>(optlen);
    s->addr3 = reinterpret_cast<std::uintptr_t>(optval);
}

// liburing 2.3 has no wrapper for these registrations.
inline int register_raw(io_uring* r, unsigned opcode, const void* arg, unsigned nr) noexcept {
    return io_uring_register(static_cast<unsigned>(r->ring_fd), opcode, arg, nr);
}

// io_uring_submit_and_wait_min_timeout (liburing 2.8): submits what is
// queued and waits for `wait_nr` completions, but once `min_wait_usec`
// has passed returns as soon as there is one; with none by then it waits
// up to `ts` for the first. Needs IORING_FEAT_MIN_TIMEOUT (6.12) and a
// ring without SQPOLL. Returns io_uring_enter's result.
inline int submit_and_wait_min(io_uring* r, unsigned wait_nr, const __kernel_timespec* ts,
                               unsigned min_wait_usec) noexcept {
    // The SQ flush liburing does before entering (no SQ thread reads it).
    unsigned tail = r->sq.sqe_tail;
    if (r->sq.sqe_head != tail) {
        r->sq.sqe_head = tail;
        io_uring_smp_store_release(r->sq.ktail, tail);
    }
    unsigned submit = tail - io_uring_smp_load_acquire(r->sq.khead);
    getevents_arg arg;
    arg.sigmask_sz = _NSIG / 8;
    arg.min_wait_usec = min_wait_usec;
    arg.ts = reinterpret_cast<std::uintptr_t>(ts);
    unsigned flags = IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG;
    int fd = r->ring_fd;
    if (r->int_flags & 1) {  // liburing's INT_FLAG_REG_RING: the ring fd is registered
        flags |= IORING_ENTER_REGISTERED_RING;
        fd = r->enter_ring_fd;
    }
    return io_uring_enter2(static_cast<unsigned>(fd), submit, wait_nr, flags, reinterpret_cast<sigset_t*>(&arg),
                           sizeof arg);
}

}  // namespace squall::uring
