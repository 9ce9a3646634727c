// A peer that stops reading (issue 16) against the connection's send
// path over loopback: the cap on queued bytes (post_message refuses past
// it, nothing accepted is lost), the write timeout (the TCP connection is
// closed, no frame follows the cut one), overflow_policy::close, and a
// broadcast to readers and non-readers.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <thread>

#include "tests/engine/tcp_pair.hpp"
#include "tests/engine/tsan_scale.hpp"
#include "tests/ws/frames.hpp"
#include <squall/engine/loop.hpp>
#include <squall/engine/stream.hpp>
#include <squall/engine/time.hpp>
#include <squall/ws/broadcast.hpp>
#include <squall/ws/connection.hpp>

using namespace squall;
using namespace squall::ws;
using namespace squall::ws::testing;
using namespace std::chrono_literals;

namespace {

// Little room in the kernel between us and a peer that stops reading:
// the queue fills fast, and what is in flight reads back fast once the
// peer reads (a tiny receive window alone makes that crawl).
void tight_buffers(int server, int client) {
    int n = 32 * 1024;
    ::setsockopt(server, SOL_SOCKET, SO_SNDBUF, &n, sizeof n);
    ::setsockopt(client, SOL_SOCKET, SO_RCVBUF, &n, sizeof n);
}

// Every frame until EOF; `cut` tells whether bytes of an unfinished frame
// came before the end.
std::vector<raw_frame> read_all(int fd, bool* cut) {
    std::vector<raw_frame> out;
    std::string buf;
    for (;;) {
        auto f = read_frame(fd, buf);
        if (!f) break;
        out.push_back(std::move(*f));
    }
    *cut = !buf.empty();
    return out;
}

std::string numbered(int i, std::size_t size) {
    std::string s = std::to_string(i) + ":";
    s.resize(size, static_cast<char>('a' + i % 26));
    return s;
}

// Posts numbered messages until the queue refuses one; returns how many
// it took.
task<int> post_until_full(connection* c, std::size_t size) {
    for (int i = 0; i < 100000; ++i) {
        std::string m = numbered(i, size);
        result<void> r = c->post_message(std::move(m));
        if (!r) co_return r.error() == ws::errc::queue_full ? i : -1;
        if (i % 16 == 15) co_await sleep(1ms);  // the drain runs meanwhile
    }
    co_return -1;
}

}  // namespace

TEST(slow_reader, post_message_stops_at_the_cap_and_loses_nothing_it_took) {
    loop l;
    auto [sfd, cfd] = squall::testing::tcp_pair();
    tight_buffers(sfd.get(), cfd.get());
    auto owned = std::make_unique<stream>(std::move(sfd));
    connection_options o;
    o.max_queued_bytes = 256 * 1024;
    auto c = std::make_shared<connection>(std::move(owned), std::string(), role::server, o, std::nullopt);
    int posted = l.run_sync(post_until_full(c.get(), 4000));
    ASSERT_GT(posted, 0);
    EXPECT_LE(c->buffered_amount(), o.max_queued_bytes);
    EXPECT_GT(c->buffered_amount(), o.max_queued_bytes - 4100);
    // The reader comes back: every message it was promised, whole, in order.
    bool cut = false;
    std::vector<raw_frame> got;
    std::thread peer([&, fd = cfd.get()] { got = read_all(fd, &cut); });
    auto drain_then_close = [](connection* conn) -> task<void> {
        while (conn->buffered_amount() > 0) co_await sleep(5ms);
        co_await conn->finish();  // (closes the stream)
    };
    l.run_sync(drain_then_close(c.get()));
    peer.join();
    ASSERT_EQ(got.size(), static_cast<std::size_t>(posted));
    for (int i = 0; i < posted; ++i) EXPECT_EQ(got[static_cast<std::size_t>(i)].payload, numbered(i, 4000));
    EXPECT_FALSE(cut);
}

TEST(slow_reader, a_write_past_the_timeout_closes_the_tcp_connection) {
    loop l;
    auto [sfd, cfd] = squall::testing::tcp_pair();
    tight_buffers(sfd.get(), cfd.get());
    auto owned = std::make_unique<stream>(std::move(sfd));
    stream& s = *owned;
    connection_options o;
    o.write_timeout = 200ms;
    auto c = std::make_shared<connection>(std::move(owned), std::string(), role::server, o, std::nullopt);
    std::error_code err;
    auto flood = [](connection* conn, std::error_code* e) -> task<int> {
        for (int i = 0; i < 100000; ++i) {
            std::string m = numbered(i, 4000);
            result<void> w = co_await conn->write_message(m);
            if (w) continue;
            *e = w.error();
            co_return i;
        }
        co_return -1;
    };
    int failed_at = l.run_sync(flood(c.get(), &err));
    ASSERT_GT(failed_at, 0);
    EXPECT_EQ(err, squall::errc::timed_out);
    EXPECT_TRUE(s.closed()) << "the TCP connection stayed open after the failed write";
    auto later = l.run_sync(c->write_message("later"));
    EXPECT_EQ(later.error(), ws::errc::closed);
    auto read = l.run_sync(c->read_message());
    EXPECT_EQ(read.error(), ws::errc::closed);
    l.run_sync(c->finish());
    // What the peer gets: whole frames in order, then at most the start of
    // the one that timed out, then the end; never a frame after it.
    bool cut = false;
    auto got = read_all(cfd.get(), &cut);
    ASSERT_LE(got.size(), static_cast<std::size_t>(failed_at) + 1);
    for (std::size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].payload, numbered(static_cast<int>(i), 4000));
}

TEST(slow_reader, overflow_policy_close_drops_a_reader_that_does_not_keep_up) {
    loop l;
    auto [sfd, cfd] = squall::testing::tcp_pair();
    tight_buffers(sfd.get(), cfd.get());
    auto owned = std::make_unique<stream>(std::move(sfd));
    stream& s = *owned;
    connection_options o;
    o.max_queued_bytes = 64 * 1024;
    o.on_overflow = overflow_policy::close;
    auto c = std::make_shared<connection>(std::move(owned), std::string(), role::server, o, std::nullopt);
    int posted = l.run_sync(post_until_full(c.get(), 4000));
    ASSERT_GT(posted, 0);
    EXPECT_TRUE(s.closed());
    auto after = c->post_message("after");
    EXPECT_EQ(after.error(), ws::errc::closed);
    l.run_sync(c->finish());
    EXPECT_EQ(c->buffered_amount(), 0u);
    bool cut = false;
    auto got = read_all(cfd.get(), &cut);
    ASSERT_LE(got.size(), static_cast<std::size_t>(posted));
    for (std::size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i].payload, numbered(static_cast<int>(i), 4000));
}

// Ten subscribers, three of which never read: the seven get every
// message, the three are closed once over their cap. The seven readers
// are threads that must keep within the cap of the poster's pace: under
// ThreadSanitizer the pace is slowed by tsan_slowdown, the checks stay.
TEST(slow_reader, broadcast_closes_the_slow_and_delivers_everything_to_the_rest) {
    constexpr int subscribers = 10, slow = 3, messages = 400;
    loop l;
    std::vector<std::shared_ptr<connection>> conns;
    std::vector<unique_fd> peers;
    connection_options o;
    o.max_queued_bytes = 128 * 1024;
    for (int i = 0; i < subscribers; ++i) {
        auto [sfd, cfd] = squall::testing::tcp_pair();
        tight_buffers(sfd.get(), cfd.get());
        auto owned = std::make_unique<stream>(std::move(sfd));
        conns.push_back(std::make_shared<connection>(std::move(owned), std::string(), role::server, o, std::nullopt));
        peers.push_back(std::move(cfd));
    }
    std::vector<std::vector<raw_frame>> got(subscribers - slow);
    std::vector<std::thread> readers;
    for (int i = slow; i < subscribers; ++i) {
        readers.emplace_back([&, i] {
            bool cut = false;
            got[static_cast<std::size_t>(i - slow)] = read_all(peers[static_cast<std::size_t>(i)].get(), &cut);
        });
    }
    broadcast_result total;
    auto run = [](std::vector<std::shared_ptr<connection>>* cs, broadcast_result* t) -> task<void> {
        std::vector<connection*> to;
        for (auto& c : *cs) to.push_back(c.get());
        for (int m = 0; m < messages; ++m) {
            auto r = broadcast(to, numbered(m, 4000), false, slow_policy::close);
            t->queued += r.queued;
            t->closed += r.closed;
            t->gone += r.gone;
            co_await sleep(1ms * squall::testing::tsan_slowdown);
        }
        for (auto& c : *cs) {
            while (!c->closed() && c->buffered_amount() > 0 && c->fits(0) && !c->close_sent()) co_await sleep(2ms);
            co_await c->finish();
        }
    };
    l.run_sync(run(&conns, &total));
    for (auto& t : readers) t.join();
    EXPECT_EQ(total.closed, static_cast<std::size_t>(slow));
    for (const auto& frames : got) {
        ASSERT_EQ(frames.size(), static_cast<std::size_t>(messages));
        for (int m = 0; m < messages; ++m) EXPECT_EQ(frames[static_cast<std::size_t>(m)].payload, numbered(m, 4000));
    }
}

// A subscriber closed by one broadcast is gone for the next, even in the
// same turn, while its cut write is still in flight: closed once, not once
// per message (the chat logs each drop).
TEST(slow_reader, a_subscriber_closed_by_a_broadcast_counts_as_gone_afterwards) {
    loop l;
    auto [sfd, cfd] = squall::testing::tcp_pair();
    tight_buffers(sfd.get(), cfd.get());
    connection_options o;
    o.max_queued_bytes = 64 * 1024;
    auto c = std::make_shared<connection>(std::make_unique<stream>(std::move(sfd)), std::string(), role::server, o,
                                          std::nullopt);
    auto run = [](connection* c) -> task<void> {
        connection* to[] = {c};
        broadcast_result first{}, later{};
        for (int m = 0; m < 400; ++m) {
            first = broadcast(to, numbered(m, 4000), false, slow_policy::close);
            if (first.closed != 0) break;
            co_await sleep(1ms);  // the drain's write is in flight, blocked on the peer
        }
        EXPECT_EQ(first.closed, 1u);
        EXPECT_TRUE(c->broken());
        for (int m = 0; m < 5; ++m) {
            broadcast_result r = broadcast(to, numbered(m, 4000), false, slow_policy::close);
            later.closed += r.closed;
            later.gone += r.gone;
        }
        EXPECT_EQ(later.closed, 0u);
        EXPECT_EQ(later.gone, 5u);
        co_await c->finish();
    };
    l.run_sync(run(c.get()));
}
