// TLS streams (engine/tls_stream.hpp over engine/stream.hpp): our server and client against each other
// over loopback, the client's certificate checks, the server against bad
// input, SNI and reload. Real peers (curl, Python's ssl, openssl s_client)
// are in tests/tls/. Certificates are made fresh per run by
// tests/tls/make_certs.sh.
#include <squall/engine/tls.hpp>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <thread>

#include "stream_helpers.hpp"
#include "tcp_pair.hpp"
#include "tls_certs.hpp"
#include "tsan_scale.hpp"
#include <squall/engine/stream.hpp>
#include <squall/engine/time.hpp>
#include <squall/engine/tls_stream.hpp>
#include <squall/engine/when.hpp>

using namespace squall;
using namespace std::chrono_literals;
using squall::testing::send_all;
using squall::testing::tcp_pair;
using namespace squall::testing;

namespace {

namespace fs = std::filesystem;

std::shared_ptr<tls_context> server_ctx(const char* name = "server", clock::duration hs = 10s) {
    return make_server_ctx(name, hs);
}

std::shared_ptr<tls_context> client_ctx(std::vector<std::string> alpn = {}) { return make_client_ctx(std::move(alpn)); }

// A socket stream for TLS to run over.
std::unique_ptr<byte_stream> over(unique_fd fd, stream_options o = {}) {
    return std::make_unique<stream>(std::move(fd), o);
}

// The server's side: echo what comes until the peer ends, then close_notify.
task<std::string> echo(tls_stream* s) {
    for (;;) {
        auto chunk = co_await s->read_some();
        if (!chunk) {
            if (chunk.error() != errc::eof) co_return chunk.error().message();
            result<void> shut = co_await s->shutdown_write();
            co_return shut ? "eof" : shut.error().message();
        }
        result<void> w = co_await s->write(chunk->bytes());
        if (!w) co_return w.error().message();
    }
}

// The client's side: handshake, send `data`, read it back, end.
task<std::string> client_round_trip(tls_stream* c, std::string host, std::string data) {
    result<void> hs = co_await c->handshake(host);
    if (!hs) co_return "handshake: " + hs.error().message();
    result<void> w = co_await c->write(std::string_view(data));
    if (!w) co_return "write: " + w.error().message();
    std::string back = co_await read_n(c, data.size());
    result<void> shut = co_await c->shutdown_write();
    if (!shut) co_return "shutdown: " + shut.error().message();
    std::string rest = co_await read_to_eof(c);
    co_return back + rest;
}

task<std::string> handshake_error(tls_stream* c, std::string host) {
    result<void> hs = co_await c->handshake(host);
    co_return hs ? std::string("accepted") : hs.error().message();
}

task<std::string> first_read_error(tls_stream* s) {
    auto chunk = co_await s->read_some();
    co_return chunk ? "read " + text_of(*chunk) : chunk.error().message();
}

}  // namespace

TEST(tls, echo_round_trip_with_tls13_and_alpn) {
    loop l;
    auto [sfd, cfd] = tcp_pair();
    tls_stream server(over(std::move(sfd)), server_ctx());
    tls_stream client(over(std::move(cfd)), client_ctx({"http/1.1"}));
    auto [s_end, c_got] = l.run_sync(when_all(echo(&server), client_round_trip(&client, "localhost", "hello, tls")));
    EXPECT_EQ(c_got, "hello, tls");
    EXPECT_EQ(s_end, "eof");
    EXPECT_EQ(client.version(), "TLSv1.3");
    EXPECT_EQ(server.alpn(), "http/1.1");
    EXPECT_EQ(client.alpn(), "http/1.1");
    EXPECT_EQ(l.buffers().in_use(), 0u);
}

TEST(tls, large_transfer_both_ways_in_many_records) {
    loop l;
    auto [sfd, cfd] = tcp_pair();
    tls_stream server(over(std::move(sfd)), server_ctx());
    tls_stream client(over(std::move(cfd)), client_ctx());
    std::string data = pattern(3'000'000, 7);
    auto [s_end, c_got] = l.run_sync(when_all(echo(&server), client_round_trip(&client, "localhost", data)));
    EXPECT_EQ(s_end, "eof");
    EXPECT_EQ(c_got.size(), data.size());
    EXPECT_TRUE(c_got == data);
    EXPECT_EQ(l.buffers().in_use(), 0u);
}

TEST(tls, gathered_writes_and_read_until) {
    loop l;
    auto [sfd, cfd] = tcp_pair();
    tls_stream server(over(std::move(sfd)), server_ctx());
    tls_stream client(over(std::move(cfd)), client_ctx());
    auto serve = [](tls_stream* s) -> task<std::string> {
        auto line = co_await s->read_until("\r\n\r\n", 4096);
        if (!line) co_return line.error().message();
        std::string head(*line);
        std::string big(40'000, 'b');
        std::vector<iovec> parts{{const_cast<char*>("HTTP/1.1 200 OK\r\n\r\n"), 19}, {big.data(), big.size()}};
        result<void> w = co_await s->writev(std::move(parts));
        if (!w) co_return w.error().message();
        co_return head;
    };
    auto ask = [](tls_stream* c) -> task<std::string> {
        result<void> hs = co_await c->handshake("localhost");
        if (!hs) co_return hs.error().message();
        result<void> w1 = co_await c->write(std::string_view("GET / HTTP/1.1\r\n"));
        result<void> w2 = co_await c->write_owned(std::string("Host: x\r\n\r\n"));
        if (!w1 || !w2) co_return "write failed";
        co_return co_await read_n(c, 19 + 40'000);
    };
    auto [head, answer] = l.run_sync(when_all(serve(&server), ask(&client)));
    EXPECT_EQ(head, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_EQ(answer, "HTTP/1.1 200 OK\r\n\r\n" + std::string(40'000, 'b'));
}

TEST(tls, client_refuses_an_expired_certificate) {
    loop l;
    auto [sfd, cfd] = tcp_pair();
    tls_stream server(over(std::move(sfd)), server_ctx("expired"));
    tls_stream client(over(std::move(cfd)), client_ctx());
    auto [s_err, c_err] = l.run_sync(when_all(first_read_error(&server), handshake_error(&client, "localhost")));
    EXPECT_NE(c_err, "accepted");
    EXPECT_NE(c_err.find("date"), std::string::npos) << c_err;
    EXPECT_NE(s_err.rfind("read", 0), 0u) << s_err;  // the server got no data either
}

TEST(tls, client_refuses_a_certificate_for_another_host) {
    loop l;
    auto [sfd, cfd] = tcp_pair();
    tls_stream server(over(std::move(sfd)), server_ctx("other"));
    tls_stream client(over(std::move(cfd)), client_ctx());
    auto [s_err, c_err] = l.run_sync(when_all(first_read_error(&server), handshake_error(&client, "localhost")));
    EXPECT_NE(c_err, "accepted");
    EXPECT_NE(c_err.find("name"), std::string::npos) << c_err;
}

TEST(tls, client_checks_against_the_system_store_by_default) {
    loop l;
    auto [sfd, cfd] = tcp_pair();
    tls_stream server(over(std::move(sfd)), server_ctx());
    tls_stream client(over(std::move(cfd)), tls_context::client());  // our test CA is not in it
    auto [s_err, c_err] = l.run_sync(when_all(first_read_error(&server), handshake_error(&client, "localhost")));
    EXPECT_NE(c_err, "accepted");
}

TEST(tls, sni_picks_the_certificate_for_the_host) {
    tls_server_options o;
    o.certificate = {cert("server.pem"), cert("server.key"), ""};
    o.sni.push_back({"other.test", {cert("other.pem"), cert("other.key"), ""}});
    auto sctx = tls_context::server(o);
    for (std::string host : {"other.test", "localhost"}) {
        loop l;
        auto [sfd, cfd] = tcp_pair();
        tls_stream server(over(std::move(sfd)), sctx);
        tls_stream client(over(std::move(cfd)), client_ctx());
        auto [s_end, c_got] = l.run_sync(when_all(echo(&server), client_round_trip(&client, host, "sni")));
        EXPECT_EQ(c_got, "sni") << host;  // the client checked the name against the certificate
    }
}

TEST(tls, reload_serves_new_certificates_to_new_connections_only) {
    fs::path dir = certs() / "reload";
    fs::create_directories(dir);
    fs::copy_file(cert("server.pem"), dir / "cert.pem", fs::copy_options::overwrite_existing);
    fs::copy_file(cert("server.key"), dir / "key.pem", fs::copy_options::overwrite_existing);
    tls_server_options o;
    o.certificate = {(dir / "cert.pem").string(), (dir / "key.pem").string(), ""};
    auto sctx = tls_context::server(o);

    loop l;
    auto [sfd1, cfd1] = tcp_pair();
    tls_stream old_server(over(std::move(sfd1)), sctx);
    tls_stream old_client(over(std::move(cfd1)), client_ctx());
    auto hs = l.run_sync(when_all(first_read_error(&old_server), [](tls_stream* c) -> task<std::string> {
        result<void> h = co_await c->handshake("localhost");
        if (!h) co_return h.error().message();
        result<void> w = co_await c->write(std::string_view("before"));
        co_return w ? "ok" : w.error().message();
    }(&old_client)));
    EXPECT_EQ(std::get<1>(hs), "ok");
    EXPECT_EQ(std::get<0>(hs), "read before");

    // A broken file: reload throws and the old certificates stay.
    fs::copy_file(cert("ca.key"), dir / "key.pem", fs::copy_options::overwrite_existing);
    EXPECT_THROW(sctx->reload(), std::runtime_error);
    EXPECT_EQ(sctx->generation(), 0u);

    fs::copy_file(cert("other.pem"), dir / "cert.pem", fs::copy_options::overwrite_existing);
    fs::copy_file(cert("other.key"), dir / "key.pem", fs::copy_options::overwrite_existing);
    sctx->reload();
    EXPECT_EQ(sctx->generation(), 1u);

    // New connections get other.test's certificate...
    auto [sfd2, cfd2] = tcp_pair();
    tls_stream new_server(over(std::move(sfd2)), sctx);
    tls_stream new_client(over(std::move(cfd2)), client_ctx());
    auto [s_end, c_got] =
        l.run_sync(when_all(echo(&new_server), client_round_trip(&new_client, "other.test", "after")));
    EXPECT_EQ(c_got, "after");
    // ...while the connection made before goes on.
    auto [s_end2, c_got2] = l.run_sync(when_all(echo(&old_server), client_round_trip(&old_client, "", "still here")));
    EXPECT_EQ(c_got2, "still here");
}

// Bad input on the server side: each ends the connection with an error,
// never with data, and never hangs.
TEST(tls, server_closes_plain_http_and_garbage) {
    std::string garbage = pattern(3000, 3);
    for (std::string bytes : {std::string("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), garbage}) {
        loop l;
        auto [sfd, cfd] = tcp_pair();
        tls_stream server(over(std::move(sfd)), server_ctx());
        send_all(cfd.get(), bytes);
        std::string err = l.run_sync(first_read_error(&server));
        EXPECT_NE(err.rfind("read", 0), 0u) << err;
        EXPECT_NE(err.find("TLS"), std::string::npos) << err;
        EXPECT_EQ(l.buffers().in_use(), 0u);
    }
}

// A ClientHello cut short inside its record: the server queues an alert
// and the connection (its handler) closes the stream at once, in the turn
// the reader learns of the error. The alert still goes out, to this peer
// (the pump hands it to the socket stream before the reader runs); and
// the number the fd had, taken by a new socket right after the close,
// gets nothing and loses nothing: neither the alert's send nor a receive
// lands there. A failed session arms no receive again (one-shot mode
// would have armed one for the waiting reader).
class tls_close_modes : public ::testing::TestWithParam<bool> {};

TEST_P(tls_close_modes, the_alert_goes_out_before_the_close_and_nowhere_else) {
    loop l;
    auto [sfd, cfd] = tcp_pair();
    const int number = sfd.get();
    stream_options o;
    o.multishot_recv = GetParam();
    tls_stream server(over(std::move(sfd), o), server_ctx());
    send_all(cfd.get(), std::string("\x16\x03\x01\x00\x06\x01\x00\x00\x02\x03\x03", 11));
    unique_fd reused, reused_peer;
    std::size_t ops_at_error = 0;
    auto serve = [](tls_stream* s, int num, unique_fd* fd, unique_fd* peer, std::size_t* ops) -> task<std::string> {
        auto chunk = co_await s->read_some();
        std::string err = chunk ? "read " + text_of(*chunk) : chunk.error().message();
        *ops = loop::current()->ops_in_flight();
        s->close();
        if (!socket_at(num, fd, peer)) co_return "socket_at";
        send_all(peer->get(), "mine");
        co_await sleep(20ms);  // turns of the loop: whatever was queued is submitted
        co_return err;
    };
    std::string err = l.run_sync(serve(&server, number, &reused, &reused_peer, &ops_at_error));
    EXPECT_NE(err.find("TLS"), std::string::npos) << err;
    if (!GetParam()) {
        EXPECT_LE(ops_at_error, 1u);  // at most the alert's send; no receive armed again
    }

    char buf[64];
    ssize_t n = ::recv(reused_peer.get(), buf, sizeof buf, MSG_DONTWAIT);
    EXPECT_LT(n, 0) << "bytes meant for the closed connection reached the new socket";
    n = ::recv(reused.get(), buf, sizeof buf, MSG_DONTWAIT);
    EXPECT_EQ(n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "nothing", "mine");

    std::string got = squall::testing::recv_n(cfd.get(), 64);  // up to EOF
    ASSERT_GE(got.size(), 7u) << "no alert before the close";
    EXPECT_EQ(got[0], 0x15);  // an alert record
    EXPECT_EQ(l.ops_in_flight(), 0u);
    EXPECT_EQ(l.buffers().in_use(), 0u);
}

INSTANTIATE_TEST_SUITE_P(tls, tls_close_modes, ::testing::Bool(),
                         [](const auto& info) { return std::string(info.param ? "multishot" : "oneshot"); });

// A send that fails midway (here cancelled while the peer reads nothing)
// may have put out part of a record: the session fails, and later writes
// and reads return that error at once instead of sending records after
// the broken one.
TEST(tls, a_send_that_fails_midway_fails_the_session) {
    loop l;
    auto [sfd, cfd] = tcp_pair();
    tls_stream server(over(std::move(sfd)), server_ctx());
    server.read_timeout(5s);  // bounds the read below were the session not failed
    tls_stream client(over(std::move(cfd)), client_ctx());
    auto accept = [](tls_stream* s) -> task<std::string> {
        result<void> h = co_await s->handshake();
        co_return h ? "accepted" : h.error().message();
    };
    auto [s_hs, c_hs] = l.run_sync(when_all(accept(&server), handshake_error(&client, "localhost")));
    ASSERT_EQ(s_hs, "accepted");
    ASSERT_EQ(c_hs, "accepted");

    auto flood = [](tls_stream* s) -> task<std::error_code> {
        std::string big(32 << 20, 'x');
        result<void> w = co_await with_timeout(300ms, s->write(std::string_view(big)));
        co_return w ? std::error_code() : w.error();
    };
    EXPECT_EQ(l.run_sync(flood(&server)), errc::timed_out);

    // The client reads now: a write that went out would arrive.
    auto after = [](tls_stream* s) -> task<std::string> {
        result<void> w = co_await s->write(std::string_view("after"));
        auto r = co_await s->read_some();
        s->close();
        std::string out = w ? "sent" : w.error().message();
        co_return out + " / " + (r ? "read" : r.error().message());
    };
    auto [second, tail] = l.run_sync(when_all(after(&server), read_to_eof(&client)));
    std::string canceled = std::error_code(errc::canceled).message();
    EXPECT_EQ(second, canceled + " / " + canceled);
    EXPECT_EQ(tail.find("after"), std::string::npos);
    EXPECT_EQ(l.ops_in_flight(), 0u);
}

// A client that checks certificates (the default) and has no host name
// would accept any trusted certificate: reading, writing or handshaking
// without one fails at once, sends nothing, and handshake(host) still
// works afterwards.
TEST(tls, a_client_names_the_host_before_reading_or_writing) {
    loop l;
    auto [sfd, cfd] = tcp_pair();
    tls_stream server(over(std::move(sfd)), server_ctx());
    tls_stream client(over(std::move(cfd)), client_ctx());
    client.read_timeout(5s);  // without the check the read would wait this long
    EXPECT_TRUE(client_ctx()->checks_host());
    auto unnamed = [](tls_stream* c) -> task<std::string> {
        result<void> w = co_await c->write(std::string_view("early"));
        auto r = co_await c->read_some();
        result<void> h = co_await c->handshake();
        std::string out;
        out += w ? "sent" : w.error().message();
        out += r ? " / read" : " / " + r.error().message();
        out += h ? " / shook hands" : " / " + h.error().message();
        co_return out;
    };
    std::string msg = std::error_code(tls_errc::handshake_first).message();
    EXPECT_EQ(l.run_sync(unnamed(&client)), msg + " / " + msg + " / " + msg);
    EXPECT_NE(msg.find("handshake(host)"), std::string::npos) << msg;
    EXPECT_EQ(std::error_code(tls_errc::handshake_first), tls_errc::handshake_first);

    auto [s_end, c_got] = l.run_sync(when_all(echo(&server), client_round_trip(&client, "localhost", "named")));
    EXPECT_EQ(c_got, "named");
    EXPECT_EQ(s_end, "eof");
}

// Without certificate checks there is no name to check: a write handshakes
// on its own, but a read before any handshake still fails at once rather
// than wait for a server that waits for the ClientHello.
TEST(tls, an_unchecking_client_handshakes_on_write_but_not_on_read) {
    loop l;
    tls_client_options o;
    o.verify = false;
    auto ctx = tls_context::client(o);
    EXPECT_FALSE(ctx->checks_host());
    auto [sfd, cfd] = tcp_pair();
    tls_stream server(over(std::move(sfd)), server_ctx());
    tls_stream client(over(std::move(cfd)), ctx);
    client.read_timeout(5s);  // without the check the read would wait this long
    auto early_read = [](tls_stream* c) -> task<std::error_code> { co_return (co_await c->read_some()).error(); };
    EXPECT_EQ(l.run_sync(early_read(&client)), tls_errc::handshake_first);
    auto write_first = [](tls_stream* c) -> task<std::string> {
        result<void> w = co_await c->write(std::string_view("unnamed"));
        co_return w ? "sent" : w.error().message();
    };
    auto [got, sent] = l.run_sync(when_all(first_read_error(&server), write_first(&client)));
    EXPECT_EQ(sent, "sent");
    EXPECT_EQ(got, "read unnamed");
}

TEST(tls, server_ends_a_handshake_cut_short) {
    loop l;
    // A real ClientHello, captured from our client by a silent peer.
    auto [peer, cfd] = tcp_pair();
    tls_client_options co;
    co.ca_file = cert("ca.pem");
    co.handshake_timeout = 100ms;
    tls_stream client(over(std::move(cfd)), tls_context::client(co));
    EXPECT_EQ(l.run_sync(handshake_error(&client, "localhost")), std::error_code(errc::timed_out).message());
    char buf[4096];
    ssize_t n = ::recv(peer.get(), buf, sizeof buf, MSG_DONTWAIT);
    ASSERT_GT(n, 100);
    EXPECT_EQ(buf[0], 0x16);  // a handshake record

    // Its first half reaches the server, then the client hangs up.
    auto [sfd, tfd] = tcp_pair();
    tls_stream server(over(std::move(sfd)), server_ctx());
    send_all(tfd.get(), std::string(buf, static_cast<std::size_t>(n / 2)));
    ::shutdown(tfd.get(), SHUT_WR);
    std::string err = l.run_sync(first_read_error(&server));
    EXPECT_EQ(err, std::error_code(errc::eof).message());
    EXPECT_EQ(l.buffers().in_use(), 0u);
}

TEST(tls, server_handshake_deadline_ends_a_silent_client) {
    loop l;
    auto [sfd, cfd] = tcp_pair();
    tls_stream server(over(std::move(sfd)), server_ctx("server", 200ms));
    send_all(cfd.get(), std::string("\x16\x03\x01", 3));  // starts, never finishes
    std::string err = l.run_sync(first_read_error(&server));
    EXPECT_EQ(err, std::error_code(errc::timed_out).message());
}

TEST(tls, handshake_deadline_ends_with_the_handshake) {
    // A client that finishes in time may then wait longer than the
    // handshake timeout before its first request (a browser's preconnect).
    // Both times are ten times longer under ThreadSanitizer, whose
    // instrumented handshake on a busy machine can outlast 200 ms.
    loop l;
    auto [sfd, cfd] = tcp_pair();
    tls_stream server(over(std::move(sfd)), server_ctx("server", 200ms * tsan_slowdown));
    tls_stream client(over(std::move(cfd)), client_ctx());
    auto late = [](tls_stream* c) -> task<std::string> {
        result<void> hs = co_await c->handshake("localhost");
        if (!hs) co_return hs.error().message();
        co_await sleep(500ms * tsan_slowdown);
        result<void> w = co_await c->write(std::string_view("late"));
        co_return w ? "sent" : w.error().message();
    };
    // The server closes once its read ends: had it given up before its
    // half of the handshake, the client's handshake ends too (a failure,
    // not a wait without end).
    auto serve = [](tls_stream* s) -> task<std::string> {
        std::string got = co_await first_read_error(s);
        s->close();
        co_return got;
    };
    auto [got, sent] = l.run_sync(when_all(serve(&server), late(&client)));
    EXPECT_EQ(sent, "sent");
    EXPECT_EQ(got, "read late");
}

TEST(tls, missing_or_mismatched_files_are_clear_errors) {
    tls_server_options o;
    o.certificate = {cert("nope.pem"), cert("server.key"), ""};
    try {
        tls_context::server(o);
        ADD_FAILURE() << "no error";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("nope.pem"), std::string::npos) << e.what();
    }
    o.certificate = {cert("server.pem"), cert("other.key"), ""};
    try {
        tls_context::server(o);
        ADD_FAILURE() << "no error";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("does not match"), std::string::npos) << e.what();
    }
}

// TLS over a stream that spoke plaintext first (an HTTP proxy's CONNECT):
// the adapter takes the stream as it is, bytes already gathered included.
TEST(tls, tls_starts_over_a_stream_that_spoke_plaintext) {
    loop l;
    auto [sfd, cfd] = tcp_pair();
    auto plain_server = over(std::move(sfd));
    auto plain_client = over(std::move(cfd));
    auto greet = [](byte_stream* s, byte_stream* c) -> task<std::string> {
        result<void> w = co_await c->write(std::string_view("CONNECT x:443 HTTP/1.1\r\n\r\n"));
        auto head = co_await s->read_until("\r\n\r\n", 1024);
        result<void> ok = co_await s->write(std::string_view("HTTP/1.1 200 OK\r\n\r\n"));
        auto answer = co_await c->read_until("\r\n\r\n", 1024);
        if (!w || !head || !ok || !answer) co_return "plaintext failed";
        co_return std::string(*head) + std::string(*answer);
    };
    EXPECT_EQ(l.run_sync(greet(plain_server.get(), plain_client.get())),
              "CONNECT x:443 HTTP/1.1\r\n\r\nHTTP/1.1 200 OK\r\n\r\n");
    tls_stream server(std::move(plain_server), server_ctx());
    tls_stream client(std::move(plain_client), client_ctx());
    auto [s_end, c_got] = l.run_sync(when_all(echo(&server), client_round_trip(&client, "localhost", "tunnelled")));
    EXPECT_EQ(c_got, "tunnelled");
    EXPECT_EQ(s_end, "eof");
    EXPECT_FALSE(server.has_unread());
}
