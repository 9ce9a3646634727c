// dns_cache: a loop's resolver answers kept until their TTL ends (private
// to engine/resolver.cpp; 1.18's c-ares caches nothing).
//
// An answer is either addresses (port 0) or the error a lookup ended with
// (NXDOMAIN, no answer: negative caching). Entries expire at the time given
// to put(); find() drops an expired entry it meets. At max_entries, put()
// first drops every expired entry, then the one that expires soonest.
// Times are passed in, so tests need no clock. Thread: the loop's.
// Tests: tests/engine/dns_cache_test.cpp.
#pragma once

#include <cstddef>
#include <string>
#include <system_error>
#include <unordered_map>
#include <vector>

#include "engine/loop.hpp"
#include "engine/socket.hpp"

namespace squall::detail {

struct dns_answer {
    std::error_code error;
    std::vector<address> addrs;
};

class dns_cache {
public:
    explicit dns_cache(std::size_t max_entries) noexcept : max_(max_entries) {}

    // The live entry for `key`, or null. Valid until the next put/clear.
    const dns_answer* find(const std::string& key, clock::time_point now);
    // Ignored when `expires` is not after `now` or max_entries is 0.
    void put(const std::string& key, dns_answer answer, clock::time_point expires, clock::time_point now);
    void clear() noexcept { map_.clear(); }
    void set_max_entries(std::size_t n) noexcept { max_ = n; }
    std::size_t size() const noexcept { return map_.size(); }

private:
    struct entry {
        dns_answer answer;
        clock::time_point expires;
    };
    void make_room(clock::time_point now);

    std::unordered_map<std::string, entry> map_;
    std::size_t max_;
};

}  // namespace squall::detail
