// tls_stream over test_stream (engine/test_stream.hpp): a client and a
// server handshake and exchange data in memory, with every chunking of
// reads and sends, with each operation failed in turn (Beast's fail_count
// loop), and with the write-side rules (poisoning, close ending a blocked
// send, the handshake deadline) that tls_test.cpp shows over sockets.
#include <squall/engine/tls_stream.hpp>

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "stream_helpers.hpp"
#include "tls_certs.hpp"
#include <squall/engine/test_stream.hpp>
#include <squall/engine/time.hpp>
#include <squall/engine/when.hpp>

using namespace squall;
using namespace std::chrono_literals;
using namespace squall::testing;

namespace {

// One context of each kind for the whole program (the fault loop makes
// hundreds of handshakes), and a fresh server one for a handshake deadline.
std::shared_ptr<tls_context> server_ctx(clock::duration hs = 10s) {
    static const std::shared_ptr<tls_context> usual = make_server_ctx();
    return hs == 10s ? usual : make_server_ctx("server", hs);
}

std::shared_ptr<tls_context> client_ctx() {
    static const std::shared_ptr<tls_context> c = make_client_ctx();
    return c;
}

// Each side's end: empty when its part of the exchange succeeded.
struct ends {
    std::error_code server, client;
    std::string client_got;
};

// The server echoes until the client ends, then ends too.
task<std::error_code> echo_side(tls_stream* s) {
    for (;;) {
        auto chunk = co_await s->read_some();
        if (!chunk) {
            if (chunk.error() != errc::eof) {
                s->close();
                co_return chunk.error();
            }
            result<void> shut = co_await s->shutdown_write();
            if (!shut) s->close();
            co_return shut ? std::error_code() : shut.error();
        }
        result<void> w = co_await s->write(chunk->bytes());
        if (!w) {
            s->close();
            co_return w.error();
        }
    }
}

task<std::error_code> client_side(tls_stream* c, std::string data, std::string* got) {
    auto fail = [c](std::error_code ec) {
        c->close();  // the peer sees the end: nobody waits forever
        return ec;
    };
    result<void> hs = co_await c->handshake("localhost");
    if (!hs) co_return fail(hs.error());
    result<void> w = co_await c->write(std::string_view(data));
    if (!w) co_return fail(w.error());
    while (got->size() < data.size()) {
        auto chunk = co_await c->read_some();
        if (!chunk) co_return fail(chunk.error());
        *got += text_of(*chunk);
    }
    result<void> shut = co_await c->shutdown_write();
    if (!shut) co_return fail(shut.error());
    auto last = co_await c->read_some();
    if (last) co_return fail(std::make_error_code(std::errc::protocol_error));  // more than was sent
    co_return last.error() == errc::eof ? std::error_code() : fail(last.error());
}

// A client and a server tls_stream over a test_stream pair; `tune` sets
// the chunking of the two in-memory ends before they are wrapped.
template <class Tune>
ends exchange(std::string data, fail_count* fc, Tune tune) {
    loop l;
    auto [a, b] = test_stream::pair(fc, fc);
    tune(*a, *b);
    tls_stream server(std::move(a), server_ctx());
    tls_stream client(std::move(b), client_ctx());
    ends e;
    auto run = when_all(echo_side(&server), client_side(&client, data, &e.client_got));
    // A bound, not a timing: a hang fails the test instead of stalling it.
    auto bounded = l.run_sync(with_timeout(20s, std::move(run)));
    if (!bounded) {
        ADD_FAILURE() << "the exchange hung";
        return e;
    }
    std::tie(e.server, e.client) = *bounded;
    return e;
}

void no_tuning(test_stream&, test_stream&) {}

task<result<buffer_lease>> next_chunk(byte_stream* s) { co_return co_await s->read_some(); }

}  // namespace

TEST(tls_stream, handshake_and_exchange_over_an_in_memory_pair) {
    ends e = exchange("hello over memory", nullptr, no_tuning);
    EXPECT_FALSE(e.server) << e.server.message();
    EXPECT_FALSE(e.client) << e.client.message();
    EXPECT_EQ(e.client_got, "hello over memory");
}

// Records split at every byte boundary (reads of n bytes) and sends cut
// short at every size: the handshake and the data come through whole.
TEST(tls_stream, any_chunking_of_reads_and_sends) {
    std::string data = pattern(40'000, 5);  // several records
    for (std::size_t n : {1u, 2u, 3u, 5u, 7u, 64u, 1000u, 5000u}) {
        ends e = exchange(data, nullptr, [n](test_stream& a, test_stream& b) {
            a.read_size(n);
            b.read_size(n);
            a.write_size(n * 3);
            b.write_size(n + 1);
        });
        EXPECT_FALSE(e.server) << n << ": " << e.server.message();
        EXPECT_FALSE(e.client) << n << ": " << e.client.message();
        EXPECT_TRUE(e.client_got == data) << n;
    }
}

// Beast's loop: fail operation 0, 1, 2, ... of the exchange (reads, sends
// and shutdowns of both in-memory ends, counted together) until it
// succeeds without reaching the failure. Each run ends (no hang), frees
// everything (ASan), and the side whose operation failed reports the
// injected error.
TEST(tls_stream, every_failed_operation_ends_the_exchange_cleanly) {
    const std::error_code injected = std::make_error_code(std::errc::connection_reset);
    std::size_t n = 0;
    for (;; ++n) {
        ASSERT_LT(n, 1000u) << "the exchange never completed";
        fail_count fc(n, injected);
        ends e = exchange(std::string(3000, 'f'), &fc, [](test_stream& a, test_stream& b) {
            a.read_size(700);  // a few more operations to fail
            b.write_size(1500);
        });
        if (!fc.reached()) {
            EXPECT_FALSE(e.server) << n << ": " << e.server.message();
            EXPECT_FALSE(e.client) << n << ": " << e.client.message();
            EXPECT_EQ(e.client_got, std::string(3000, 'f'));
            break;
        }
        EXPECT_TRUE(e.server == injected || e.client == injected)
            << "operation " << n << ": server " << e.server.message() << ", client " << e.client.message();
        EXPECT_TRUE(e.server || e.client) << "operation " << n << " failed and nobody noticed";
    }
    EXPECT_GT(n, 10u);  // the handshake alone takes more operations than this
}

// A send that fails once it had its turn fails the session: the writes
// queued behind it and every later one fail at once with that error, and
// none of their bytes reaches the peer.
TEST(tls_stream, a_failed_send_poisons_queued_and_later_writes) {
    loop l;
    auto [a, b] = test_stream::pair();
    test_stream* raw_a = a.get();
    tls_stream server(std::move(a), server_ctx());
    tls_stream client(std::move(b), client_ctx());
    auto [s_hs, c_hs] = l.run_sync(when_all(server.handshake(), client.handshake("localhost")));
    ASSERT_TRUE(s_hs && c_hs);
    raw_a->write_limit(0);  // the client stops reading
    raw_a->write_timeout(50ms);
    std::string big(100'000, 'x');
    auto [r1, r2] = l.run_sync(when_all(server.write(std::string_view(big)), server.write(std::string_view("LATER"))));
    ASSERT_FALSE(r1);
    EXPECT_EQ(r1.error(), errc::timed_out);
    ASSERT_FALSE(r2);
    EXPECT_EQ(r2.error(), errc::timed_out);
    auto r3 = l.run_sync(server.write(std::string_view("AFTER")));
    ASSERT_FALSE(r3);
    EXPECT_EQ(r3.error(), errc::timed_out);
    EXPECT_EQ(server.write_error(), errc::timed_out);
    raw_a->write_limit(std::numeric_limits<std::size_t>::max());
    server.close();
    std::string got = l.run_sync(read_to_eof(&client));
    EXPECT_EQ(got.find("LATER"), std::string::npos);
    EXPECT_EQ(got.find("AFTER"), std::string::npos);
}

// close() ends a send blocked on a peer that reads nothing, and the
// writes queued behind it fail with errc::closed.
TEST(tls_stream, close_ends_a_blocked_send) {
    loop l;
    auto [a, b] = test_stream::pair();
    test_stream* raw_a = a.get();
    tls_stream server(std::move(a), server_ctx());
    tls_stream client(std::move(b), client_ctx());
    auto [s_hs, c_hs] = l.run_sync(when_all(server.handshake(), client.handshake("localhost")));
    ASSERT_TRUE(s_hs && c_hs);
    raw_a->write_limit(0);
    auto close_soon = [](tls_stream* s) -> task<bool> {
        co_await sleep(10ms);
        s->close();
        co_return true;
    };
    std::string big(100'000, 'x');
    auto [blocked, queued, closed] = l.run_sync(
        when_all(server.write(std::string_view(big)), server.write(std::string_view("queued")), close_soon(&server)));
    EXPECT_FALSE(blocked);
    ASSERT_FALSE(queued);
    EXPECT_EQ(queued.error(), errc::closed);
    EXPECT_TRUE(closed);
    EXPECT_EQ(l.run_sync(next_chunk(&client)).error(), errc::eof);
    EXPECT_EQ(l.run_sync(next_chunk(&server)).error(), errc::closed);
}

// A server whose client never finishes the handshake gives up at the
// context's handshake timeout; a client checks the host first.
TEST(tls_stream, handshake_deadline_and_host_rules) {
    loop l;
    auto [a, b] = test_stream::pair();
    a->append(std::string("\x16\x03\x01", 3));  // a record starts, never finishes
    tls_stream server(std::move(a), server_ctx(100ms));
    auto first = l.run_sync(next_chunk(&server));
    ASSERT_FALSE(first);
    EXPECT_EQ(first.error(), errc::timed_out);

    auto [c, d] = test_stream::pair();
    tls_stream client(std::move(d), client_ctx());
    EXPECT_EQ(l.run_sync(next_chunk(&client)).error(), tls_errc::handshake_first);
    EXPECT_EQ(l.run_sync(client.write(std::string_view("early"))).error(), tls_errc::handshake_first);
    EXPECT_EQ(l.run_sync(client.handshake()).error(), tls_errc::handshake_first);
    EXPECT_FALSE(c->input_pending());  // nothing went out
}

// Bytes gathered on the plain stream before TLS started belong to TLS
// (a ClientHello in the chunk that ended a PROXY or CONNECT preamble):
// the adapter reads them first.
TEST(tls_stream, bytes_read_ahead_on_the_plain_stream_reach_tls) {
    loop l;
    auto shake = [](tls_stream* s, std::string host) -> task<void> { (void)co_await s->handshake(host); };
    // A real ClientHello, caught at the client's peer.
    auto [c, d] = test_stream::pair();
    test_stream* catcher = c.get();
    tls_stream client(std::move(d), client_ctx());
    l.spawn(shake(&client, "localhost"));
    auto hello = l.run_sync(next_chunk(catcher));
    ASSERT_TRUE(hello);
    std::string hello_bytes = text_of(*hello);
    ASSERT_EQ(hello_bytes[0], 0x16);

    auto [a, b] = test_stream::pair();
    test_stream* server_peer = b.get();
    a->append("HEAD\r\n\r\n" + hello_bytes);  // one chunk
    auto head = l.run_sync(a->read_until("\r\n\r\n", 100));
    ASSERT_TRUE(head);
    EXPECT_EQ(*head, "HEAD\r\n\r\n");
    EXPECT_TRUE(a->has_unread());  // the hello, gathered past the delimiter
    tls_stream server(std::move(a), server_ctx());
    l.spawn(shake(&server, ""));
    auto answer = l.run_sync(next_chunk(server_peer));  // the ServerHello
    ASSERT_TRUE(answer);
    EXPECT_EQ(text_of(*answer)[0], 0x16);
    EXPECT_GT(answer->size(), 50u);
}
