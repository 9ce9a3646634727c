// The client against hostile and broken servers (shared/BAD_INPUT.md,
// "Hostile and broken servers"): each response breaks one framing rule
// and must fail with the right error kind, never as a short success.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <stdlib.h>
#include <unistd.h>

#include "tests/http/scripted_server.hpp"
#include "tests/support/gzip.hpp"
#include <squall/engine/loop.hpp>
#include <squall/engine/resolver.hpp>
#include <squall/http/client.hpp>

using namespace std::chrono_literals;
using namespace squall;
using squall::http::client_errc;
using squall::http::testing::scripted_conn;
using squall::http::testing::scripted_server;

namespace {

// A server that answers every request on every connection with `answer`,
// then closes.
scripted_server answering(std::string answer) {
    return scripted_server([answer](scripted_conn& c, int) {
        if (!c.read_request().ok) return;
        c.send(answer);
        c.close_write();
        c.wait_close();
    });
}

result<http::response> fetch_once(http::request req) {
    loop l;
    http::client c;
    return l.run_sync(c.fetch(std::move(req)));
}

result<http::response> fetch_url(const std::string& url, clock::duration timeout = 10s) {
    http::request req;
    req.url = url;
    req.request_timeout = timeout;
    return fetch_once(std::move(req));
}

struct hostile_case {
    const char* name;
    std::string answer;
    client_errc kind;
};

std::vector<hostile_case> hostile_cases() {
    const std::string ok = "HTTP/1.1 200 OK\r\n";
    return {
        {"cl_and_te", ok + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
         client_errc::protocol},
        {"differing_cl", ok + "Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", client_errc::protocol},
        {"cl_list", ok + "Content-Length: 5, 6\r\n\r\nhello!", client_errc::protocol},
        {"cl_sign", ok + "Content-Length: +5\r\n\r\nhello", client_errc::protocol},
        {"cl_negative", ok + "Content-Length: -5\r\n\r\nhello", client_errc::protocol},
        {"cl_hex", ok + "Content-Length: 0x5\r\n\r\nhello", client_errc::protocol},
        {"cl_space_inside", ok + "Content-Length: 1 2\r\n\r\nhello", client_errc::protocol},
        {"cl_overflow", ok + "Content-Length: 99999999999999999999999\r\n\r\nhello", client_errc::protocol},
        {"chunk_overflow", ok + "Transfer-Encoding: chunked\r\n\r\n10000000000000000\r\nx\r\n0\r\n\r\n",
         client_errc::protocol},
        {"chunk_size_prefix", ok + "Transfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n",
         client_errc::protocol},
        {"chunk_data_too_long", ok + "Transfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n",
         client_errc::protocol},
        {"te_not_chunked", ok + "Transfer-Encoding: gzip\r\n\r\nxxxx", client_errc::protocol},
        {"te_gzip_chunked", ok + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", client_errc::protocol},
        {"bare_lf_status", "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n", client_errc::protocol},
        {"bare_lf_field", ok + "Content-Length: 0\n\r\n", client_errc::protocol},
        {"bare_lf_end", ok + "Content-Length: 0\r\n\n", client_errc::protocol},
        {"bare_cr", ok + "X: a\rb\r\nContent-Length: 0\r\n\r\n", client_errc::protocol},
        {"nul_in_value", ok + std::string("X: a") + '\0' + "b\r\nContent-Length: 0\r\n\r\n", client_errc::protocol},
        {"obs_fold", ok + "X: a\r\n b\r\nContent-Length: 0\r\n\r\n", client_errc::protocol},
        {"space_before_colon", ok + "X : a\r\nContent-Length: 0\r\n\r\n", client_errc::protocol},
        {"status_two_digits", "HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n", client_errc::protocol},
        {"status_four_digits", "HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n", client_errc::protocol},
        {"status_letters", "HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n", client_errc::protocol},
        {"version_2", "HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n", client_errc::protocol},
        {"not_http", "SSH-2.0-OpenSSH_9.2\r\n", client_errc::protocol},
        {"switching_protocols", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\n",
         client_errc::protocol},
        {"eof_before_length", ok + "Content-Length: 10\r\n\r\nhello", client_errc::protocol},
        {"eof_in_chunk", ok + "Transfer-Encoding: chunked\r\n\r\n5\r\nhel", client_errc::protocol},
        {"eof_before_last_chunk", ok + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n", client_errc::protocol},
        {"eof_in_head", ok + "Content-Length: 5\r\n", client_errc::protocol},
        {"eof_before_answer", "", client_errc::closed},
        {"invalid_gzip", ok + "Content-Encoding: gzip\r\nContent-Length: 5\r\n\r\nhello", client_errc::decoding},
        {"too_many_codings", ok + "Content-Encoding: gzip, gzip, gzip, gzip\r\nContent-Length: 5\r\n\r\nhello",
         client_errc::decoding},
        {"body_past_limit_cl", ok + "Content-Length: 2000\r\n\r\n", client_errc::body_too_large},
        {"body_past_limit_chunked",
         ok + "Transfer-Encoding: chunked\r\n\r\n800\r\n" + std::string(2048, 'x') + "\r\n0\r\n\r\n",
         client_errc::body_too_large},
        {"body_past_limit_close", ok + "Connection: close\r\n\r\n" + std::string(2048, 'x'),
         client_errc::body_too_large},
        {"head_too_large", ok + "X: " + std::string(5000, 'a') + "\r\n\r\n", client_errc::header_too_large},
        {"trailer_too_large", ok + "Transfer-Encoding: chunked\r\n\r\n0\r\nX: " + std::string(5000, 'a'),
         client_errc::header_too_large},
        {"interim_with_a_body", "HTTP/1.1 199 X\r\nContent-Length: 4\r\n\r\nJUNK" + ok + "Content-Length: 2\r\n\r\nok",
         client_errc::protocol},
        {"too_many_fields",
         [ok] {
             std::string s = ok;
             for (int i = 0; i < 200; ++i) s += "X-" + std::to_string(i) + ": v\r\n";
             return s + "Content-Length: 0\r\n\r\n";
         }(),
         client_errc::header_too_large},
        {"too_many_interim",
         [] {
             std::string s;
             for (int i = 0; i < 20; ++i) s += "HTTP/1.1 100 Continue\r\n\r\n";
             return s + "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
         }(),
         client_errc::protocol},
    };
}

class hostile : public ::testing::TestWithParam<hostile_case> {};

TEST_P(hostile, fails_with_the_right_kind) {
    const hostile_case& hc = GetParam();
    auto server = answering(hc.answer);
    http::request req;
    req.url = server.url();
    req.max_body_size = 1024;
    req.max_header_size = 4096;
    auto r = fetch_once(std::move(req));
    ASSERT_FALSE(r) << hc.name << " gave status " << r->status << " body " << r->body.size();
    EXPECT_EQ(r.error(), make_error_code(hc.kind)) << hc.name << ": " << r.error().message();
}

INSTANTIATE_TEST_SUITE_P(responses, hostile, ::testing::ValuesIn(hostile_cases()),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(client_framing, valid_framings_succeed) {
    const std::string ok = "HTTP/1.1 200 OK\r\n";
    const std::vector<std::pair<std::string, std::string>> cases = {
        {ok + "Content-Length: 5\r\n\r\nhello", "hello"},
        {ok + "Transfer-Encoding: chunked\r\n\r\n2\r\nhe\r\n3;ext=1\r\nllo\r\n0\r\nTrailer: x\r\n\r\n", "hello"},
        {ok + "Connection: close\r\n\r\nhello", "hello"},
        {"HTTP/1.0 200 OK\r\n\r\nhello", "hello"},
        {"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" + ok +
             "Content-Length: 5\r\n\r\nhello",
         "hello"},
        {ok + "Content-Encoding: gzip\r\nContent-Length: " + std::to_string(squall::testing::gzip("hello").size()) +
             "\r\n\r\n" + squall::testing::gzip("hello"),
         "hello"},
        {ok + "Content-Encoding: gzip, gzip\r\nContent-Length: " +
             std::to_string(squall::testing::gzip(squall::testing::gzip("hello")).size()) + "\r\n\r\n" +
             squall::testing::gzip(squall::testing::gzip("hello")),
         "hello"},
    };
    for (const auto& [answer, body] : cases) {
        auto server = answering(answer);
        auto r = fetch_url(server.url());
        ASSERT_TRUE(r) << answer << ": " << r.error().message();
        EXPECT_EQ(r->status, 200);
        EXPECT_EQ(r->body, body) << answer;
    }
}

TEST(client_framing, status_reason_and_fields) {
    auto server = answering("HTTP/1.1 404 Not Here\r\nX-One:  a b \r\nContent-Length: 0\r\n\r\n");
    auto r = fetch_url(server.url("/x?y=1"));
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->status, 404);
    EXPECT_EQ(r->reason, "Not Here");
    EXPECT_EQ(r->header("x-one").value_or(""), "a b");
    EXPECT_EQ(r->effective_url, server.url("/x?y=1"));
}

TEST(client_framing, gzip_bomb_stops_at_the_limit) {
    const std::string bomb = squall::testing::gzip(std::string(8 * 1024 * 1024, 'a'));
    auto server =
        answering("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: " + std::to_string(bomb.size()) +
                  "\r\n\r\n" + bomb);
    http::request req;
    req.url = server.url();
    req.max_body_size = 64 * 1024;
    auto r = fetch_once(std::move(req));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), make_error_code(client_errc::body_too_large));
}

TEST(client_framing, stacked_gzip_bomb_stops_at_the_limit) {
    // Three layers: the outer two inflate to the next bomb; each middle
    // layer must hand on what it made rather than inflate it whole first.
    const std::string bomb =
        squall::testing::gzip(squall::testing::gzip(squall::testing::gzip(std::string(64 * 1024 * 1024, 'a'))));
    auto server = answering("HTTP/1.1 200 OK\r\nContent-Encoding: gzip, gzip, gzip\r\nContent-Length: " +
                            std::to_string(bomb.size()) + "\r\n\r\n" + bomb);
    http::request req;
    req.url = server.url();
    req.max_body_size = 64 * 1024;
    auto r = fetch_once(std::move(req));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), make_error_code(client_errc::body_too_large));
}

TEST(client_framing, never_answering_server_times_out) {
    scripted_server server([](scripted_conn& c, int) { c.wait_close(); });
    auto r = fetch_url(server.url(), 500ms);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), make_error_code(client_errc::timeout));
}

TEST(client_framing, dripping_server_times_out) {
    // One byte every 50 ms of a head that would take minutes: the request
    // deadline bounds the whole exchange, not each read.
    scripted_server server([](scripted_conn& c, int) {
        if (!c.read_request().ok) return;
        const std::string head = "HTTP/1.1 200 OK\r\nX: " + std::string(5000, 'a');
        for (char ch : head) {
            c.send(std::string_view(&ch, 1));
            pollfd p{c.fd(), POLLIN, 0};
            if (::poll(&p, 1, 50) != 0) return;  // the client went away
        }
    });
    auto r = fetch_url(server.url(), 700ms);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), make_error_code(client_errc::timeout));
}

TEST(client_framing, refused_connection_is_a_connect_error) {
    int port = 0;
    {
        scripted_server gone([](scripted_conn&, int) {});
        port = gone.port();
    }
    auto r = fetch_url("http://127.0.0.1:" + std::to_string(port) + "/");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), make_error_code(client_errc::connect));
}

TEST(client_framing, unusable_requests_are_refused) {
    for (std::string url : {"ftp://x/", "http://", "http://a b/", "http://127.0.0.1:0/", "http://127.0.0.1/\r\nX: y"}) {
        auto r = fetch_url(url);
        ASSERT_FALSE(r) << url;
        EXPECT_EQ(r.error(), make_error_code(client_errc::bad_request)) << url;
    }
    auto server = answering("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    http::request req;
    req.url = server.url();
    req.headers.emplace_back("X", "a\r\nInjected: 1");
    auto r = fetch_once(std::move(req));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), make_error_code(client_errc::bad_request));
    http::request ua;
    ua.url = server.url();
    ua.user_agent = "x\r\nInjected: 1";
    auto u = fetch_once(std::move(ua));
    ASSERT_FALSE(u);
    EXPECT_EQ(u.error(), make_error_code(client_errc::bad_request));
}

}  // namespace

namespace {

TEST(client_names, host_names_go_through_the_resolver) {
    // The resolver's hosts-file seam (engine/resolver.hpp) names the
    // scripted server; the Host field keeps the name.
    scripted_server server([](scripted_conn& c, int) {
        auto r = c.read_request();
        if (!r.ok) return;
        const bool named = r.head.find("Host: service.test:") != std::string::npos;
        c.send(named ? "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nnamed"
                     : "HTTP/1.1 400 No\r\nContent-Length: 0\r\n\r\n");
        c.wait_close();
    });
    char path[] = "/tmp/squall-client-hosts-XXXXXX";
    const int fd = ::mkstemp(path);
    ASSERT_GE(fd, 0);
    const std::string line = "127.0.0.1 service.test\n";
    ASSERT_EQ(::write(fd, line.data(), line.size()), static_cast<ssize_t>(line.size()));
    ::close(fd);
    loop l;
    resolver_options ro;
    ro.hosts_file = path;
    ro.servers = "127.0.0.1:9";  // nothing answers there: only the file can
    ro.try_timeout = std::chrono::milliseconds(200);
    ro.tries = 1;
    configure_resolver(ro);
    http::client c;
    http::request req;
    req.url = "http://service.test:" + std::to_string(server.port()) + "/";
    auto r = l.run_sync(c.fetch(std::move(req)));
    http::request unknown;
    unknown.url = "http://unknown.test:" + std::to_string(server.port()) + "/";
    auto u = l.run_sync(c.fetch(std::move(unknown)));
    ::unlink(path);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->body, "named");
    ASSERT_FALSE(u);
    EXPECT_EQ(http::error_kind(u.error()), client_errc::dns) << u.error().message();
}

}  // namespace
