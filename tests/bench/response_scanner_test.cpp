// Tests of squall-load's HTTP/1.1 response scanner
// (bench/load/response_scanner.hpp): framing by Content-Length, chunked
// and close, responses split at every byte, and the errors that make a
// broken server visible.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "load/response_scanner.hpp"

using squall::load::response_info;
using squall::load::response_scanner;

namespace {

struct outcome {
    std::vector<response_info> responses;
    bool ok = true;
    std::string error;
};

// Feeds `wire` in pieces of `step` bytes (0: all at once), then ends the stream if `eof`.
outcome scan(const std::string& wire, std::size_t step = 0, bool eof = false, bool head = false) {
    response_scanner sc;
    sc.expect_head_response(head);
    outcome o;
    auto on = [&](const response_info& r) { o.responses.push_back(r); };
    std::size_t n = step ? step : wire.size();
    for (std::size_t at = 0; at < wire.size() && o.ok; at += n)
        o.ok = sc.feed(std::string_view(wire).substr(at, n), on);
    if (o.ok && eof) o.ok = sc.finish(on);
    o.error = sc.error();
    return o;
}

const std::string hello = "HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n\r\nHello, world!";
const std::string chunked =
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nHello\r\n8;ext=1\r\n, world!\r\n0\r\nX-T: 1\r\n\r\n";

}  // namespace

TEST(response_scanner, content_length_response_whole_and_at_every_split) {
    std::string wire = hello + hello + hello;
    for (std::size_t step : {0ul, 1ul, 2ul, 3ul, 7ul, 64ul}) {
        auto o = scan(wire, step);
        ASSERT_TRUE(o.ok) << o.error;
        ASSERT_EQ(o.responses.size(), 3u) << step;
        for (auto& r : o.responses) {
            EXPECT_EQ(r.status, 200);
            EXPECT_EQ(r.body_bytes, 13u);
            EXPECT_EQ(r.wire_bytes, hello.size());
            EXPECT_FALSE(r.close);
        }
    }
}

TEST(response_scanner, chunked_body_is_decoded_and_counted) {
    for (std::size_t step : {0ul, 1ul, 5ul}) {
        auto o = scan(chunked + hello, step);
        ASSERT_TRUE(o.ok) << o.error;
        ASSERT_EQ(o.responses.size(), 2u) << step;
        EXPECT_EQ(o.responses[0].body_bytes, 13u);
        EXPECT_EQ(o.responses[0].wire_bytes, chunked.size());
        EXPECT_EQ(o.responses[1].body_bytes, 13u);
    }
}

TEST(response_scanner, bodiless_statuses_and_head_requests) {
    auto o = scan("HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n" + hello);
    ASSERT_TRUE(o.ok) << o.error;
    ASSERT_EQ(o.responses.size(), 3u);
    EXPECT_EQ(o.responses[0].status, 204);
    EXPECT_EQ(o.responses[1].body_bytes, 0u);
    EXPECT_EQ(o.responses[2].body_bytes, 13u);

    auto h = scan("HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\n", 0,
                  false, true);
    ASSERT_TRUE(h.ok) << h.error;
    EXPECT_EQ(h.responses.size(), 2u);
}

TEST(response_scanner, interim_responses_are_not_counted) {
    auto o = scan("HTTP/1.1 100 Continue\r\n\r\n" + hello);
    ASSERT_TRUE(o.ok) << o.error;
    ASSERT_EQ(o.responses.size(), 1u);
    EXPECT_EQ(o.responses[0].status, 200);
}

TEST(response_scanner, connection_close_and_http10) {
    auto o = scan(
        "HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\nContent-Length: 2\r\n\r\nok"
        "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"
        "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok");
    ASSERT_TRUE(o.ok) << o.error;
    ASSERT_EQ(o.responses.size(), 3u);
    EXPECT_TRUE(o.responses[0].close);
    EXPECT_TRUE(o.responses[1].close);
    EXPECT_FALSE(o.responses[2].close);
}

TEST(response_scanner, body_until_close_completes_at_end_of_stream) {
    auto o = scan("HTTP/1.1 200 OK\r\n\r\nHello, world!", 4, true);
    ASSERT_TRUE(o.ok) << o.error;
    ASSERT_EQ(o.responses.size(), 1u);
    EXPECT_EQ(o.responses[0].body_bytes, 13u);
    EXPECT_TRUE(o.responses[0].close);
}

TEST(response_scanner, a_body_cut_short_is_an_error_at_end_of_stream) {
    auto o = scan("HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nHello", 0, true);
    EXPECT_FALSE(o.ok);
    EXPECT_TRUE(o.responses.empty());
    auto h = scan("HTTP/1.1 200 OK\r\nContent-", 0, true);
    EXPECT_FALSE(h.ok);
    auto idle = scan(hello, 0, true);  // a clean close between responses is fine
    EXPECT_TRUE(idle.ok);
    EXPECT_EQ(idle.responses.size(), 1u);
}

TEST(response_scanner, malformed_responses_are_errors) {
    const char* bad[] = {
        "HTTP/2.0 200 OK\r\n\r\n",
        "HTTX/1.1 200 OK\r\n\r\n",
        "HTTP/1.1 2x0 OK\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
        "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
        "HTTP/1.1 200 OK\r\nA: b\r\n folded\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n",
    };
    for (const char* wire : bad) {
        for (std::size_t step : {0ul, 1ul}) {
            auto o = scan(wire, step);
            EXPECT_FALSE(o.ok) << wire;
            EXPECT_FALSE(o.error.empty()) << wire;
        }
    }
}

TEST(response_scanner, an_endless_head_is_refused) {
    std::string wire = "HTTP/1.1 200 OK\r\n" + std::string(response_scanner::max_head + 10, 'a');
    EXPECT_FALSE(scan(wire).ok);
    EXPECT_FALSE(scan(wire, 1000).ok);
}
