// The client's response timings (queue, DNS, connect, TLS, first byte,
// total) and pooled HTTPS reuse, against squall's own server over TLS
// (certificates from tests/tls/make_certs.sh) and a scripted DNS server.
// The timings are checked for presence and order, never against a clock
// bound: a loaded machine may take any time for any part.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "tests/engine/dns_peer.hpp"
#include "tests/http/loopback_server.hpp"
#include "tests/http/scripted_server.hpp"
#include <squall/engine/loop.hpp>
#include <squall/engine/resolver.hpp>
#include <squall/engine/tls.hpp>
#include <squall/engine/when.hpp>
#include <squall/http/client.hpp>

using namespace std::chrono_literals;
using namespace squall;
using http::testing::loopback_server;

namespace {

namespace fs = std::filesystem;

class hello_handler : public http::request_handler {
public:
    task<void> get() {
        write("hello");
        co_return;
    }
};

struct tls_site {
    tls_site() {
        dir = fs::temp_directory_path() / ("squall-client-timings-" + std::to_string(::getpid()));
        const std::string make = std::string(SQUALL_SOURCE_DIR) + "/tests/tls/make_certs.sh " + dir.string();
        if (std::system(make.c_str()) != 0) throw std::runtime_error("make_certs.sh failed");
        auto app = std::make_unique<http::application>();
        app->add<hello_handler>("/");
        tls_server_options t;
        t.certificate = {(dir / "server.pem").string(), (dir / "server.key").string(), ""};
        srv = std::make_unique<loopback_server>(std::move(app), listener_options{}, true, stream_options{},
                                                tls_context::server(t));
    }
    ~tls_site() {
        srv.reset();
        std::error_code ec;
        fs::remove_all(dir, ec);
    }
    std::string url() const { return "https://localhost:" + std::to_string(srv->port()) + "/"; }
    fs::path dir;
    std::unique_ptr<loopback_server> srv;
};

http::request get(const std::string& url, const tls_site* site = nullptr) {
    http::request r;
    r.url = url;
    r.request_timeout = 30s;
    r.connect_timeout = 30s;
    if (site) r.ca_file = (site->dir / "ca.pem").string();
    return r;
}

// Every part is a duration that fits inside the whole, and the parts
// before the first byte happened before it.
void expect_ordered(const http::fetch_timings& t) {
    EXPECT_GE(t.queue.count(), 0);
    EXPECT_GE(t.dns.count(), 0);
    EXPECT_GE(t.connect.count(), 0);
    EXPECT_GE(t.tls.count(), 0);
    EXPECT_GT(t.first_byte.count(), 0);
    EXPECT_LE(t.queue + t.dns + t.connect + t.tls, t.first_byte);
    EXPECT_LE(t.first_byte, t.total);
}

}  // namespace

TEST(client_timings, a_new_https_connection_has_every_part_and_a_reused_one_none) {
    tls_site site;
    loop l;
    http::client c;
    auto first = l.run_sync(c.fetch(get(site.url(), &site)));
    ASSERT_TRUE(first) << first.error().message();
    EXPECT_EQ(first->body, "hello");
    EXPECT_FALSE(first->reused_connection);
    const auto& t = first->timings;
    EXPECT_GT(t.connect.count(), 0) << "a new connection was made: its connect takes some time";
    EXPECT_GT(t.tls.count(), 0) << "a TLS handshake ran";
    expect_ordered(t);

    // The same origin again: the pooled TLS connection, no new handshake.
    auto second = l.run_sync(c.fetch(get(site.url() + "?again", &site)));
    ASSERT_TRUE(second) << second.error().message();
    EXPECT_EQ(second->body, "hello");
    EXPECT_TRUE(second->reused_connection);
    EXPECT_EQ(second->timings.dns.count(), 0);
    EXPECT_EQ(second->timings.connect.count(), 0);
    EXPECT_EQ(second->timings.tls.count(), 0);
    expect_ordered(second->timings);
    EXPECT_EQ(c.connections_opened(), 1u) << "two HTTPS fetches to one origin share one connection";
}

TEST(client_timings, a_name_lookup_is_timed_and_plain_http_has_no_tls_part) {
    squall::testing::scripted_dns dns(R"({"timed.test": {"A": ["127.0.0.1"]}})");
    http::testing::scripted_server server([](http::testing::scripted_conn& conn, int) {
        while (conn.read_request().ok) conn.send("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    });
    loop l;
    configure_resolver({.servers = dns.servers()});
    http::client c;
    auto r = l.run_sync(c.fetch(get("http://timed.test:" + std::to_string(server.port()) + "/")));
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->body, "ok");
    EXPECT_GE(dns.queries("timed.test"), 1);
    EXPECT_GT(r->timings.dns.count(), 0) << "the lookup went to a DNS server";
    EXPECT_EQ(r->timings.tls.count(), 0);
    expect_ordered(r->timings);
}

// With max_clients 1, a second fetch started while the first connects
// waits for the first to end: its queue part covers at least the first's
// TLS handshake, which began after the second was started (an order of
// events, not a clock bound).
TEST(client_timings, the_queue_part_is_the_wait_for_a_slot) {
    tls_site site;
    loop l;
    http::client_options o;
    o.max_clients = 1;
    http::client c(o);
    auto both = l.run_sync([](http::client* cl, const tls_site* s) -> task<std::pair<http::response, http::response>> {
        auto a = cl->fetch(get(s->url(), s));
        auto b = cl->fetch(get(s->url() + "?second", s));
        auto [ra, rb] = co_await when_all(std::move(a), std::move(b));
        co_return std::pair{ra.value(), rb.value()};
    }(&c, &site));
    const auto& [a, b] = both;
    expect_ordered(a.timings);
    expect_ordered(b.timings);
    EXPECT_GT(a.timings.tls.count(), 0);
    EXPECT_GE(b.timings.queue, a.timings.tls) << "the second waited for the first to end";
    EXPECT_TRUE(b.reused_connection);
}
