// The client's request features against scripted servers: redirects and
// what they carry across origins, streaming with backpressure, the header
// callback, uploads by a body producer, basic auth and an HTTP proxy.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/http/scripted_server.hpp"
#include <squall/engine/loop.hpp>
#include <squall/engine/time.hpp>
#include <squall/http/client.hpp>

using namespace std::chrono_literals;
using namespace squall;
using squall::http::client_errc;
using squall::http::testing::scripted_conn;
using squall::http::testing::scripted_server;

namespace {

// A server that records each request and answers it with answer(index of
// the request, the request).
using answer_fn = std::function<std::string(int, const http::testing::seen_request&)>;
struct recording {
    explicit recording(answer_fn f)
        : answer(std::move(f)), server([this](scripted_conn& c, int) {
              for (;;) {
                  auto r = c.read_request();
                  if (!r.ok) return;
                  server.record(r);
                  c.send(answer(count++, r));
              }
          }) {}
    answer_fn answer;
    std::atomic<int> count{0};
    scripted_server server;
};

std::string redirect(int status, const std::string& location) {
    return "HTTP/1.1 " + std::to_string(status) + " R\r\nLocation: " + location + "\r\nContent-Length: 3\r\n\r\nbye";
}

const std::string hello = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";

result<http::response> fetch_once(http::request req) {
    loop l;
    http::client c;
    return l.run_sync(c.fetch(std::move(req)));
}

TEST(client_redirect, relative_locations_are_resolved) {
    recording s([](int i, const auto&) {
        if (i == 0) return redirect(302, "b/../c?x=1");
        if (i == 1) return redirect(301, "/d");
        return hello;
    });
    http::request req;
    req.url = s.server.url("/a/index");
    auto r = fetch_once(std::move(req));
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->body, "hello");
    EXPECT_EQ(r->effective_url, s.server.url("/d"));
    auto seen = s.server.requests();
    ASSERT_EQ(seen.size(), 3u);
    EXPECT_TRUE(seen[1].head.starts_with("GET /a/c?x=1 HTTP/1.1")) << seen[1].head;
}

TEST(client_redirect, see_other_becomes_get_and_307_keeps_the_body) {
    for (int status : {303, 307, 308}) {
        recording s([status](int i, const auto&) { return i == 0 ? redirect(status, "/next") : hello; });
        http::request req;
        req.url = s.server.url("/form");
        req.method = "POST";
        req.body = "payload";
        auto r = fetch_once(std::move(req));
        ASSERT_TRUE(r) << r.error().message();
        auto seen = s.server.requests();
        ASSERT_EQ(seen.size(), 2u);
        if (status == 303) {
            EXPECT_TRUE(seen[1].head.starts_with("GET /next ")) << seen[1].head;
            EXPECT_EQ(seen[1].body, "");
        } else {
            EXPECT_TRUE(seen[1].head.starts_with("POST /next ")) << seen[1].head;
            EXPECT_EQ(seen[1].body, "payload");
        }
    }
}

TEST(client_redirect, loops_end_at_max_redirects) {
    recording s([](int, const auto&) { return redirect(302, "/again"); });
    http::request req;
    req.url = s.server.url();
    req.max_redirects = 3;
    auto r = fetch_once(std::move(req));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), make_error_code(client_errc::too_many_redirects));
    EXPECT_EQ(s.server.requests().size(), 4u);
}

TEST(client_redirect, not_followed_when_asked) {
    recording s([](int, const auto&) { return redirect(302, "/again"); });
    http::request req;
    req.url = s.server.url();
    req.follow_redirects = false;
    auto r = fetch_once(std::move(req));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 302);
    EXPECT_EQ(r->body, "bye");
}

TEST(client_redirect, credentials_stay_with_their_origin) {
    recording other([](int, const auto&) { return hello; });
    const std::string there = other.server.url("/landed");
    recording first([there](int i, const auto&) { return i == 0 ? redirect(302, "/same") : redirect(307, there); });
    http::request req;
    req.url = first.server.url();
    req.headers = {{"Authorization", "Bearer secret"}, {"Cookie", "a=b"}, {"X-Keep", "1"}};
    auto r = fetch_once(std::move(req));
    ASSERT_TRUE(r) << r.error().message();
    auto same = first.server.requests();
    ASSERT_EQ(same.size(), 2u);
    EXPECT_NE(same[1].head.find("Authorization: Bearer secret"), std::string::npos);  // same origin: kept
    auto seen = other.server.requests();
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].head.find("Authorization"), std::string::npos) << seen[0].head;
    EXPECT_EQ(seen[0].head.find("Cookie"), std::string::npos);
    EXPECT_NE(seen[0].head.find("X-Keep: 1"), std::string::npos);
    EXPECT_NE(seen[0].head.find("Host: 127.0.0.1:" + std::to_string(other.server.port())), std::string::npos);
}

task<result<void>> slow_sink(std::string* into, int* calls, std::string_view piece) {
    into->append(piece);
    ++*calls;
    co_await sleep(5ms);  // the next read waits for this
    co_return result<void>{};
}

TEST(client_stream, body_pieces_reach_the_callback_in_order) {
    std::string big;
    for (int i = 0; i < 20000; ++i) big += std::to_string(i) + ",";
    recording s([big](int, const auto&) {
        std::string chunked = "HTTP/1.1 200 OK\r\nX-Head: 1\r\nTransfer-Encoding: chunked\r\n\r\n";
        for (std::size_t at = 0; at < big.size(); at += 1000) {
            std::string part = big.substr(at, 1000);
            char size[16];
            std::snprintf(size, sizeof size, "%zx", part.size());
            chunked += std::string(size) + "\r\n" + part + "\r\n";
        }
        return chunked + "0\r\n\r\n";
    });
    std::string got;
    int calls = 0, heads = 0;
    http::request req;
    req.url = s.server.url();
    req.streaming_callback = [&got, &calls](std::string_view piece) { return slow_sink(&got, &calls, piece); };
    req.header_callback = [&heads](const http::response& r) {
        ++heads;
        EXPECT_EQ(r.status, 200);
        EXPECT_EQ(r.header("x-head").value_or(""), "1");
    };
    auto r = fetch_once(std::move(req));
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->body, "");
    EXPECT_EQ(got, big);
    EXPECT_GT(calls, 1);
    EXPECT_EQ(heads, 1);
}

task<result<void>> refuse(std::string_view) { co_return make_error_code(std::errc::io_error); }

TEST(client_stream, a_failing_callback_aborts_the_fetch) {
    recording s([](int, const auto&) { return hello; });
    http::request req;
    req.url = s.server.url();
    req.streaming_callback = [](std::string_view p) { return refuse(p); };
    auto r = fetch_once(std::move(req));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), make_error_code(client_errc::aborted));
}

task<result<std::string>> next_piece(int* n) {
    co_await sleep(1ms);
    if (*n >= 3) co_return std::string();
    co_return "part" + std::to_string((*n)++) + ";";
}

TEST(client_upload, a_body_producer_is_sent_chunked) {
    recording s([](int, const auto&) { return hello; });
    int n = 0;
    http::request req;
    req.url = s.server.url();
    req.method = "PUT";
    req.body_producer = [&n] { return next_piece(&n); };
    auto r = fetch_once(std::move(req));
    ASSERT_TRUE(r) << r.error().message();
    auto seen = s.server.requests();
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_NE(seen[0].head.find("Transfer-Encoding: chunked"), std::string::npos);
    EXPECT_EQ(seen[0].body, "part0;part1;part2;");
}

TEST(client_upload, a_produced_body_is_held_to_its_content_length) {
    // next_piece gives "part0;part1;part2;": 18 bytes. A declared length
    // they do not match fails the request before a byte past it is sent;
    // the user's own Transfer-Encoding never reaches the wire.
    for (const char* declared : {"5", "100"}) {
        recording s([](int, const auto&) { return hello; });
        int n = 0;
        http::request req;
        req.url = s.server.url();
        req.method = "PUT";
        req.headers.emplace_back("Content-Length", declared);
        req.headers.emplace_back("Transfer-Encoding", "chunked");
        req.body_producer = [&n] { return next_piece(&n); };
        auto r = fetch_once(std::move(req));
        ASSERT_FALSE(r) << declared;
        EXPECT_EQ(r.error(), make_error_code(client_errc::aborted)) << declared;
    }
    recording s([](int, const auto&) { return hello; });
    int n = 0;
    http::request req;
    req.url = s.server.url();
    req.method = "PUT";
    req.headers.emplace_back("Content-Length", "18");
    req.headers.emplace_back("Transfer-Encoding", "chunked");
    req.body_producer = [&n] { return next_piece(&n); };
    auto r = fetch_once(std::move(req));
    ASSERT_TRUE(r) << r.error().message();
    auto seen = s.server.requests();
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].head.find("Transfer-Encoding"), std::string::npos) << seen[0].head;
    EXPECT_EQ(seen[0].body, "part0;part1;part2;");
}

TEST(client_auth, basic_auth_from_fields_and_from_the_url) {
    recording s([](int, const auto&) { return hello; });
    http::request req;
    req.url = s.server.url();
    req.auth_username = "Aladdin";
    req.auth_password = "open sesame";
    ASSERT_TRUE(fetch_once(std::move(req)));
    http::request req2;
    req2.url = "http://u%40x:p@127.0.0.1:" + std::to_string(s.server.port()) + "/";
    ASSERT_TRUE(fetch_once(std::move(req2)));
    auto seen = s.server.requests();
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_NE(seen[0].head.find("Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n"), std::string::npos);
    EXPECT_NE(seen[1].head.find("Authorization: Basic dUB4OnA=\r\n"), std::string::npos) << seen[1].head;
}

TEST(client_proxy, http_goes_in_absolute_form) {
    recording proxy([](int, const auto&) { return hello; });
    http::request req;
    req.url = "http://example.test:8080/path?q=1";
    req.proxy = "http://user:pw@127.0.0.1:" + std::to_string(proxy.server.port());
    auto r = fetch_once(std::move(req));
    ASSERT_TRUE(r) << r.error().message();
    auto seen = proxy.server.requests();
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_TRUE(seen[0].head.starts_with("GET http://example.test:8080/path?q=1 HTTP/1.1\r\n")) << seen[0].head;
    EXPECT_NE(seen[0].head.find("Host: example.test:8080\r\n"), std::string::npos);
    EXPECT_NE(seen[0].head.find("Proxy-Authorization: Basic dXNlcjpwdw==\r\n"), std::string::npos);
}

TEST(client_proxy, a_refused_tunnel_is_a_proxy_error) {
    recording proxy(
        [](int, const auto&) { return std::string("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"); });
    http::request req;
    req.url = "https://example.test/";
    req.proxy = "http://127.0.0.1:" + std::to_string(proxy.server.port());
    auto r = fetch_once(std::move(req));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), make_error_code(client_errc::proxy));
    auto seen = proxy.server.requests();
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_TRUE(seen[0].head.starts_with("CONNECT example.test:443 HTTP/1.1\r\n")) << seen[0].head;
}

}  // namespace
