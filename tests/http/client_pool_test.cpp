// The client's pool and its request features against scripted servers:
// keep-alive reuse, never reusing a connection with leftovers, the retry
// on a stale pooled connection, Keep-Alive: timeout=, max_clients,
// streaming with backpressure, uploads, auth and proxies.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/http/scripted_server.hpp"
#include <squall/engine/loop.hpp>
#include <squall/engine/time.hpp>
#include <squall/engine/when.hpp>
#include <squall/http/client.hpp>

using namespace std::chrono_literals;
using namespace squall;
using squall::http::client_errc;
using squall::http::testing::scripted_conn;
using squall::http::testing::scripted_server;

namespace {

const std::string hello = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";

// Answers every request on a connection with `answer` until the client
// closes it, recording each request.
scripted_server keep_alive(std::string answer) {
    return scripted_server([answer](scripted_conn& c, int) {
        for (;;) {
            auto r = c.read_request();
            if (!r.ok) return;
            c.record(r);
            c.send(answer);
        }
    });
}

struct fetched {
    std::vector<result<http::response>> results;
    std::uint64_t opened = 0;
    std::size_t idle = 0;
};

// Fetches the requests one after the other on one client.
fetched fetch_in_turn(std::vector<http::request> reqs, http::client_options o = {}) {
    loop l;
    http::client c(o);
    fetched out;
    for (auto& r : reqs) out.results.push_back(l.run_sync(c.fetch(std::move(r))));
    out.opened = c.connections_opened();
    out.idle = c.idle_connections();
    return out;
}

http::request get(const std::string& url) {
    http::request r;
    r.url = url;
    r.request_timeout = 10s;
    return r;
}

TEST(client_pool, keep_alive_reuses_one_connection) {
    auto server = keep_alive(hello);
    auto f = fetch_in_turn({get(server.url("/a")), get(server.url("/b")), get(server.url("/c"))});
    for (auto& r : f.results) {
        ASSERT_TRUE(r) << r.error().message();
        EXPECT_EQ(r->body, "hello");
    }
    EXPECT_FALSE(f.results[0]->reused_connection);
    EXPECT_TRUE(f.results[2]->reused_connection);
    EXPECT_EQ(f.opened, 1u);
    EXPECT_EQ(server.accepted(), 1);
    EXPECT_EQ(f.idle, 1u);
    auto seen = server.requests();
    ASSERT_EQ(seen.size(), 3u);
    EXPECT_TRUE(seen[1].head.starts_with("GET /b HTTP/1.1\r\n"));
    EXPECT_NE(seen[0].head.find("Host: 127.0.0.1:" + std::to_string(server.port()) + "\r\n"), std::string::npos);
    EXPECT_NE(seen[0].head.find("Accept-Encoding: gzip\r\n"), std::string::npos);
    EXPECT_NE(seen[0].head.find("User-Agent: squall\r\n"), std::string::npos);
}

TEST(client_pool, leftover_bytes_close_the_connection) {
    // Each answer carries unsolicited bytes after it: never read as the
    // next response, the connection is closed and a new one opened.
    auto server = keep_alive(hello + "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil");
    auto f = fetch_in_turn({get(server.url()), get(server.url())});
    for (auto& r : f.results) {
        ASSERT_TRUE(r) << r.error().message();
        EXPECT_EQ(r->body, "hello");
    }
    EXPECT_EQ(f.opened, 2u);
}

TEST(client_pool, bodies_after_head_204_304_are_not_reused) {
    for (std::string answer :
         {std::string("HTTP/1.1 204 No Content\r\n\r\nbody"), std::string("HTTP/1.1 304 Not Modified\r\n\r\nbody"),
          std::string("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nbody")}) {
        auto server = keep_alive(answer);
        auto a = get(server.url()), b = get(server.url());
        a.method = b.method = "HEAD";
        a.max_body_size = b.max_body_size = 2;  // a HEAD's length is no body
        auto f = fetch_in_turn({std::move(a), std::move(b)});
        for (auto& r : f.results) {
            ASSERT_TRUE(r) << answer << ": " << r.error().message();
            EXPECT_EQ(r->body, "") << answer;
        }
        EXPECT_EQ(f.opened, 2u) << answer;
    }
}

TEST(client_pool, stale_pooled_connection_is_retried_once_for_get) {
    // Every connection answers one request, then closes.
    scripted_server server([](scripted_conn& c, int) {
        if (!c.read_request().ok) return;
        c.send(hello);
        c.close_write();
        c.wait_close();
    });
    // The server's FIN may or may not have arrived before the second
    // fetch; either way the second GET must succeed.
    auto f = fetch_in_turn({get(server.url()), get(server.url()), get(server.url())});
    for (auto& r : f.results) {
        ASSERT_TRUE(r) << r.error().message();
        EXPECT_EQ(r->body, "hello");
    }
    EXPECT_EQ(server.accepted(), 3);
}

TEST(client_pool, stale_pooled_connection_fails_a_post_clearly) {
    // Keep-alive promised, then the connection is closed after the first
    // answer without a byte for the second request.
    scripted_server server([](scripted_conn& c, int index) {
        if (!c.read_request().ok) return;
        c.send(hello);
        if (index == 0) {
            (void)c.read_request();  // the POST arrives, then the server goes
            return;
        }
        c.wait_close();
    });
    auto post = get(server.url());
    post.method = "POST";
    post.body = "x";
    auto f = fetch_in_turn({get(server.url()), std::move(post)});
    ASSERT_TRUE(f.results[0]);
    ASSERT_FALSE(f.results[1]);
    EXPECT_EQ(f.results[1].error(), make_error_code(client_errc::closed));
    EXPECT_EQ(server.accepted(), 1);
}

TEST(client_pool, keep_alive_timeout_of_the_server_is_respected) {
    auto server = keep_alive("HTTP/1.1 200 OK\r\nKeep-Alive: timeout=1\r\nContent-Length: 0\r\n\r\n");
    auto f = fetch_in_turn({get(server.url()), get(server.url())});
    ASSERT_TRUE(f.results[1]);
    EXPECT_EQ(f.opened, 2u);  // timeout=1 leaves no safe time to idle
    EXPECT_EQ(f.idle, 0u);
}

task<void> nap(clock::duration d) { co_await sleep(d); }

TEST(client_pool, idle_connections_expire) {
    auto server = keep_alive(hello);
    loop l;
    http::client_options o;
    o.idle_timeout = 100ms;
    http::client c(o);
    auto r = l.run_sync(c.fetch(server.url()));
    ASSERT_TRUE(r);
    EXPECT_EQ(c.idle_connections(), 1u);
    (void)l.run_sync(nap(1500ms));
    EXPECT_EQ(c.idle_connections(), 0u);  // swept without a fetch asking
}

task<std::vector<result<http::response>>> fetch_many(http::client* c, std::string url, int n) {
    std::vector<task<result<http::response>>> tasks;
    for (int i = 0; i < n; ++i) tasks.push_back(c->fetch(url));
    auto all = co_await when_all(std::move(tasks));
    co_return all;
}

TEST(client_pool, max_clients_bounds_fetches_in_flight) {
    scripted_server server([](scripted_conn& c, int) {
        for (;;) {
            if (!c.read_request().ok) return;
            ::usleep(20000);  // long enough for the others to pile up
            c.send(hello);
        }
    });
    loop l;
    http::client_options o;
    o.max_clients = 2;
    http::client c(o);
    auto results = l.run_sync(fetch_many(&c, server.url(), 8));
    for (auto& r : results) ASSERT_TRUE(r) << r.error().message();
    EXPECT_LE(server.max_concurrent(), 2);
    EXPECT_LE(c.connections_opened(), 2u);
}

}  // namespace
