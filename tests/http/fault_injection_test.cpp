// The HTTP connection over a test_stream: a scripted exchange (pipelined
// GETs, a POST with a body, a keep-alive end) run with its n-th operation
// failing, for every n until it succeeds without reaching the failure
// (Boost.Beast's fail_count pattern), and with its input cut at every byte.
// Each run must end (no hang), free everything (ASan's leak check at exit),
// and have written a prefix of the full answer: no response lost before
// the failure, none duplicated, nothing after a failed write.
#include <gtest/gtest.h>

#include <memory>
#include <regex>
#include <string>

#include <squall/engine/loop.hpp>
#include <squall/engine/test_stream.hpp>
#include <squall/engine/time.hpp>
#include <squall/http/application.hpp>
#include <squall/http/detail/connection.hpp>

using namespace squall;
using namespace squall::http;
using namespace std::chrono_literals;

namespace {

const std::string get_hello = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
const std::string post_echo = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world";
const std::string get_last = "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

task<void> hello(request_handler& h) {
    h.write("hello");
    co_return;
}

task<void> echo(request_handler& h) {
    h.write(h.body());
    co_return;
}

// A handler that suspends twice (a flush of a streamed body, then a
// sleep) with the request read and nothing behind it yet: the connection
// watches the stream for the client leaving meanwhile (close_watch.hpp),
// and that watch's read is one of the operations that fail.
task<void> slow(request_handler& h) {
    h.write("part one,");
    auto f = co_await h.flush();
    if (!f) co_return;
    auto z = co_await sleep(1ms);
    if (!z) co_return;
    h.write("part two");
}

std::unique_ptr<application> make_app() {
    app_settings s;
    s.access_log = false;
    auto app = std::make_unique<application>(std::move(s));
    app->get("/hello", hello);
    app->post("/echo", echo);
    app->get("/slow", slow);
    return app;
}

std::string without_dates(const std::string& s) {
    static const std::regex date("Date: [^\r]*(\r\n|\r$|$)");  // a cut one too
    return std::regex_replace(s, date, "Date: -\r\n");
}

struct outcome {
    bool ended = false;  // run() returned before the guard deadline
    std::string output;
};

task<bool> serve(http::detail::connection* c) {
    auto run = c->run();
    auto r = co_await with_timeout(10s, std::move(run));
    co_return r.has_value();
}

// One run of the exchange; `chunks` is the input as the client sends it.
outcome run_exchange(const application& app, const std::vector<std::string>& chunks, fail_count* fc,
                     std::size_t write_size) {
    loop l;
    auto owned = std::make_unique<test_stream>(fc);
    test_stream* s = owned.get();
    s->write_size(write_size);
    for (const auto& c : chunks) s->append(c);
    s->end_input();
    auto conn = std::make_unique<http::detail::connection>(std::move(owned), app);
    outcome out;
    out.ended = l.run_sync(serve(conn.get()));
    out.output = without_dates(std::string(s->output()));
    return out;
}

std::vector<std::string> script() { return {get_hello + post_echo.substr(0, 40), post_echo.substr(40) + get_last}; }

std::string expected_answer(const application& app) {
    outcome full = run_exchange(app, {get_hello + post_echo + get_last}, nullptr, 1 << 20);
    EXPECT_TRUE(full.ended);
    return full.output;
}

}  // namespace

TEST(http_fault_injection, the_full_exchange_answers_each_request_once_in_order) {
    auto app = make_app();
    std::string answer = expected_answer(*app);
    auto at = [&](std::string_view what, std::size_t from) { return answer.find(what, from); };
    std::size_t first = at("HTTP/1.1 200", 0), second = at("HTTP/1.1 200", first + 1),
                third = at("HTTP/1.1 200", second + 1);
    ASSERT_NE(third, std::string::npos) << answer;
    EXPECT_EQ(at("HTTP/1.1", third + 1), std::string::npos);  // three responses, no more
    EXPECT_NE(answer.find("\r\n\r\nhello world", second), std::string::npos);
    EXPECT_NE(answer.find("Connection: close", third), std::string::npos);
}

TEST(http_fault_injection, every_operation_failed_in_turn) {
    auto app = make_app();
    const std::string answer = expected_answer(*app);
    for (std::size_t write_size : {std::size_t(1) << 20, std::size_t(37)}) {
        std::size_t n = 0;
        for (; n < 1000; ++n) {
            fail_count fc(n);
            outcome o = run_exchange(*app, script(), &fc, write_size);
            ASSERT_TRUE(o.ended) << "hang with operation " << n << " failing";
            if (!fc.reached()) {
                EXPECT_EQ(o.output, answer) << "n = " << n;
                break;
            }
            // What went out before the failure, and nothing else.
            EXPECT_EQ(answer.substr(0, o.output.size()), o.output) << "n = " << n << ", write_size " << write_size;
        }
        EXPECT_LT(n, 1000u);
        EXPECT_GT(n, 3u);  // the exchange has several operations to fail
    }
}

TEST(http_fault_injection, every_operation_failed_in_turn_while_a_handler_waits) {
    auto app = make_app();
    const std::string get_slow = "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n";
    const std::vector<std::string> chunks = {get_slow, get_last};
    const std::string answer = run_exchange(*app, chunks, nullptr, 1 << 20).output;
    // Both answered, the streamed one chunked with both parts.
    ASSERT_EQ(answer.find("HTTP/1.1 200"), 0u) << answer;
    EXPECT_NE(answer.find("Transfer-Encoding: chunked"), std::string::npos) << answer;
    EXPECT_NE(answer.find("9\r\npart one,\r\n"), std::string::npos) << answer;
    EXPECT_NE(answer.find("8\r\npart two\r\n0\r\n\r\n"), std::string::npos) << answer;
    EXPECT_NE(answer.find("\r\n\r\nhello", answer.find("HTTP/1.1 200", 1)), std::string::npos) << answer;
    for (std::size_t write_size : {std::size_t(1) << 20, std::size_t(29)}) {
        std::size_t n = 0;
        for (; n < 1000; ++n) {
            fail_count fc(n);
            outcome o = run_exchange(*app, chunks, &fc, write_size);
            ASSERT_TRUE(o.ended) << "hang with operation " << n << " failing";
            if (!fc.reached()) {
                EXPECT_EQ(o.output, answer) << "n = " << n;
                break;
            }
            EXPECT_EQ(answer.substr(0, o.output.size()), o.output) << "n = " << n << ", write_size " << write_size;
        }
        EXPECT_LT(n, 1000u);
        EXPECT_GT(n, 3u);
    }
}

TEST(http_fault_injection, input_cut_at_every_byte) {
    auto app = make_app();
    const std::string answer = expected_answer(*app);
    const std::string input = get_hello + post_echo + get_last;
    for (std::size_t cut = 1; cut < input.size(); ++cut) {
        outcome o = run_exchange(*app, {input.substr(0, cut), input.substr(cut)}, nullptr, 1 << 20);
        ASSERT_TRUE(o.ended) << "cut at " << cut;
        EXPECT_EQ(o.output, answer) << "cut at " << cut;
    }
}

TEST(http_fault_injection, a_read_reset_ends_the_connection_with_the_answers_before_it) {
    auto app = make_app();
    const std::string answer = expected_answer(*app);
    // Operation 0 reads the first chunk (the GET and part of the POST),
    // 1 sends the GET's answer, 2 (the read of the rest) fails.
    fail_count fc(2, make_error_code(std::errc::connection_reset));
    outcome o = run_exchange(*app, script(), &fc, 1 << 20);
    ASSERT_TRUE(o.ended);
    EXPECT_TRUE(fc.reached());
    EXPECT_EQ(o.output.find("HTTP/1.1 200"), 0u);
    EXPECT_EQ(o.output.find("HTTP/1.1", 1), std::string::npos);  // the POST got no answer
}
