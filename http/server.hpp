// Serving an application: Tornado's HTTPServer + IOLoop.start in one call.
//
// serve() runs run_server (engine/server.hpp): one loop per thread, each
// with its own SO_REUSEPORT listener, and a graceful stop on SIGINT or
// SIGTERM (stop accepting, let requests in progress finish within the
// drain time). `host` is an address or a name: it is resolved once at
// start (getaddrinfo, /etc/hosts included) and every address it names is
// served, as Tornado's bind_sockets does ("localhost": 127.0.0.1 and ::1
// where IPv6 is up); a name that resolves to nothing throws
// std::runtime_error. on_start runs on each serving loop before it
// accepts: set up periodic callbacks and workers there (a loop made by
// the caller before serve() is not the serving loop, so what is set up
// on it never runs; serve() warns when it sees one). serve_listener() is
// one loop's part, for embedding squall in a loop of one's own and for
// tests. The application must outlive the serving.
// Tests: tests/http/serve_test.cpp, tests/http/handler_test.cpp, tests/http/clients_test.py.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <squall/engine/cancel.hpp>
#include <squall/engine/listener.hpp>
#include <squall/engine/server.hpp>
#include <squall/engine/stream.hpp>
#include <squall/engine/task.hpp>
#include <squall/engine/tls.hpp>
#include <squall/http/application.hpp>

namespace squall::http {

struct server_options {
    std::string host = "127.0.0.1";  // an address or a host name
    std::uint16_t port = 8888;
    squall::run_options run;  // threads, drain time, ring options
    stream_options stream;    // receive path and SEND_ZC switches
    // HTTPS: the server context (engine/tls.hpp) its connections speak TLS
    // with (a tls_stream over each socket stream, after any PROXY header);
    // null: plain HTTP. SIGHUP reloads its certificates.
    std::shared_ptr<tls_context> tls;
    listener_options listener;
    // Spawned on each serving loop (its thread, loop::current()) before
    // it accepts, under the shutdown token: keep what it sets up in its
    // frame, and return once that token fires (a wait such as sleep()
    // ends then with errc::canceled); the graceful stop waits for it.
    using start_fn = std::function<task<void>(cancel_token shutdown)>;
    start_fn on_start;
};

int serve(const application& app, const server_options& opts);

// The addresses `host` names, for `port`: a literal address as it is,
// a name through getaddrinfo (duplicates dropped); std::runtime_error,
// naming the host, when there are none.
std::vector<address> resolve_host(const std::string& host, std::uint16_t port);

// Accepts on `l` and serves each connection until `shutdown` fires; open
// connections then finish their current request (Connection: close) and
// idle keep-alive connections close. With `tls` they speak HTTPS.
task<void> serve_listener(listener* l, const application* app, stream_options opts, cancel_token shutdown,
                          std::shared_ptr<tls_context> tls = nullptr);

// Serves one accepted connection to the end; once `shutdown` fires it
// serves no further request (an idle connection closes at once).
task<void> serve_connection(unique_fd fd, const application* app, stream_options opts, cancel_token shutdown = {},
                            std::shared_ptr<tls_context> tls = nullptr);

}  // namespace squall::http
