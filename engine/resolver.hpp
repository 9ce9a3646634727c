// resolve: host names to addresses without blocking the loop, on c-ares.
//
// `co_await resolve(host, port)` yields the host's addresses (with `port`
// set), in c-ares' RFC 6724 order. A numeric host ("10.0.0.1", "::1",
// "[::1]") is answered without a query; "localhost" and names under
// ".localhost" are the loopback addresses (RFC 6761) without a query, as
// names under ".invalid" are not_found without one; other
// names are looked up in /etc/hosts first, then in DNS (c-ares lookups
// "fb", servers from /etc/resolv.conf). The c-ares channel is one per loop,
// made on first use and destroyed with the loop; its sockets are watched
// with ring poll operations and its timeouts are loop timers, so a lookup
// costs no thread. Lookups of the same name in flight at once share one
// query.
//
// Cache: answers are kept for their DNS TTL (the smallest of the answer's
// records, capped by resolver_options::max_ttl); NXDOMAIN and "no address"
// for negative_ttl. Failures to reach a server are not cached.
//
// Errors: dns_category() codes (dns_errc below): not_found (NXDOMAIN),
// no_answer (the name has no address of the family asked), timed_out (no
// server answered within c-ares' tries), server_failure, refused, ...;
// engine errc::timed_out when resolve_options::timeout passed first,
// errc::canceled when the task's cancel token fired. dns_errc::timed_out
// and errc::timed_out both compare equal to std::errc::timed_out. A lookup
// given up (deadline, cancel) leaves its query to finish inside c-ares; its
// answer still fills the cache.
//
// Ownership: arguments are taken by value. Thread: the loop thread; each
// loop has its own channel and cache.
// Tests: tests/engine/resolver_test.cpp (against tests/engine/dns_server.py).
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <system_error>
#include <vector>

#include <squall/engine/result.hpp>
#include <squall/engine/socket.hpp>
#include <squall/engine/task.hpp>

namespace squall {

enum class dns_errc {
    not_found = 1,   // NXDOMAIN: the name does not exist
    no_answer,       // the name exists but has no address of the family asked
    timed_out,       // no server answered within the tries
    server_failure,  // the server answered SERVFAIL (with several, c-ares tries the next)
    refused,         // the server answered REFUSED (likewise)
    bad_response,    // a malformed answer, or FORMERR
    bad_name,        // not a host name (empty, too long, bad characters)
    unreachable,     // no server could be reached, or every one refused or failed
    failed,          // anything else c-ares reports (out of memory, bad configuration)
};

const std::error_category& dns_category() noexcept;

inline std::error_code make_error_code(dns_errc e) noexcept { return {static_cast<int>(e), dns_category()}; }

// Per lookup.
struct resolve_options {
    int family = AF_UNSPEC;  // AF_INET, AF_INET6, or both
    // The whole lookup, cache miss included; errc::timed_out after it.
    std::chrono::nanoseconds timeout = std::chrono::seconds(10);
    bool use_cache = true;  // false: always ask (the answer still fills the cache)
};

// Per loop: how its channel is made and its cache kept.
struct resolver_options {
    // Test seam: "127.0.0.1:5353" or "[::1]:53,127.0.0.1" (c-ares'
    // ares_set_servers_ports_csv); empty: the servers of /etc/resolv.conf.
    std::string servers{};
    // Test seam: a hosts file read instead of /etc/hosts (c-ares reads it
    // through the CARES_HOSTS environment variable, set for the whole
    // process: loops configured with different files read the one set
    // last); empty: /etc/hosts.
    std::string hosts_file{};
    std::chrono::milliseconds try_timeout{2000};  // per query and server, before c-ares retries
    int tries = 2;
    bool tcp = false;  // every query over TCP (c-ares' ARES_FLAG_USEVC)
    std::chrono::seconds max_ttl{300};
    std::chrono::seconds negative_ttl{5};
    std::size_t max_cache_entries = 1024;
};

// Replaces the current loop's resolver settings: the channel is remade at
// the next lookup and the cache emptied; lookups in flight end with
// errc::canceled. The next lookup throws std::invalid_argument for a
// servers string c-ares refuses (configuration, not traffic).
void configure_resolver(resolver_options opts);
// Empties the current loop's cache.
void flush_resolver_cache();

// What the current loop's resolver has done, for tests and metrics.
struct resolver_stats {
    std::uint64_t lookups = 0;     // resolve() calls that needed a name lookup
    std::uint64_t cache_hits = 0;  // of those, answered from the cache
    std::uint64_t queries = 0;     // ares_getaddrinfo calls (shared lookups count once)
};
resolver_stats resolver_statistics();

task<result<std::vector<address>>> resolve(std::string host, std::uint16_t port, resolve_options opts = {});

}  // namespace squall

template <>
struct std::is_error_code_enum<squall::dns_errc> : std::true_type {};
