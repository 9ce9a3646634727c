// Shared by the end-to-end bad-input tests (bad_input_test.cpp,
// slow_client_test.cpp): the server they run (a few routes on a
// loopback_server), request builders and the checks every row repeats.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "loopback_server.hpp"
#include <squall/http/application.hpp>

using namespace squall;
using namespace squall::http;
using namespace squall::http::testing;
using namespace std::chrono_literals;

namespace squall::http::testing {

using steady = std::chrono::steady_clock;

inline std::atomic<int> big_calls{0};
inline constexpr std::size_t big_size = 8u << 20;  // more than loopback's socket buffers hold

inline task<void> root(request_handler& h) {
    h.write("root");
    co_return;
}

inline task<void> hello(request_handler& h) {
    h.write("hello");
    co_return;
}

inline task<void> by_id(request_handler& h) {
    h.write("id=" + h.path_args().at(0));
    co_return;
}

inline task<void> big(request_handler& h) {
    ++big_calls;
    h.write(std::string(big_size, 'b'));
    co_return;
}

// The body back, and which content coding the handler saw.
inline task<void> echo(request_handler& h) {
    auto coding = h.request().headers.get("content-encoding");
    auto consumed = h.request().headers.get("x-consumed-content-encoding");
    h.set_header("X-Saw-Encoding", coding ? *coding : "-");
    h.set_header("X-Consumed", consumed ? *consumed : "-");
    h.write(h.body());
    co_return;
}

inline app_settings base_settings() {
    app_settings s;
    s.access_log = false;
    return s;
}

inline std::unique_ptr<loopback_server> start(app_settings s = base_settings(), listener_options lo = {},
                                              bool serve_now = true) {
    auto app = std::make_unique<application>(std::move(s));
    app->get("/", root);
    app->get("/hello", hello);
    app->get("/id/([0-9]+)", by_id);
    app->get("/big", big);
    app->post("/echo", echo);
    return std::make_unique<loopback_server>(std::move(app), lo, serve_now);
}

inline std::string get(std::string_view path, std::string_view extra = {}) {
    return "GET " + std::string(path) + " HTTP/1.1\r\nHost: t\r\n" + std::string(extra) + "\r\n";
}

inline std::string post(std::string_view path, std::string_view body, std::string_view extra = {}) {
    return "POST " + std::string(path) + " HTTP/1.1\r\nHost: t\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\n" + std::string(extra) + "\r\n" + std::string(body);
}

inline std::string printable(std::string_view raw) {
    std::string out;
    for (char c : raw.substr(0, 160)) {
        if (c == '\r') out += "\\r";
        else if (c == '\n') out += "\\n";
        else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) out += "\\x" + std::to_string(int(c));
        else out += c;
    }
    return out;
}

inline long long ms_since(steady::time_point t0) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - t0).count();
}

// A new client gets GET / answered.
inline void expect_served(loopback_server& srv) {
    raw_client c(srv.port());
    ASSERT_TRUE(c.send(get("/")));
    auto r = c.read_response();
    ASSERT_TRUE(r) << "another client was not served";
    EXPECT_EQ(r->status_line, "HTTP/1.1 200 OK");
    EXPECT_EQ(r->body, "root");
}

// `raw` on a new connection gets exactly `status_line` with Connection:
// close, then the connection ends; other clients are still served.
inline void expect_rejected(loopback_server& srv, std::string_view raw, std::string_view status_line) {
    SCOPED_TRACE(printable(raw));
    raw_client c(srv.port());
    ASSERT_TRUE(c.send(raw));
    auto r = c.read_response();
    ASSERT_TRUE(r) << "no response";
    EXPECT_EQ(r->status_line, status_line);
    EXPECT_TRUE(r->closes()) << "no Connection: close";
    EXPECT_TRUE(c.eof_next()) << "not closed after the error; got: " << printable(c.unexpected());
    expect_served(srv);
}

inline void expect_all_rejected(std::initializer_list<std::string_view> raws, std::string_view status_line) {
    auto srv = start();
    for (auto raw : raws) expect_rejected(*srv, raw, status_line);
}

inline constexpr std::string_view bad_request = "HTTP/1.1 400 Bad Request";

}  // namespace squall::http::testing
