// A health route for load balancers: 200 "ok" while serving, 503
// "stopping" from the moment a graceful stop begins (squall::stopping(),
// engine/server.hpp), during the lame-duck period in which the listeners
// still accept, so that the balancer's checks take the server out before
// its listeners close. Answers GET and HEAD, HTTP/1.0 without Host too
// (HAProxy's `option httpchk GET /healthz`). `app` is borrowed for the
// call. Tests: tests/examples/process_test.py, tests/examples/proxy_peers_test.py.
#pragma once

#include <string>

#include <squall/http/application.hpp>

namespace squall::http {

void add_health_route(application& app, std::string path = "/healthz");

}  // namespace squall::http
