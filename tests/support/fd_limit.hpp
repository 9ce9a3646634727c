// fd_limit: lowers the soft RLIMIT_NOFILE so that exactly `free_slots`
// more descriptors can be opened (holes below the highest open one are
// filled with /dev/null first), for the EMFILE tests
// (tests/engine/listener_test.cpp, tests/http/slow_client_test.cpp);
// restores the limit on destruction or restore().
#pragma once

#include <fcntl.h>
#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include <squall/engine/socket.hpp>

namespace squall::testing {

class fd_limit {
public:
    explicit fd_limit(int free_slots) {
        ::getrlimit(RLIMIT_NOFILE, &old_);
        int highest = 0;
        for (auto& e : std::filesystem::directory_iterator("/proc/self/fd"))
            highest = std::max(highest, std::stoi(e.path().filename().string()));
        for (;;) {
            unique_fd f(::open("/dev/null", O_RDONLY | O_CLOEXEC));
            if (!f) throw std::system_error(errno, std::system_category(), "open /dev/null");
            if (f.get() > highest) break;  // no hole left; this one is closed again
            fillers_.push_back(std::move(f));
        }
        rlimit lowered = old_;
        lowered.rlim_cur = static_cast<rlim_t>(highest + 1 + free_slots);
        if (::setrlimit(RLIMIT_NOFILE, &lowered) != 0)
            throw std::system_error(errno, std::system_category(), "setrlimit");
    }
    ~fd_limit() { restore(); }
    void restore() { ::setrlimit(RLIMIT_NOFILE, &old_); }
    fd_limit(const fd_limit&) = delete;
    fd_limit& operator=(const fd_limit&) = delete;

private:
    rlimit old_{};
    std::vector<unique_fd> fillers_;
};

}  // namespace squall::testing
