// A WebSocket session over a test_stream, through the whole server path:
// the HTTP connection parses the upgrade, the handler answers 101 and
// takes the stream over with detach() (by unique_ptr: the HTTP side keeps
// nothing), then echoes two messages, answers a ping and the client's
// close. The exchange runs with its n-th operation failing, for every n
// until it succeeds without reaching the failure (Boost.Beast's fail_count
// pattern), and with its input cut at every byte. Each run must end (no
// hang), free everything (ASan's leak check), write a prefix of the full
// answer (no frame lost before the failure, none twice), and report the
// peer's close code exactly: none before the session opened, 1006 until
// the client's close was read, 1000 for every failure after it.
#include <gtest/gtest.h>

#include <memory>
#include <regex>
#include <string>

#include "tests/ws/frames.hpp"
#include <squall/engine/loop.hpp>
#include <squall/engine/test_stream.hpp>
#include <squall/engine/time.hpp>
#include <squall/http/application.hpp>
#include <squall/http/detail/connection.hpp>
#include <squall/ws/handler.hpp>

using namespace squall;
using namespace std::chrono_literals;
using squall::ws::testing::close_payload;
using squall::ws::testing::frame_spec;
using squall::ws::testing::make_frame;

namespace {

std::uint16_t last_close_code = 0;

class echo_socket : public ws::websocket_handler {
public:
    task<void> on_message(ws::message m) override {
        std::string copy(m.data);
        auto r = co_await write_message(copy, m.binary);
        (void)r;
    }
    void on_close() override { last_close_code = close_code(); }
};

frame_spec opcode_of(std::uint8_t op) {
    frame_spec f;
    f.op = op;
    return f;
}

const std::string upgrade =
    "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

std::string session_input() {
    return upgrade + make_frame("hello") + make_frame("ping!", opcode_of(9)) + make_frame("world") +
           make_frame(close_payload(1000), opcode_of(8));
}

std::unique_ptr<http::application> make_app() {
    http::app_settings s;
    s.access_log = false;
    auto app = std::make_unique<http::application>(std::move(s));
    app->add<echo_socket>("/ws");
    return app;
}

struct outcome {
    bool ended = false;
    std::string output;  // what the server sent, Date fields blanked
    std::uint16_t close_code = 0;
};

task<bool> serve(http::detail::connection* c) {
    auto run = c->run();
    auto r = co_await with_timeout(10s, std::move(run));
    co_return r.has_value();
}

// Everything the server sent, read on the client's side of the pair.
task<std::string> received(test_stream* client) {
    std::string out;
    for (;;) {
        auto c = co_await client->read_some(clock::now() + 1s);
        if (!c) co_return out;
        out.append(reinterpret_cast<const char*>(c->bytes().data()), c->size());
    }
}

outcome run_session(const http::application& app, const std::vector<std::string>& chunks, fail_count* fc,
                    std::size_t write_size) {
    loop l;
    auto [server, client] = test_stream::pair(fc, nullptr);
    server->write_size(write_size);
    for (const auto& c : chunks) server->append(c);
    server->end_input();
    last_close_code = 0;
    auto conn = std::make_unique<http::detail::connection>(std::move(server), app);
    outcome out;
    out.ended = l.run_sync(serve(conn.get()));
    conn.reset();  // the HTTP side's memory goes; the stream went with the session
    static const std::regex date("Date: [^\r]*(\r\n|\r$|$)");  // a cut one too
    out.output = std::regex_replace(l.run_sync(received(client.get())), date, "Date: -\r\n");
    out.close_code = last_close_code;
    return out;
}

std::string expected_answer(const http::application& app) {
    outcome full = run_session(app, {session_input()}, nullptr, 1 << 20);
    EXPECT_TRUE(full.ended);
    EXPECT_EQ(full.close_code, 1000);
    return full.output;
}

}  // namespace

TEST(fault_injection, the_full_session_answers_everything_once) {
    auto app = make_app();
    std::string answer = expected_answer(*app);
    frame_spec plain;
    plain.masked = false;
    std::string frames = make_frame("hello", plain);
    plain.op = 10;
    frames += make_frame("ping!", plain);
    plain.op = 1;
    frames += make_frame("world", plain);
    plain.op = 8;
    frames += make_frame(close_payload(1000), plain);
    ASSERT_EQ(answer.rfind("HTTP/1.1 101 ", 0), 0u) << answer;
    EXPECT_NE(answer.find("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"), std::string::npos);
    ASSERT_GE(answer.size(), frames.size());
    EXPECT_EQ(answer.substr(answer.size() - frames.size()), frames);
    EXPECT_EQ(answer.find("\r\n\r\n") + 4, answer.size() - frames.size());
}

TEST(fault_injection, every_operation_failed_in_turn) {
    auto app = make_app();
    const std::string answer = expected_answer(*app);
    const std::string input = session_input();
    for (std::size_t write_size : {std::size_t(1) << 20, std::size_t(5)}) {
        std::size_t n = 0, abnormal = 0;
        bool close_seen = false;
        for (; n < 1000; ++n) {
            fail_count fc(n);
            outcome o = run_session(*app, {input.substr(0, upgrade.size() + 3), input.substr(upgrade.size() + 3)}, &fc,
                                    write_size);
            ASSERT_TRUE(o.ended) << "hang with operation " << n << " failing";
            if (!fc.reached()) {
                EXPECT_EQ(o.output, answer) << "n = " << n;
                EXPECT_EQ(o.close_code, 1000);
                break;
            }
            EXPECT_EQ(answer.substr(0, o.output.size()), o.output) << "n = " << n << ", write_size " << write_size;
            // Each index's outcome is exact: a session whose 101 did not go
            // out whole never opened and reports no close (0); one that
            // opened reports 1006 until the client's close is read, and
            // 1000 for every failure after that, never 1006 again.
            const bool opened = o.output.find("\r\n\r\n") != std::string::npos;
            if (!opened) {
                EXPECT_EQ(o.close_code, 0) << "n = " << n;
            } else if (close_seen) {
                EXPECT_EQ(o.close_code, 1000) << "n = " << n << ": a failure after the close was read";
            } else {
                EXPECT_TRUE(o.close_code == 1006 || o.close_code == 1000) << "n = " << n << ": " << o.close_code;
            }
            close_seen = close_seen || o.close_code == 1000;
            if (o.close_code == 1006) ++abnormal;
        }
        EXPECT_TRUE(close_seen) << "no failure came after the close was read";
        EXPECT_GT(abnormal, 0u) << "no failure came between the open and the close";
        EXPECT_LT(n, 1000u);
        EXPECT_GT(n, 5u);
    }
}

TEST(fault_injection, input_cut_at_every_byte) {
    auto app = make_app();
    const std::string answer = expected_answer(*app);
    const std::string input = session_input();
    for (std::size_t cut = 1; cut < input.size(); ++cut) {
        outcome o = run_session(*app, {input.substr(0, cut), input.substr(cut)}, nullptr, 1 << 20);
        ASSERT_TRUE(o.ended) << "cut at " << cut;
        EXPECT_EQ(o.output, answer) << "cut at " << cut;
        EXPECT_EQ(o.close_code, 1000) << "cut at " << cut;
    }
}
