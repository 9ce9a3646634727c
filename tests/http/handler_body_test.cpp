// The handler API's request bodies and answers, end to end over raw
// loopback sockets: streamed bodies (stream_request_body / data_received)
// with 100-continue, backpressure and errors, gathered bodies, flushes,
// arguments, error pages and the graceful stop.
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

TEST(stream_body, pieces_reach_the_handler_as_they_arrive) {
    auto server = start();
    raw_client c(server->port());
    ASSERT_TRUE(c.send("POST /upload HTTP/1.1\r\nHost: x\r\nX-Ack: 1\r\nContent-Length: 300\r\n\r\n"));
    std::uint64_t sent = 0;
    for (int i = 0; i < 3; ++i) {
        ASSERT_TRUE(c.send(std::string(100, 'a')));
        sent += 100;
        // The acknowledgement comes before the next piece is sent: the
        // handler saw this piece while the body was still incomplete.
        std::string ack, want = "got " + std::to_string(sent) + "\n";
        while (ack.find(want) == std::string::npos) {
            std::string more = read_exactly(c, 1);
            ASSERT_FALSE(more.empty()) << ack;
            ack += more;
        }
        if (i == 0) {
            EXPECT_NE(ack.find("HTTP/1.1 200 OK\r\n"), std::string::npos);
            EXPECT_NE(ack.find("Transfer-Encoding: chunked"), std::string::npos);
        }
    }
    // The last chunk ("total 300 body 0") and the terminating chunk.
    std::string rest;
    while (rest.find("0\r\n\r\n") == std::string::npos || rest.find("total") == std::string::npos) {
        std::string more = read_exactly(c, 1);
        ASSERT_FALSE(more.empty()) << rest;
        rest += more;
    }
    EXPECT_NE(rest.find("total 300 body 0"), std::string::npos) << rest;
    ASSERT_TRUE(c.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));  // still keep-alive
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "hello");
}

TEST(stream_body, continue_is_sent_after_prepare_accepts) {
    auto server = start();
    raw_client c(server->port());
    ASSERT_TRUE(c.send("POST /upload HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"));
    auto interim = c.read_response();
    ASSERT_TRUE(interim);
    EXPECT_EQ(interim->status_line, "HTTP/1.1 100 Continue");
    ASSERT_TRUE(c.send("hello"));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "total 5 body 0");
}

// prepare() flushed a response head: a 100 Continue now would land in
// the middle of that response, so none is sent.
TEST(stream_body, no_continue_after_prepare_flushed) {
    auto server = start();
    raw_client c(server->port());
    ASSERT_TRUE(
        c.send("POST /upload HTTP/1.1\r\nHost: x\r\nX-Flush-First: 1\r\nExpect: 100-continue\r\n"
               "Content-Length: 5\r\n\r\n"));
    std::string got;
    while (got.find("early\n") == std::string::npos) {
        std::string more = read_exactly(c, 1);
        ASSERT_FALSE(more.empty()) << got;
        got += more;
    }
    ASSERT_TRUE(c.send("hello"));
    while (got.find("0\r\n\r\n") == std::string::npos) {
        std::string more = read_exactly(c, 1);
        ASSERT_FALSE(more.empty()) << got;
        got += more;
    }
    EXPECT_EQ(got.find("100 Continue"), std::string::npos) << got;
    EXPECT_TRUE(got.starts_with("HTTP/1.1 200 OK\r\n")) << got;
    EXPECT_NE(got.find("total 5 body 0"), std::string::npos) << got;
}

TEST(stream_body, prepare_refusal_sends_no_continue) {
    auto server = start();
    raw_client c(server->port());
    ASSERT_TRUE(
        c.send("POST /upload HTTP/1.1\r\nHost: x\r\nX-Deny: 1\r\nExpect: 100-continue\r\n"
               "Content-Length: 500000\r\n\r\n"));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status_line, "HTTP/1.1 403 Forbidden");
    EXPECT_EQ(r->body, "custom 403");
    EXPECT_TRUE(r->closes());  // the unread body cannot be told from a request
    EXPECT_TRUE(c.closed_by_server());
}

TEST(stream_body, malformed_chunk_reaches_write_error) {
    auto server = start();
    raw_client c(server->port());
    ASSERT_TRUE(
        c.send("POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
               "5\r\nhello\r\n0x5\r\nworld\r\n0\r\n\r\n"));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status_line, "HTTP/1.1 400 Bad Request");
    EXPECT_EQ(r->body, "custom 400");
    EXPECT_TRUE(r->closes());
    EXPECT_TRUE(c.closed_by_server());
}

TEST(stream_body, over_the_body_limit_is_413) {
    auto server = start(1000);
    raw_client c(server->port());
    ASSERT_TRUE(
        c.send("POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
               "3e8\r\n" +
               std::string(1000, 'x') + "\r\n1\r\ny\r\n0\r\n\r\n"));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status_line, "HTTP/1.1 413 Content Too Large");
    EXPECT_EQ(r->body, "custom 413");
}

// More body than the whole receive ring holds (4096 x 4 KiB): it goes
// through only if each piece's buffer returns to the ring once handled.
TEST(stream_body, body_larger_than_the_ring_streams_through) {
    constexpr std::size_t size = 24u << 20;
    auto server = start(64u << 20);
    raw_client c(server->port());
    ASSERT_TRUE(c.send("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(size) + "\r\n\r\n"));
    std::string block(1 << 20, 'z');
    for (std::size_t sent = 0; sent < size; sent += block.size()) ASSERT_TRUE(c.send(block));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "total " + std::to_string(size) + " body 0");
    auto st = server->wait_until([](const server_stats& s) { return s.buffers_in_use <= 1; });
    EXPECT_LE(st.buffers_in_use, 1u);
}

// A body gathered whole (not streamed) keeps no more than a buffer or two
// of the ring while it comes: more than the whole ring goes through.
TEST(gathered_body, body_larger_than_the_ring_is_gathered) {
    constexpr std::size_t size = 20u << 20;
    auto server = start(64u << 20);
    raw_client c(server->port());
    ASSERT_TRUE(c.send("POST /size HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"));
    std::string block = "100000\r\n" + std::string(1 << 20, 'z') + "\r\n";
    for (std::size_t sent = 0; sent < size; sent += 1 << 20) ASSERT_TRUE(c.send(block));
    ASSERT_TRUE(c.send("0\r\n\r\n"));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, std::to_string(size));
}

// Chunk extensions are bounded (16 KiB a message): a body made of them
// would otherwise never end nor count against the body limit.
TEST(gathered_body, endless_chunk_extensions_are_400) {
    auto server = start();
    raw_client c(server->port());
    ASSERT_TRUE(c.send("POST /size HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1;a="));
    bool refused = false;
    for (int i = 0; i < 64 && !refused; ++i) refused = !c.send(std::string(1024, 'e'));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status_line, "HTTP/1.1 400 Bad Request");
    EXPECT_TRUE(r->closes());
}

// An HTTP/1.0 response flushed once runs until the close; later flushes
// go on (they used to fail).
TEST(flush, http_1_0_flushes_after_the_first) {
    auto server = start();
    raw_client c(server->port());
    ASSERT_TRUE(c.send("GET /flush2 HTTP/1.0\r\n\r\n"));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status_line, "HTTP/1.1 200 OK");
    EXPECT_EQ(r->body, "abc");
    EXPECT_FALSE(r->field("content-length"));
}

TEST(stream_body, client_vanishing_mid_body_frees_everything) {
    auto server = start();
    {
        raw_client c(server->port());
        ASSERT_TRUE(
            c.send("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" + std::string(5000, 'q')));
        std::this_thread::sleep_for(20ms);
        c.reset();
    }
    auto st = server->wait_idle();
    EXPECT_EQ(st.connections, 0u);
    EXPECT_EQ(st.buffers_in_use, 0u);
}

// Media types compare case-insensitively, whitespace before ';' allowed.
TEST(arguments, form_media_type_is_case_insensitive) {
    auto server = start();
    raw_client c(server->port());
    for (std::string type :
         {"application/x-www-form-urlencoded", "Application/X-WWW-Form-URLEncoded ; charset=UTF-8", "text/plain"}) {
        ASSERT_TRUE(
            c.send("POST /form HTTP/1.1\r\nHost: x\r\nContent-Type: " + type + "\r\nContent-Length: 5\r\n\r\na=b+c"));
        auto r = c.read_response();
        ASSERT_TRUE(r);
        EXPECT_EQ(r->body, type == "text/plain" ? "(none)" : "b c") << type;
    }
}

// 405 and 501 are decided from the head alone, yet the page is the
// handler's own write_error, as in Tornado.
TEST(errors, method_errors_use_the_handlers_error_page) {
    auto server = start();
    raw_client c(server->port());
    ASSERT_TRUE(c.send("GET /upload HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status_line, "HTTP/1.1 405 Method Not Allowed");
    EXPECT_EQ(r->field("allow").value_or(""), "POST");
    EXPECT_EQ(r->body, "custom 405");
    ASSERT_TRUE(c.send("PURGE /upload HTTP/1.1\r\nHost: x\r\n\r\n"));
    r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status_line, "HTTP/1.1 501 Not Implemented");
    EXPECT_EQ(r->body, "custom 501");
}

// A graceful stop (SIGTERM in serve()): idle keep-alive connections close
// at once instead of holding the stop for their keep-alive timeout, a new
// connection gets a short grace for its first request, and a request in
// progress still gets its whole answer, with Connection: close.
TEST(shutdown, idle_connections_close_and_requests_in_progress_finish) {
    auto server = start();
    raw_client idle(server->port());
    ASSERT_TRUE(idle.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto first = idle.read_response();
    ASSERT_TRUE(first);
    EXPECT_FALSE(first->closes());
    raw_client busy(server->port());
    ASSERT_TRUE(busy.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"));
    server->wait_until([](const server_stats& s) { return s.connections == 2; });
    std::this_thread::sleep_for(20ms);  // the slow request is in its handler
    raw_client fresh(server->port());   // connected, nothing sent yet
    raw_client late(server->port());    // ... sends its request as the stop comes
    raw_client poller(server->port());
    ASSERT_TRUE(poller.send("GET /poll HTTP/1.1\r\nHost: x\r\n\r\n"));
    server->wait_until([](const server_stats& s) { return s.connections == 5; });
    server->begin_shutdown();
    ASSERT_TRUE(late.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
    EXPECT_TRUE(idle.eof_next());   // long before the 60 s keep-alive timeout
    EXPECT_TRUE(fresh.eof_next());  // and the 30 s header timeout (after a short grace)
    // A new connection's first request, on its way when the stop came, is
    // answered (with Connection: close), not dropped unanswered.
    auto answered = late.read_response();
    ASSERT_TRUE(answered);
    EXPECT_TRUE(answered->closes());
    // A long poll that waits under shutdown_token() answers at once.
    auto polled = poller.read_response();
    ASSERT_TRUE(polled);
    EXPECT_EQ(polled->body, "stopping");
    EXPECT_TRUE(polled->closes());
    auto r = busy.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "slow");
    EXPECT_TRUE(r->closes());
    auto st = server->wait_idle();
    EXPECT_EQ(st.connections, 0u);
}

}  // namespace
