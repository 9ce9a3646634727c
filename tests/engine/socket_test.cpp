#include <squall/engine/socket.hpp>

#include <gtest/gtest.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include <squall/engine/op.hpp>
#include <squall/engine/when.hpp>

using namespace squall;

namespace {

task<std::string> serve_once(int listen_fd) {
    auto c = co_await accept(listen_fd);
    if (!c) co_return "accept: " + c.error().message();
    unique_fd fd(*c);
    std::byte buf[64];
    auto n = co_await recv(fd.get(), buf);
    if (!n) co_return "recv: " + n.error().message();
    auto w = co_await send(fd.get(), std::span(buf, *n));
    if (!w) co_return "send: " + w.error().message();
    co_return std::string(reinterpret_cast<char*>(buf), *n);
}

task<std::string> client_once(address addr, std::string text) {
    auto fd = co_await connect_to(addr);
    if (!fd) co_return "connect: " + fd.error().message();
    auto w = co_await send(fd->get(), std::as_bytes(std::span(text)));
    if (!w) co_return "send: " + w.error().message();
    std::string got;
    std::byte buf[64];
    while (got.size() < text.size()) {
        auto n = co_await recv(fd->get(), buf);
        if (!n || *n == 0) break;
        got.append(reinterpret_cast<char*>(buf), *n);
    }
    co_return got;
}

void round_trip(const address& listen_addr) {
    loop l;
    unique_fd lfd = listen_on(listen_addr);
    address bound = local_address(lfd.get());
    auto [served, echoed] = l.run_sync(when_all(serve_once(lfd.get()), client_once(bound, "ping over the ring")));
    EXPECT_EQ(served, "ping over the ring");
    EXPECT_EQ(echoed, "ping over the ring");
}

}  // namespace

TEST(address, parses_and_prints_numeric_hosts) {
    EXPECT_EQ(address::ip("127.0.0.1", 80).to_string(), "127.0.0.1:80");
    EXPECT_EQ(address::ip("::1", 8080).to_string(), "[::1]:8080");
    EXPECT_EQ(address::ip("[::1]", 1).family(), AF_INET6);
    EXPECT_EQ(address::ip("0.0.0.0", 0).port(), 0);
    EXPECT_THROW(address::ip("localhost", 80), std::invalid_argument);
    EXPECT_THROW(address::ip("1.2.3", 80), std::invalid_argument);
    EXPECT_EQ(address::unix_path("/tmp/x.sock").to_string(), "unix:/tmp/x.sock");
    EXPECT_THROW(address::unix_path(std::string(200, 'a')), std::invalid_argument);
}

TEST(socket, ipv4_round_trip) { round_trip(address::ip("127.0.0.1", 0)); }

TEST(socket, ipv6_round_trip) {
    try {
        round_trip(address::ip("::1", 0));
    } catch (const std::system_error& e) {
        GTEST_SKIP() << "no IPv6 loopback here: " << e.what();
    }
}

TEST(socket, unix_round_trip) {
    std::string path = "/tmp/squall-socket-test-" + std::to_string(::getpid()) + ".sock";
    ::unlink(path.c_str());
    round_trip(address::unix_path(path));
    ::unlink(path.c_str());
}

TEST(socket, connect_to_a_closed_port_is_refused) {
    loop l;
    address addr;
    {
        unique_fd lfd = listen_on(address::ip("127.0.0.1", 0));
        addr = local_address(lfd.get());
    }  // closed: nothing listens there now
    auto r = l.run_sync(connect_to(addr));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), std::errc::connection_refused);
}

TEST(socket, bind_errors_name_the_address) {
    unique_fd a = listen_on(address::ip("127.0.0.1", 0));
    address taken = local_address(a.get());
    try {
        listen_on(taken);
        FAIL() << "second bind succeeded";
    } catch (const std::system_error& e) {
        EXPECT_NE(std::string(e.what()).find(taken.to_string()), std::string::npos) << e.what();
        EXPECT_EQ(e.code(), std::errc::address_in_use);
    }
}

TEST(socket, accepted_sockets_inherit_no_delay) {
    loop l;
    unique_fd lfd = listen_on(address::ip("127.0.0.1", 0));
    address addr = local_address(lfd.get());
    auto accepted = l.run_sync([](int fd, address a) -> task<int> {
        auto [c, s] =
            co_await when_all(connect_to(a), [](int lf) -> task<result<int>> { co_return co_await accept(lf); }(fd));
        if (!c || !s) co_return -1;
        unique_fd server(*s);
        int v = 0;
        socklen_t len = sizeof v;
        ::getsockopt(server.get(), IPPROTO_TCP, TCP_NODELAY, &v, &len);
        co_return v;
    }(lfd.get(), addr));
    EXPECT_EQ(accepted, 1);
}

TEST(socket, reuse_port_lets_several_listeners_share_a_port) {
    listen_options o{.reuse_port = true};
    unique_fd a = listen_on(address::ip("127.0.0.1", 0), o);
    unique_fd b = listen_on(local_address(a.get()), o);
    EXPECT_EQ(local_address(a.get()).port(), local_address(b.get()).port());
}
