#include <squall/engine/process.hpp>

#include <fcntl.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <new>
#include <spdlog/spdlog.h>
#include <stdexcept>
#include <string>
#include <system_error>

namespace squall {
namespace {

[[noreturn]] void throw_errno(const char* what) { throw std::system_error(errno, std::system_category(), what); }

std::optional<int> g_task_id;

// Open connections per child, in memory the master maps shared before
// forking; a restarted child's slot starts again at zero.
constexpr unsigned max_children = 1024;
struct shared_counts {
    unsigned n = 0;
    std::atomic<int> open[max_children];
};
shared_counts* g_counts = nullptr;

shared_counts* map_counts(unsigned n) {
    void* p = ::mmap(nullptr, sizeof(shared_counts), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw_errno("squall: mmap of the connection counts");
    auto* c = new (p) shared_counts;
    c->n = n;
    return c;
}

unsigned cpu_count() {
    cpu_set_t set;
    if (::sched_getaffinity(0, sizeof set, &set) == 0) return static_cast<unsigned>(CPU_COUNT(&set));
    long n = ::sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? static_cast<unsigned>(n) : 1u;
}

// The binary on disk now, for an upgrade: /proc/self/exe names the file
// this process was started from, " (deleted)" once it was replaced.
std::string binary_path() {
    char buf[4096];
    ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0) return {};
    std::string p(buf, static_cast<std::size_t>(n));
    const std::string deleted = " (deleted)";
    if (p.size() > deleted.size() && p.ends_with(deleted)) p.resize(p.size() - deleted.size());
    return p;
}

sigset_t master_signals() {
    sigset_t set;
    sigemptyset(&set);
    for (int s : {SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2}) sigaddset(&set, s);
    return set;
}

std::string describe(int status) {
    if (WIFSIGNALED(status)) return "was killed by signal " + std::to_string(WTERMSIG(status));
    return "exited with status " + std::to_string(WEXITSTATUS(status));
}

class master {
public:
    master(const process_options& opts, std::vector<unique_fd>& sockets)
        : opts_(opts), sockets_(sockets), exe_(binary_path()) {
        sigset_t set = master_signals();
        if (int rc = ::pthread_sigmask(SIG_BLOCK, &set, &old_mask_))
            throw std::system_error(rc, std::system_category(), "squall: pthread_sigmask");
    }

    // nullopt in the master once every child is gone; a task id in a child.
    std::optional<int> run(unsigned n);
    int exit_code() const noexcept { return exit_code_; }

private:
    std::optional<int> start_child(int id);
    void child_setup(int id);
    std::optional<int> reap();
    bool over_cap();
    void stop();
    void forward(int sig);
    void upgrade();
    [[noreturn]] void exec_upgrade();
    void retire_old_master();

    const process_options& opts_;
    std::vector<unique_fd>& sockets_;
    std::string exe_;
    sigset_t old_mask_{};
    std::map<pid_t, int> children_;
    std::deque<clock::time_point> restarts_;
    pid_t master_pid_ = ::getpid();
    pid_t upgrade_pid_ = 0;
    bool stopping_ = false;
    int exit_code_ = 0;
};

std::optional<int> master::run(unsigned n) {
    spdlog::info("squall: starting {} processes", n);
    for (unsigned i = 0; i < n; ++i) {
        if (auto id = start_child(static_cast<int>(i))) return id;
    }
    retire_old_master();
    notify_systemd("READY=1\nMAINPID=" + std::to_string(::getpid()));
    sigset_t set = master_signals();
    while (!children_.empty()) {
        siginfo_t info{};
        timespec tick{1, 0};
        int sig = ::sigtimedwait(&set, &info, &tick);
        if (sig == SIGCHLD) {
            if (auto id = reap()) return id;
        } else if (sig == SIGTERM || sig == SIGINT) {
            stop();
        } else if (sig == SIGHUP) {
            notify_systemd("RELOADING=1");
            forward(SIGHUP);
            notify_systemd("READY=1");
        } else if (sig == SIGUSR1) {
            forward(SIGUSR1);
        } else if (sig == SIGUSR2) {
            upgrade();
        }
    }
    spdlog::info("squall: every child has exited; the master stops");
    return std::nullopt;
}

std::optional<int> master::start_child(int id) {
    g_counts->open[id].store(0);
    pid_t pid = ::fork();
    if (pid < 0) throw_errno("squall: fork");
    if (pid == 0) {
        child_setup(id);
        return id;
    }
    children_[pid] = id;
    return std::nullopt;
}

void master::child_setup(int id) {
    g_task_id = id;
    // The signals the loops take through signalfds stay blocked (one sent
    // before they are set up waits instead of killing the child); SIGCHLD
    // comes back as it was.
    sigset_t mask = old_mask_;
    for (int s : {SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2}) sigaddset(&mask, s);
    ::pthread_sigmask(SIG_SETMASK, &mask, nullptr);
    // A master killed outright takes its children with it (they drain).
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != master_pid_) ::raise(SIGTERM);  // the master died before prctl
}

std::optional<int> master::reap() {
    int status = 0;
    pid_t pid;
    while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
        if (pid == upgrade_pid_) {
            spdlog::error("squall: the new master (pid {}) {}; this one goes on serving", pid, describe(status));
            upgrade_pid_ = 0;
            continue;
        }
        auto it = children_.find(pid);
        if (it == children_.end()) continue;
        int id = it->second;
        children_.erase(it);
        const bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        if (stopping_ || clean) {
            spdlog::info("squall: child {} (pid {}) {}", id, pid, describe(status));
            continue;
        }
        if (over_cap()) {
            spdlog::error(
                "squall: child {} (pid {}) {}; {} restarts within {} s reached the cap "
                "(max_restarts), giving up",
                id, pid, describe(status), opts_.max_restarts,
                std::chrono::duration_cast<std::chrono::seconds>(opts_.restart_window).count());
            exit_code_ = 1;
            stop();
            continue;
        }
        spdlog::warn("squall: child {} (pid {}) {}, restarting", id, pid, describe(status));
        if (auto child = start_child(id)) return child;
    }
    return std::nullopt;
}

bool master::over_cap() {
    auto now = clock::now();
    while (!restarts_.empty() && now - restarts_.front() > opts_.restart_window) restarts_.pop_front();
    if (restarts_.size() >= opts_.max_restarts) return true;
    restarts_.push_back(now);
    return false;
}

void master::stop() {
    if (stopping_) {
        spdlog::warn("squall: stop signal again: the children stop now");
        forward(SIGTERM);  // a second SIGTERM ends a child's drain at once
        return;
    }
    stopping_ = true;
    notify_systemd("STOPPING=1");
    spdlog::info("squall: stopping: draining {} children", children_.size());
    // The children hold the sockets while they drain; once the last one
    // closes its copy, the kernel stops queueing connections.
    for (auto& s : sockets_) s.reset();
    forward(SIGTERM);
}

void master::forward(int sig) {
    for (auto& [pid, id] : children_) ::kill(pid, sig);
}

void master::upgrade() {
    if (stopping_ || opts_.argv.empty() || exe_.empty() || upgrade_pid_ != 0) {
        spdlog::warn("squall: SIGUSR2 ignored (stopping, no command line, or an upgrade under way)");
        return;
    }
    pid_t pid = ::fork();
    if (pid < 0) {
        spdlog::error("squall: binary upgrade: fork: {}", std::strerror(errno));
        return;
    }
    if (pid == 0) exec_upgrade();
    upgrade_pid_ = pid;
    spdlog::info("squall: binary upgrade: started {} as pid {}", exe_, pid);
}

void master::exec_upgrade() {
    // The sockets become fds 3, 4, ... as systemd passes them: first out
    // of the way, then into place (dup2 clears close-on-exec).
    std::vector<int> high;
    for (auto& s : sockets_) high.push_back(::fcntl(s.get(), F_DUPFD, 1000));
    for (std::size_t i = 0; i < high.size(); ++i) ::dup2(high[i], 3 + static_cast<int>(i));
    ::setenv("LISTEN_FDS", std::to_string(high.size()).c_str(), 1);
    ::setenv("LISTEN_PID", std::to_string(::getpid()).c_str(), 1);
    ::setenv("SQUALL_UPGRADE_FROM", std::to_string(::getppid()).c_str(), 1);
    ::pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
    std::vector<char*> args;
    for (const auto& a : opts_.argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(exe_.c_str(), args.data());
    std::fprintf(stderr, "squall: binary upgrade: exec %s: %s\n", exe_.c_str(), std::strerror(errno));
    ::_exit(127);
}

// After a binary upgrade, once this master's children run: the old
// master drains and exits.
void master::retire_old_master() {
    const char* from = std::getenv("SQUALL_UPGRADE_FROM");
    if (!from) return;
    pid_t old = static_cast<pid_t>(std::atol(from));
    ::unsetenv("SQUALL_UPGRADE_FROM");
    if (old > 1 && ::kill(old, SIGTERM) == 0) spdlog::info("squall: binary upgrade: asked pid {} to drain", old);
}

}  // namespace

std::vector<unique_fd> inherited_sockets() {
    std::vector<unique_fd> out;
    const char* pid = std::getenv("LISTEN_PID");
    const char* fds = std::getenv("LISTEN_FDS");
    if (pid && fds && std::atol(pid) == ::getpid()) {
        long n = std::atol(fds);
        for (long i = 0; i < n && i < 64; ++i) {
            int fd = 3 + static_cast<int>(i);
            if (::fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) throw_errno("squall: LISTEN_FDS names a closed descriptor");
            out.emplace_back(fd);
        }
    }
    ::unsetenv("LISTEN_PID");
    ::unsetenv("LISTEN_FDS");
    ::unsetenv("LISTEN_FDNAMES");
    return out;
}

std::vector<unique_fd> bind_sockets(const address& addr, const listen_options& opts) {
    std::vector<unique_fd> out = inherited_sockets();
    if (!out.empty()) {
        spdlog::info("squall: serving {} inherited listening socket(s)", out.size());
        return out;
    }
    out.push_back(listen_on(addr, opts));
    return out;
}

int fork_processes(const process_options& opts, std::vector<unique_fd>& sockets) {
    if (g_task_id) throw std::logic_error("squall: fork_processes called twice");
    unsigned n = opts.processes ? opts.processes : cpu_count();
    if (n > max_children) throw std::invalid_argument("squall: more than 1024 processes");
    g_counts = map_counts(n);
    master m(opts, sockets);
    std::optional<int> id = m.run(n);
    if (id) return *id;
    std::exit(m.exit_code());
}

std::optional<int> task_id() noexcept { return g_task_id; }

void connection_opened() noexcept {
    if (g_task_id && g_counts) g_counts->open[*g_task_id].fetch_add(1, std::memory_order_relaxed);
}

void connection_closed() noexcept {
    if (g_task_id && g_counts) g_counts->open[*g_task_id].fetch_sub(1, std::memory_order_relaxed);
}

bool should_defer_accept() noexcept {
    if (!g_task_id || !g_counts || g_counts->n < 2) return false;
    int mine = g_counts->open[*g_task_id].load(std::memory_order_relaxed);
    int least = mine;
    for (unsigned i = 0; i < g_counts->n; ++i) {
        if (static_cast<int>(i) != *g_task_id)
            least = std::min(least, g_counts->open[i].load(std::memory_order_relaxed));
    }
    return mine > least + 1;
}

bool notify_systemd(std::string_view state) {
    const char* path = std::getenv("NOTIFY_SOCKET");
    if (!path || !*path) return false;
    sockaddr_un un{};
    std::size_t len = std::strlen(path);
    if (len >= sizeof un.sun_path || (path[0] != '/' && path[0] != '@')) {
        spdlog::warn("squall: NOTIFY_SOCKET '{}' is not a socket path", path);
        return false;
    }
    un.sun_family = AF_UNIX;
    std::memcpy(un.sun_path, path, len);
    if (path[0] == '@') un.sun_path[0] = '\0';  // the abstract namespace
    unique_fd fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    auto size = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + len);
    if (fd && ::sendto(fd.get(), state.data(), state.size(), MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&un), size) >= 0)
        return true;
    spdlog::warn("squall: notifying systemd at {}: {}", path, std::strerror(errno));
    return false;
}

}  // namespace squall
