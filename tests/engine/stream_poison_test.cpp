// Write poisoning (engine/stream.hpp): a write that fails once it has its
// turn may have sent part of its bytes, so the writes queued behind it and
// every later one fail at once with its error and send nothing; close()
// ends a send blocked on a peer that reads nothing. Plain and TLS streams.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

#include "stream_helpers.hpp"
#include "tcp_pair.hpp"
#include <squall/engine/stream.hpp>
#include <squall/engine/time.hpp>
#include <squall/engine/tls.hpp>
#include <squall/engine/tls_stream.hpp>
#include <squall/engine/when.hpp>

using namespace squall;
using namespace std::chrono_literals;
using namespace squall::testing;

namespace {

namespace fs = std::filesystem;

// Everything the peer receives until EOF, read with blocking calls.
std::string drain(int fd) {
    std::string out;
    char buf[65536];
    for (;;) {
        ssize_t r = ::recv(fd, buf, sizeof buf, 0);
        if (r <= 0) return out;
        out.append(buf, static_cast<std::size_t>(r));
    }
}

std::error_code error_of(const result<void>& r) { return r ? std::error_code() : r.error(); }

task<result<void>> close_later(byte_stream* s) {
    co_await sleep(50ms);
    s->close();
    co_return result<void>{};
}

const fs::path& certs() {
    static const fs::path dir = [] {
        fs::path d = fs::temp_directory_path() / ("squall-poison-test-" + std::to_string(::getpid()));
        std::string cmd = std::string(SQUALL_SOURCE_DIR) + "/tests/tls/make_certs.sh " + d.string();
        if (std::system(cmd.c_str()) != 0) throw std::runtime_error("make_certs.sh failed");
        std::atexit([] {
            std::error_code ec;
            fs::remove_all(certs(), ec);
        });
        return d;
    }();
    return dir;
}

// A TLS pair over loopback with the handshake done; the server's writes
// time out after `write_timeout`.
struct tls_pair {
    loop& l;
    std::unique_ptr<tls_stream> server, client;
    tls_pair(loop& lp, clock::duration write_timeout) : l(lp) {
        auto [sfd, cfd] = tcp_pair();
        tls_server_options so;
        so.certificate = {(certs() / "server.pem").string(), (certs() / "server.key").string(), ""};
        stream_options sopt;
        sopt.write_timeout = write_timeout;  // the socket's: TLS writes go through it
        server = std::make_unique<tls_stream>(std::make_unique<stream>(std::move(sfd), sopt), tls_context::server(so));
        tls_client_options co;
        co.ca_file = (certs() / "ca.pem").string();
        client = std::make_unique<tls_stream>(std::make_unique<stream>(std::move(cfd)), tls_context::client(co));
        auto [s, c] = l.run_sync(when_all(server->handshake(), client->handshake("localhost")));
        if (!s || !c) throw std::runtime_error("handshake");
    }
};

}  // namespace

// Without poisoning, the writes queued behind the timed-out one took their
// turn after it and sent their bytes after its half-sent ones.
TEST(stream_poison, a_write_that_times_out_fails_queued_and_later_writes) {
    loop l;
    auto [server, client] = tcp_pair();
    stream_options o;
    o.write_timeout = 50ms;
    stream s(std::move(server), o);
    std::string big(64 << 20, 'x');
    std::string later = "LATER";
    std::vector<iovec> parts{{later.data(), later.size()}};
    auto [r1, r2, r3, r4] = l.run_sync(when_all(s.write(std::string_view(big)), s.write(std::string_view(later)),
                                                s.write_owned(std::string("LATER")), s.writev(parts)));
    EXPECT_EQ(error_of(r1), errc::timed_out);
    EXPECT_EQ(error_of(r2), errc::timed_out);  // the first error, not one of their own
    EXPECT_EQ(error_of(r3), errc::timed_out);
    EXPECT_EQ(error_of(r4), errc::timed_out);
    EXPECT_EQ(s.write_error(), errc::timed_out);

    // The peer reads now: a write that went out would arrive.
    std::string got;
    std::thread peer([&, fd = client.get()] { got = drain(fd); });
    auto after = l.run_sync(s.write(std::string_view("AFTER")));
    auto shut = l.run_sync(s.shutdown_write());
    EXPECT_EQ(error_of(after), errc::timed_out);
    EXPECT_EQ(error_of(shut), errc::timed_out);
    s.close();
    peer.join();
    EXPECT_GT(got.size(), 0u);
    EXPECT_LT(got.size(), big.size());
    EXPECT_EQ(got.find_first_not_of('x'), std::string::npos);
    EXPECT_EQ(l.ops_in_flight(), 0u);
}

TEST(stream_poison, a_peer_reset_fails_every_later_write_with_the_first_error) {
    loop l;
    auto [server, client] = tcp_pair();
    stream s(std::move(server));
    linger lg{1, 0};
    ::setsockopt(client.get(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    client.reset();  // RST
    std::string big(8 << 20, 'x');
    auto first = l.run_sync(s.write(std::string_view(big)));
    ASSERT_FALSE(first);
    auto second = l.run_sync(s.write(std::string_view("more")));
    EXPECT_EQ(error_of(second), first.error());
    EXPECT_EQ(s.write_error(), first.error());
}

// Without the shutdown in close(), the blocked send waited out its
// (here one minute) deadline.
TEST(stream_poison, close_ends_a_send_blocked_on_a_peer_that_reads_nothing) {
    loop l;
    auto [server, client] = tcp_pair();
    stream_options o;
    o.write_timeout = 60s;
    stream s(std::move(server), o);
    std::string big(64 << 20, 'x');
    auto [blocked, queued, closed] =
        l.run_sync(when_all(s.write(std::string_view(big)), s.write(std::string_view("queued")), close_later(&s)));
    EXPECT_FALSE(blocked);
    EXPECT_NE(error_of(blocked), errc::timed_out);
    EXPECT_EQ(error_of(queued), errc::closed);
    EXPECT_EQ(s.write_error(), errc::closed);
    EXPECT_TRUE(closed);
    EXPECT_EQ(l.ops_in_flight(), 0u);
}

TEST(stream_poison, a_tls_write_that_times_out_fails_queued_and_later_writes) {
    loop l;
    tls_pair p(l, 100ms);
    std::string big(32 << 20, 'x');
    auto [r1, r2] = l.run_sync(when_all(p.server->write(std::string_view(big)), p.server->write("LATER")));
    EXPECT_EQ(error_of(r1), errc::timed_out);
    EXPECT_EQ(error_of(r2), errc::timed_out);
    auto after = l.run_sync(p.server->write("AFTER"));
    EXPECT_EQ(error_of(after), errc::timed_out);
    EXPECT_EQ(p.server->write_error(), errc::timed_out);
    p.server->close();
    std::string got = l.run_sync(read_to_eof(p.client.get()));
    EXPECT_EQ(got.find("LATER"), std::string::npos);
    EXPECT_EQ(got.find("AFTER"), std::string::npos);
    EXPECT_EQ(l.ops_in_flight(), 0u);
}

TEST(stream_poison, close_ends_a_tls_send_blocked_on_a_peer_that_reads_nothing) {
    loop l;
    tls_pair p(l, 60s);
    std::string big(32 << 20, 'x');
    auto [blocked, queued, closed] = l.run_sync(
        when_all(p.server->write(std::string_view(big)), p.server->write("queued"), close_later(p.server.get())));
    EXPECT_FALSE(blocked);
    EXPECT_NE(error_of(blocked), errc::timed_out);
    EXPECT_EQ(error_of(queued), errc::closed);
    EXPECT_TRUE(closed);
    l.run_sync([]() -> task<void> { co_await sleep(5ms); }());  // the cancelled receive's completion
    EXPECT_EQ(l.ops_in_flight(), 0u);
}
