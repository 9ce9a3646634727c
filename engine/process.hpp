// process: Tornado's bind_sockets + fork_processes, with a master that
// supervises the children, forwards signals and hands its sockets on.
//
// bind_sockets() returns the listening sockets, bound once before any
// fork: those the process inherited (systemd socket activation's
// LISTEN_FDS/LISTEN_PID, which a binary upgrade uses too), else a new one
// on `addr`. fork_processes(n) forks n children (0: one per core) and
// returns in each its task id, 0..n-1; the caller then serves the
// inherited sockets with its loops. The master never returns: it restarts
// a child that dies abnormally under a cap (max_restarts within
// restart_window: Tornado's 100, counted per minute so a long-lived
// service is not stopped by rare crashes), and exits with 0 once the
// children are gone after a stop, 1 when the cap was hit. Signals to the
// master: SIGTERM/SIGINT drain every child (each gets SIGTERM) and exit
// once they are done; SIGHUP and SIGUSR1 (TLS reload, log reopen) go to
// every child; SIGUSR2 starts a new master from the binary on disk with
// the listening sockets inherited, and this one drains once it runs
// (nginx's binary upgrade). With NOTIFY_SOCKET set the master reports
// READY=1, RELOADING=1 and STOPPING=1 to systemd (written by hand: no
// libsystemd). Set-up errors throw std::system_error. The master must
// have no loop or thread running when it forks.
// Tests: tests/examples/process_test.py.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <squall/engine/socket.hpp>
#include <squall/engine/time.hpp>

namespace squall {

struct process_options {
    unsigned processes = 0;  // 0: one per core
    unsigned max_restarts = 100;
    clock::duration restart_window = std::chrono::seconds(60);
    // The command line for a binary upgrade (SIGUSR2); empty: SIGUSR2
    // is ignored. argv[0] is replaced by the running binary's path.
    std::vector<std::string> argv;
};

// The inherited listening sockets (LISTEN_FDS for this pid), taken once:
// the variables are cleared so children and exec'd programs do not take
// them again. Empty when none were passed.
std::vector<unique_fd> inherited_sockets();

// inherited_sockets(), else one socket listening on `addr`.
std::vector<unique_fd> bind_sockets(const address& addr, const listen_options& opts = {});

// In each child: its task id. The master does not return.
// The master closes its copies of `sockets` when it stops.
int fork_processes(const process_options& opts, std::vector<unique_fd>& sockets);

// The task id of this child, or nullopt outside fork_processes.
std::optional<int> task_id() noexcept;

// Connections spread by open count: each child counts its open
// connections in memory shared with its siblings, and one with more than
// one above the least loaded sibling leaves the next connection to the
// others (should_defer_accept; the accept loop then waits a little before
// arming its accept). Outside fork_processes these do nothing.
void connection_opened() noexcept;
void connection_closed() noexcept;
bool should_defer_accept() noexcept;

// Sends `state` ("READY=1", ...) to $NOTIFY_SOCKET; false when unset or
// the send failed (logged).
bool notify_systemd(std::string_view state);

}  // namespace squall
