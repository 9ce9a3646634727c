#include <squall/engine/resolver.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "tests/engine/dns_peer.hpp"
#include <squall/engine/loop.hpp>
#include <squall/engine/time.hpp>
#include <squall/engine/when.hpp>

using namespace squall;
using namespace std::chrono_literals;
using squall::testing::scripted_dns;

namespace {

using addrs_result = result<std::vector<address>>;

std::vector<std::string> strings(const addrs_result& r) {
    std::vector<std::string> out;
    if (r)
        for (const address& a : r.value()) out.push_back(a.to_string());
    return out;
}

// One loop pointed at `servers`, short c-ares tries so failures come fast.
struct resolver_env {
    explicit resolver_env(const std::string& servers, resolver_options o = {}) {
        o.servers = servers;
        configure_resolver(std::move(o));
    }
    addrs_result resolve(const std::string& host, std::uint16_t port = 80, resolve_options o = {}) {
        return l.run_sync(squall::resolve(host, port, o));
    }
    loop l;
};

const char* zone = R"({
  "both.test": {"A": ["127.0.0.2", "127.0.0.3"], "AAAA": ["::1"], "ttl": 60},
  "short.test": {"A": ["127.0.0.4"], "ttl": 1},
  "v4only.test": {"A": ["127.0.0.5"]},
  "slow.test": {"A": ["127.0.0.6"], "delay_ms": 300},
  "big.test": {"A": ["127.0.0.7"], "AAAA": ["::1"], "tc": true},
  "gone.test": "nxdomain",
  "broken.test": "servfail",
  "closed.test": "refused",
  "deaf.test": "silent"
})";

task<void> nap(clock::duration d) {
    auto slept = co_await sleep(d);
    (void)slept;
}

}  // namespace

TEST(resolver, numeric_hosts_need_no_query) {
    loop l;
    auto v4 = l.run_sync(resolve("127.0.0.1", 8080));
    auto v6 = l.run_sync(resolve("[::1]", 443));
    auto wrong_family = l.run_sync(resolve("::1", 1, {.family = AF_INET}));
    EXPECT_EQ(strings(v4), std::vector<std::string>{"127.0.0.1:8080"});
    EXPECT_EQ(strings(v6), std::vector<std::string>{"[::1]:443"});
    EXPECT_EQ(wrong_family.error(), dns_errc::no_answer);
    EXPECT_EQ(resolver_statistics().queries, 0u);
}

TEST(resolver, localhost_is_loopback_without_a_query) {
    loop l;
    auto both = l.run_sync(resolve("localhost", 80));
    auto v4 = l.run_sync(resolve("LocalHost.", 80, {.family = AF_INET}));
    auto sub = l.run_sync(resolve("app.localhost", 81, {.family = AF_INET6}));
    EXPECT_EQ(strings(both), (std::vector<std::string>{"[::1]:80", "127.0.0.1:80"}));
    EXPECT_EQ(strings(v4), std::vector<std::string>{"127.0.0.1:80"});
    EXPECT_EQ(strings(sub), std::vector<std::string>{"[::1]:81"});
    EXPECT_EQ(resolver_statistics().queries, 0u);
}

TEST(resolver, malformed_names_are_refused_before_any_query) {
    loop l;
    std::string long_label(64, 'a');
    for (const std::string& bad :
         std::vector<std::string>{"", ".", "a..b", "with space.test", "nl\n.test", long_label + ".test", "x%y"}) {
        auto r = l.run_sync(resolve(bad, 80));
        EXPECT_EQ(r.error(), dns_errc::bad_name) << bad;
    }
    EXPECT_EQ(resolver_statistics().queries, 0u);
}

TEST(resolver, answers_carry_the_port_and_both_families) {
    scripted_dns dns(zone);
    resolver_env env(dns.servers());
    auto r = env.resolve("both.test", 8443);
    ASSERT_TRUE(r) << r.error().message();
    auto got = strings(r);
    std::sort(got.begin(), got.end());
    EXPECT_EQ(got, (std::vector<std::string>{"127.0.0.2:8443", "127.0.0.3:8443", "[::1]:8443"}));
    EXPECT_EQ(dns.queries("both.test", "A"), 1);
    EXPECT_EQ(dns.queries("both.test", "AAAA"), 1);
}

TEST(resolver, a_cached_answer_sends_no_second_query) {
    scripted_dns dns(zone);
    resolver_env env(dns.servers());
    auto first = env.resolve("both.test", 80);
    auto second = env.resolve("BOTH.test.", 81);
    ASSERT_TRUE(second) << second.error().message();
    EXPECT_EQ(second->size(), first->size());
    EXPECT_EQ(second->front().port(), 81);
    EXPECT_EQ(dns.queries("both.test"), 2);  // A and AAAA, once
    auto stats = resolver_statistics();
    EXPECT_EQ(stats.lookups, 2u);
    EXPECT_EQ(stats.cache_hits, 1u);
    EXPECT_EQ(stats.queries, 1u);
}

TEST(resolver, an_answer_is_asked_again_after_its_ttl) {
    scripted_dns dns(zone);
    resolver_env env(dns.servers());
    ASSERT_TRUE(env.resolve("short.test", 80, {.family = AF_INET}));
    ASSERT_TRUE(env.resolve("short.test", 80, {.family = AF_INET}));
    EXPECT_EQ(dns.queries("short.test", "A"), 1);
    std::this_thread::sleep_for(1100ms);  // the TTL is one second
    auto again = env.resolve("short.test", 80, {.family = AF_INET});
    ASSERT_TRUE(again);
    EXPECT_EQ(strings(again), std::vector<std::string>{"127.0.0.4:80"});
    EXPECT_EQ(dns.queries("short.test", "A"), 2);
}

TEST(resolver, use_cache_false_always_asks) {
    scripted_dns dns(zone);
    resolver_env env(dns.servers());
    ASSERT_TRUE(env.resolve("v4only.test", 80, {.family = AF_INET}));
    ASSERT_TRUE(env.resolve("v4only.test", 80, {.family = AF_INET, .use_cache = false}));
    EXPECT_EQ(dns.queries("v4only.test", "A"), 2);
}

TEST(resolver, nxdomain_is_not_found_and_cached_briefly) {
    scripted_dns dns(zone);
    resolver_env env(dns.servers(), {.negative_ttl = 1s});
    auto r = env.resolve("gone.test", 80, {.family = AF_INET});
    EXPECT_EQ(r.error(), dns_errc::not_found);
    EXPECT_EQ(r.error().category(), dns_category());
    auto cached = env.resolve("gone.test", 80, {.family = AF_INET});
    EXPECT_EQ(cached.error(), dns_errc::not_found);
    EXPECT_EQ(dns.queries("gone.test", "A"), 1);
    std::this_thread::sleep_for(1100ms);
    auto again = env.resolve("gone.test", 80, {.family = AF_INET});
    EXPECT_EQ(again.error(), dns_errc::not_found);
    EXPECT_EQ(dns.queries("gone.test", "A"), 2);
}

TEST(resolver, a_name_without_the_family_asked_is_no_answer) {
    scripted_dns dns(zone);
    resolver_env env(dns.servers());
    auto r = env.resolve("v4only.test", 80, {.family = AF_INET6});
    EXPECT_EQ(r.error(), dns_errc::no_answer);
    auto v4 = env.resolve("v4only.test", 80, {.family = AF_INET});
    EXPECT_EQ(strings(v4), std::vector<std::string>{"127.0.0.5:80"});
}

TEST(resolver, servfail_is_a_server_failure_and_not_cached) {
    scripted_dns dns(zone);
    resolver_env env(dns.servers(), {.tries = 1});
    auto r = env.resolve("broken.test", 80, {.family = AF_INET});
    EXPECT_EQ(r.error(), dns_errc::server_failure);
    int asked = dns.queries("broken.test", "A");
    EXPECT_GE(asked, 1);
    auto again = env.resolve("broken.test", 80, {.family = AF_INET});
    EXPECT_EQ(again.error(), dns_errc::server_failure);
    EXPECT_GT(dns.queries("broken.test", "A"), asked);
}

TEST(resolver, refused_is_refused) {
    scripted_dns dns(zone);
    resolver_env env(dns.servers(), {.tries = 1});
    auto r = env.resolve("closed.test", 80, {.family = AF_INET});
    EXPECT_EQ(r.error(), dns_errc::refused);
}

TEST(resolver, with_two_servers_a_servfail_moves_to_the_next) {
    scripted_dns failing(R"({"both.test": "servfail"})");
    scripted_dns good(zone);
    {
        resolver_env env(failing.servers() + "," + good.servers(), {.tries = 1});
        auto r = env.resolve("both.test", 80, {.family = AF_INET});
        ASSERT_TRUE(r) << r.error().message();
        EXPECT_EQ(r->size(), 2u);
        EXPECT_EQ(failing.queries("both.test", "A"), 1);
        EXPECT_EQ(good.queries("both.test", "A"), 1);
    }
    // Both failing: no server gave an answer.
    resolver_env env(failing.servers() + "," + failing.servers(), {.tries = 1});
    auto bad = env.resolve("both.test", 80, {.family = AF_INET});
    EXPECT_EQ(bad.error(), dns_errc::unreachable);
}

TEST(resolver, a_server_that_never_answers_meets_the_deadline) {
    scripted_dns dns(zone);
    resolver_env env(dns.servers());
    auto r = env.resolve("deaf.test", 80, {.timeout = 300ms});
    EXPECT_EQ(r.error(), errc::timed_out);
    EXPECT_TRUE(r.error() == std::errc::timed_out);
    EXPECT_GE(dns.queries("deaf.test"), 1);
}

TEST(resolver, c_ares_giving_up_is_dns_timed_out) {
    scripted_dns dns(zone);
    resolver_env env(dns.servers(), {.try_timeout = 200ms, .tries = 2});
    auto r = env.resolve("deaf.test", 80, {.family = AF_INET});
    EXPECT_EQ(r.error(), dns_errc::timed_out);
    EXPECT_TRUE(r.error() == std::errc::timed_out);
    EXPECT_EQ(dns.queries("deaf.test", "A"), 2);  // one per try, driven by the loop's timer
}

TEST(resolver, a_truncated_answer_is_asked_again_over_tcp) {
    scripted_dns dns(zone);
    resolver_env env(dns.servers());
    auto r = env.resolve("big.test", 80);
    ASSERT_TRUE(r) << r.error().message();
    auto got = strings(r);
    std::sort(got.begin(), got.end());
    EXPECT_EQ(got, (std::vector<std::string>{"127.0.0.7:80", "[::1]:80"}));
    EXPECT_GE(dns.queries("big.test", "A", "udp"), 1);
    EXPECT_EQ(dns.queries("big.test", "A", "tcp"), 1);
    EXPECT_EQ(dns.queries("big.test", "AAAA", "tcp"), 1);
}

TEST(resolver, tcp_only_sends_every_query_over_tcp) {
    scripted_dns dns(zone);
    resolver_env env(dns.servers(), {.tcp = true});
    auto r = env.resolve("both.test", 80);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(dns.queries("both.test", "", "tcp"), 2);
    EXPECT_EQ(dns.queries("both.test", "", "udp"), 0);
}

TEST(resolver, lookups_in_flight_together_share_one_query) {
    scripted_dns dns(zone);
    resolver_env env(dns.servers());
    auto [a, b] = env.l.run_sync(
        when_all(resolve("slow.test", 1, {.family = AF_INET}), resolve("slow.test", 2, {.family = AF_INET})));
    EXPECT_EQ(strings(a), std::vector<std::string>{"127.0.0.6:1"});
    EXPECT_EQ(strings(b), std::vector<std::string>{"127.0.0.6:2"});
    EXPECT_EQ(dns.queries("slow.test", "A"), 1);
    EXPECT_EQ(resolver_statistics().queries, 1u);
}

namespace {

task<addrs_result> resolve_cancelled_after(std::string host, clock::duration after) {
    cancel_source src;
    loop::current()->call_later(after, [&src] { src.request_cancel(); });
    task<addrs_result> t = resolve(std::move(host), 80);
    t.set_cancel_token(src.token());
    auto r = co_await std::move(t);
    co_return r;
}

}  // namespace

TEST(resolver, the_tasks_cancel_token_ends_the_wait) {
    scripted_dns dns(zone);
    resolver_env env(dns.servers());
    auto r = env.l.run_sync(resolve_cancelled_after("deaf.test", 100ms));
    EXPECT_EQ(r.error(), errc::canceled);
    // Another lookup still works on the same channel afterwards.
    auto ok = env.resolve("v4only.test", 80, {.family = AF_INET});
    EXPECT_EQ(strings(ok), std::vector<std::string>{"127.0.0.5:80"});
}

TEST(resolver, the_hosts_file_answers_before_dns) {
    scripted_dns dns(zone);
    squall::testing::temp_dir dir;
    squall::testing::write_file(dir.file("hosts"), "127.0.0.9 fromhosts.test\n::1 fromhosts.test\n");
    resolver_env env(dns.servers(), {.hosts_file = dir.file("hosts")});
    auto r = env.resolve("fromhosts.test", 80, {.family = AF_INET});
    EXPECT_EQ(strings(r), std::vector<std::string>{"127.0.0.9:80"});
    auto other = env.resolve("v4only.test", 80, {.family = AF_INET});  // not in the file: DNS
    EXPECT_EQ(strings(other), std::vector<std::string>{"127.0.0.5:80"});
    EXPECT_EQ(dns.queries("fromhosts.test"), 0);
    EXPECT_EQ(dns.queries("v4only.test"), 1);
}

TEST(resolver, an_unreachable_server_fails_within_the_tries) {
    std::uint16_t closed = squall::testing::free_dns_port();
    resolver_env env("127.0.0.1:" + std::to_string(closed), {.try_timeout = 200ms, .tries = 2});
    auto r = env.resolve("any.test", 80, {.family = AF_INET});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().category(), dns_category()) << r.error().message();
}

TEST(resolver, destroying_the_loop_mid_lookup_frees_everything) {
    scripted_dns dns(zone);
    {
        loop l;
        configure_resolver({.servers = dns.servers()});
        l.spawn([]() -> task<void> {
            auto r = co_await resolve("deaf.test", 80);
            ADD_FAILURE() << "the lookup finished: " << r.error().message();
        }());
        l.run_sync(nap(100ms));
        // The lookup waits on a ring poll of c-ares' socket, not a thread.
        EXPECT_GE(l.ops_in_flight(), 1u);
        EXPECT_EQ(l.spawned_count(), 1u);
    }
    EXPECT_GE(dns.queries("deaf.test"), 1);
}

TEST(resolver, reconfiguring_cancels_lookups_in_flight) {
    scripted_dns dns(zone);
    resolver_env env(dns.servers());
    auto [r, done] = env.l.run_sync(when_all(resolve("deaf.test", 80), []() -> task<void> {
        co_await sleep(100ms);
        configure_resolver({});
    }()));
    EXPECT_EQ(r.error(), errc::canceled);
}
