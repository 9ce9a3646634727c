// connect_to(host, port): a connected TCP socket to a named host, with
// Happy Eyeballs (RFC 8305).
//
// A name is resolved (engine/resolver.hpp) with its AAAA and A lookups
// sent at once (RFC 8305 §3): IPv6 addresses are tried as soon as the
// AAAA answer is in, without waiting for the A answer; an A answer that
// comes first waits `resolution_delay` (50 ms) for the AAAA one, then
// IPv4 is tried too. Within a family the addresses are tried in turn, and
// IPv4 starts `attempt_delay` (250 ms) after IPv6 began or as soon as
// every IPv6 attempt failed (§5): a next attempt starts when the one before
// fails, or `attempt_delay` after it started while it is still pending.
// A lookup that never answers delays nothing once the other family's
// answer is in. Numeric hosts and "localhost" need no query: their
// addresses are interleaved by family, IPv6 first, and raced the same
// way. The first attempt to connect wins; the others are cancelled
// (IORING_OP_ASYNC_CANCEL) and their sockets closed before connect_to
// returns.
//
// Errors: the resolver's (dns_category()) when the name does not resolve
// (the failure of either lookup before no_answer);
// errc::timed_out when `timeout` (lookup and attempts together) passes
// first; errc::canceled when the task's cancel token fires; else the error
// of the last attempt that failed (ECONNREFUSED, ENETUNREACH, ...).
// Ownership: arguments by value; the socket returned is the caller's.
// Thread: the loop thread. Tests: tests/engine/connect_test.cpp.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <squall/engine/result.hpp>
#include <squall/engine/socket.hpp>
#include <squall/engine/task.hpp>
#include <squall/engine/time.hpp>

namespace squall {

// How long connect_to's parts took: `dns` until the first attempt began
// (or until the lookups ended, when none could), `connect` from then on.
struct connect_timings {
    clock::duration dns{}, connect{};
};

struct connect_options {
    std::chrono::nanoseconds attempt_delay = std::chrono::milliseconds(250);
    // RFC 8305 §3: when the A answer comes first, how long to wait for the
    // AAAA one before trying IPv4.
    std::chrono::nanoseconds resolution_delay = std::chrono::milliseconds(50);
    int family = AF_UNSPEC;              // AF_INET or AF_INET6 to resolve (and try) one family only
    connect_timings* timings = nullptr;  // filled in when not null
};

task<result<unique_fd>> connect_to(std::string host, std::uint16_t port,
                                   std::chrono::nanoseconds timeout = std::chrono::seconds(30),
                                   connect_options opts = {});

// The attempts alone, over addresses already resolved (in the order given:
// interleave_families() makes RFC 8305's order). Fails with
// std::errc::invalid_argument for an empty list, errc::timed_out at
// `deadline`.
task<result<unique_fd>> connect_any(std::vector<address> addrs, clock::time_point deadline, connect_options opts = {});

// IPv6 and IPv4 alternated, starting with IPv6, each family keeping its order.
std::vector<address> interleave_families(std::vector<address> addrs);

}  // namespace squall
