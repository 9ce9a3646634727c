// websocket_connect (ws/client.hpp) against squall's own server: echo of
// text and binary, subprotocol choice, permessage-deflate agreed both
// ways, and the failures: a refused upgrade (403), a bad URL, nothing
// listening, and a server that never answers the handshake (deadline).
// The real-peer checks (node's ws server) are in tests/examples.
#include <gtest/gtest.h>

#include <filesystem>

#include "tests/engine/dns_peer.hpp"
#include "tests/http/loopback_server.hpp"
#include <squall/engine/listener.hpp>
#include <squall/engine/loop.hpp>
#include <squall/engine/resolver.hpp>
#include <squall/engine/tls.hpp>
#include <squall/ws/client.hpp>
#include <squall/ws/handler.hpp>

using namespace squall;
using namespace squall::ws;
using namespace std::chrono_literals;
using http::testing::loopback_server;

namespace {

class echo_socket : public websocket_handler {
public:
    echo_socket() { ws_options.deflate.enabled = true; }
    task<void> on_message(message m) override {
        std::string reply = std::string(m.data) + (ws_connection()->deflate() ? " (deflate)" : "");
        result<void> w = co_await write_message(reply, m.binary);
        (void)w;
    }
    std::optional<std::string> select_subprotocol(const std::vector<std::string_view>& offered) override {
        return std::string(offered.back());
    }
};

std::unique_ptr<http::application> make_app() {
    auto app = std::make_unique<http::application>();
    app->add<echo_socket>("/echo");
    return app;
}

struct talk_result {
    std::vector<std::string> replies;
    std::string protocol;
    bool deflate = false;
    std::error_code error;
};

task<talk_result> talk(std::string url, client_options o, std::vector<std::string> msgs) {
    talk_result out;
    auto c = co_await websocket_connect(url, o);
    if (!c) {
        out.error = c.error();
        co_return out;
    }
    auto conn = *c;
    out.protocol = conn->subprotocol();
    out.deflate = conn->deflate();
    for (const auto& m : msgs) {
        result<void> w = co_await conn->write_message(m, m.starts_with("bin"));
        if (!w) break;
        auto r = co_await conn->read_message();
        if (!r) break;
        out.replies.emplace_back(r->data);
    }
    result<void> cl = co_await conn->close();
    (void)cl;
    auto end = co_await conn->read_message();
    EXPECT_FALSE(end);
    EXPECT_EQ(conn->close_code(), 1000);
    co_await conn->finish();
    co_return out;
}

}  // namespace

TEST(client, echo_with_and_without_deflate) {
    loopback_server srv(make_app());
    for (bool deflate : {false, true}) {
        loop l;
        client_options o;
        o.deflate.enabled = deflate;
        o.subprotocols = {"one", "two"};
        auto url = "ws://127.0.0.1:" + std::to_string(srv.port()) + "/echo";
        auto r = l.run_sync(talk(url, o, {"hello", "bin\x01\x02", std::string(100000, 'q')}));
        ASSERT_FALSE(r.error) << r.error.message();
        std::string tag = deflate ? " (deflate)" : "";
        ASSERT_EQ(r.replies.size(), 3u);
        EXPECT_EQ(r.replies[0], "hello" + tag);
        EXPECT_EQ(r.replies[1], "bin\x01\x02" + tag);
        EXPECT_EQ(r.replies[2], std::string(100000, 'q') + tag);
        EXPECT_EQ(r.protocol, "two");
        EXPECT_EQ(r.deflate, deflate);
    }
}

// wss://: our client against our server over TLS (certificates made by
// tests/tls/make_certs.sh): verified against the test CA with SNI and the
// host name, refused on the system store, and plain ws:// to the TLS port
// fails.
TEST(client, wss_against_our_tls_server) {
    namespace fs = std::filesystem;
    fs::path dir = fs::temp_directory_path() / ("squall-wss-test-" + std::to_string(::getpid()));
    ASSERT_EQ(std::system((std::string(SQUALL_SOURCE_DIR) + "/tests/tls/make_certs.sh " + dir.string()).c_str()), 0);
    tls_server_options sopts;
    sopts.certificate = {(dir / "server.pem").string(), (dir / "server.key").string(), ""};
    loopback_server srv(make_app(), {}, true, {}, tls_context::server(sopts));
    auto port = std::to_string(srv.port());
    loop l;
    client_options o;
    tls_client_options copts;
    copts.ca_file = (dir / "ca.pem").string();
    o.tls = tls_context::client(copts);
    auto r = l.run_sync(talk("wss://localhost:" + port + "/echo", o, {"over tls", std::string(70000, 't')}));
    ASSERT_FALSE(r.error) << r.error.message();
    ASSERT_EQ(r.replies.size(), 2u);
    EXPECT_EQ(r.replies[0], "over tls");
    EXPECT_EQ(r.replies[1], std::string(70000, 't'));
    // The system store does not know our test CA.
    EXPECT_TRUE(l.run_sync(talk("wss://localhost:" + port + "/echo", {}, {})).error);
    // Plain WebSocket to the TLS port.
    EXPECT_TRUE(l.run_sync(talk("ws://localhost:" + port + "/echo", {}, {})).error);
    std::error_code ec;
    fs::remove_all(dir, ec);
}

TEST(client, failures) {
    loopback_server srv(make_app());
    loop l;
    auto port = std::to_string(srv.port());
    client_options o;
    o.headers = {{"Origin", "http://elsewhere.example"}};  // refused: 403
    EXPECT_EQ(l.run_sync(talk("ws://127.0.0.1:" + port + "/echo", o, {})).error, ws::errc::handshake_failed);
    EXPECT_EQ(l.run_sync(talk("ws://127.0.0.1:" + port + "/nowhere", {}, {})).error, ws::errc::handshake_failed);
    EXPECT_EQ(l.run_sync(talk("http://127.0.0.1:" + port + "/echo", {}, {})).error, ws::errc::bad_url);
    EXPECT_EQ(l.run_sync(talk("ws://127.0.0.1:99999/echo", {}, {})).error, ws::errc::bad_url);
    // Nothing listening: the connect fails.
    unique_fd closed = listen_on(address::ip("127.0.0.1", 0));
    auto free_port = std::to_string(local_address(closed.get()).port());
    closed.reset();
    EXPECT_TRUE(l.run_sync(talk("ws://127.0.0.1:" + free_port + "/", {}, {})).error);
}

TEST(client, a_server_that_never_answers_hits_the_deadline) {
    unique_fd silent = listen_on(address::ip("127.0.0.1", 0));  // accepts (backlog), never answers
    auto port = std::to_string(local_address(silent.get()).port());
    loop l;
    client_options o;
    o.connect_timeout = 50ms;
    auto r = l.run_sync(talk("ws://127.0.0.1:" + port + "/", o, {}));
    EXPECT_EQ(r.error, squall::errc::timed_out);
}

// A host name goes through the loop's resolver (c-ares, here against a
// scripted DNS server that getaddrinfo would never ask), then Happy
// Eyeballs: the name's IPv6 address has no listener, its IPv4 one does.
TEST(client, a_host_name_is_resolved_by_the_loops_resolver) {
    squall::testing::scripted_dns dns(
        R"({"echo.test": {"A": ["127.0.0.1"], "AAAA": ["::1"]}, "gone.test": "nxdomain"})");
    loopback_server srv(make_app());
    loop l;
    configure_resolver({.servers = dns.servers()});
    auto port = std::to_string(srv.port());
    auto r = l.run_sync(talk("ws://echo.test:" + port + "/echo", {}, {"by name"}));
    ASSERT_FALSE(r.error) << r.error.message();
    EXPECT_EQ(r.replies, std::vector<std::string>{"by name"});
    EXPECT_GE(dns.queries("echo.test", "A"), 1);
    EXPECT_GE(dns.queries("echo.test", "AAAA"), 1);
    const auto asked = resolver_statistics().queries;
    EXPECT_GE(asked, 1u);
    // Again: from the resolver's cache, no new query.
    r = l.run_sync(talk("ws://echo.test:" + port + "/echo", {}, {"cached"}));
    ASSERT_FALSE(r.error) << r.error.message();
    EXPECT_EQ(resolver_statistics().queries, asked);
    EXPECT_GE(resolver_statistics().cache_hits, 1u);
    EXPECT_EQ(l.run_sync(talk("ws://gone.test:" + port + "/echo", {}, {})).error, dns_errc::not_found);
}

TEST(client, url_parsing) {
    ws_url u;
    ASSERT_TRUE(parse_ws_url("ws://example.org", &u));
    EXPECT_EQ(u.host, "example.org");
    EXPECT_EQ(u.port, 80);
    EXPECT_EQ(u.target, "/");
    ASSERT_TRUE(parse_ws_url("WS://[::1]:8080/chat?room=1", &u));
    EXPECT_EQ(u.host, "::1");
    EXPECT_EQ(u.port, 8080);
    EXPECT_EQ(u.target, "/chat?room=1");
    EXPECT_EQ(u.host_field, "[::1]:8080");
    ASSERT_TRUE(parse_ws_url("ws://h?x", &u));
    EXPECT_EQ(u.target, "/?x");
    ASSERT_TRUE(parse_ws_url("wss://secure/x", &u));
    EXPECT_TRUE(u.tls);
    EXPECT_EQ(u.port, 443);
    EXPECT_EQ(u.host, "secure");
    EXPECT_FALSE(parse_ws_url("wsss://secure", &u));
    EXPECT_FALSE(parse_ws_url("ws://", &u));
    EXPECT_FALSE(parse_ws_url("ws://user@host/", &u));
    EXPECT_FALSE(parse_ws_url("ws://host:0/", &u));
    EXPECT_FALSE(parse_ws_url("ws://host:x/", &u));
}
