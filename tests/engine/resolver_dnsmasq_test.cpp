// The resolver against dnsmasq, a real DNS server users run, on a loopback
// port: answers of both families, the cache (no second query reaches
// dnsmasq), TTL expiry, NXDOMAIN, and queries over TCP. dnsmasq logs every
// query it receives (--log-queries); it handles them in order, so once a
// later "marker" query shows in the log, any earlier one would too.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "tests/engine/dns_peer.hpp"
#include <squall/engine/loop.hpp>
#include <squall/engine/resolver.hpp>

using namespace squall;
using namespace std::chrono_literals;
using squall::testing::dnsmasq_peer;

namespace {

bool eventually(const std::function<bool()>& cond) {
    for (int i = 0; i < 200; ++i) {
        if (cond()) return true;
        std::this_thread::sleep_for(25ms);
    }
    return cond();
}

std::vector<std::string> sorted_strings(const result<std::vector<address>>& r) {
    std::vector<std::string> out;
    if (r)
        for (const address& a : r.value()) out.push_back(a.to_string());
    std::sort(out.begin(), out.end());
    return out;
}

class with_dnsmasq : public ::testing::Test {
protected:
    void SetUp() override {
        if (!dnsmasq_peer::available()) GTEST_SKIP() << "dnsmasq is not installed (make deps installs it)";
        dns = std::make_unique<dnsmasq_peer>(std::vector<std::string>{
            "--host-record=web.squall.test,127.0.0.21,::1,60", "--host-record=brief.squall.test,127.0.0.22,1",
            "--host-record=marker.squall.test,127.0.0.23,60", "--local=/squall.test/"});
    }
    result<std::vector<address>> resolve(const std::string& host, int family = AF_UNSPEC) {
        resolve_options o;
        o.family = family;
        return l.run_sync(squall::resolve(host, 80, o));
    }
    // Resolves marker.squall.test (uncached) and waits for dnsmasq to log it.
    void flush_log() {
        int before = dns->queries("marker.squall.test", "A");
        resolve_options o;
        o.family = AF_INET;
        o.use_cache = false;
        auto r = l.run_sync(squall::resolve("marker.squall.test", 80, o));
        ASSERT_TRUE(r) << r.error().message();
        ASSERT_TRUE(eventually([&] { return dns->queries("marker.squall.test", "A") > before; }));
    }

    std::unique_ptr<dnsmasq_peer> dns;
    loop l;
};

}  // namespace

TEST_F(with_dnsmasq, answers_both_families_and_caches_them) {
    resolver_options o;
    o.servers = dns->servers();
    configure_resolver(o);
    auto first = resolve("web.squall.test");
    EXPECT_EQ(sorted_strings(first), (std::vector<std::string>{"127.0.0.21:80", "[::1]:80"}));
    auto second = resolve("web.squall.test");
    EXPECT_EQ(sorted_strings(second), sorted_strings(first));
    flush_log();
    EXPECT_EQ(dns->queries("web.squall.test", "A"), 1);
    EXPECT_EQ(dns->queries("web.squall.test", "AAAA"), 1);
    EXPECT_EQ(resolver_statistics().cache_hits, 1u);
}

TEST_F(with_dnsmasq, asks_again_once_the_ttl_has_passed) {
    resolver_options o;
    o.servers = dns->servers();
    configure_resolver(o);
    ASSERT_TRUE(resolve("brief.squall.test", AF_INET));
    std::this_thread::sleep_for(1100ms);  // dnsmasq gives the record a TTL of 1 s
    auto again = resolve("brief.squall.test", AF_INET);
    EXPECT_EQ(sorted_strings(again), std::vector<std::string>{"127.0.0.22:80"});
    EXPECT_TRUE(eventually([&] { return dns->queries("brief.squall.test", "A") == 2; }))
        << dns->queries("brief.squall.test", "A") << " queries";
}

TEST_F(with_dnsmasq, a_missing_name_is_nxdomain) {
    resolver_options o;
    o.servers = dns->servers();
    configure_resolver(o);
    auto r = resolve("missing.squall.test");
    EXPECT_EQ(r.error(), dns_errc::not_found);
    auto v6 = resolve("brief.squall.test", AF_INET6);  // exists, but has no AAAA
    EXPECT_EQ(v6.error(), dns_errc::no_answer);
}

TEST_F(with_dnsmasq, queries_over_tcp) {
    resolver_options o;
    o.servers = dns->servers();
    o.tcp = true;
    configure_resolver(o);
    auto r = resolve("web.squall.test");
    EXPECT_EQ(sorted_strings(r), (std::vector<std::string>{"127.0.0.21:80", "[::1]:80"}));
}
