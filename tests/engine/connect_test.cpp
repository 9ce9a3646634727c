#include <squall/engine/connect.hpp>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "tests/engine/dns_peer.hpp"
#include <squall/engine/loop.hpp>
#include <squall/engine/resolver.hpp>
#include <squall/engine/time.hpp>

using namespace squall;
using namespace std::chrono_literals;

namespace {

int open_fds() {
    int n = 0;
    for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
    return n;
}

// A listener whose accept queue is full and never drained: the kernel
// drops further SYNs, so a connect to it hangs as to a blackholed address.
struct blackhole {
    explicit blackhole(address at) : fd(listen_on(at, {.backlog = 0, .v6_only = true})) {
        addr = local_address(fd.get());
        for (int i = 0; i < 8; ++i) {
            unique_fd c(::socket(addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
            ::connect(c.get(), addr.get(), addr.size());
            pollfd p{c.get(), POLLOUT, 0};
            if (::poll(&p, 1, 300) <= 0) return;  // this one hangs: the queue is full
            fillers.push_back(std::move(c));
        }
        throw std::runtime_error("could not fill the accept queue");
    }
    unique_fd fd;
    address addr;
    std::vector<unique_fd> fillers;
};

// Whether a connection waits in `listen_fd`'s accept queue (taken and closed).
bool accepted_one(int listen_fd) {
    pollfd p{listen_fd, POLLIN, 0};
    if (::poll(&p, 1, 2000) <= 0) return false;
    unique_fd c(::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC));
    return static_cast<bool>(c);
}

bool nothing_waiting(int listen_fd) {
    pollfd p{listen_fd, POLLIN, 0};
    return ::poll(&p, 1, 0) == 0;
}

address peer_of(int fd) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    ::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len);
    return address::from(reinterpret_cast<sockaddr*>(&ss), len);
}

}  // namespace

TEST(interleave_families, alternates_starting_with_ipv6) {
    std::vector<address> in{address::ip("127.0.0.1", 1), address::ip("127.0.0.2", 1), address::ip("127.0.0.3", 1),
                            address::ip("::1", 1), address::ip("::2", 1)};
    std::vector<std::string> out;
    for (auto& a : interleave_families(in)) out.push_back(a.to_string());
    EXPECT_EQ(out, (std::vector<std::string>{"[::1]:1", "127.0.0.1:1", "[::2]:1", "127.0.0.2:1", "127.0.0.3:1"}));
}

TEST(connect_any, a_blackholed_first_address_loses_to_the_second) {
    loop l;
    blackhole hole(address::ip("127.0.0.1", 0));
    unique_fd good = listen_on(address::ip("127.0.0.1", 0));
    address good_addr = local_address(good.get());
    int fds_before = open_fds();
    auto r = l.run_sync(connect_any({hole.addr, good_addr}, clock::now() + 20s, {.attempt_delay = 100ms}));
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(peer_of(r->get()).to_string(), good_addr.to_string());
    EXPECT_TRUE(accepted_one(good.get()));
    // The hanging attempt was cancelled and its socket closed: only the
    // winner is left, and nothing is in flight in the ring.
    EXPECT_EQ(open_fds(), fds_before + 1);
    EXPECT_EQ(l.ops_in_flight(), 0u);
}

TEST(connect_any, a_fast_first_address_never_starts_the_second) {
    loop l;
    unique_fd first = listen_on(address::ip("127.0.0.1", 0));
    unique_fd second = listen_on(address::ip("127.0.0.1", 0));
    auto r = l.run_sync(connect_any({local_address(first.get()), local_address(second.get())}, clock::now() + 20s));
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_TRUE(accepted_one(first.get()));
    EXPECT_TRUE(nothing_waiting(second.get()));
}

TEST(connect_any, a_refused_attempt_starts_the_next_at_once) {
    loop l;
    address refused = [] {
        unique_fd tmp = listen_on(address::ip("127.0.0.1", 0));
        return local_address(tmp.get());  // closed again: connects are refused
    }();
    unique_fd good = listen_on(address::ip("127.0.0.1", 0));
    // With a delay far beyond the deadline, only the failure can start the second.
    auto r = l.run_sync(connect_any({refused, local_address(good.get())}, clock::now() + 20s, {.attempt_delay = 1h}));
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_TRUE(accepted_one(good.get()));
}

TEST(connect_any, all_refused_reports_the_last_error) {
    loop l;
    std::vector<address> addrs;
    for (int i = 0; i < 2; ++i) {
        unique_fd tmp = listen_on(address::ip("127.0.0.1", 0));
        addrs.push_back(local_address(tmp.get()));
    }
    auto r = l.run_sync(connect_any(addrs, clock::now() + 20s));
    EXPECT_EQ(r.error(), std::errc::connection_refused);
}

TEST(connect_any, all_blackholed_times_out_and_closes_every_socket) {
    loop l;
    blackhole a(address::ip("127.0.0.1", 0));
    blackhole b(address::ip("127.0.0.1", 0));
    int fds_before = open_fds();
    auto r = l.run_sync(connect_any({a.addr, b.addr}, clock::now() + 400ms, {.attempt_delay = 50ms}));
    EXPECT_EQ(r.error(), errc::timed_out);
    EXPECT_EQ(open_fds(), fds_before);
    EXPECT_EQ(l.ops_in_flight(), 0u);
}

TEST(connect_any, no_address_is_invalid) {
    loop l;
    auto r = l.run_sync(connect_any({}, clock::now() + 1s));
    EXPECT_EQ(r.error(), std::errc::invalid_argument);
}

TEST(connect_to_host, localhost_reaches_an_ipv4_only_listener) {
    loop l;
    unique_fd lfd = listen_on(address::ip("127.0.0.1", 0));
    std::uint16_t port = local_address(lfd.get()).port();
    auto r = l.run_sync(connect_to("localhost", port, 10s));
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(peer_of(r->get()).to_string(), "127.0.0.1:" + std::to_string(port));
}

TEST(connect_to_host, a_name_that_does_not_exist_is_the_resolvers_error) {
    squall::testing::scripted_dns dns(R"({"gone.test": "nxdomain"})");
    loop l;
    configure_resolver({.servers = dns.servers()});
    auto r = l.run_sync(connect_to("gone.test", 80, 10s));
    EXPECT_EQ(r.error(), dns_errc::not_found);
}

namespace {

// he.test has ::1 and 127.0.0.1; a listener on each at the same port.
struct dual_stack {
    explicit dual_stack(bool blackhole_v6) {
        v4 = listen_on(address::ip("127.0.0.1", 0));
        port = local_address(v4.get()).port();
        if (blackhole_v6) hole = std::make_unique<blackhole>(address::ip("::1", port));
        else v6 = listen_on(address::ip("::1", port), {.v6_only = true});
    }
    unique_fd v4, v6;
    std::unique_ptr<blackhole> hole;
    std::uint16_t port = 0;
};

const char* he_zone = R"({"he.test": {"A": ["127.0.0.1"], "AAAA": ["::1"]}})";

}  // namespace

TEST(connect_to_host, ipv6_is_tried_first) {
    squall::testing::scripted_dns dns(he_zone);
    dual_stack both(false);
    loop l;
    configure_resolver({.servers = dns.servers()});
    auto r = l.run_sync(connect_to("he.test", both.port, 10s));
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(peer_of(r->get()).family(), AF_INET6);
    EXPECT_TRUE(accepted_one(both.v6.get()));
    EXPECT_TRUE(nothing_waiting(both.v4.get()));
}

TEST(connect_to_host, ipv4_wins_when_ipv6_is_blackholed) {
    squall::testing::scripted_dns dns(he_zone);
    dual_stack both(true);
    loop l;
    configure_resolver({.servers = dns.servers()});
    auto r = l.run_sync(connect_to("he.test", both.port, 20s));
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(peer_of(r->get()).to_string(), "127.0.0.1:" + std::to_string(both.port));
    EXPECT_TRUE(accepted_one(both.v4.get()));
}

// RFC 8305 §3: the two lookups go out at once and neither waits for the
// other. A resolver slow enough to matter (10 s per try, 2 tries) never
// answers one family: the other family connects well inside a deadline
// that waiting for both answers would pass (a guard, not a measure).
resolver_options patient(const squall::testing::scripted_dns& dns) {
    return {.servers = dns.servers(), .try_timeout = 10s, .tries = 2};
}

TEST(connect_to_host, an_aaaa_that_never_answers_does_not_hold_up_ipv4) {
    squall::testing::scripted_dns dns(R"({"he.test": {"A": ["127.0.0.1"], "AAAA": ["::1"], "silent": ["AAAA"]}})");
    dual_stack both(false);
    loop l;
    configure_resolver(patient(dns));
    connect_timings t;
    auto r = l.run_sync(connect_to("he.test", both.port, 8s, {.timings = &t}));
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(peer_of(r->get()).to_string(), "127.0.0.1:" + std::to_string(both.port));
    EXPECT_TRUE(accepted_one(both.v4.get()));
    EXPECT_GE(dns.queries("he.test", "AAAA"), 1);
    EXPECT_GT(t.dns.count(), 0);
}

TEST(connect_to_host, ipv6_is_tried_as_soon_as_its_answer_is_in) {
    squall::testing::scripted_dns dns(R"({"he.test": {"A": ["127.0.0.1"], "AAAA": ["::1"], "silent": ["A"]}})");
    dual_stack both(false);
    loop l;
    configure_resolver(patient(dns));
    auto r = l.run_sync(connect_to("he.test", both.port, 8s));
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(peer_of(r->get()).family(), AF_INET6);
    EXPECT_TRUE(accepted_one(both.v6.get()));
    EXPECT_TRUE(nothing_waiting(both.v4.get()));
}

// The A answer first: the AAAA one gets resolution_delay. Within it, IPv6
// still goes first; past it, IPv4 is tried without waiting further.
TEST(connect_to_host, an_a_answer_first_waits_the_resolution_delay_for_aaaa) {
    squall::testing::scripted_dns dns(
        R"({"late6.test": {"A": ["127.0.0.1"], "AAAA": ["::1"], "delay_ms": {"AAAA": 300}}})");
    {
        dual_stack both(false);
        loop l;
        configure_resolver(patient(dns));
        auto r = l.run_sync(connect_to("late6.test", both.port, 20s, {.resolution_delay = 5s}));
        ASSERT_TRUE(r) << r.error().message();
        EXPECT_EQ(peer_of(r->get()).family(), AF_INET6) << "the AAAA answer came within the resolution delay";
        EXPECT_TRUE(accepted_one(both.v6.get()));
        EXPECT_TRUE(nothing_waiting(both.v4.get()));
    }
    {
        dual_stack both(false);
        loop l;
        configure_resolver(patient(dns));
        auto r = l.run_sync(connect_to("late6.test", both.port, 20s, {.resolution_delay = 1ms}));
        ASSERT_TRUE(r) << r.error().message();
        EXPECT_EQ(peer_of(r->get()).family(), AF_INET) << "IPv4 did not wait past the resolution delay";
    }
}

TEST(connect_to_host, one_family_without_addresses_uses_the_other) {
    squall::testing::scripted_dns dns(R"({"v4only.test": {"A": ["127.0.0.1"]}, "v6only.test": {"AAAA": ["::1"]},
                                          "none.test": {}})");
    dual_stack both(false);
    loop l;
    configure_resolver({.servers = dns.servers()});
    auto a = l.run_sync(connect_to("v4only.test", both.port, 10s));
    ASSERT_TRUE(a) << a.error().message();
    EXPECT_EQ(peer_of(a->get()).family(), AF_INET);
    auto b = l.run_sync(connect_to("v6only.test", both.port, 10s));
    ASSERT_TRUE(b) << b.error().message();
    EXPECT_EQ(peer_of(b->get()).family(), AF_INET6);
    auto c = l.run_sync(connect_to("none.test", both.port, 10s));
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error(), dns_errc::no_answer);
}

namespace {

task<result<unique_fd>> connect_cancelled_after(address a, clock::duration after) {
    cancel_source src;
    loop::current()->call_later(after, [&src] { src.request_cancel(); });
    task<result<unique_fd>> t = connect_any({a}, clock::now() + 20s);
    t.set_cancel_token(src.token());
    auto r = co_await std::move(t);
    co_return r;
}

}  // namespace

TEST(connect_any, the_cancel_token_stops_every_attempt) {
    loop l;
    blackhole hole(address::ip("127.0.0.1", 0));
    int fds_before = open_fds();
    auto r = l.run_sync(connect_cancelled_after(hole.addr, 100ms));
    EXPECT_EQ(r.error(), errc::canceled);
    EXPECT_EQ(open_fds(), fds_before);
    EXPECT_EQ(l.ops_in_flight(), 0u);
}
