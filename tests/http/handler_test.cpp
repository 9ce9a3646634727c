// The handler API's connection-level parts, end to end over raw loopback
// sockets: detach() for Upgrades (what ws/ builds on) and an Upgrade
// nobody takes. Streamed and gathered request bodies, flushes and the
// graceful stop are in tests/http/handler_body_test.cpp; the rest of the
// handler API is exercised by the examples' tests (tests/examples/) and
// tests/http/bad_input_test.cpp.
#include <gtest/gtest.h>

#include <string>
#include <thread>

#include "handler_app.hpp"

using namespace squall;
using namespace squall::http;
using namespace squall::http::testing;
using namespace squall::http::testing::handler_app;
using namespace std::chrono_literals;

namespace {

TEST(detach, upgraded_connection_carries_bytes_both_ways) {
    auto server = start();
    raw_client c(server->port());
    // The first bytes of the new protocol come in the same write as the
    // request: they must reach the handler, not the HTTP parser.
    ASSERT_TRUE(
        c.send("GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: echo\r\nConnection: Upgrade\r\n"
               "X-Name: ann\r\n\r\nearly"));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status_line, "HTTP/1.1 101 Switching Protocols");
    EXPECT_EQ(r->field("upgrade").value_or(""), "echo");
    EXPECT_EQ(r->field("connection").value_or(""), "Upgrade");
    EXPECT_FALSE(r->field("content-length"));
    EXPECT_FALSE(r->field("transfer-encoding"));
    // read_response took a 1xx as interim and left the rest unread.
    std::string first = c.take_unexpected();
    first += read_exactly(c, 14 - first.size());
    EXPECT_EQ(first, "name=ann;early");
    ASSERT_TRUE(c.send("GET / HTTP/1.1\r\n\r\n"));  // not HTTP any more: echoed
    EXPECT_EQ(read_exactly(c, 18), "GET / HTTP/1.1\r\n\r\n");
    c.shutdown_write();
    EXPECT_TRUE(c.eof_next());
    // The connection is gone and it holds no receive buffer.
    auto st = server->wait_idle();
    EXPECT_EQ(st.connections, 0u);
    EXPECT_EQ(st.buffers_in_use, 0u);
}

// A body that came with the Upgrade stays readable after detach(), when
// its receive buffer is back in the ring.
TEST(detach, body_outlives_the_receive_buffers) {
    auto server = start();
    raw_client c(server->port());
    ASSERT_TRUE(
        c.send("GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: echo\r\nConnection: Upgrade\r\n"
               "Content-Length: 4\r\n\r\nabcd"));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status_line, "HTTP/1.1 101 Switching Protocols");
    std::string first = c.take_unexpected();
    first += read_exactly(c, 17 - first.size());
    EXPECT_EQ(first, "name=-;body=abcd;");
}

TEST(detach, long_lived_upgrade_holds_no_receive_buffer) {
    auto server = start();
    raw_client c(server->port());
    ASSERT_TRUE(c.send("GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n"));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    std::string first = c.take_unexpected();
    first += read_exactly(c, 7 - first.size());
    EXPECT_EQ(first, "name=-;");
    // Upgraded and idle: the head's buffers went back to the ring.
    auto st = server->wait_until([](const server_stats& s) { return s.buffers_in_use == 0; });
    EXPECT_EQ(st.connections, 1u);
    EXPECT_EQ(st.buffers_in_use, 0u);
}

TEST(detach, refused_upgrade_is_an_ordinary_response) {
    auto server = start();
    raw_client c(server->port());
    ASSERT_TRUE(
        c.send("GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: other\r\nConnection: Upgrade\r\n\r\n"
               "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status_line, "HTTP/1.1 400 Bad Request");
    auto next = c.read_response();
    ASSERT_TRUE(next);
    EXPECT_EQ(next->body, "hello");
}

// RFC 9110 7.8: a server may ignore Upgrade; the connection then goes on
// in HTTP/1.1, pipelined requests included.
TEST(upgrade, ignored_upgrade_keeps_the_connection) {
    auto server = start();
    raw_client c(server->port());
    ASSERT_TRUE(
        c.send("GET /hello HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
               "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
    for (int i = 0; i < 2; ++i) {
        auto r = c.read_response();
        ASSERT_TRUE(r) << i;
        EXPECT_EQ(r->status_line, "HTTP/1.1 200 OK");
        EXPECT_FALSE(r->closes());
        EXPECT_EQ(r->body, "hello");
    }
    ASSERT_TRUE(c.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "hello");
}

TEST(upgrade, connect_is_answered_then_closed) {
    auto server = start();
    raw_client c(server->port());
    ASSERT_TRUE(c.send("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\nGET /hello HTTP/1.1\r\n\r\n"));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->closes());
    EXPECT_TRUE(c.closed_by_server());
}

}  // namespace
