// Serving on listening sockets made elsewhere: by bind_sockets() before
// fork_processes() (engine/process.hpp), inherited from systemd's socket
// activation or from the master of a binary upgrade.
//
// serve_sockets() runs run_server (engine/server.hpp) with opts.run's
// threads; every loop accepts on every socket (each loop its own dup).
// The sockets are shared with sibling loops and processes, so accepts are
// one-shot (one in flight per loop): a multishot accept would let the
// first loop to arm it take every connection, while one-shot accepts are
// woken in turn and spread connections evenly (tests/examples/
// process_test.py measures it). SIGHUP reloads the TLS certificates,
// SIGUSR1 reopens the log file (engine/log_file.hpp). At a graceful stop
// each loop stops accepting without dropping a connection its accept
// was already handed (listener::stop_accepting): those are served, the
// rest wait in the shared backlog for the processes that go on (a binary
// upgrade's new children). opts.host/port are not used. `app` must
// outlive the call; the sockets are taken (each loop gets its own copy and
// closes it when it stops accepting). Returns the exit code.
// Tests: tests/examples/process_test.py, tests/examples/upgrade_test.py.
#pragma once

#include <vector>

#include <squall/engine/socket.hpp>
#include <squall/http/application.hpp>
#include <squall/http/server.hpp>

namespace squall::http {

int serve_sockets(const application& app, const server_options& opts, std::vector<unique_fd> sockets);

}  // namespace squall::http
