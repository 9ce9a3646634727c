// squall-server's production switches: pre-forked processes (engine/
// process.hpp), the PROXY protocol and trusted proxies (http/proxy.hpp),
// the lame-duck period, a log file that SIGUSR1 reopens; and the routes a
// load balancer and its operator use: GET /healthz (http/health.hpp) and
// GET /whoami ({"remote_ip", "scheme", "pid", "task_id"} as the handler
// sees them). Tests: tests/examples/process_test.py,
// tests/examples/proxy_peers_test.py.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <squall/engine/log_file.hpp>
#include <squall/engine/process.hpp>
#include <squall/http/application.hpp>
#include <squall/http/health.hpp>
#include <squall/http/server.hpp>

namespace squall::examples {

struct production_flags {
    unsigned processes = 1;
    unsigned max_restarts = 100;
    bool proxy_protocol = false;
    std::vector<std::string> trusted;
    double lame_duck_seconds = 0;
    double proxy_header_seconds = 5;
    std::string log_file;
};

inline void add_production_flags(CLI::App& app, production_flags& f) {
    app.add_option("--processes", f.processes,
                   "pre-forked processes on the one listening socket (0: one per core; 1: no master)")
        ->capture_default_str();
    app.add_option("--max-restarts", f.max_restarts, "child restarts allowed per minute before the master gives up")
        ->capture_default_str();
    app.add_flag("--proxy-protocol", f.proxy_protocol, "every connection starts with a PROXY v1/v2 header");
    app.add_option("--proxy-header-timeout", f.proxy_header_seconds,
                   "seconds a connection gets to send its PROXY header");
    app.add_option("--trusted-proxy", f.trusted,
                   "CIDR whose X-Forwarded-For/Forwarded/X-Real-Ip are believed (repeatable)");
    app.add_option("--lame-duck", f.lame_duck_seconds,
                   "seconds /healthz answers 503 while still accepting, after SIGTERM, before the drain");
    app.add_option("--log-file", f.log_file, "log (and access log) to this file; SIGUSR1 reopens it");
}

// Applies the switches to the application settings and serving options;
// exits with 2 on a bad CIDR.
inline void apply_production_flags(const production_flags& f, http::app_settings& s, http::server_options& so) {
    s.proxy.proxy_protocol = f.proxy_protocol;
    s.proxy.proxy_header_timeout = std::chrono::milliseconds(static_cast<long>(f.proxy_header_seconds * 1000));
    for (const auto& t : f.trusted) {
        auto c = http::cidr::parse(t);
        if (!c) {
            std::fprintf(stderr, "--trusted-proxy wants a CIDR such as 10.0.0.0/8 or ::1, got %s\n", t.c_str());
            std::exit(2);
        }
        s.proxy.trusted.push_back(*c);
    }
    so.run.lame_duck = std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(f.lame_duck_seconds));
}

inline task<void> whoami(http::request_handler& h) {
    auto id = task_id();
    h.write(nlohmann::json{{"remote_ip", h.remote_ip()},
                           {"scheme", h.protocol()},
                           {"pid", ::getpid()},
                           {"task_id", id ? nlohmann::json(*id) : nlohmann::json(nullptr)}});
    co_return;
}

inline void add_production_routes(http::application& app) {
    http::add_health_route(app, "/healthz");
    app.get("/whoami", whoami);
}

}  // namespace squall::examples
