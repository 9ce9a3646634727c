// The load generator's shared state: what a run asks for (config), what
// one load thread counts (worker), and the per-connection tasks that
// drive HTTP/1.1 (http_load.cpp) and WebSocket echo (ws_load.cpp) load.
//
// Each load thread owns one squall loop (one io_uring) and the workers'
// connections; a worker is touched only by its thread until the thread
// ends, when squall_load.cpp merges the workers. Latency is measured from
// the time a request was sent, or with --rate from the time it was meant
// to be sent (so a stalled server cannot hide the requests it delayed:
// coordinated omission, corrected as wrk2 does).
// Tests: tests/bench/squall_load_test.py (against right and wrong servers).
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "load/histogram.hpp"
#include <squall/engine/loop.hpp>
#include <squall/engine/socket.hpp>
#include <squall/engine/stream.hpp>
#include <squall/engine/sync.hpp>
#include <squall/engine/task.hpp>
#include <squall/engine/tls_stream.hpp>

namespace squall::load {

struct config {
    // Where to connect: a host name or numeric address, resolved by each
    // load thread's resolver (engine/resolver.hpp), with Happy Eyeballs.
    std::string host;
    std::uint16_t port = 80;
    std::shared_ptr<tls_context> tls;  // https:// and wss://: the client context
    std::string url;
    std::string request;       // one request, as sent
    bool head_method = false;  // responses carry no body
    unsigned connections = 10;
    unsigned threads = 1;
    unsigned pipeline = 1;
    double duration = 10;        // seconds; 0 with --requests: until they are done
    std::uint64_t requests = 0;  // 0: no count limit
    double rate = 0;             // requests/s over all connections; 0: as fast as answered
    double timeout = 5;          // seconds a response may take
    int expect_status = 200;
    std::int64_t expect_length = -1;  // body bytes; -1: the first response's length
    bool ws = false;
    std::size_t ws_size = 64;
    bool ws_deflate = false;
    std::string host_header;  // for the WebSocket handshake
    std::string path;
};

enum class error_kind { connect, read, write, timeout, status, length, parse, closed, count_ };
inline constexpr std::array<const char*, 8> error_names = {"connect", "read",   "write", "timeout",
                                                           "status",  "length", "parse", "closed"};

struct worker {
    const config* cfg = nullptr;
    loop* l = nullptr;
    unsigned first_conn = 0;  // index of this worker's first connection over all threads
    unsigned conns = 0;
    double rate = 0;                                                   // this worker's share of --rate
    std::uint64_t budget = std::numeric_limits<std::uint64_t>::max();  // requests left to send

    // Start when every connection is up; stop sending at stop_at.
    unsigned connected = 0, live = 0;
    event go;
    clock::time_point start{}, stop_at = clock::time_point::max(), end{};
    bool stopping = false;

    std::string batch;  // `pipeline` copies of the request
    std::int64_t ref_length = -1;

    histogram hist;
    std::uint64_t responses = 0, bytes = 0, reconnects = 0;
    std::array<std::uint64_t, static_cast<std::size_t>(error_kind::count_)> errors{};
    std::string first_error;

    void error(error_kind k, const std::string& what);
    // Takes up to n requests from the budget; 0 when the run is over.
    unsigned take(unsigned n) noexcept;
    // Checks a response's status and body length; false (and counted) when wrong.
    bool check(int status, std::uint64_t body_bytes);
    // A connection is up; the first call after all are starts the clock.
    void on_connected();
    void on_connection_done();
};

// A connected stream to the run's server, its TLS handshake done for
// https:// and wss://; null (counted as a connect error) on failure.
task<std::unique_ptr<byte_stream>> open_stream(worker* w);

// One connection's life: connect, wait for the start, then requests until
// the run is over; reconnects after errors and Connection: close.
task<void> http_connection(worker* w, unsigned index);
task<void> ws_connection(worker* w, unsigned index);

}  // namespace squall::load
