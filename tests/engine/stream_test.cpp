#include <squall/engine/stream.hpp>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <random>
#include <string>
#include <thread>

#include "stream_helpers.hpp"
#include "tcp_pair.hpp"
#include <squall/engine/time.hpp>
#include <squall/engine/when.hpp>

using namespace squall;
using namespace std::chrono_literals;
using squall::testing::recv_n;
using squall::testing::send_all;
using squall::testing::tcp_pair;
using namespace squall::testing;

namespace {

class stream_modes : public ::testing::TestWithParam<int> {
protected:
    stream_options opts() const {
        stream_options o;
        o.buffer_ring = GetParam() != 2;
        o.multishot_recv = GetParam() == 0;
        return o;
    }
};

}  // namespace

TEST_P(stream_modes, reads_what_the_peer_sends_until_eof) {
    loop l;
    auto [server, client] = tcp_pair();
    stream s(std::move(server), opts());
    std::string data = pattern(300'000, 1);
    std::thread peer([&, fd = client.get()] {
        send_all(fd, data);
        ::shutdown(fd, SHUT_WR);
    });
    EXPECT_EQ(l.run_sync(read_to_eof(&s)), data);
    peer.join();
    // Reading past the end keeps saying eof.
    auto again =
        l.run_sync([](stream* st) -> task<std::error_code> { co_return (co_await st->read_some()).error(); }(&s));
    EXPECT_EQ(again, errc::eof);
    if (opts().buffer_ring) {
        EXPECT_EQ(l.buffers().in_use(), 0u);
    }
}

// A receive armed in this turn is still a queued SQE when the reader gives
// up and the stream closes; the number is free then and the next socket
// made takes it. Were the SQE submitted after the close, that receive
// would take the new socket's bytes.
TEST_P(stream_modes, close_leaves_no_queued_receive_for_the_next_socket) {
    loop l;
    auto [server, client] = tcp_pair();
    const int number = server.get();
    stream s(std::move(server), opts());
    unique_fd reused, reused_peer;
    auto reader = [](stream* st) -> task<std::error_code> { co_return (co_await st->read_some()).error(); };
    auto closer = [](stream* st, int num, unique_fd* fd, unique_fd* peer) -> task<std::string> {
        // The reader parked first (when_all starts children in order), so
        // its receive is queued and not yet submitted.
        st->close();
        if (!socket_at(num, fd, peer)) co_return "socket_at";
        send_all(peer->get(), "mine");
        co_await sleep(20ms);  // turns of the loop: whatever was queued is submitted
        char buf[16];
        ssize_t n = ::recv(num, buf, sizeof buf, MSG_DONTWAIT);
        co_return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "nothing";
    };
    auto [err, got] = l.run_sync(when_all(reader(&s), closer(&s, number, &reused, &reused_peer)));
    EXPECT_EQ(err, errc::closed);
    EXPECT_EQ(got, "mine");  // the new socket kept its bytes
    EXPECT_EQ(l.ops_in_flight(), 0u);
    if (opts().buffer_ring) {
        EXPECT_EQ(l.buffers().in_use(), 0u);
    }
}

INSTANTIATE_TEST_SUITE_P(engine, stream_modes, ::testing::Values(0, 1, 2), [](const auto& info) {
    return std::string(info.param == 0 ? "multishot_ring" : info.param == 1 ? "oneshot_ring" : "plain_buffer");
});

TEST(stream, leases_return_buffers_to_the_ring) {
    // The plain ring, where each receive takes a whole buffer (incremental
    // consumption: uring_features_test.cpp).
    loop_options lo;
    lo.recv_incremental = false;
    loop l(lo);
    auto [server, client] = tcp_pair();
    stream s(std::move(server));
    send_all(client.get(), "hello");
    auto lease_size = l.run_sync([](stream* st, loop* lp) -> task<std::pair<std::size_t, unsigned>> {
        auto chunk = co_await st->read_some();
        co_return std::pair{chunk ? chunk->size() : 0, lp->buffers().in_use()};
    }(&s, &l));
    EXPECT_EQ(lease_size.first, 5u);
    EXPECT_EQ(lease_size.second, 1u);     // held while the lease lived
    EXPECT_EQ(l.buffers().in_use(), 0u);  // and back once it was dropped
}

// A reader over its turn's read budget waits for the next turn even with
// a chunk in hand, so that one fast peer cannot starve the loop's other
// completions; with no budget it takes both chunks in one turn.
TEST(stream, read_budget_makes_a_reader_yield_to_the_next_turn) {
    for (std::size_t budget : {std::size_t{1}, std::size_t{0}}) {
        loop l;
        auto [server, client] = tcp_pair();
        stream_options so;
        so.read_budget = budget;
        stream s(std::move(server), so);
        std::thread peer([fd = client.get()] {
            for (const char* part : {"x", "y", "z"}) {
                send_all(fd, part);
                std::this_thread::sleep_for(20ms);
            }
        });
        auto turns = l.run_sync([](stream* st, loop* lp) -> task<std::uint64_t> {
            auto first = co_await st->read_some();  // arms the receive
            EXPECT_TRUE(first && text_of(*first) == "x");
            co_await sleep(200ms);
            EXPECT_EQ(st->pending_chunks(), 2u);  // "y" and "z", one chunk each
            std::uint64_t before = lp->turns();
            auto second = co_await st->read_some();
            auto third = co_await st->read_some();
            EXPECT_TRUE(second && text_of(*second) == "y");
            EXPECT_TRUE(third && text_of(*third) == "z");
            co_return lp->turns() - before;
        }(&s, &l));
        peer.join();
        if (budget != 0) EXPECT_GE(turns, 1u) << "over the budget, the third read waits for a later turn";
        else EXPECT_EQ(turns, 0u) << "no budget: both chunks in one turn";
    }
}

TEST(stream, read_until_and_read_exactly_across_chunks) {
    loop l;
    auto [server, client] = tcp_pair();
    stream s(std::move(server));
    std::thread peer([fd = client.get()] {
        for (const char* part : {"GET / HT", "TP/1.1\r", "\nHost: x\r\n\r", "\n0123456789rest"}) {
            send_all(fd, part);
            std::this_thread::sleep_for(2ms);
        }
    });
    auto out = l.run_sync([](stream* st) -> task<std::vector<std::string>> {
        std::vector<std::string> got;
        auto line = co_await st->read_until("\r\n", 1024);
        got.emplace_back(line ? std::string(*line) : line.error().message());
        auto head = co_await st->read_until("\r\n\r\n", 1024);
        got.emplace_back(head ? std::string(*head) : head.error().message());
        auto ten = co_await st->read_exactly(10);
        got.emplace_back(ten ? std::string(reinterpret_cast<const char*>(ten->data()), ten->size())
                             : ten.error().message());
        auto rest = co_await st->read_some();  // what the gather read beyond comes first
        got.emplace_back(rest ? text_of(*rest) : rest.error().message());
        co_return got;
    }(&s));
    peer.join();
    EXPECT_EQ(out, (std::vector<std::string>{"GET / HTTP/1.1\r\n", "Host: x\r\n\r\n", "0123456789", "rest"}));
}

TEST(stream, read_until_stops_at_its_limit) {
    loop l;
    auto [server, client] = tcp_pair();
    stream s(std::move(server));
    send_all(client.get(), std::string(5000, 'x'));
    auto r = l.run_sync(
        [](stream* st) -> task<std::error_code> { co_return (co_await st->read_until("\r\n", 4096)).error(); }(&s));
    EXPECT_EQ(r, errc::too_long);
}

TEST(stream, read_deadline_and_cancel_lose_no_data) {
    loop l;
    auto [server, client] = tcp_pair();
    stream_options o;
    o.read_timeout = 5ms;
    stream s(std::move(server), o);
    auto first =
        l.run_sync([](stream* st) -> task<std::error_code> { co_return (co_await st->read_some()).error(); }(&s));
    EXPECT_EQ(first, errc::timed_out);

    cancel_source src;
    l.call_later(2ms, [&] { src.request_cancel(); });
    auto t = [](stream* st) -> task<std::error_code> { co_return (co_await st->read_some()).error(); }(&s);
    t.set_cancel_token(src.token());
    EXPECT_EQ(l.run_sync(std::move(t)), errc::canceled);

    send_all(client.get(), "still here");
    EXPECT_EQ(l.run_sync(read_n(&s, 10)), "still here");
}

TEST(stream, a_slow_reader_caps_the_buffers_it_holds) {
    loop_options lo;
    lo.recv_buffers = 64;
    lo.recv_buffer_size = 4096;
    lo.recv_incremental = false;
    loop l(lo);
    auto [server, client] = tcp_pair();
    stream_options o;
    o.max_pending_buffers = 4;
    stream s(std::move(server), o);
    std::string data = pattern(2 << 20, 2);
    std::thread peer([&, fd = client.get()] { send_all(fd, data); });
    // One read arms the multishot receive; then nobody reads for a while.
    std::string first = l.run_sync([](stream* st) -> task<std::string> {
        auto chunk = co_await st->read_some();
        co_return chunk ? text_of(*chunk) : std::string();
    }(&s));
    unsigned peak = 0;
    l.run_sync([](unsigned* pk, loop* lp) -> task<void> {
        for (int i = 0; i < 50; ++i) {
            co_await sleep(1ms);
            *pk = std::max(*pk, lp->buffers().in_use());
        }
    }(&peak, &l));
    // The cap, plus completions already in flight when the cancel went out;
    // without the cap the stream would hold the whole ring (64).
    EXPECT_LE(peak, 4u + 2u);
    EXPECT_LE(s.pending_chunks(), 4u + 2u);
    EXPECT_GT(s.recv_pauses(), 0u);
    std::string rest = l.run_sync(read_n(&s, data.size() - first.size()));
    peer.join();
    EXPECT_EQ(first + rest, data);
}

TEST(stream, without_the_kernel_limit_a_slow_reader_pauses_the_receive) {
    loop l;
    auto [server, client] = tcp_pair();
    stream_options o;
    o.max_pending_buffers = 4;
    o.recv_byte_limit = false;  // the path older kernels take: cancel and re-arm
    stream s(std::move(server), o);
    std::string data = pattern(4 << 20, 6);
    std::thread peer([&, fd = client.get()] { send_all(fd, data); });
    std::string got = l.run_sync([](stream* st, std::size_t n) -> task<std::string> {
        std::string out;
        while (out.size() < n) {
            auto chunk = co_await st->read_some();
            if (!chunk) break;
            out += text_of(*chunk);
            co_await sleep(std::chrono::microseconds(200));  // a slow consumer
        }
        co_return out;
    }(&s, data.size()));
    peer.join();
    EXPECT_EQ(got, data);
    EXPECT_GT(s.recv_pauses(), 0u);
    EXPECT_EQ(l.buffers().in_use(), 0u);
}

TEST(stream, writes_return_once_the_kernel_took_the_bytes) {
    loop l;
    auto [server, client] = tcp_pair();
    stream s(std::move(server));
    std::string big = pattern(8 << 20, 3);
    std::string got;
    std::thread peer([&, fd = client.get()] {
        std::this_thread::sleep_for(20ms);  // the socket buffers fill first: write must wait
        got = recv_n(fd, big.size());
    });
    auto r = l.run_sync(s.write(std::string_view(big)));
    EXPECT_TRUE(r);
    peer.join();
    EXPECT_EQ(got, big);
}

TEST(stream, writev_gathers_parts_in_order) {
    loop l;
    auto [server, client] = tcp_pair();
    stream s(std::move(server));
    std::string a = "HTTP/1.1 200 OK\r\n", b = "Content-Length: 5\r\n\r\n", c = pattern(3 << 20, 4), d = "hello";
    std::vector<iovec> parts{
        {a.data(), a.size()}, {nullptr, 0}, {b.data(), b.size()}, {c.data(), c.size()}, {d.data(), d.size()}};
    std::string got;
    std::thread peer([&, fd = client.get()] { got = recv_n(fd, a.size() + b.size() + c.size() + d.size()); });
    EXPECT_TRUE(l.run_sync(s.writev(parts)));
    peer.join();
    EXPECT_EQ(got, a + b + c + d);
}

TEST(stream, concurrent_writes_go_out_whole_and_in_order) {
    loop l;
    auto [server, client] = tcp_pair();
    stream s(std::move(server));
    std::string first(2 << 20, 'A'), second(2 << 20, 'B'), third = "C";
    std::string got;
    std::thread peer([&, fd = client.get()] { got = recv_n(fd, first.size() + second.size() + 1); });
    auto [r1, r2, r3] =
        l.run_sync(when_all(s.write(std::string_view(first)), s.write_owned(second), s.write(std::string_view(third))));
    peer.join();
    EXPECT_TRUE(r1 && r2 && r3);
    EXPECT_EQ(got, first + second + third);
}

TEST(stream, zero_copy_send_for_owned_bytes) {
    loop l;
    auto [server, client] = tcp_pair();
    stream_options o;
    o.zc_threshold = 64 * 1024;
    o.zc_on_loopback = true;  // loopback gets copies by default
    stream s(std::move(server), o);
    std::string big = pattern(4 << 20, 5);
    std::string got;
    std::thread peer([&, fd = client.get()] { got = recv_n(fd, big.size() + 5); });
    EXPECT_TRUE(l.run_sync(s.write_owned(std::string(big))));
    EXPECT_TRUE(l.run_sync(s.write_owned(std::string("small"))));  // under the threshold: copied
    peer.join();
    EXPECT_EQ(got, big + "small");
    EXPECT_GT(s.zc_sends(), 0u);
    // Notifications free their state; nothing is left in flight.
    l.run_sync([]() -> task<void> { co_await sleep(5ms); }());
    EXPECT_EQ(l.ops_in_flight(), 0u);
}

TEST(stream, loopback_peers_get_copies_by_default) {
    // SEND_ZC only costs on loopback (bench/zc_bench): a large owned write
    // to a loopback peer is copied unless zc_on_loopback is set.
    loop l;
    auto [server, client] = tcp_pair();
    stream_options o;
    o.zc_threshold = 1024;
    stream s(std::move(server), o);
    std::string big = pattern(1 << 20, 7);
    std::string got;
    std::thread peer([&, fd = client.get()] { got = recv_n(fd, big.size()); });
    EXPECT_TRUE(l.run_sync(s.write_owned(std::string(big))));
    peer.join();
    EXPECT_EQ(got, big);
    EXPECT_EQ(s.zc_sends(), 0u);
}

TEST(stream, a_write_to_a_peer_that_never_reads_times_out) {
    loop l;
    auto [server, client] = tcp_pair();
    stream_options o;
    o.write_timeout = 20ms;
    stream s(std::move(server), o);
    std::string big(64 << 20, 'x');
    auto r = l.run_sync(s.write(std::string_view(big)));
    EXPECT_EQ(r.error(), errc::timed_out);
    EXPECT_EQ(l.ops_in_flight(), 0u);
}

TEST(stream, reads_and_writes_one_after_another_share_one_deadline_timer_each) {
    loop l;
    auto [server, client] = tcp_pair();
    stream_options o;
    o.read_timeout = 200ms;
    o.write_timeout = 1h;
    stream s(std::move(server), o);
    auto added = l.timers_added();
    for (int i = 0; i < 20; ++i) {
        send_all(client.get(), "q");
        EXPECT_EQ(l.run_sync(read_n(&s, 1)), "q");
        EXPECT_TRUE(l.run_sync(s.write(std::string_view("a"))));
        EXPECT_EQ(recv_n(client.get(), 1), "a");
    }
    // One timer for the reads and one for the writes (plus a re-arm of the
    // reads' when the rounds outlast 200 ms), not one per operation.
    EXPECT_LE(l.timers_added() - added, 4u);
    // A read after them still times out, at its own deadline: the timer
    // armed for an earlier read re-arms for it.
    auto start = clock::now();
    auto r = l.run_sync([](stream* st) -> task<std::error_code> { co_return (co_await st->read_some()).error(); }(&s));
    EXPECT_EQ(r, errc::timed_out);
    EXPECT_GE(clock::now() - start, 200ms);
}

TEST(stream, reset_by_peer_is_an_error_not_a_crash) {
    loop l;
    auto [server, client] = tcp_pair();
    stream s(std::move(server));
    linger lg{1, 0};
    ::setsockopt(client.get(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    client.reset();  // RST
    auto r = l.run_sync([](stream* st) -> task<std::error_code> { co_return (co_await st->read_some()).error(); }(&s));
    EXPECT_EQ(r, std::errc::connection_reset);
    auto w = l.run_sync(s.write(std::string_view("after reset")));
    EXPECT_FALSE(w);
}

TEST(stream, half_close_then_keep_reading) {
    loop l;
    auto [server, client] = tcp_pair();
    stream s(std::move(server));
    EXPECT_TRUE(l.run_sync(s.write(std::string_view("bye"))));
    EXPECT_TRUE(l.run_sync(s.shutdown_write()));
    EXPECT_EQ(recv_n(client.get(), 100), "bye");  // then EOF
    send_all(client.get(), "answer");
    EXPECT_EQ(l.run_sync(read_n(&s, 6)), "answer");
}

TEST(stream, close_wakes_a_waiting_reader) {
    loop l;
    auto [server, client] = tcp_pair();
    stream s(std::move(server));
    l.call_later(2ms, [&] { s.close(); });
    auto r = l.run_sync([](stream* st) -> task<std::error_code> { co_return (co_await st->read_some()).error(); }(&s));
    EXPECT_EQ(r, errc::closed);
    EXPECT_TRUE(s.closed());
    EXPECT_EQ(l.ops_in_flight(), 0u);
}
