// The session over a real loopback socket (ws/connection.hpp): what the
// connection answers by itself (pong, close echo, the close codes for bad
// input, ping interval and timeout, the close deadline), outgoing
// fragmentation, concurrent writers, the client's masking, and
// permessage-deflate between our two roles. The peer is a blocking socket
// on a thread of its own that speaks frames byte for byte.
#include <gtest/gtest.h>

#include <sys/socket.h>

#include <thread>

#include "tests/engine/tcp_pair.hpp"
#include "tests/ws/frames.hpp"
#include <squall/engine/loop.hpp>
#include <squall/engine/stream.hpp>
#include <squall/engine/time.hpp>
#include <squall/engine/when.hpp>
#include <squall/ws/connection.hpp>

using namespace squall;
using namespace squall::ws;
using namespace squall::ws::testing;
using namespace std::chrono_literals;

namespace {

struct outcome {
    std::vector<std::string> messages;
    std::uint16_t close_code = 0;
    std::string close_reason;
};

// Runs a server-role connection on `fd` until it closes, echoing nothing.
task<outcome> serve(int fd, connection_options o) {
    auto c = std::make_shared<connection>(std::make_unique<stream>(unique_fd(fd)), std::string(), role::server, o,
                                          std::nullopt);
    outcome out;
    for (;;) {
        auto m = co_await c->read_message();
        if (!m) break;
        out.messages.emplace_back(m->data);
    }
    out.close_code = c->close_code();
    out.close_reason = c->close_reason();
    co_await c->finish();
    co_return out;
}

outcome run_server(unique_fd fd, connection_options o = {}) {
    loop l;
    return l.run_sync(serve(fd.release(), o));
}

frame_spec op(std::uint8_t o, bool fin = true) {
    frame_spec f;
    f.op = o;
    f.fin = fin;
    return f;
}

}  // namespace

TEST(ping_pong, server_answers_a_ping_with_its_payload) {
    auto [server, client] = squall::testing::tcp_pair();
    std::thread peer([fd = client.get()] {
        squall::testing::send_all(fd, make_frame("are you there", op(9)) + make_frame("msg") +
                                          make_frame(close_payload(1000, "done"), op(8)));
        std::string buf;
        auto pong = read_frame(fd, buf);
        ASSERT_TRUE(pong);
        EXPECT_EQ(pong->op, 0xA);
        EXPECT_FALSE(pong->masked);
        EXPECT_EQ(pong->payload, "are you there");
        auto close = read_frame(fd, buf);
        ASSERT_TRUE(close);
        EXPECT_EQ(close->op, 8);
        EXPECT_EQ(close->close_code(), 1000);
    });
    outcome out = run_server(std::move(server));
    peer.join();
    EXPECT_EQ(out.messages, std::vector<std::string>{"msg"});
    EXPECT_EQ(out.close_code, 1000);
    EXPECT_EQ(out.close_reason, "done");
}

TEST(ping_pong, ping_interval_and_a_missing_pong_closes) {
    auto [server, client] = squall::testing::tcp_pair();
    std::thread peer([fd = client.get()] {
        std::string buf;
        auto ping = read_frame(fd, buf);  // the server pings; we never answer
        ASSERT_TRUE(ping);
        EXPECT_EQ(ping->op, 9);
        for (;;) {
            auto f = read_frame(fd, buf);
            if (!f) break;
        }
    });
    connection_options o;
    o.ping_interval = 20ms;
    o.ping_timeout = 60ms;
    outcome out = run_server(std::move(server), o);
    ::shutdown(client.get(), SHUT_RDWR);
    peer.join();
    EXPECT_EQ(out.close_code, close_code::abnormal);
}

TEST(ping_pong, answered_pings_keep_the_connection) {
    auto [server, client] = squall::testing::tcp_pair();
    std::thread peer([fd = client.get()] {
        std::string buf;
        for (int i = 0; i < 3; ++i) {
            auto ping = read_frame(fd, buf);
            ASSERT_TRUE(ping);
            ASSERT_EQ(ping->op, 9);
            squall::testing::send_all(fd, make_frame(ping->payload, op(10)));
        }
        squall::testing::send_all(fd, make_frame(close_payload(1000), op(8)));
        while (read_frame(fd, buf)) {}
    });
    connection_options o;
    o.ping_interval = 10ms;
    o.ping_timeout = 10s;
    outcome out = run_server(std::move(server), o);
    ::shutdown(client.get(), SHUT_RDWR);
    peer.join();
    EXPECT_EQ(out.close_code, 1000);
}

TEST(close_handling, empty_close_is_echoed_empty) {
    auto [server, client] = squall::testing::tcp_pair();
    std::thread peer([fd = client.get()] {
        squall::testing::send_all(fd, make_frame("", op(8)));
        std::string buf;
        auto close = read_frame(fd, buf);
        ASSERT_TRUE(close);
        EXPECT_EQ(close->op, 8);
        EXPECT_EQ(close->payload, "");
    });
    outcome out = run_server(std::move(server));
    peer.join();
    EXPECT_EQ(out.close_code, close_code::no_status);
}

TEST(close_handling, bad_input_gets_its_close_code) {
    struct bad_case {
        std::string wire;
        std::uint16_t code;
    };
    frame_spec unmasked;
    unmasked.masked = false;
    frame_spec rsv;
    rsv.rsv3 = true;
    std::vector<bad_case> cases = {
        {make_frame("x", unmasked), 1002},
        {make_frame("x", rsv), 1002},
        {make_frame("x", op(5)), 1002},
        {make_frame(std::string(126, 'p'), op(9)), 1002},
        {make_frame("x", op(0)), 1002},
        {make_frame("a", op(1, false)) + make_frame("b", op(1)), 1002},
        {make_frame(close_payload(999), op(8)), 1002},
        {make_frame("\xC0\xAF"), 1007},
        {make_frame(close_payload(1000, "\xFF"), op(8)), 1007},
        {make_frame(std::string(2000, 'a')), 1009},
    };
    for (const auto& bc : cases) {
        auto [server, client] = squall::testing::tcp_pair();
        std::thread peer([fd = client.get(), &bc] {
            squall::testing::send_all(fd, bc.wire);
            std::string buf;
            auto close = read_frame(fd, buf);
            ASSERT_TRUE(close);
            EXPECT_EQ(close->op, 8);
            EXPECT_EQ(close->close_code(), bc.code);
        });
        connection_options o;
        o.max_message_size = 1000;
        o.close_timeout = 50ms;  // the peer never answers our close
        outcome out = run_server(std::move(server), o);
        peer.join();
        EXPECT_EQ(out.close_code, bc.code);
    }
}

TEST(utf8_handling, fails_fast_on_the_socket_without_the_rest_of_the_message) {
    auto [server, client] = squall::testing::tcp_pair();
    std::thread peer([fd = client.get()] {
        // The first fragment only, with a bad byte; the peer then waits for
        // the server's verdict without sending more.
        squall::testing::send_all(fd, make_frame("ok so far \xF8 then", op(1, false)));
        std::string buf;
        auto close = read_frame(fd, buf);
        ASSERT_TRUE(close);
        EXPECT_EQ(close->close_code(), 1007);
    });
    connection_options o;
    o.close_timeout = 50ms;
    outcome out = run_server(std::move(server), o);
    peer.join();
    EXPECT_EQ(out.close_code, 1007);
}

TEST(close_handling, server_close_waits_for_the_answer_then_ends) {
    auto [server, client] = squall::testing::tcp_pair();
    std::thread peer([fd = client.get()] {
        std::string buf;
        auto close = read_frame(fd, buf);
        ASSERT_TRUE(close);
        EXPECT_EQ(close->close_code(), 1001);
        EXPECT_EQ(close->payload.substr(2), "going away");
        squall::testing::send_all(fd, make_frame(close_payload(1001), op(8)));
    });
    loop l;
    auto code = l.run_sync([](int fd) -> task<std::uint16_t> {
        auto c = std::make_shared<connection>(std::make_unique<stream>(unique_fd(fd)), std::string(), role::server,
                                              connection_options{}, std::nullopt);
        result<void> sent = co_await c->close(1001, "going away");
        EXPECT_TRUE(sent);
        auto m = co_await c->read_message();
        EXPECT_FALSE(m);
        result<void> late = co_await c->write_message("too late");
        EXPECT_FALSE(late);
        co_await c->finish();
        co_return c->close_code();
    }(server.release()));
    peer.join();
    EXPECT_EQ(code, 1001);
}

TEST(close_handling, a_peer_that_never_answers_is_left_at_the_deadline) {
    auto [server, client] = squall::testing::tcp_pair();
    loop l;
    auto code = l.run_sync([](int fd) -> task<std::uint16_t> {
        connection_options o;
        o.close_timeout = 30ms;
        auto c = std::make_shared<connection>(std::make_unique<stream>(unique_fd(fd)), std::string(), role::server, o,
                                              std::nullopt);
        result<void> sent = co_await c->close();
        EXPECT_TRUE(sent);
        auto m = co_await c->read_message();  // returns at the deadline
        EXPECT_FALSE(m);
        co_await c->finish();
        co_return c->close_code();
    }(server.release()));
    EXPECT_EQ(code, close_code::abnormal);
    std::string buf;
    auto close = read_frame(client.get(), buf);
    ASSERT_TRUE(close);
    EXPECT_EQ(close->close_code(), 1000);
}

TEST(fragmentation, outgoing_messages_split_at_max_frame_size) {
    auto [server, client] = squall::testing::tcp_pair();
    loop l;
    l.run_sync([](int fd) -> task<void> {
        connection_options o;
        o.max_frame_size = 10;
        auto c = std::make_shared<connection>(std::make_unique<stream>(unique_fd(fd)), std::string(), role::server, o,
                                              std::nullopt);
        result<void> w = co_await c->write_message("0123456789abcdefghijKLMNO", true);
        EXPECT_TRUE(w);
        co_await c->finish();
    }(server.release()));
    std::string buf;
    std::vector<raw_frame> frames;
    for (int i = 0; i < 3; ++i) frames.push_back(*read_frame(client.get(), buf));
    EXPECT_EQ(frames[0].op, 2);
    EXPECT_EQ(frames[1].op, 0);
    EXPECT_EQ(frames[2].op, 0);
    EXPECT_FALSE(frames[0].fin);
    EXPECT_FALSE(frames[1].fin);
    EXPECT_TRUE(frames[2].fin);
    EXPECT_EQ(frames[0].payload + frames[1].payload + frames[2].payload, "0123456789abcdefghijKLMNO");
}

TEST(fragmentation, concurrent_writers_never_interleave_fragments) {
    auto [server, client] = squall::testing::tcp_pair();
    std::vector<raw_frame> frames;
    std::thread peer([fd = client.get(), &frames] {
        std::string buf;
        for (;;) {
            auto f = read_frame(fd, buf);
            if (!f) break;
            frames.push_back(std::move(*f));
        }
    });
    loop l;
    l.run_sync([](int fd) -> task<void> {
        connection_options o;
        o.max_frame_size = 4096;
        auto c = std::make_shared<connection>(std::make_unique<stream>(unique_fd(fd)), std::string(), role::server, o,
                                              std::nullopt);
        auto writer = [](connection* cp, char fill) -> task<void> {
            for (int i = 0; i < 20; ++i) {
                std::string m(20000 + static_cast<std::size_t>(i), fill);
                result<void> w = co_await cp->write_message(m);
                EXPECT_TRUE(w);
            }
        };
        co_await when_all(writer(c.get(), 'a'), writer(c.get(), 'b'));
        co_await c->finish();
    }(server.release()));
    peer.join();
    std::string current;
    int messages = 0;
    for (const auto& f : frames) {
        if (f.op != 0) {
            EXPECT_TRUE(current.empty());  // a new message only after the last one ended
        }
        current += f.payload;
        if (f.fin) {
            EXPECT_EQ(current.find_first_not_of(current[0]), std::string::npos);
            current.clear();
            ++messages;
        }
    }
    EXPECT_EQ(messages, 40);
}

TEST(framing, a_client_masks_and_refuses_masked_frames) {
    auto [server, client] = squall::testing::tcp_pair();
    std::thread peer([fd = server.get()] {
        std::string buf;
        auto f = read_frame(fd, buf);
        ASSERT_TRUE(f);
        EXPECT_TRUE(f->masked);
        EXPECT_EQ(f->payload, "from the client");
        squall::testing::send_all(fd, make_frame("masked by a server"));  // not allowed
        auto close = read_frame(fd, buf);
        ASSERT_TRUE(close);
        EXPECT_TRUE(close->masked);
        EXPECT_EQ(close->close_code(), 1002);
        ::shutdown(fd, SHUT_RDWR);
    });
    loop l;
    auto code = l.run_sync([](int fd) -> task<std::uint16_t> {
        auto s = std::make_unique<stream>(unique_fd(fd));
        auto c =
            std::make_shared<connection>(std::move(s), std::string(), role::client, connection_options{}, std::nullopt);
        result<void> w = co_await c->write_message("from the client");
        EXPECT_TRUE(w);
        auto m = co_await c->read_message();
        EXPECT_FALSE(m);
        co_await c->finish();
        co_return c->close_code();
    }(client.release()));
    peer.join();
    EXPECT_EQ(code, 1002);
}

TEST(permessage_deflate, our_server_and_client_roles_over_a_socket) {
    for (bool no_takeover : {false, true}) {
        auto [server, client] = squall::testing::tcp_pair();
        deflate_params p;
        p.server_no_context_takeover = no_takeover;
        p.client_no_context_takeover = no_takeover;
        p.client_max_window_bits = 10;
        loop l;
        auto echoed = l.run_sync([](int sfd, int cfd, deflate_params params) -> task<int> {
            connection_options o;
            o.deflate.enabled = true;
            o.max_frame_size = 1000;  // compressed messages in fragments
            auto srv = std::make_shared<connection>(std::make_unique<stream>(unique_fd(sfd)), std::string(),
                                                    role::server, o, params);
            auto cli = std::make_shared<connection>(std::make_unique<stream>(unique_fd(cfd)), std::string(),
                                                    role::client, o, params);
            auto echo = [](connection* c) -> task<void> {
                for (;;) {
                    auto m = co_await c->read_message();
                    if (!m) break;
                    std::string copy(m->data);
                    result<void> w = co_await c->write_message(copy, m->binary);
                    if (!w) break;
                }
            };
            auto talk = [](connection* c) -> task<int> {
                int ok = 0;
                for (int i = 0; i < 50; ++i) {
                    std::string msg(static_cast<std::size_t>(100 + i * 300), static_cast<char>('a' + i % 26));
                    msg += " message " + std::to_string(i);
                    result<void> w = co_await c->write_message(msg);
                    if (!w) co_return ok;
                    auto m = co_await c->read_message();
                    if (!m) co_return ok;
                    if (m->data == msg) ++ok;
                }
                result<void> cl = co_await c->close();
                (void)cl;
                auto end = co_await c->read_message();
                EXPECT_FALSE(end);
                co_return ok;
            };
            auto [e, n] = co_await when_all(echo(srv.get()), talk(cli.get()));
            (void)e;
            co_await srv->finish();
            co_await cli->finish();
            EXPECT_EQ(srv->close_code(), 1000);
            co_return n;
        }(server.release(), client.release(), p));
        EXPECT_EQ(echoed, 50);
    }
}
