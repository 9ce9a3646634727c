// Logging to a file that logrotate can move: log_to_file(path) makes
// spdlog's default logger append to `path`; reopen_log_file() (SIGUSR1 in
// serve_sockets, http/process_server.hpp) closes and reopens it, so that
// after logrotate renamed the file the next lines go to a new one. Any
// thread; lines being written while it reopens wait on the sink's mutex.
// Throws spdlog::spdlog_ex when the file cannot be opened at first; a
// failed reopen is reported on stderr and logging goes on in the old file.
// Tests: tests/examples/process_test.py (logrotate-style rename + SIGUSR1).
#pragma once

#include <string>

namespace squall {

void log_to_file(const std::string& path);
// Whether a log file was set up; a no-op returning false otherwise.
bool reopen_log_file();

}  // namespace squall
