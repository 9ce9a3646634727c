// websocket_handler (ws/handler.hpp) behind the HTTP server, driven by a raw
// socket: the 101 answer and its fields, the answers to bad upgrades of
// shared/BAD_INPUT.md (400, 403, 426), subprotocol and permessage-deflate
// negotiation, frames sent in the same packet as the handshake, the hooks
// (open, on_message, on_close), backpressure (the next frame is not read
// while on_message runs), a handler exception closing with 1011, and a
// reset client leaving nothing behind.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "tests/http/loopback_server.hpp"
#include "tests/ws/frames.hpp"
#include <squall/engine/time.hpp>
#include <squall/ws/handler.hpp>
#include <squall/ws/handshake.hpp>

using namespace squall;
using namespace squall::ws;
using namespace squall::ws::testing;
using namespace std::chrono_literals;
using http::testing::loopback_server;
using http::testing::raw_client;

namespace {

// What the hooks saw, read by the test thread after the server stopped
// serving the connection (atomics: written on the loop thread).
struct hook_log {
    std::atomic<int> opened{0};
    std::atomic<int> closed{0};
    std::atomic<int> close_code{0};
    std::atomic<int> in_message{0};      // on_message calls running now
    std::atomic<int> max_in_message{0};  // most at once: 1 means frames wait for the handler
};

hook_log g_log;

class echo_socket : public websocket_handler {
public:
    echo_socket() {
        ws_options.deflate.enabled = true;
        ws_options.max_message_size = 4096;
    }
    task<void> open() override {
        ++g_log.opened;
        co_return;
    }
    task<void> on_message(message m) override {
        int now = ++g_log.in_message;
        if (now > g_log.max_in_message) g_log.max_in_message = now;
        std::string text(m.data);
        if (text == "slow") co_await sleep(30ms);  // frames behind it must wait
        if (text == "throw") throw std::runtime_error("handler failed");
        if (text == "bye") {
            result<void> c = co_await close(4001, "asked to");
            (void)c;
        }
        result<void> w = co_await write_message(text, m.binary);
        (void)w;
        --g_log.in_message;
    }
    void on_close() override {
        ++g_log.closed;
        g_log.close_code = close_code();
    }
    std::optional<std::string> select_subprotocol(const std::vector<std::string_view>& offered) override {
        for (auto p : offered)
            if (p == "chat.v2") return std::string(p);
        return std::nullopt;
    }
};

std::unique_ptr<http::application> make_app() {
    auto app = std::make_unique<http::application>();
    app->add<echo_socket>("/ws");
    return app;
}

std::string upgrade(std::string extra = {}, std::string key = "dGhlIHNhbXBsZSBub25jZQ==", std::string version = "13",
                    std::string method = "GET", std::string http = "HTTP/1.1") {
    return method + " /ws " + http +
           "\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n" +
           "Sec-WebSocket-Key: " + key + "\r\nSec-WebSocket-Version: " + version + "\r\n" + extra + "\r\n";
}

}  // namespace

TEST(handshake, accept_key_of_rfc_6455_example) {
    EXPECT_EQ(accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    EXPECT_TRUE(valid_key("dGhlIHNhbXBsZSBub25jZQ=="));
    EXPECT_FALSE(valid_key("dGhlIHNhbXBsZSBub25jZQ"));
    EXPECT_FALSE(valid_key("c2hvcnQ="));
    EXPECT_TRUE(valid_key(make_key()));
}

TEST(handshake, answers_101_and_echoes) {
    loopback_server srv(make_app());
    raw_client c(srv.port());
    ASSERT_TRUE(c.send(upgrade()));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status_line.substr(0, 12), "HTTP/1.1 101");
    EXPECT_EQ(r->field("sec-websocket-accept"), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    EXPECT_TRUE(r->field("upgrade") && http::iequals(*r->field("upgrade"), "websocket"));
    EXPECT_FALSE(r->field("sec-websocket-protocol"));
    EXPECT_FALSE(r->field("sec-websocket-extensions"));
    EXPECT_FALSE(r->field("content-length"));
    ASSERT_TRUE(c.send(make_frame("hello") + make_frame(close_payload(1000), frame_spec{8})));
    std::string buf = c.take_unexpected();
    auto f = read_frame(c.fd(), buf);
    ASSERT_TRUE(f);
    EXPECT_EQ(f->payload, "hello");
    auto close = read_frame(c.fd(), buf);
    ASSERT_TRUE(close);
    EXPECT_EQ(close->close_code(), 1000);
    EXPECT_TRUE(c.closed_by_server() || buf.empty());
}

TEST(handshake, frames_in_the_same_packet_as_the_request) {
    loopback_server srv(make_app());
    raw_client c(srv.port());
    ASSERT_TRUE(c.send(upgrade() + make_frame("early") + make_frame("bird")));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    std::string buf = c.take_unexpected();
    EXPECT_EQ(read_frame(c.fd(), buf)->payload, "early");
    EXPECT_EQ(read_frame(c.fd(), buf)->payload, "bird");
}

TEST(handshake, bad_upgrades_get_the_bad_input_answers) {
    loopback_server srv(make_app());
    struct bad {
        std::string request;
        std::string status;
    };
    std::vector<bad> cases = {
        {upgrade({}, "dGhlIHNhbXBsZQ=="), "400"},  // key of 10 bytes
        {upgrade({}, "not base64 at all!!!!!!!"), "400"},
        {"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Version: 13\r\n\r\n",
         "400"},  // no key
        {upgrade({}, "dGhlIHNhbXBsZSBub25jZQ==", "13", "GET", "HTTP/1.0"), "400"},
        {"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
         "Sec-WebSocket-Version: 13\r\n\r\n",
         "400"},  // a plain GET
        {upgrade({}, "dGhlIHNhbXBsZSBub25jZQ==", "12"), "426"},
        {upgrade({}, "dGhlIHNhbXBsZSBub25jZQ==", "8"), "426"},
        {upgrade("Origin: http://evil.example\r\n"), "403"},
    };
    for (const auto& bc : cases) {
        raw_client c(srv.port());
        ASSERT_TRUE(c.send(bc.request));
        auto r = c.read_response();
        ASSERT_TRUE(r) << bc.request;
        EXPECT_EQ(r->status_line.substr(9, 3), bc.status) << bc.request;
        if (bc.status == "426") {
            EXPECT_EQ(r->field("sec-websocket-version"), "13");
        }
    }
    raw_client ok(srv.port());
    ASSERT_TRUE(ok.send(upgrade("Origin: http://127.0.0.1\r\n")));
    EXPECT_EQ(ok.read_response()->status_line.substr(9, 3), "101");  // same host: allowed
}

TEST(handshake, subprotocol_and_deflate_negotiated) {
    loopback_server srv(make_app());
    raw_client c(srv.port());
    ASSERT_TRUE(
        c.send(upgrade("Sec-WebSocket-Protocol: chat.v1, chat.v2\r\n"
                       "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n")));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->field("sec-websocket-protocol"), "chat.v2");
    EXPECT_EQ(r->field("sec-websocket-extensions"), "permessage-deflate");
    // A compressed message from the "client" comes back compressed.
    deflater d(6, 8, 15, false);
    std::string text = "squall squall squall squall";
    std::string packed;
    d.compress(std::as_bytes(std::span(text)), packed);
    frame_spec f;
    f.rsv1 = true;
    ASSERT_TRUE(c.send(make_frame(packed, f)));
    std::string buf = c.take_unexpected();
    auto back = read_frame(c.fd(), buf);
    ASSERT_TRUE(back);
    EXPECT_TRUE(back->rsv1);
    inflater inf(false);
    std::string out;
    ASSERT_EQ(inf.feed(std::as_bytes(std::span(back->payload)), true, out, 1 << 20), inflater::status::ok);
    EXPECT_EQ(out, text);
}

TEST(session, hooks_backpressure_and_close_codes) {
    // (in_message too: a server stopped while its handler was still in
    // on_message, in an earlier test, never counted it out.)
    g_log.opened = g_log.closed = g_log.max_in_message = g_log.in_message = 0;
    {
        loopback_server srv(make_app());
        raw_client c(srv.port());
        ASSERT_TRUE(c.send(upgrade()));
        ASSERT_TRUE(c.read_response());
        // "slow" holds on_message; the frames behind it wait for it.
        ASSERT_TRUE(c.send(make_frame("slow") + make_frame("a") + make_frame("b") + make_frame("bye")));
        std::string buf = c.take_unexpected();
        EXPECT_EQ(read_frame(c.fd(), buf)->payload, "slow");
        EXPECT_EQ(read_frame(c.fd(), buf)->payload, "a");
        EXPECT_EQ(read_frame(c.fd(), buf)->payload, "b");
        auto close = read_frame(c.fd(), buf);  // "bye": the handler closes with 4001
        ASSERT_TRUE(close);
        EXPECT_EQ(close->op, 8);
        EXPECT_EQ(close->close_code(), 4001);
        ASSERT_TRUE(c.send(make_frame(close_payload(4001), frame_spec{8})));
        srv.wait_idle();
    }
    EXPECT_EQ(g_log.opened, 1);
    EXPECT_EQ(g_log.closed, 1);
    EXPECT_EQ(g_log.close_code, 4001);
    EXPECT_EQ(g_log.max_in_message, 1);
}

TEST(session, too_big_message_closes_with_1009) {
    loopback_server srv(make_app());
    raw_client c(srv.port());
    ASSERT_TRUE(c.send(upgrade()));
    ASSERT_TRUE(c.read_response());
    ASSERT_TRUE(c.send(make_frame(std::string(5000, 'x'))));
    std::string buf = c.take_unexpected();
    auto close = read_frame(c.fd(), buf);
    ASSERT_TRUE(close);
    EXPECT_EQ(close->close_code(), 1009);
}

// A graceful stop (SIGTERM) closes open WebSockets with 1001, going away.
TEST(session, graceful_stop_closes_with_1001) {
    loopback_server srv(make_app());
    raw_client c(srv.port());
    ASSERT_TRUE(c.send(upgrade()));
    ASSERT_TRUE(c.read_response());
    ASSERT_TRUE(c.send(make_frame("hello")));
    std::string buf = c.take_unexpected();
    auto echo = read_frame(c.fd(), buf);
    ASSERT_TRUE(echo);
    srv.begin_shutdown();
    auto close = read_frame(c.fd(), buf);
    ASSERT_TRUE(close);
    EXPECT_EQ(close->close_code(), 1001);
    ASSERT_TRUE(c.send(make_frame(close_payload(1001), frame_spec{8})));
    EXPECT_TRUE(c.closed_by_server() || buf.empty());
}

TEST(session, handler_exception_closes_with_1011) {
    loopback_server srv(make_app());
    raw_client c(srv.port());
    ASSERT_TRUE(c.send(upgrade()));
    ASSERT_TRUE(c.read_response());
    ASSERT_TRUE(c.send(make_frame("throw")));
    std::string buf = c.take_unexpected();
    auto close = read_frame(c.fd(), buf);
    ASSERT_TRUE(close);
    EXPECT_EQ(close->close_code(), 1011);
}

TEST(session, a_reset_in_mid_frame_frees_everything) {
    loopback_server srv(make_app());
    for (int i = 0; i < 20; ++i) {
        raw_client c(srv.port());
        ASSERT_TRUE(c.send(upgrade()));
        ASSERT_TRUE(c.read_response());
        std::string frame = make_frame(std::string(3000, 'z'));
        ASSERT_TRUE(c.send(frame.substr(0, 1000)));
        c.reset();
    }
    auto st = srv.wait_idle();
    EXPECT_EQ(st.connections, 0u);
    EXPECT_EQ(st.buffers_in_use, 0u);
}
