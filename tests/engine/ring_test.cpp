#include <squall/engine/ring.hpp>

#include <gtest/gtest.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>
#include <string>
#include <system_error>

using namespace squall;

namespace {

// In a child process, makes io_uring_setup fail with `err` through a
// seccomp filter (as a container runtime's profile would), then tries to
// create a ring and sends back the exception's message.
std::string message_when_setup_fails_with(int err) {
    int p[2];
    if (::pipe(p) != 0) return "pipe failed";
    pid_t pid = ::fork();
    if (pid == 0) {
        ::close(p[0]);
        sock_filter filter[] = {
            BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
            BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (err & SECCOMP_RET_DATA)),
            BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        };
        sock_fprog prog{static_cast<unsigned short>(std::size(filter)), filter};
        std::string msg;
        if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) {
            msg = "seccomp unavailable";
        } else {
            try {
                ring r;
                msg = "ring created";
            } catch (const std::system_error& e) {
                msg = e.what();
            }
        }
        [[maybe_unused]] auto n = ::write(p[1], msg.data(), msg.size());
        ::_exit(0);
    }
    ::close(p[1]);
    std::string out;
    char buf[512];
    ssize_t n;
    while ((n = ::read(p[0], buf, sizeof buf)) > 0) out.append(buf, n);
    ::close(p[0]);
    ::waitpid(pid, nullptr, 0);
    return out;
}

}  // namespace

TEST(ring, uses_the_fast_setup_where_the_kernel_has_it) {
    ring r;
    const auto& f = r.features();
    EXPECT_GE(f.cq_entries, 4 * f.sq_entries);
    if (!(f.has(IORING_SETUP_DEFER_TASKRUN))) GTEST_SKIP() << "kernel lacks DEFER_TASKRUN: " << f.describe();
    EXPECT_TRUE(f.has(IORING_SETUP_SINGLE_ISSUER));
    EXPECT_TRUE(f.registered_fd);
}

TEST(ring, sqpoll_can_be_asked_for) {
    loop_options o;
    o.sqpoll = true;
    try {
        ring r(o);
        EXPECT_TRUE(r.features().has(IORING_SETUP_SQPOLL));
    } catch (const std::system_error& e) {
        GTEST_SKIP() << "SQPOLL not permitted here: " << e.what();
    }
}

TEST(ring, seccomp_eperm_gives_a_message_with_the_fix) {
    std::string msg = message_when_setup_fails_with(EPERM);
    if (msg == "seccomp unavailable") GTEST_SKIP() << msg;
    EXPECT_NE(msg.find("not permitted"), std::string::npos) << msg;
    EXPECT_NE(msg.find("seccomp"), std::string::npos) << msg;
    EXPECT_NE(msg.find("io_uring_disabled"), std::string::npos) << msg;
}

TEST(ring, missing_io_uring_gives_a_message_with_the_fix) {
    std::string msg = message_when_setup_fails_with(ENOSYS);
    if (msg == "seccomp unavailable") GTEST_SKIP() << msg;
    EXPECT_NE(msg.find("no io_uring"), std::string::npos) << msg;
    EXPECT_NE(msg.find("CONFIG_IO_URING"), std::string::npos) << msg;
}

TEST(ring, sysctl_messages_name_the_setting) {
    // The sysctl cannot be changed in a test; check the wording for each
    // value through the function that reads it. On this machine the sysctl
    // is 0 or absent, so EPERM blames seccomp.
    std::string msg = ring::unavailable_message(-EPERM);
    EXPECT_NE(msg.find("kernel.io_uring_disabled"), std::string::npos);
}
