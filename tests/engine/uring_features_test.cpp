// The io_uring features of Linux 6.2+ behind squall's switches
// (engine/detail/uring_compat.hpp): listener set-up through the ring,
// batched waits, NAPI busy poll, incremental buffer consumption. Each test
// skips when the running kernel lacks its feature; the stress runs with
// each switch on are in echo_stress_test.cpp.
#include <gtest/gtest.h>
#include <netinet/tcp.h>

#include <memory>
#include <thread>

#include <squall/engine/buffer_ring.hpp>
#include <squall/engine/detail/uring_compat.hpp>
#include <squall/engine/listener.hpp>
#include <squall/engine/loop.hpp>
#include <squall/engine/socket.hpp>
#include <squall/engine/stream.hpp>
#include <squall/engine/time.hpp>

#include "tcp_pair.hpp"

using namespace squall;
using namespace std::chrono_literals;

namespace {

// A throwaway ring, for asking the kernel what it has.
struct probe_ring {
    io_uring r{};
    io_uring_params p{};
    int rc = io_uring_queue_init_params(4, &r, &p);
    ~probe_ring() {
        if (rc == 0) io_uring_queue_exit(&r);
    }
    bool has_op(int op) {
        std::unique_ptr<io_uring_probe, void (*)(io_uring_probe*)> pr(io_uring_get_probe_ring(&r), io_uring_free_probe);
        return pr && io_uring_opcode_supported(pr.get(), op);
    }
};

// SOCKET_URING_OP_SETSOCKOPT on a fresh socket, through a throwaway ring.
bool setsockopt_cmd_works() {
    probe_ring pr;
    unique_fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    int one = 1;
    io_uring_sqe* s = io_uring_get_sqe(&pr.r);
    uring::prep_setsockopt(s, fd.get(), SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    io_uring_cqe* c = nullptr;
    if (io_uring_submit_and_wait(&pr.r, 1) < 0 || io_uring_peek_cqe(&pr.r, &c) != 0) return false;
    return c->res == 0;
}

int int_option(int fd, int level, int name) {
    int v = -1;
    socklen_t len = sizeof v;
    ::getsockopt(fd, level, name, &v, &len);
    return v;
}

task<std::string> accept_and_echo(listener* l) {
    auto c = co_await l->accept();
    if (!c) co_return "accept: " + c.error().message();
    stream s(std::move(*c));
    auto got = co_await s.read_exactly(5);
    if (!got) co_return "read: " + got.error().message();
    std::string text(reinterpret_cast<const char*>(got->data()), got->size());
    auto w = co_await s.write(std::span(reinterpret_cast<const std::byte*>(text.data()), text.size()));
    co_return w ? text : "write: " + w.error().message();
}

}  // namespace

TEST(uring_features, listener_set_up_through_the_ring_serves) {
    probe_ring pr;
    if (!pr.has_op(IORING_OP_SOCKET) || !pr.has_op(uring::op_bind) || !pr.has_op(uring::op_listen))
        GTEST_SKIP() << "the kernel has no IORING_OP_SOCKET/BIND/LISTEN (Linux 6.11)";
    const bool sockopt = setsockopt_cmd_works();
    loop l;
    int steps = -1;
    unique_fd fd = l.run_sync(listen_on_ring(address::ip("127.0.0.1", 0), {}, &steps));
    // socket, SO_REUSEADDR, TCP_NODELAY, bind, listen: all in the ring.
    EXPECT_EQ(steps, sockopt ? 5 : 3);
    EXPECT_EQ(int_option(fd.get(), SOL_SOCKET, SO_REUSEADDR), 1);
    EXPECT_EQ(int_option(fd.get(), IPPROTO_TCP, TCP_NODELAY), 1);
    EXPECT_EQ(int_option(fd.get(), SOL_SOCKET, SO_ACCEPTCONN), 1);
    address addr = local_address(fd.get());
    listener lst(std::move(fd));
    std::thread client([addr] {
        unique_fd c(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
        if (::connect(c.get(), addr.get(), addr.size()) != 0) return;
        squall::testing::send_all(c.get(), "hello");
        squall::testing::recv_n(c.get(), 5);
    });
    auto echoed = l.run_sync(with_timeout(30s, accept_and_echo(&lst)));
    EXPECT_EQ(echoed ? *echoed : "timed out", "hello");
    client.join();
}

TEST(uring_features, listener_through_the_ring_reports_a_taken_port) {
    probe_ring pr;
    if (!pr.has_op(uring::op_bind)) GTEST_SKIP() << "the kernel has no IORING_OP_BIND (Linux 6.11)";
    unique_fd taken = listen_on(address::ip("127.0.0.1", 0));
    address addr = local_address(taken.get());
    loop l;
    try {
        (void)l.run_sync(listen_on_ring(addr));
        ADD_FAILURE() << "a second listener on " << addr.to_string() << " was set up";
    } catch (const std::system_error& e) {
        EXPECT_EQ(e.code().value(), EADDRINUSE);
        EXPECT_NE(std::string(e.what()).find("bind " + addr.to_string()), std::string::npos) << e.what();
    }
}

TEST(uring_features, batched_waits_keep_timers_posts_and_io_going) {
    probe_ring pr;
    if (!(pr.p.features & IORING_FEAT_MIN_TIMEOUT)) GTEST_SKIP() << "no IORING_FEAT_MIN_TIMEOUT (Linux 6.12)";
    loop_options o;
    o.min_wait_usec = 500;
    o.wait_batch = 64;
    loop l(o);
    ASSERT_TRUE(l.features().min_wait) << l.features().describe();
    // A timer, a post from another thread and a receive each end a wait
    // that asked for 64 completions.
    bool fired = false;
    l.call_later(2ms, [&] { fired = true; });
    auto [srv, cli] = squall::testing::tcp_pair();
    std::thread poster([&] {
        std::this_thread::sleep_for(5ms);
        l.post([&] { squall::testing::send_all(cli.get(), "ping!"); });
    });
    auto got = l.run_sync([](int fd) -> task<std::string> {
        stream s{unique_fd(fd)};
        auto r = co_await s.read_exactly(5);
        co_return r ? std::string(reinterpret_cast<const char*>(r->data()), r->size()) : r.error().message();
    }(srv.release()));
    poster.join();
    EXPECT_EQ(got, "ping!");
    EXPECT_TRUE(fired);
}

TEST(uring_features, napi_busy_poll_registers_and_the_loop_serves) {
    {
        probe_ring pr;
        uring::napi_reg reg;
        reg.busy_poll_to = 10;
        if (uring::register_raw(&pr.r, uring::register_napi, &reg, 1) != 0)
            GTEST_SKIP() << "IORING_REGISTER_NAPI refused (Linux 6.9, CONFIG_NET_RX_BUSY_POLL)";
    }
    loop_options o;
    o.napi_busy_poll_usec = 20;
    loop l(o);
    EXPECT_TRUE(l.features().napi) << l.features().describe();
    auto [srv, cli] = squall::testing::tcp_pair();
    squall::testing::send_all(cli.get(), "napi!");
    auto got = l.run_sync([](int fd) -> task<std::string> {
        stream s{unique_fd(fd)};
        auto r = co_await s.read_exactly(5);
        co_return r ? std::string(reinterpret_cast<const char*>(r->data()), r->size()) : r.error().message();
    }(srv.release()));
    EXPECT_EQ(got, "napi!");
}
