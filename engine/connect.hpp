// connect_to(host, port): a connected TCP socket to a named host, with
// Happy Eyeballs (RFC 8305).
//
// The host is resolved (engine/resolver.hpp: numeric hosts and
// "localhost" without a query); its addresses are interleaved by family,
// IPv6 first, and tried in turn: a next attempt starts when the one before
// fails, or `attempt_delay` (250 ms) after it started while it is still
// pending. The first attempt to connect wins; the others are cancelled
// (IORING_OP_ASYNC_CANCEL) and their sockets closed before connect_to
// returns.
//
// Errors: the resolver's (dns_category()) when the name does not resolve;
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

#include "engine/result.hpp"
#include "engine/socket.hpp"
#include "engine/task.hpp"
#include "engine/time.hpp"

namespace squall {

struct connect_options {
    std::chrono::nanoseconds attempt_delay = std::chrono::milliseconds(250);
    int family = AF_UNSPEC;  // AF_INET or AF_INET6 to resolve (and try) one family only
};

task<result<unique_fd>> connect_to(std::string host, std::uint16_t port,
                                   std::chrono::nanoseconds timeout = std::chrono::seconds(30),
                                   connect_options opts = {});

// The attempts alone, over addresses already resolved (in the order given:
// interleave_families() makes RFC 8305's order). Fails with
// std::errc::invalid_argument for an empty list, errc::timed_out at
// `deadline`.
task<result<unique_fd>> connect_any(std::vector<address> addrs, clock::time_point deadline,
                                    connect_options opts = {});

// IPv6 and IPv4 alternated, starting with IPv6, each family keeping its order.
std::vector<address> interleave_families(std::vector<address> addrs);

}  // namespace squall
