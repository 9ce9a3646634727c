// The access log: one entry per response, Tornado's log_request.
//
// The connection makes an access_entry for every response it queues (a
// handler's, an error answered from the head alone such as 400, 405, 413
// or 501, a 101 handed over by detach()) and for a request whose client
// left before the answer (status 499, nginx's "client closed request").
// With app_settings::access_log on, app_settings::log_function gets it
// when set (Tornado's log_function setting), else log_access() writes
// "<status> <method> <target> (<ip>) <ms>ms" through spdlog at Tornado's
// levels: info below 400, warning below 500, error from 500. The views
// are valid during the call only. Loop thread. Tests:
// tests/http/access_log_test.cpp.
#pragma once

#include <spdlog/common.h>

#include <string_view>

namespace squall::http {

struct access_entry {
    int status = 0;
    std::string_view method;
    std::string_view target;
    std::string_view remote_ip;
    double ms = 0;          // from the request's first byte to its answer being queued
    std::string_view note;  // why, for an error answered from the head; else empty
};

// Tornado's level for a status: info < 400 <= warning < 500 <= error.
spdlog::level::level_enum access_level(int status) noexcept;
void log_access(const access_entry& e);

}  // namespace squall::http
