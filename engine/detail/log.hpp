// Logging helpers shared by the engine (spdlog underneath).
#pragma once

#include <exception>

namespace squall::detail {

// Logs an exception that escaped a task or callback, naming where it came
// from; never throws.
void log_exception(const char* where, std::exception_ptr e) noexcept;

}  // namespace squall::detail
