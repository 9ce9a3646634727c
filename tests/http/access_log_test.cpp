// The access log (http/access_log.hpp): Tornado's levels by status, the
// log_function hook, and an entry, with its time, for every kind of
// answer: a handler's, an early one from the head (400, 405, 413, 501).
#include <gtest/gtest.h>

#include <mutex>
#include <string>
#include <vector>

#include "../engine/log_capture.hpp"
#include "loopback_server.hpp"
#include <squall/http/application.hpp>

using namespace squall;
using namespace squall::http;
using namespace squall::http::testing;

namespace {

struct entries {
    std::mutex mu;
    std::vector<std::string> lines;  // "<status> <method> <target> <note>"
    std::vector<double> times;
    void add(const access_entry& e) {
        std::lock_guard lk(mu);
        lines.push_back(std::to_string(e.status) + " " + std::string(e.method) + " " + std::string(e.target) +
                        (e.note.empty() ? "" : " " + std::string(e.note)));
        times.push_back(e.ms);
    }
    std::vector<std::string> take() {
        std::lock_guard lk(mu);
        return lines;
    }
};

std::unique_ptr<application> make_app(app_settings s) {
    s.max_body = 1024;
    auto app = std::make_unique<application>(std::move(s));
    app->get("/ok", [](request_handler& h) -> task<void> {
        h.write("ok");
        co_return;
    });
    app->get("/teapot", [](request_handler& h) -> task<void> {
        h.set_status(418);
        co_return;
    });
    app->get("/fail", [](request_handler&) -> task<void> {
        throw std::runtime_error("handler failed");
        co_return;
    });
    return app;
}

// One request on its own connection; waits for the answer.
void ask(const loopback_server& server, std::string raw) {
    raw_client c(server.port());
    ASSERT_TRUE(c.send(raw));
    auto r = c.read_response();
    ASSERT_TRUE(r) << raw;
}

}  // namespace

TEST(access_log, levels_follow_tornado) {
    EXPECT_EQ(access_level(200), spdlog::level::info);
    EXPECT_EQ(access_level(101), spdlog::level::info);
    EXPECT_EQ(access_level(399), spdlog::level::info);
    EXPECT_EQ(access_level(400), spdlog::level::warn);
    EXPECT_EQ(access_level(499), spdlog::level::warn);
    EXPECT_EQ(access_level(500), spdlog::level::err);
}

TEST(access_log, default_lines_at_tornado_levels) {
    squall::testing::log_capture log;
    loopback_server server(make_app({}));
    ask(server, "GET /ok HTTP/1.1\r\nHost: x\r\n\r\n");
    ask(server, "GET /teapot HTTP/1.1\r\nHost: x\r\n\r\n");
    ask(server, "GET /fail HTTP/1.1\r\nHost: x\r\n\r\n");
    server.stop();
    std::string text = log.text();
    EXPECT_NE(text.find("[info] 200 GET /ok (127.0.0.1) "), std::string::npos) << text;
    EXPECT_NE(text.find("[warning] 418 GET /teapot (127.0.0.1) "), std::string::npos) << text;
    EXPECT_NE(text.find("[error] 500 GET /fail (127.0.0.1) "), std::string::npos) << text;
}

TEST(access_log, log_function_takes_every_entry_early_answers_included) {
    squall::testing::log_capture log;
    entries got;
    app_settings s;
    s.log_function = [&got](const access_entry& e) { got.add(e); };
    loopback_server server(make_app(std::move(s)));
    ask(server, "GET /ok HTTP/1.1\r\nHost: x\r\n\r\n");
    ask(server, "POST /ok HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");      // 405 from the head
    ask(server, "BREW /ok HTTP/1.1\r\nHost: x\r\n\r\n");                           // 501
    ask(server, "POST /ok HTTP/1.1\r\nHost: x\r\nContent-Length: 99999\r\n\r\n");  // 413 before the body
    ask(server, "GET /ok HTTP/1.1\r\n\r\n");                                       // 400: no Host
    server.stop();
    auto lines = got.take();
    ASSERT_EQ(lines.size(), 5u);
    EXPECT_EQ(lines[0], "200 GET /ok");
    EXPECT_TRUE(lines[1].starts_with("405 POST /ok")) << lines[1];
    EXPECT_TRUE(lines[2].starts_with("501 ")) << lines[2];  // a method llhttp does not know: no head to name
    EXPECT_TRUE(lines[3].starts_with("413 POST /ok")) << lines[3];
    EXPECT_TRUE(lines[4].starts_with("400 ")) << lines[4];
    for (double ms : got.times) {
        EXPECT_GE(ms, 0.0);
        EXPECT_LT(ms, 60'000.0);  // measured from this request's first byte, not a stale start
    }
    // The hook replaces the default line.
    EXPECT_EQ(log.text().find("GET /ok (127.0.0.1)"), std::string::npos) << log.text();
}

TEST(access_log, off_means_no_entry) {
    squall::testing::log_capture log;
    entries got;
    app_settings s;
    s.access_log = false;
    s.log_function = [&got](const access_entry& e) { got.add(e); };
    loopback_server server(make_app(std::move(s)));
    ask(server, "GET /ok HTTP/1.1\r\nHost: x\r\n\r\n");
    server.stop();
    EXPECT_TRUE(got.take().empty());
    EXPECT_EQ(log.text().find("GET /ok"), std::string::npos);
}
