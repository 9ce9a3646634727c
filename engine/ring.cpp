#include <squall/engine/ring.hpp>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <system_error>

#include <squall/engine/detail/uring_compat.hpp>

namespace squall {
namespace {

// The configurations to try, best first. Each step drops one feature that
// an older kernel may reject with EINVAL.
unsigned setup_flags_for(const loop_options& o, int step) {
    unsigned f = IORING_SETUP_CQSIZE;
    if (o.sqpoll) return f | IORING_SETUP_SQPOLL;
    if (step == 0 && o.defer_taskrun) f |= IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
    if (step <= 1 && o.coop_taskrun) f |= IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG;
    return f;
}

std::string read_sysctl_disabled() {
    std::ifstream in("/proc/sys/kernel/io_uring_disabled");
    std::string v;
    if (in >> v) return v;
    return {};
}

}  // namespace

std::string ring::unavailable_message(int negative_errno) {
    int e = -negative_errno;
    std::string base = "squall: cannot start an io_uring instance: ";
    if (e == ENOSYS) {
        return base +
               "the kernel has no io_uring (ENOSYS). squall needs Linux 6.1 or "
               "newer built with CONFIG_IO_URING=y; inside a container the runtime "
               "may also hide the syscall.";
    }
    if (e == EPERM || e == EACCES) {
        std::string sysctl = read_sysctl_disabled();
        std::string why = "io_uring is not permitted (" + std::string(e == EPERM ? "EPERM" : "EACCES") + "). ";
        if (sysctl == "2") {
            why +=
                "The sysctl kernel.io_uring_disabled is 2: run "
                "`sysctl -w kernel.io_uring_disabled=0`.";
        } else if (sysctl == "1") {
            why +=
                "The sysctl kernel.io_uring_disabled is 1, which limits io_uring to the "
                "group in kernel.io_uring_group: add this user to that group or run "
                "`sysctl -w kernel.io_uring_disabled=0`.";
        } else {
            why +=
                "A seccomp profile (for example a container runtime's default) blocks "
                "io_uring_setup: allow io_uring_setup, io_uring_enter and "
                "io_uring_register in the profile, or run with seccomp=unconfined; "
                "also check the sysctl kernel.io_uring_disabled.";
        }
        return base + why;
    }
    if (e == ENOMEM) {
        return base +
               "out of memory for the rings (ENOMEM); on kernels before 5.12 raise "
               "RLIMIT_MEMLOCK (ulimit -l).";
    }
    return base + std::strerror(e);
}

ring::ring(const loop_options& opts) {
    io_uring_params p{};
    int rc = -EINVAL;
    unsigned cq = opts.cq_entries ? opts.cq_entries : 4 * opts.sq_entries;
    for (int step = 0; step < 3; ++step) {
        p = {};
        p.flags = setup_flags_for(opts, step);
        p.cq_entries = cq;
        if (opts.sqpoll) p.sq_thread_idle = opts.sqpoll_idle_ms;
        rc = io_uring_queue_init_params(opts.sq_entries, &ring_, &p);
        if (rc != -EINVAL || opts.sqpoll) break;
    }
    if (rc < 0) throw std::system_error(-rc, std::system_category(), unavailable_message(rc));

    features_.setup_flags = p.flags;
    features_.kernel_features = p.features;
    features_.sq_entries = p.sq_entries;
    features_.cq_entries = p.cq_entries;
    if (opts.register_ring_fd) features_.registered_fd = io_uring_register_ring_fd(&ring_) == 1;
    if (opts.napi_busy_poll_usec) {
        uring::napi_reg reg;
        reg.busy_poll_to = opts.napi_busy_poll_usec;
        reg.prefer_busy_poll = opts.napi_prefer_busy_poll ? 1 : 0;
        features_.napi = uring::register_raw(&ring_, uring::register_napi, &reg, 1) == 0;
    }
    features_.min_wait = opts.min_wait_usec && !opts.sqpoll && (p.features & IORING_FEAT_MIN_TIMEOUT);
}

ring::~ring() { io_uring_queue_exit(&ring_); }

std::string ring_features::describe() const {
    std::string s = "sq=" + std::to_string(sq_entries) + " cq=" + std::to_string(cq_entries);
    auto flag = [&](unsigned f, const char* name) {
        if (setup_flags & f) s += std::string(" ") + name;
    };
    flag(IORING_SETUP_SINGLE_ISSUER, "single_issuer");
    flag(IORING_SETUP_DEFER_TASKRUN, "defer_taskrun");
    flag(IORING_SETUP_COOP_TASKRUN, "coop_taskrun");
    flag(IORING_SETUP_SQPOLL, "sqpoll");
    if (registered_fd) s += " registered_fd";
    if (napi) s += " napi";
    if (min_wait) s += " min_wait";
    return s;
}

}  // namespace squall
