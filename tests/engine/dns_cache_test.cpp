#include "engine/detail/dns_cache.hpp"

#include <gtest/gtest.h>

#include <chrono>

#include "engine/resolver.hpp"

using namespace squall;
using namespace std::chrono_literals;
using squall::detail::dns_answer;
using squall::detail::dns_cache;

namespace {

dns_answer one(const char* ip) { return dns_answer{{}, {address::ip(ip, 0)}}; }

const clock::time_point t0 = clock::time_point{} + 1000s;

}  // namespace

TEST(dns_cache, an_entry_lives_until_it_expires) {
    dns_cache c(8);
    c.put("0/a.test", one("127.0.0.1"), t0 + 10s, t0);
    ASSERT_NE(c.find("0/a.test", t0 + 9s), nullptr);
    EXPECT_EQ(c.find("0/a.test", t0 + 9s)->addrs.front().to_string(), "127.0.0.1:0");
    EXPECT_EQ(c.find("0/a.test", t0 + 10s), nullptr);
    EXPECT_EQ(c.size(), 0u);  // the expired entry was dropped
}

TEST(dns_cache, zero_ttl_and_zero_capacity_keep_nothing) {
    dns_cache c(8);
    c.put("0/a.test", one("127.0.0.1"), t0, t0);
    EXPECT_EQ(c.size(), 0u);
    dns_cache none(0);
    none.put("0/a.test", one("127.0.0.1"), t0 + 10s, t0);
    EXPECT_EQ(none.size(), 0u);
}

TEST(dns_cache, errors_are_cached_as_answers) {
    dns_cache c(8);
    c.put("0/gone.test", dns_answer{make_error_code(dns_errc::not_found), {}}, t0 + 5s, t0);
    const dns_answer* a = c.find("0/gone.test", t0 + 1s);
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(a->error, dns_errc::not_found);
}

TEST(dns_cache, a_newer_answer_replaces_the_old) {
    dns_cache c(8);
    c.put("0/a.test", one("127.0.0.1"), t0 + 10s, t0);
    c.put("0/a.test", one("127.0.0.2"), t0 + 20s, t0 + 1s);
    EXPECT_EQ(c.size(), 1u);
    ASSERT_NE(c.find("0/a.test", t0 + 15s), nullptr);
    EXPECT_EQ(c.find("0/a.test", t0 + 15s)->addrs.front().to_string(), "127.0.0.2:0");
}

TEST(dns_cache, when_full_expired_entries_go_first_then_the_soonest) {
    dns_cache c(3);
    c.put("a", one("127.0.0.1"), t0 + 5s, t0);
    c.put("b", one("127.0.0.2"), t0 + 50s, t0);
    c.put("c", one("127.0.0.3"), t0 + 30s, t0);
    c.put("d", one("127.0.0.4"), t0 + 40s, t0 + 10s);  // "a" has expired by then
    EXPECT_EQ(c.size(), 3u);
    EXPECT_EQ(c.find("a", t0 + 10s), nullptr);
    c.put("e", one("127.0.0.5"), t0 + 60s, t0 + 10s);  // nothing expired: "c" expires soonest
    EXPECT_EQ(c.size(), 3u);
    EXPECT_EQ(c.find("c", t0 + 10s), nullptr);
    EXPECT_NE(c.find("b", t0 + 10s), nullptr);
    EXPECT_NE(c.find("d", t0 + 10s), nullptr);
    EXPECT_NE(c.find("e", t0 + 10s), nullptr);
}
