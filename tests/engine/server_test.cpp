#include <squall/engine/server.hpp>

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <thread>

#include "tcp_pair.hpp"
#include <squall/engine/listener.hpp>
#include <squall/engine/stream.hpp>

using namespace squall;
using namespace std::chrono_literals;
using squall::testing::recv_n;
using squall::testing::send_all;

namespace {

std::uint16_t free_port() {
    unique_fd fd = listen_on(address::ip("127.0.0.1", 0));
    return local_address(fd.get()).port();
}

task<void> echo(unique_fd fd) {
    stream s(std::move(fd));
    for (;;) {
        auto chunk = co_await s.read_some();
        if (!chunk) co_return;
        result<void> w = co_await s.write(chunk->bytes());
        if (!w) co_return;
    }
}

task<void> serve(std::uint16_t port, std::atomic<int>* listening, cancel_token shutdown) {
    listener l(listen_on(address::ip("127.0.0.1", port), {.reuse_port = true}));
    listening->fetch_add(1);
    auto accept_loop = [](listener* lp) -> task<void> {
        for (;;) {
            auto c = co_await lp->accept();
            if (!c) co_return;
            loop::current()->spawn(echo(std::move(*c)));
        }
    }(&l);
    accept_loop.set_cancel_token(shutdown);
    co_await std::move(accept_loop);
}

unique_fd connect_blocking(std::uint16_t port) {
    address a = address::ip("127.0.0.1", port);
    unique_fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (::connect(fd.get(), a.get(), a.size()) != 0) return unique_fd();
    return fd;
}

bool wait_until(const std::atomic<int>& v, int target) {
    for (int i = 0; i < 5000 && v.load() < target; ++i) std::this_thread::sleep_for(1ms);
    return v.load() >= target;
}

}  // namespace

TEST(run_server, sigterm_stops_accepting_and_drains_open_connections) {
    block_signals({SIGINT, SIGTERM});  // before any thread: the server's signalfd gets them
    std::uint16_t port = free_port();
    std::atomic<int> listening{0};
    std::atomic<bool> returned{false};
    run_options so;
    so.threads = 2;
    so.drain_timeout = 30s;
    std::thread server([&] {
        run_server(so, [port, &listening](cancel_token t) { return serve(port, &listening, t); });
        returned = true;
    });
    ASSERT_TRUE(wait_until(listening, 2));

    unique_fd open = connect_blocking(port);
    ASSERT_TRUE(open);
    send_all(open.get(), "before");
    EXPECT_EQ(recv_n(open.get(), 6), "before");

    ::kill(::getpid(), SIGTERM);
    // New connections are refused once both listeners have closed.
    bool refused = false;
    for (int i = 0; i < 500 && !refused; ++i) {
        refused = !connect_blocking(port);
        if (!refused) std::this_thread::sleep_for(2ms);
    }
    EXPECT_TRUE(refused);
    // The open connection is still served while draining.
    send_all(open.get(), "during drain");
    EXPECT_EQ(recv_n(open.get(), 12), "during drain");
    EXPECT_FALSE(returned.load());
    open.reset();  // its handler ends: the drain completes long before 30 s
    server.join();
    EXPECT_TRUE(returned.load());
}

TEST(run_server, the_drain_deadline_closes_what_is_left) {
    block_signals({SIGINT, SIGTERM});
    std::uint16_t port = free_port();
    std::atomic<int> listening{0};
    run_options so;
    so.drain_timeout = 50ms;
    std::thread server(
        [&] { run_server(so, [port, &listening](cancel_token t) { return serve(port, &listening, t); }); });
    ASSERT_TRUE(wait_until(listening, 1));
    unique_fd idle = connect_blocking(port);
    ASSERT_TRUE(idle);
    send_all(idle.get(), "x");
    EXPECT_EQ(recv_n(idle.get(), 1), "x");
    ::kill(::getpid(), SIGINT);
    server.join();  // returns although the client never closed
    char c;
    EXPECT_EQ(::recv(idle.get(), &c, 1, 0), 0);  // the server closed it: EOF
}
