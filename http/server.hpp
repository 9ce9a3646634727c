// Serving an application: Tornado's HTTPServer + IOLoop.start in one call.
//
// serve() runs run_server (engine/server.hpp): one loop per thread, each
// with its own SO_REUSEPORT listener, and a graceful stop on SIGINT or
// SIGTERM (stop accepting, let requests in progress finish within the
// drain time). serve_listener() is one loop's part, for embedding squall
// in a loop of one's own and for tests. The application must outlive the
// serving. Tests: tests/http/handler_test.cpp, tests/http/clients_test.py.
#pragma once

#include <cstdint>
#include <string>

#include <squall/engine/cancel.hpp>
#include <squall/engine/listener.hpp>
#include <squall/engine/server.hpp>
#include <squall/engine/stream.hpp>
#include <squall/engine/task.hpp>
#include <squall/http/application.hpp>

namespace squall::http {

struct server_options {
    std::string host = "127.0.0.1";
    std::uint16_t port = 8888;
    squall::server_options run;  // threads, drain time, ring options
    stream_options stream;       // receive path and SEND_ZC switches
    listener_options listener;
};

int serve(const application& app, const server_options& opts);

// Accepts on `l` and serves each connection until `shutdown` fires; open
// connections then finish their current request (Connection: close) and
// idle keep-alive connections close.
task<void> serve_listener(listener* l, const application* app, stream_options opts, cancel_token shutdown);

// Serves one accepted connection to the end; once `shutdown` fires it
// serves no further request (an idle connection closes at once).
task<void> serve_connection(unique_fd fd, const application* app, stream_options opts, cancel_token shutdown = {});

}  // namespace squall::http
