#include <squall/http/detail/parser.hpp>

#include <gtest/gtest.h>

#include <deque>
#include <string>

#include <squall/http/status.hpp>

using namespace squall::http;
using namespace squall::http::detail;

namespace {

struct parsed {
    int status = 0;  // 0: every message parsed; else the error status
    std::vector<std::string> methods, targets, bodies;
    std::vector<std::vector<std::pair<std::string, std::string>>> headers;
    std::vector<bool> keep_alive;
};

// Feeds `data` in pieces of `piece` bytes, each copied into its own buffer
// (as leases would be), kept alive until the end like a connection does.
parsed parse(std::string_view data, std::size_t piece = 0, parser_limits limits = {}) {
    request_parser p(limits);
    std::deque<std::string> buffers;
    parsed out;
    std::size_t pos = 0;
    while (pos < data.size()) {
        std::size_t n = piece ? std::min(piece, data.size() - pos) : data.size() - pos;
        std::string_view buf = buffers.emplace_back(data.substr(pos, n));
        pos += n;
        while (!buf.empty() || true) {
            auto step = p.feed(buf);
            buf.remove_prefix(step.consumed);
            if (step.event == parse_event::error) {
                out.status = p.error_status();
                return out;
            }
            if (step.event == parse_event::head_done) {
                p.resume();
                continue;
            }
            if (step.event == parse_event::message_done) {
                const auto& h = p.head();
                out.methods.emplace_back(h.method);
                out.targets.emplace_back(h.target);
                out.bodies.emplace_back(p.body());
                out.keep_alive.push_back(h.keep_alive);
                auto& fields = out.headers.emplace_back();
                for (const auto& f : h.headers) fields.emplace_back(f.name, f.value);
                p.next_message();
                continue;
            }
            break;  // need_more
        }
    }
    return out;
}

// Every case is checked fed at once and fed one byte per buffer.
parsed parse_both(std::string_view data, parser_limits limits = {}) {
    parsed whole = parse(data, 0, limits);
    parsed bytewise = parse(data, 1, limits);
    EXPECT_EQ(whole.status, bytewise.status) << data;
    EXPECT_EQ(whole.methods, bytewise.methods) << data;
    EXPECT_EQ(whole.targets, bytewise.targets) << data;
    EXPECT_EQ(whole.bodies, bytewise.bodies) << data;
    EXPECT_EQ(whole.headers, bytewise.headers) << data;
    return whole;
}

int status_of(std::string_view data, parser_limits limits = {}) { return parse_both(data, limits).status; }

}  // namespace

TEST(parser, simple_get_with_views_and_trimmed_values) {
    auto r = parse_both("GET /a/b?x=1 HTTP/1.1\r\nHost: example.com\r\nX-Pad:  spaced value \t\r\n\r\n");
    ASSERT_EQ(r.status, 0);
    ASSERT_EQ(r.methods.size(), 1u);
    EXPECT_EQ(r.methods[0], "GET");
    EXPECT_EQ(r.targets[0], "/a/b?x=1");
    EXPECT_EQ(r.headers[0][0], (std::pair<std::string, std::string>{"Host", "example.com"}));
    EXPECT_EQ(r.headers[0][1], (std::pair<std::string, std::string>{"X-Pad", "spaced value"}));
    EXPECT_TRUE(r.keep_alive[0]);
}

TEST(parser, path_and_query_split) {
    request_parser p({});
    std::string req = "GET /search?q=io_uring&n=2 HTTP/1.1\r\nHost: a\r\n\r\n";
    auto step = p.feed(req);
    ASSERT_EQ(step.event, parse_event::message_done);  // no body: no separate head_done
    EXPECT_EQ(p.head().path, "/search");
    EXPECT_EQ(p.head().query, "q=io_uring&n=2");
}

TEST(parser, bodies_content_length_and_chunked) {
    auto r = parse_both(
        "POST /e HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"
        "POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n");
    ASSERT_EQ(r.status, 0);
    EXPECT_EQ(r.bodies, (std::vector<std::string>{"hello", "abcdefg"}));
}

TEST(parser, sixty_four_pipelined_requests_in_order) {
    std::string all;
    for (int i = 0; i < 64; ++i) all += "GET /" + std::to_string(i) + " HTTP/1.1\r\nHost: a\r\n\r\n";
    auto r = parse_both(all);
    ASSERT_EQ(r.targets.size(), 64u);
    for (int i = 0; i < 64; ++i) EXPECT_EQ(r.targets[i], "/" + std::to_string(i));
}

TEST(parser, keep_alive_rules) {
    auto r = parse_both("GET / HTTP/1.0\r\n\r\n");
    EXPECT_FALSE(r.keep_alive[0]);
    r = parse_both("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    EXPECT_TRUE(r.keep_alive[0]);
    r = parse_both("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    EXPECT_FALSE(r.keep_alive[0]);
}

// The HTTP rows of shared/BAD_INPUT.md that the parser answers.
struct bad_case {
    const char* name;
    std::string_view request;
    int status;
};

class bad_input : public ::testing::TestWithParam<bad_case> {};

TEST_P(bad_input, gets_its_status) {
    const auto& c = GetParam();
    EXPECT_EQ(status_of(c.request), c.status) << c.name;
}

INSTANTIATE_TEST_SUITE_P(
    parser, bad_input,
    ::testing::Values(
        bad_case{"no_host_1_1", "GET / HTTP/1.1\r\n\r\n", 400},
        bad_case{"two_hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
        bad_case{"invalid_host", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400},
        bad_case{"invalid_host_slash", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400},
        bad_case{"cl_and_te",
                 "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
        bad_case{"cl_plus", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\nx", 400},
        bad_case{"cl_minus", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\nx", 400},
        bad_case{"cl_suffix", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1Z\r\n\r\nx", 400},
        bad_case{"cl_empty", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \r\n\r\nx", 400},
        bad_case{"cl_list", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1, 2\r\n\r\nx", 400},
        bad_case{"cl_twice", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nx", 400},
        bad_case{"cl_overflow", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n", 400},
        bad_case{"cl_over_limit", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1048577\r\n\r\n", 413},
        bad_case{"te_chunked_not_last", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400},
        bad_case{"te_in_1_0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400},
        bad_case{"te_gzip_chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
                 501},
        bad_case{"te_identity", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n", 501},
        bad_case{"te_unknown", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: foo\r\n\r\n", 501},
        bad_case{"space_before_colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400},
        bad_case{"tab_before_colon", "GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", 400},
        bad_case{"nul_in_value", std::string_view("GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n", 35), 400},
        bad_case{"vt_in_value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\vb\r\n\r\n", 400},
        bad_case{"bare_cr_in_value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", 400},
        bad_case{"empty_name", "GET / HTTP/1.1\r\nHost: a\r\n: b\r\n\r\n", 400},
        bad_case{"no_colon", "GET / HTTP/1.1\r\nHost: a\r\nnocolon\r\n\r\n", 400},
        bad_case{"obs_fold", "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n  b\r\n\r\n", 400},
        bad_case{"obs_fold_tab", "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n\tb\r\n\r\n", 400},
        bad_case{"space_line_before_fields", "GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400},
        bad_case{"bare_lf_everywhere", "GET / HTTP/1.1\nHost: a\n\n", 400},
        bad_case{"bare_lf_after_request_line", "GET / HTTP/1.1\nHost: a\r\n\r\n", 400},
        bad_case{"bare_lf_at_end", "GET / HTTP/1.1\r\nHost: a\r\n\n", 400},
        bad_case{"bare_lf_in_fields", "GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n", 400},
        bad_case{"bare_cr_line_end", "GET / HTTP/1.1\rHost: a\r\n\r\n", 400},
        bad_case{"chunk_0x",
                 "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n", 400},
        bad_case{"chunk_plus",
                 "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n+5\r\nhello\r\n0\r\n\r\n", 400},
        bad_case{"chunk_space",
                 "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n", 400},
        bad_case{"chunk_empty",
                 "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n\r\nhello\r\n0\r\n\r\n", 400},
        bad_case{"chunk_overflow",
                 "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\nx\r\n0\r\n\r\n",
                 400},
        bad_case{"chunk_data_too_long",
                 "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n", 400},
        bad_case{"chunk_missing_crlf",
                 "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello0\r\n\r\n", 400},
        bad_case{"chunked_over_limit", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n100001\r\n",
                 413},
        bad_case{"bad_method", "G@T / HTTP/1.1\r\nHost: a\r\n\r\n", 400},
        bad_case{"unknown_method", "FROB / HTTP/1.1\r\nHost: a\r\n\r\n", 501},
        bad_case{"http_2_0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505},
        bad_case{"http_1_2", "GET / HTTP/1.2\r\nHost: a\r\n\r\n", 505},
        bad_case{"http_0_9", "GET / HTTP/0.9\r\nHost: a\r\n\r\n", 505},
        bad_case{"http_3_0", "GET / HTTP/3.0\r\nHost: a\r\n\r\n", 505},
        bad_case{"h2_preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505},
        bad_case{"expect_other", "POST / HTTP/1.1\r\nHost: a\r\nExpect: teapot\r\nContent-Length: 1\r\n\r\nx", 417},
        bad_case{"invalid_target", "GET foo HTTP/1.1\r\nHost: a\r\n\r\n", 400}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(parser, size_and_count_limits) {
    std::string long_target = "GET /" + std::string(8192, 'a') + " HTTP/1.1\r\nHost: a\r\n\r\n";
    EXPECT_EQ(status_of(long_target), 414);
    std::string big_field = "GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(8200, 'v') + "\r\n\r\n";
    EXPECT_EQ(status_of(big_field), 431);
    std::string many_bytes = "GET / HTTP/1.1\r\nHost: a\r\n";
    for (int i = 0; i < 8; ++i) many_bytes += "X-" + std::to_string(i) + ": " + std::string(5000, 'v') + "\r\n";
    EXPECT_EQ(status_of(many_bytes + "\r\n"), 431);
    std::string many_fields = "GET / HTTP/1.1\r\nHost: a\r\n";
    for (int i = 0; i < 100; ++i) many_fields += "X-" + std::to_string(i) + ": v\r\n";
    EXPECT_EQ(status_of(many_fields + "\r\n"), 431);
    // Within the limits: 99 extra fields plus Host, a target just under 8 KiB.
    std::string fine = "GET /" + std::string(8000, 'a') + " HTTP/1.1\r\nHost: a\r\n";
    for (int i = 0; i < 99; ++i) fine += "X-" + std::to_string(i) + ": v\r\n";
    EXPECT_EQ(status_of(fine + "\r\n"), 0);
}

TEST(parser, a_good_request_before_a_bad_one_is_kept) {
    auto r = parse_both("GET /good HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost : a\r\n\r\n");
    EXPECT_EQ(r.targets, (std::vector<std::string>{"/good"}));
    EXPECT_EQ(r.status, 400);
}

TEST(parser, expect_continue_and_streamed_bodies) {
    request_parser p({});
    std::string head = "POST /up HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n";
    auto step = p.feed(head);
    ASSERT_EQ(step.event, parse_event::head_done);
    EXPECT_TRUE(p.head().expect_continue);
    p.stream_body();
    p.resume();
    std::string part1 = "01234", part2 = "56789";
    std::string got;
    // A streamed body reports each read's pieces as they come, the last
    // ones before the message ends; none is lost.
    step = p.feed(part1);
    ASSERT_EQ(step.event, parse_event::body_chunks);
    EXPECT_EQ(step.consumed, 5u);
    for (auto c : p.chunks()) got += c;
    step = p.feed(part2);
    ASSERT_EQ(step.event, parse_event::body_chunks);
    for (auto c : p.chunks()) got += c;
    EXPECT_EQ(got, "0123456789");
    step = p.feed({});
    EXPECT_EQ(step.event, parse_event::message_done);
}

// own_pending() lets the caller reuse the buffers fed so far mid-body:
// the body and a trailer field cut by a read survive them being
// overwritten.
TEST(parser, own_pending_survives_reused_input) {
    request_parser p({});
    std::string head = "POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
    ASSERT_EQ(p.feed(head).event, parse_event::head_done);
    p.resume();
    std::string buf = "5\r\nhello\r\n0\r\nX-Tra";
    ASSERT_EQ(p.feed(buf).event, parse_event::need_more);
    p.own_pending();
    EXPECT_TRUE(p.owns(p.body()));
    std::fill(buf.begin(), buf.end(), '#');  // the buffer goes back to the ring
    std::string rest = "iler: 1\r\n\r\n";
    ASSERT_EQ(p.feed(rest).event, parse_event::message_done);
    EXPECT_EQ(p.body(), "hello");
}

TEST(parser, chunk_extensions_are_bounded) {
    std::string req =
        "POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1;a=" + std::string(16 * 1024, 'e') +
        "\r\nx\r\n0\r\n\r\n";
    EXPECT_EQ(status_of(req), 400);
    std::string ok = "POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1;a=b\r\nx\r\n0\r\n\r\n";
    EXPECT_EQ(status_of(ok), 0);
}

TEST(parser, reason_phrases) {
    EXPECT_EQ(reason_phrase(200), "OK");
    EXPECT_EQ(reason_phrase(431), "Request Header Fields Too Large");
    EXPECT_EQ(reason_phrase(799), "Unknown");
}

// Found by tests/fuzz/parser_fuzz.cpp: each once depended on how the bytes
// were split into reads, or broke the feed() contract.
TEST(parser, unknown_method_split_consumes_every_byte) {
    request_parser p({});
    std::string req = "FROB / HTTP/1.1\r\nHost: a\r\n\r\n";
    for (std::size_t i = 0; i < 5; ++i) {
        auto step = p.feed(std::string_view(req).substr(i, 1));
        if (i < 4) {
            ASSERT_EQ(step.event, parse_event::need_more) << i;
            EXPECT_EQ(step.consumed, 1u) << i;  // need_more: everything fed was consumed
        } else {
            ASSERT_EQ(step.event, parse_event::error);
            EXPECT_EQ(p.error_status(), 501);
        }
    }
}

TEST(parser, method_rules_whatever_the_reads) {
    EXPECT_EQ(status_of(std::string_view("FRO\0B / HTTP/1.1\r\nHost: a\r\n\r\n", 30)), 400);  // NUL is no tchar
    EXPECT_EQ(status_of(std::string(32, 'Z') + " / HTTP/1.1\r\nHost: a\r\n\r\n"), 501);
    EXPECT_EQ(status_of(std::string(33, 'Z') + " / HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
    EXPECT_EQ(status_of("\r\n\r\n\r\nFROB / HTTP/1.1\r\nHost: a\r\n\r\n"), 501);
}

TEST(parser, line_rules_after_leading_empty_lines) {
    // llhttp skips CR/LF before a request line; the line rules start after.
    EXPECT_EQ(status_of("\r\n\r\nGET / HTTP/1.1\nHost: a\r\n\r\n"), 400);
    EXPECT_EQ(status_of("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n 2\r\n\r\n"), 400);
    auto r = parse_both("\r\n\r\nGET /ok HTTP/1.1\r\nHost: a\r\n\r\n\r\nGET /two HTTP/1.1\r\nHost: a\r\n\r\n");
    EXPECT_EQ(r.status, 0);
    EXPECT_EQ(r.targets, (std::vector<std::string>{"/ok", "/two"}));
}

TEST(parser, head_limit_counts_the_same_whatever_the_reads) {
    parser_limits small;
    small.max_head = 40;
    const std::string start = "GET / HTTP/1.1\r\nHost: a\r\n";         // 25 bytes
    EXPECT_EQ(status_of(start + "X: 12345678\r\n\r\n", small), 0);     // 40 bytes
    EXPECT_EQ(status_of(start + "X: 123456789\r\n\r\n", small), 431);  // 41 bytes
    // Empty lines before the request line count too, however they arrive.
    EXPECT_EQ(status_of("\r\n" + start + "X: 12345678\r\n\r\n", small), 431);
}

TEST(parser, chunk_size_near_two_to_the_64_is_too_large) {
    EXPECT_EQ(status_of("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                        "1\r\na\r\nffffffffffffffff\r\n"),
              413);
}

TEST(parser, streamed_body_has_no_empty_chunks) {
    request_parser p({});
    std::string head = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n";
    ASSERT_EQ(p.feed(head).event, parse_event::head_done);
    p.stream_body();
    p.resume();
    EXPECT_EQ(p.feed({}).event, parse_event::need_more);
    std::string body = "abc";
    ASSERT_EQ(p.feed(body).event, parse_event::body_chunks);
    ASSERT_EQ(p.chunks().size(), 1u);
    EXPECT_EQ(p.chunks()[0], "abc");
    EXPECT_EQ(p.feed({}).event, parse_event::message_done);
}

TEST(parser, trailer_fields_are_checked_and_dropped) {
    auto r = parse_both(
        "POST /t HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        "3\r\nabc\r\n0\r\nHost: evil\r\nContent-Type: text/evil\r\n\r\n");
    ASSERT_EQ(r.status, 0);
    EXPECT_EQ(r.bodies, (std::vector<std::string>{"abc"}));
    ASSERT_EQ(r.headers.size(), 1u);
    EXPECT_EQ(r.headers[0],
              (std::vector<std::pair<std::string, std::string>>{{"Host", "a"}, {"Transfer-Encoding", "chunked"}}));
    parser_limits two;
    two.max_fields = 2;
    EXPECT_EQ(
        status_of("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n",
                  two),
        431);
    EXPECT_EQ(status_of("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nA B: 1\r\n\r\n"), 400);
}

TEST(parser, connect_has_no_content) {
    EXPECT_EQ(status_of("CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\nContent-Length: 5\r\n\r\nhello"), 400);
    EXPECT_EQ(status_of("CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), 400);
    // Content-Length: 0 is no content: the request parses (what follows
    // it belongs to the tunnel, which llhttp reports as an error here).
    auto r = parse_both("CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\nContent-Length: 0\r\n\r\n");
    EXPECT_EQ(r.methods, (std::vector<std::string>{"CONNECT"}));
}
