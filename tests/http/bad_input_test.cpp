// Every HTTP-request row of shared/BAD_INPUT.md, end to end: a real
// server (http::serve_listener on a loop of its own thread) and raw
// loopback sockets that send the bytes exactly as written. Each case
// checks the exact status line, Connection: close where the table says
// close, that the server then really closes (recv returns 0), and that
// other clients are still served. The slow and vanishing clients:
// slow_client_test.cpp. The parser's own rules: parser_test.cpp.
#include <zlib.h>

#include <sstream>

#include "bad_input_support.hpp"
#include "tests/support/gzip.hpp"

// --- HTTP/1.1 requests: one test per row --------------------------------------

TEST(http_bad_input, host_missing_twice_or_invalid_is_400) {
    expect_all_rejected({"GET / HTTP/1.1\r\n\r\n", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
                         "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n",
                         "GET / HTTP/1.1\r\nHost: a@b\r\n\r\n"},
                        bad_request);
}

// The authority grammar (RFC 9112 3.2, RFC 3986 3.2): host [":" port].
TEST(http_bad_input, host_outside_the_authority_grammar_is_400) {
    std::vector<std::string> raws;
    for (auto host : {"a:8x", "a:1:2", "[::1", "[::1]x", "[::1]:8x", "[zz]:80", "[]", "[::1]]", "a]", "a[", ":80",
                      "a:123456", "a:65536", "a%zz", "a%4", "[v1]", "::1"})
        raws.push_back("GET / HTTP/1.1\r\nHost: " + std::string(host) + "\r\n\r\n");
    auto srv = start();
    for (const auto& raw : raws) expect_rejected(*srv, raw, bad_request);
}

TEST(http_bad_input, valid_authorities_are_served) {
    auto srv = start();
    for (auto host : {"example.com", "example.com:8080", "a:", "127.0.0.1", "127.0.0.1:80", "[::1]", "[::1]:8080",
                      "[fe80::1:2:3:4]", "[::ffff:1.2.3.4]:443", "[v7.a:b]", "xn--bcher-kva.example", "a%41b", "a_b~c",
                      "a:65535", ""}) {
        raw_client c(srv->port());
        ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: " + std::string(host) + "\r\n\r\n"));
        auto r = c.read_response();
        ASSERT_TRUE(r) << host;
        EXPECT_EQ(r->status_line, "HTTP/1.1 200 OK") << host;
    }
}

TEST(http_bad_input, content_length_with_transfer_encoding_is_400) {
    expect_all_rejected(
        {"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
         "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n"},
        bad_request);
}

TEST(http_bad_input, content_length_not_plain_decimal_is_400) {
    std::string h = "POST /echo HTTP/1.1\r\nHost: t\r\n";
    expect_all_rejected({h + "Content-Length: +1\r\n\r\nx", h + "Content-Length: -1\r\n\r\nx",
                         h + "Content-Length: 1Z\r\n\r\nx", h + "Content-Length: \r\n\r\nx",
                         h + "Content-Length: 1, 2\r\n\r\nx", h + "Content-Length: 1\r\nContent-Length: 2\r\n\r\nx",
                         h + "Content-Length: 99999999999999999999999\r\n\r\n", h + "Content-Length: 0x1\r\n\r\nx"},
                        bad_request);
}

TEST(http_bad_input, content_length_above_limit_is_413_before_the_body) {
    auto srv = start();
    // Only the head is sent: the answer must not wait for the body.
    expect_rejected(*srv, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1048577\r\n\r\n",
                    "HTTP/1.1 413 Content Too Large");
    // With 100-continue the client never gets a 100.
    raw_client c(srv->port());
    ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5000000\r\n\r\n"));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status_line, "HTTP/1.1 413 Content Too Large");
    EXPECT_TRUE(r->closes());
    EXPECT_TRUE(c.eof_next());
}

TEST(http_bad_input, transfer_encoding_chunked_not_last_or_in_http_1_0_is_400) {
    expect_all_rejected({"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
                         "POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                         "POST /echo HTTP/1.0\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"},
                        bad_request);
}

TEST(http_bad_input, transfer_encoding_other_than_chunked_is_501) {
    std::string h = "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: ";
    expect_all_rejected({h + "gzip, chunked\r\n\r\n0\r\n\r\n", h + "identity\r\n\r\n", h + "foo\r\n\r\n",
                         h + "compress, chunked\r\n\r\n0\r\n\r\n"},
                        "HTTP/1.1 501 Not Implemented");
}

TEST(http_bad_input, bad_field_syntax_and_control_bytes_are_400) {
    std::string h = "GET / HTTP/1.1\r\nHost: a\r\n";
    expect_all_rejected(
        {"GET / HTTP/1.1\r\nHost : a\r\n\r\n", h + "X-A\t: b\r\n\r\n", h + std::string("X: a\0b\r\n\r\n", 10),
         h + std::string("X\0Y: b\r\n\r\n", 10), h + "X: a\rb\r\n\r\n", h + "X: a\vb\r\n\r\n", h + "X\vY: b\r\n\r\n",
         h + "X: a\x01"
             "b\r\n\r\n",
         h + ": b\r\n\r\n", h + "nocolon\r\n\r\n"},
        bad_request);
}

TEST(http_bad_input, obs_fold_and_whitespace_before_first_field_are_400) {
    expect_all_rejected(
        {"GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n  b\r\n\r\n", "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n\tb\r\n\r\n",
         "GET / HTTP/1.1\r\n Host: a\r\n\r\n", "GET / HTTP/1.1\r\n\tHost: a\r\n\r\n"},
        bad_request);
}

TEST(http_bad_input, bare_lf_or_bare_cr_line_endings_are_400) {
    expect_all_rejected({"GET / HTTP/1.1\nHost: a\n\n", "GET / HTTP/1.1\nHost: a\r\n\r\n",
                         "GET / HTTP/1.1\r\nHost: a\r\n\n", "GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n",
                         "GET / HTTP/1.1\rHost: a\r\n\r\n", "GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n"},
                        bad_request);
}

TEST(http_bad_input, malformed_chunks_are_400) {
    std::string h = "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
    expect_all_rejected({h + "0x5\r\nhello\r\n0\r\n\r\n", h + "+5\r\nhello\r\n0\r\n\r\n",
                         h + "-5\r\nhello\r\n0\r\n\r\n", h + "5 \r\nhello\r\n0\r\n\r\n", h + " 5\r\nhello\r\n0\r\n\r\n",
                         h + "\r\nhello\r\n0\r\n\r\n", h + "ffffffffffffffffff\r\nx\r\n0\r\n\r\n",
                         h + "3\r\nhello\r\n0\r\n\r\n", h + "5\r\nhello0\r\n\r\n", h + "5\r\nhelloXY0\r\n\r\n"},
                        bad_request);
}

TEST(http_bad_input, chunked_body_above_limit_is_413) {
    auto srv = start();
    std::string h = "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
    // One chunk announced past the 1 MiB limit: refused at its size line.
    expect_rejected(*srv, h + "100001\r\n", "HTTP/1.1 413 Content Too Large");
    // Chunks that only add up past it.
    std::string body = h;
    for (int i = 0; i < 5; ++i) body += "40000\r\n" + std::string(0x40000, 'c') + "\r\n";
    body += "0\r\n\r\n";
    expect_rejected(*srv, body, "HTTP/1.1 413 Content Too Large");
}

TEST(http_bad_input, request_target_above_8_kib_is_414) {
    auto srv = start();
    expect_rejected(*srv, get("/" + std::string(9000, 'a')), "HTTP/1.1 414 URI Too Long");
    expect_rejected(*srv, get("/?q=" + std::string(9000, 'a')), "HTTP/1.1 414 URI Too Long");
}

TEST(http_bad_input, fields_too_large_or_too_many_are_431) {
    auto srv = start();
    constexpr std::string_view status = "HTTP/1.1 431 Request Header Fields Too Large";
    expect_rejected(*srv, get("/", "X-Big: " + std::string(9000, 'v') + "\r\n"), status);
    expect_rejected(*srv, get("/", std::string(9000, 'N') + ": v\r\n"), status);
    std::string many_big;
    for (int i = 0; i < 5; ++i) many_big += "X-F" + std::to_string(i) + ": " + std::string(7000, 'v') + "\r\n";
    expect_rejected(*srv, get("/", many_big), status);
    std::string many;
    for (int i = 0; i < 101; ++i) many += "X-N" + std::to_string(i) + ": v\r\n";
    expect_rejected(*srv, get("/", many), status);
}

TEST(http_bad_input, method_with_invalid_characters_is_400) {
    expect_all_rejected({"G@T / HTTP/1.1\r\nHost: a\r\n\r\n", "GE(T / HTTP/1.1\r\nHost: a\r\n\r\n",
                         "G\x01T / HTTP/1.1\r\nHost: a\r\n\r\n", "GET\x7f / HTTP/1.1\r\nHost: a\r\n\r\n"},
                        bad_request);
}

TEST(http_bad_input, method_a_route_lacks_is_405_with_allow_and_unknown_one_is_501) {
    auto srv = start();
    raw_client c(srv->port());
    ASSERT_TRUE(c.send("PUT /hello HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n" + get("/hello")));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status_line, "HTTP/1.1 405 Method Not Allowed");
    EXPECT_EQ(r->field("allow").value_or(""), "GET, HEAD");
    EXPECT_FALSE(r->closes());  // a well-formed request: the connection goes on
    r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status_line, "HTTP/1.1 200 OK");
    EXPECT_EQ(r->body, "hello");
    // A method llhttp knows but no route can have: 501, and on we go.
    ASSERT_TRUE(c.send("PROPFIND /hello HTTP/1.1\r\nHost: t\r\n\r\n" + get("/hello")));
    r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status_line, "HTTP/1.1 501 Not Implemented");
    EXPECT_FALSE(r->field("allow"));
    r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "hello");
    // A token no parser knows: 501 as well, but the parser cannot go on.
    expect_rejected(*srv, "BREW /hello HTTP/1.1\r\nHost: t\r\n\r\n", "HTTP/1.1 501 Not Implemented");
}

TEST(http_bad_input, http_version_other_than_1_0_or_1_1_is_505_and_h2_preface_is_refused) {
    auto srv = start();
    constexpr std::string_view status = "HTTP/1.1 505 HTTP Version Not Supported";
    for (std::string_view v : {"HTTP/2.0", "HTTP/1.2", "HTTP/0.9", "HTTP/3.0"})
        expect_rejected(*srv, "GET / " + std::string(v) + "\r\nHost: a\r\n\r\n", status);
    expect_rejected(*srv, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", status);
    expect_rejected(*srv, "GET / HTTX/1.1\r\nHost: a\r\n\r\n", bad_request);
}

TEST(http_bad_input, expect_other_than_100_continue_is_417) {
    auto srv = start();
    expect_rejected(*srv, "GET / HTTP/1.1\r\nHost: t\r\nExpect: teapot\r\n\r\n", "HTTP/1.1 417 Expectation Failed");
    expect_rejected(*srv, post("/echo", "abc", "Expect: 100-continue, foo\r\n"), "HTTP/1.1 417 Expectation Failed");
}

TEST(http_bad_input, early_answer_drains_a_small_body_and_keeps_the_connection) {
    auto srv = start();
    raw_client c(srv->port());
    // The head alone: the 405 comes before the body was sent.
    ASSERT_TRUE(c.send("PUT /hello HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n"));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status_line, "HTTP/1.1 405 Method Not Allowed");
    EXPECT_FALSE(r->closes());
    // The body is then read and dropped: the next request is served.
    ASSERT_TRUE(c.send(std::string(1000, 'x') + get("/hello")));
    r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status_line, "HTTP/1.1 200 OK");
    EXPECT_EQ(r->body, "hello");
    // The same for a 501 whose body comes in the same write.
    ASSERT_TRUE(c.send("PROPFIND /hello HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc" + get("/hello")));
    r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status_line, "HTTP/1.1 501 Not Implemented");
    r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "hello");
}

TEST(http_bad_input, early_answer_with_a_large_or_unknown_body_closes) {
    auto srv = start();
    // 200 KB is under max_body (1 MiB) but over max_drain (64 KiB).
    expect_rejected(*srv, "PUT /hello HTTP/1.1\r\nHost: t\r\nContent-Length: 200000\r\n\r\n",
                    "HTTP/1.1 405 Method Not Allowed");
    expect_rejected(*srv, "PUT /hello HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
                    "HTTP/1.1 405 Method Not Allowed");
    // A client waiting for 100-continue gets the answer instead (no 100).
    expect_rejected(*srv, "PUT /hello HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n",
                    "HTTP/1.1 405 Method Not Allowed");
}

TEST(http_bad_input, good_request_then_bad_one_in_one_write_answers_both_in_order) {
    auto srv = start();
    for (std::string_view bad : {"GET /id/2 HTTP/1.1\r\n\r\n", "G@T / HTTP/1.1\r\nHost: t\r\n\r\n",
                                 "GET / HTTP/1.1\r\nHost: t\r\nX: a\r\n b\r\n\r\n"}) {
        SCOPED_TRACE(printable(bad));
        raw_client c(srv->port());
        ASSERT_TRUE(c.send(get("/id/1") + post("/echo", "payload") + std::string(bad)));
        auto r1 = c.read_response();
        ASSERT_TRUE(r1);
        EXPECT_EQ(r1->status_line, "HTTP/1.1 200 OK");
        EXPECT_EQ(r1->body, "id=1");
        EXPECT_FALSE(r1->closes());
        auto r2 = c.read_response();
        ASSERT_TRUE(r2);
        EXPECT_EQ(r2->status_line, "HTTP/1.1 200 OK");
        EXPECT_EQ(r2->body, "payload");
        auto r3 = c.read_response();
        ASSERT_TRUE(r3);
        EXPECT_EQ(r3->status_line, bad_request);
        EXPECT_TRUE(r3->closes());
        EXPECT_TRUE(c.eof_next()) << printable(c.unexpected());
    }
    expect_served(*srv);
}

TEST(http_bad_input, sixty_four_pipelined_requests_in_one_write_are_answered_in_order) {
    auto srv = start();
    raw_client c(srv->port());
    // About 100 bytes each: the batch spans several receive buffers.
    std::string all;
    for (int i = 0; i < 64; ++i) all += get("/id/" + std::to_string(i), "X-Pad: " + std::string(60, 'p') + "\r\n");
    ASSERT_TRUE(c.send(all));
    for (int i = 0; i < 64; ++i) {
        auto r = c.read_response();
        ASSERT_TRUE(r) << "response " << i << " missing";
        EXPECT_EQ(r->status_line, "HTTP/1.1 200 OK");
        EXPECT_EQ(r->body, "id=" + std::to_string(i));
        EXPECT_FALSE(r->closes());
    }
    EXPECT_TRUE(c.quiet_for(50ms)) << "more than 64 responses";
    ASSERT_TRUE(c.send(get("/hello")));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "hello");
}

// Not a row of the table, but what `curl --http2 http://...` sends: an
// Upgrade the server ignores must not make the next request a 400.
TEST(http_bad_input, ignored_upgrade_is_answered_and_the_next_request_not_misread) {
    auto srv = start();
    for (std::string_view first :
         {"GET /hello HTTP/1.1\r\nHost: t\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
          "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n",
          "POST /echo HTTP/1.1\r\nHost: t\r\nConnection: upgrade\r\nUpgrade: foo\r\nContent-Length: 3\r\n\r\nabc"}) {
        SCOPED_TRACE(printable(first));
        raw_client c(srv->port());
        ASSERT_TRUE(c.send(std::string(first) + get("/hello")));
        auto r = c.read_response();
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status_line, "HTTP/1.1 200 OK");
        // The Upgrade is ignored (RFC 9110 7.8): the connection stays
        // HTTP/1.1 and the next request is served.
        EXPECT_FALSE(r->closes());
        r = c.read_response();
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status_line, "HTTP/1.1 200 OK");
        EXPECT_EQ(r->body, "hello");
    }
    // CONNECT: no route has it (501), and what follows is not HTTP/1.1.
    raw_client c(srv->port());
    ASSERT_TRUE(c.send("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n" + get("/hello")));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status_line, "HTTP/1.1 501 Not Implemented");
    EXPECT_TRUE(r->closes());
    EXPECT_TRUE(c.eof_next()) << printable(c.unexpected());
    expect_served(*srv);
}

TEST(http_bad_input, empty_connection_is_closed_silently_at_the_header_timeout) {
    app_settings s = base_settings();
    s.header_timeout = 300ms;
    auto srv = start(s);
    auto t0 = steady::now();
    raw_client c(srv->port());
    EXPECT_TRUE(c.eof_next()) << "bytes sent to an empty connection: " << printable(c.unexpected());
    EXPECT_GE(ms_since(t0), 250);
    EXPECT_LT(ms_since(t0), 10'000);
    expect_served(*srv);
    EXPECT_EQ(srv->wait_idle().connections, 0u);
}

// --- gzip request bodies ---------------------------------------------------------

using squall::testing::gzip;

namespace {

std::unique_ptr<loopback_server> start_gzip(bool decompress) {
    app_settings s = base_settings();
    s.decompress_request = decompress;
    return start(s);
}

}  // namespace

TEST(http_bad_input, gzip_body_is_inflated_for_the_handler_when_asked) {
    auto srv = start_gzip(true);
    std::string text;
    for (int i = 0; i < 2000; ++i) text += "line " + std::to_string(i) + "\n";
    raw_client c(srv->port());
    ASSERT_TRUE(c.send(post("/echo", gzip(text), "Content-Encoding: gzip\r\n")));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status_line, "HTTP/1.1 200 OK");
    EXPECT_TRUE(r->body == text) << "inflated body differs (" << r->body.size() << " bytes)";
    EXPECT_EQ(r->field("x-saw-encoding").value_or(""), "-");  // removed, as Tornado does
    EXPECT_EQ(r->field("x-consumed").value_or(""), "gzip");
    // Chunked and gzip together, on the same connection.
    std::string z = gzip("chunked and gzipped");
    std::string size = (std::ostringstream() << std::hex << z.size()).str();
    ASSERT_TRUE(
        c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n" + size +
               "\r\n" + z + "\r\n0\r\n\r\n"));
    r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "chunked and gzipped");
    // Other codings are left to the handler.
    ASSERT_TRUE(c.send(post("/echo", "raw", "Content-Encoding: br\r\n")));
    r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "raw");
    EXPECT_EQ(r->field("x-saw-encoding").value_or(""), "br");
}

TEST(http_bad_input, gzip_body_is_left_alone_unless_asked) {
    auto srv = start_gzip(false);
    std::string z = gzip("hello");
    raw_client c(srv->port());
    ASSERT_TRUE(c.send(post("/echo", z, "Content-Encoding: gzip\r\n")));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, z);
    EXPECT_EQ(r->field("x-saw-encoding").value_or(""), "gzip");
}

TEST(http_bad_input, gzip_body_inflating_past_the_limit_is_413) {
    auto srv = start_gzip(true);
    // A deflate bomb: 16 MiB of zeros in about 16 KiB, max_body 1 MiB.
    std::string bomb = gzip(std::string(16u << 20, '\0'));
    ASSERT_LT(bomb.size(), 32u * 1024);
    expect_rejected(*srv, post("/echo", bomb, "Content-Encoding: gzip\r\n"), "HTTP/1.1 413 Content Too Large");
    // Just past the limit, too.
    expect_rejected(*srv, post("/echo", gzip(std::string((1u << 20) + 1, 'a')), "Content-Encoding: gzip\r\n"),
                    "HTTP/1.1 413 Content Too Large");
    // And exactly at it is fine.
    raw_client c(srv->port());
    ASSERT_TRUE(c.send(post("/echo", gzip(std::string(1u << 20, 'a')), "Content-Encoding: gzip\r\n")));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status_line, "HTTP/1.1 200 OK");
    EXPECT_EQ(r->body.size(), 1u << 20);
}

TEST(http_bad_input, corrupt_gzip_body_is_400) {
    auto srv = start_gzip(true);
    std::string z = gzip(std::string(5000, 'q'));
    std::string flipped = z;
    flipped[flipped.size() / 2] ^= 0x55;
    std::string bad_crc = z;
    bad_crc[bad_crc.size() - 6] ^= 1;
    for (const std::string& body :
         {std::string("not gzip at all"), z.substr(0, z.size() / 2), flipped, bad_crc, z + "trailing garbage"})
        expect_rejected(*srv, post("/echo", body, "Content-Encoding: gzip\r\n"), bad_request);
}
