// Loopback stress of stream + listener through an echo server: many
// concurrent connections of random sizes, resets at every phase, half-close,
// one-byte writes, and a 10,000-connection storm that drains the buffer
// ring. Every echoed byte is compared; every test checks the server freed
// what the connections held. Deadlines here only guard against hangs.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/sockios.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/ioctl.h>

#include <cmath>
#include <cstdio>
#include <numeric>

#include "echo_fixture.hpp"
#include "tsan_scale.hpp"

using namespace squall;
using namespace squall::stress;

namespace {

constexpr std::size_t mib = 1024 * 1024;

// Log-uniform over [1 B, 1 MiB] so that tiny and huge payloads both occur;
// the first two are exactly 1 byte and exactly 1 MiB.
std::vector<std::size_t> log_uniform_sizes(std::size_t n, std::uint32_t seed) {
    std::mt19937 g(seed);
    std::uniform_real_distribution<double> exponent(0.0, std::log(static_cast<double>(mib)));
    std::vector<std::size_t> sizes(n);
    for (auto& s : sizes) {
        auto x = static_cast<std::size_t>(std::llround(std::exp(exponent(g))));
        s = std::clamp<std::size_t>(x, 1, mib);
    }
    sizes.at(0) = 1;
    sizes.at(1) = mib;
    return sizes;
}

task<std::vector<std::string>> run_echo_clients(address addr, std::vector<std::size_t> sizes, stream_options opts) {
    std::vector<task<std::string>> clients;
    for (std::size_t i = 0; i < sizes.size(); ++i)
        clients.push_back(echo_client(addr, sizes[i], static_cast<std::uint32_t>(1000 + i), opts));
    co_return co_await when_all(std::move(clients));
}

// `failures` lists what went wrong per client ("" for none); reports the
// first few and returns how many failed.
std::size_t count_failures(const std::vector<std::string>& failures) {
    std::size_t failed = 0;
    for (std::size_t i = 0; i < failures.size(); ++i) {
        if (failures[i].empty()) continue;
        if (++failed <= 5) ADD_FAILURE() << "client " << i << ": " << failures[i];
    }
    return failed;
}

// The server side after every client is done: each connection was accepted,
// echoed every byte, saw the client's FIN and ended; nothing is left.
void expect_clean_server(echo_server& srv, std::size_t n, std::uint64_t total) {
    auto s = srv.wait_until([n](const server_snapshot& s) {
        return s.stats.finished == n && s.spawned == 1 && s.buffers_in_use == 0 && s.ops_in_flight == 1;
    });
    EXPECT_EQ(s.stats.accepted, n);
    EXPECT_EQ(s.stats.finished, n);
    EXPECT_EQ(s.stats.eofs, n);
    EXPECT_EQ(s.stats.errors, 0u) << s.stats.last_error.message();
    EXPECT_EQ(s.stats.bytes_in, total);
    EXPECT_EQ(s.stats.bytes_out, total);
    EXPECT_EQ(s.spawned, 1u);  // only the accept loop
    EXPECT_EQ(s.buffers_in_use, 0u);
    EXPECT_EQ(s.ops_in_flight, 1u);  // only the armed accept
}

void concurrent_echo(std::size_t n, server_config cfg, stream_options client_opts, loop_options client_loop = {}) {
    echo_server srv(cfg);
    auto sizes = log_uniform_sizes(n, 20240601);
    std::uint64_t total = std::accumulate(sizes.begin(), sizes.end(), std::uint64_t{0});
    loop l(client_loop);
    auto failures = l.run_sync(with_timeout(120s, run_echo_clients(srv.addr(), sizes, client_opts)));
    EXPECT_EQ(count_failures(*failures), 0u);
    expect_clean_server(srv, n, total);
    EXPECT_EQ(l.run_sync(settle_ops(&l)), 0u);  // the clients' side is clean too
    EXPECT_EQ(l.buffers().in_use(), 0u);
}

}  // namespace

TEST(echo_stress, thousand_concurrent_connections_of_random_sizes) { concurrent_echo(1000, {}, {}); }

TEST(echo_stress, concurrent_connections_without_buffer_ring) {
    server_config cfg;
    cfg.stream.buffer_ring = false;
    concurrent_echo(200, cfg, {.buffer_ring = false});
}

TEST(echo_stress, concurrent_connections_with_one_shot_receives) {
    server_config cfg;
    cfg.stream.multishot_recv = false;
    concurrent_echo(200, cfg, {.multishot_recv = false});
}

TEST(echo_stress, concurrent_connections_echoed_with_zero_copy_sends) {
    // Every ring chunk (4 KiB) goes back with SEND_ZC, its lease held
    // until the kernel's notification.
    server_config cfg;
    cfg.stream.zc_threshold = 1024;
    cfg.stream.zc_on_loopback = true;
    concurrent_echo(200, cfg, {});
}

namespace {

task<std::string> write_bytewise(stream* s, std::span<const std::byte> data) {
    for (std::size_t i = 0; i < data.size(); ++i) {
        result<void> w = co_await s->write(data.subspan(i, 1));
        if (!w) co_return "write of byte " + std::to_string(i) + ": " + w.error().message();
    }
    result<void> sh = co_await s->shutdown_write();
    if (!sh) co_return "shutdown_write: " + sh.error().message();
    co_return "";
}

task<std::string> one_byte_writes_client(address addr, std::size_t n) {
    auto payload = make_payload(n, 99);
    auto fd = co_await connect_to(addr);
    if (!fd) co_return "connect: " + fd.error().message();
    int nodelay = 0;
    socklen_t len = sizeof nodelay;
    ::getsockopt(fd->get(), IPPROTO_TCP, TCP_NODELAY, &nodelay, &len);
    if (!nodelay) co_return "TCP_NODELAY is not set";
    stream s(std::move(*fd));
    auto [w, r] = co_await when_all(write_bytewise(&s, payload), read_and_compare(&s, payload));
    co_return w.empty() ? r : w;
}

}  // namespace

TEST(echo_stress, twenty_thousand_one_byte_writes) {
    constexpr std::size_t n = 20'000;
    echo_server srv;
    loop l;
    auto r = l.run_sync(with_timeout(120s, one_byte_writes_client(srv.addr(), n)));
    EXPECT_EQ(*r, "");
    expect_clean_server(srv, 1, n);
}

TEST(echo_stress, half_close_gets_the_whole_echo_then_eof) {
    // The client sends, shuts its side down, and must still read the whole
    // echo and then errc::eof (not a reset): the server echoes everything,
    // sees errc::eof and closes.
    const std::vector<std::size_t> sizes{0, 1, 256 * 1024, 3 * mib};
    echo_server srv;
    loop l;
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < sizes.size(); ++i) {
        auto r = l.run_sync(with_timeout(60s, echo_client(srv.addr(), sizes[i], static_cast<std::uint32_t>(i), {})));
        EXPECT_EQ(*r, "") << sizes[i] << " bytes";
        total += sizes[i];
    }
    expect_clean_server(srv, sizes.size(), total);
}

// --- resets ----------------------------------------------------------------

namespace {

struct reset_config {
    const char* name;
    server_config cfg;
};

void PrintTo(const reset_config& c, std::ostream* os) { *os << c.name; }

server_config with_stream(stream_options o) {
    server_config c;
    c.stream = o;
    return c;
}

class echo_stress_reset : public ::testing::TestWithParam<reset_config> {
protected:
    void SetUp() override {
        srv_.emplace(GetParam().cfg);
        // Idle: the accept loop (the one spawned task) waits on the armed accept.
        base_ = srv_->wait_until([](const server_snapshot& s) { return s.ops_in_flight == 1 && s.spawned == 1; });
        ASSERT_EQ(base_.ops_in_flight, 1u);
    }

    // After a reset: the connection's task ended and everything it held
    // (operations, buffers, its task) is back to the idle server's state.
    server_snapshot expect_freed(const server_snapshot& before, std::size_t connections = 1) {
        auto s = srv_->wait_until([&](const server_snapshot& s) {
            return s.stats.finished == s.stats.accepted && s.ops_in_flight == base_.ops_in_flight &&
                   s.spawned == base_.spawned && s.buffers_in_use == 0;
        });
        EXPECT_EQ(s.stats.accepted, before.stats.accepted + connections);
        EXPECT_EQ(s.stats.finished, s.stats.accepted);
        EXPECT_EQ(s.ops_in_flight, base_.ops_in_flight);
        EXPECT_EQ(s.spawned, base_.spawned);
        EXPECT_EQ(s.buffers_in_use, 0u);
        expect_serves_fresh_client();
        return s;
    }

    void expect_serves_fresh_client() {
        auto before = srv_->snapshot();
        unique_fd c = raw_connect(srv_->addr());
        auto msg = make_payload(1000, 7);
        send_all_raw(c.get(), msg);
        EXPECT_EQ(recv_raw(c.get(), msg.size()), msg);
        c.reset();
        auto s = srv_->wait_until([&](const server_snapshot& s) { return s.stats.eofs == before.stats.eofs + 1; });
        EXPECT_EQ(s.stats.eofs, before.stats.eofs + 1) << "the fresh client's connection did not end cleanly";
    }

    server_snapshot wait_for(const std::function<bool(const server_snapshot&)>& pred) { return srv_->wait_until(pred); }

    std::optional<echo_server> srv_;
    server_snapshot base_;
};

// Sends `data` on a non-blocking socket, reading (and dropping) the echo
// meanwhile so neither side blocks.
void send_while_draining(int fd, std::span<const std::byte> data) {
    std::vector<std::byte> sink(64 * 1024);
    while (!data.empty()) {
        pollfd p{fd, POLLIN | POLLOUT, 0};
        int rc = ::poll(&p, 1, 30'000);
        if (rc < 0 && errno == EINTR) continue;
        if (rc <= 0) throw std::runtime_error("send_while_draining: no progress for 30 s");
        if (p.revents & POLLIN) (void)::recv(fd, sink.data(), sink.size(), 0);
        if (!(p.revents & POLLOUT)) continue;
        ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN) throw std::system_error(errno, std::system_category(), "send");
        if (n > 0) data = data.subspan(static_cast<std::size_t>(n));
    }
}

// Sends without reading until the kernel takes no more and the server is
// stuck writing the echo to us (which it must be once nothing drains).
// Returns whether that state was reached (guard: 60 s).
bool send_until_server_stuck(int fd, echo_server& srv) {
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    auto chunk = make_payload(256 * 1024, 13);
    auto give_up = clock::now() + 60s;
    while (clock::now() < give_up) {
        ssize_t n = ::send(fd, chunk.data(), chunk.size(), MSG_NOSIGNAL);
        if (n > 0) continue;
        if (errno != EAGAIN && errno != EINTR) throw std::system_error(errno, std::system_category(), "send");
        pollfd p{fd, POLLOUT, 0};
        if (::poll(&p, 1, 100) == 0 && srv.snapshot().stats.writing == 1) return true;
    }
    return false;
}

}  // namespace

TEST_P(echo_stress_reset, before_sending_anything) {
    auto before = srv_->snapshot();
    unique_fd c = raw_connect(srv_->addr());
    auto s = wait_for([&](const server_snapshot& s) { return s.stats.accepted == before.stats.accepted + 1; });
    ASSERT_EQ(s.stats.accepted, before.stats.accepted + 1);
    reset_close(std::move(c));
    auto after = expect_freed(before);
    EXPECT_EQ(after.stats.errors, before.stats.errors + 1) << "the reset was not seen as an error";
}

TEST_P(echo_stress_reset, in_the_middle_of_a_request) {
    auto before = srv_->snapshot();
    unique_fd c = raw_connect(srv_->addr());
    auto part = make_payload(64 * 1024, 11);  // the first part of a longer request
    send_all_raw(c.get(), part);
    auto s =
        wait_for([&](const server_snapshot& s) { return s.stats.bytes_in >= before.stats.bytes_in + part.size(); });
    ASSERT_EQ(s.stats.bytes_in, before.stats.bytes_in + part.size());
    reset_close(std::move(c));
    auto after = expect_freed(before);
    EXPECT_EQ(after.stats.errors, before.stats.errors + 1);
}

TEST_P(echo_stress_reset, while_the_server_writes_a_large_response) {
    auto before = srv_->snapshot();
    unique_fd c = raw_connect(srv_->addr(), 4096);  // a small window fills fast
    ASSERT_TRUE(send_until_server_stuck(c.get(), *srv_)) << "the server never blocked writing to the client";
    auto s = srv_->snapshot();
    EXPECT_GT(s.stats.bytes_in, before.stats.bytes_in);
    reset_close(std::move(c));
    auto after = expect_freed(before);
    EXPECT_EQ(after.stats.errors, before.stats.errors + 1);
    EXPECT_EQ(after.stats.writing, 0u);
}

TEST_P(echo_stress_reset, after_a_half_close) {
    auto before = srv_->snapshot();
    unique_fd c = raw_connect(srv_->addr());
    ::fcntl(c.get(), F_SETFL, ::fcntl(c.get(), F_GETFL) | O_NONBLOCK);
    auto req = make_payload(512 * 1024, 17);
    send_while_draining(c.get(), req);
    ASSERT_EQ(::shutdown(c.get(), SHUT_WR), 0);
    // The server has read the whole request, so the FIN has reached it; it
    // may still be writing the echo the client no longer reads.
    auto s = wait_for([&](const server_snapshot& s) { return s.stats.bytes_in >= before.stats.bytes_in + req.size(); });
    ASSERT_EQ(s.stats.bytes_in, before.stats.bytes_in + req.size());
    reset_close(std::move(c));
    auto after = expect_freed(before);
    EXPECT_EQ(after.stats.errors + after.stats.eofs, before.stats.errors + before.stats.eofs + 1);
}

TEST_P(echo_stress_reset, hundreds_of_connections_at_once) {
    // Every client sends what its socket takes without blocking and never
    // reads; then all reset together, whatever state each connection is in
    // on the server (reading, writing, paused).
    constexpr std::size_t n = 300;
    auto before = srv_->snapshot();
    auto data = make_payload(256 * 1024, 23);
    std::vector<unique_fd> clients;
    for (std::size_t i = 0; i < n; ++i) {
        clients.push_back(raw_connect(srv_->addr(), 4096));
        ::fcntl(clients.back().get(), F_SETFL, O_NONBLOCK);
        ASSERT_GT(::send(clients.back().get(), data.data(), data.size(), MSG_NOSIGNAL), 0);
    }
    auto s = wait_for([&](const server_snapshot& s) { return s.stats.accepted == before.stats.accepted + n; });
    ASSERT_EQ(s.stats.accepted, before.stats.accepted + n);
    for (auto& c : clients) reset_close(std::move(c));
    auto after = expect_freed(before, n);
    EXPECT_EQ(after.stats.errors, before.stats.errors + n);
}

INSTANTIATE_TEST_SUITE_P(
    configs, echo_stress_reset,
    ::testing::Values(reset_config{"ring_multishot", {}},
                      reset_config{"zero_copy", with_stream({.zc_threshold = 1024, .zc_on_loopback = true})},
                      reset_config{"no_ring", with_stream({.buffer_ring = false})},
                      reset_config{"one_shot", with_stream({.multishot_recv = false})}),
    [](const ::testing::TestParamInfo<reset_config>& info) { return std::string(info.param.name); });

// --- the buffer ring runs dry ---------------------------------------------

namespace {

task<std::string> exchange(stream* s, std::size_t id, std::size_t bytes) {
    auto data = make_payload(bytes, static_cast<std::uint32_t>(id));
    std::string err = co_await echo_through(s, data);
    if (!err.empty()) err = "connection " + std::to_string(id) + ": " + err;
    co_return err;
}

// Opens `n` connections (in batches, so the listen backlog never
// overflows), then has all of them send `bytes` at once and check the echo.
task<std::string> storm(address addr, std::size_t n, std::size_t bytes) {
    std::vector<std::unique_ptr<stream>> conns;
    constexpr std::size_t batch = 500;
    for (std::size_t start = 0; start < n; start += batch) {
        std::vector<task<result<unique_fd>>> connects;
        for (std::size_t i = start; i < std::min(n, start + batch); ++i) connects.push_back(connect_to(addr));
        auto fds = co_await when_all(std::move(connects));
        for (auto& fd : fds) {
            if (!fd) co_return "connect #" + std::to_string(conns.size()) + ": " + fd.error().message();
            conns.push_back(std::make_unique<stream>(std::move(*fd)));
        }
    }
    std::vector<task<std::string>> all;
    for (std::size_t i = 0; i < n; ++i) all.push_back(exchange(conns[i].get(), i, bytes));
    auto failures = co_await when_all(std::move(all));
    auto failed = std::count_if(failures.begin(), failures.end(), [](const std::string& f) { return !f.empty(); });
    if (failed == 0) co_return "ok";
    auto first = std::find_if(failures.begin(), failures.end(), [](const std::string& f) { return !f.empty(); });
    co_return std::to_string(failed) + " connections failed, first: " + *first;
}

// The server side of the storm: accepts all n connections but starts
// echoing only once every one of them has `bytes` waiting in its receive
// queue. The first receives then find far more data than the ring holds, so
// -ENOBUFS is certain, not a matter of timing.
task<void> gated_echo(listener* l, std::size_t n, std::size_t bytes, stream_options opts, echo_stats* st) {
    std::vector<unique_fd> held;
    while (held.size() < n) {
        auto c = co_await l->accept();
        if (!c) co_return;
        ++st->accepted;
        held.push_back(std::move(*c));
    }
    auto give_up = clock::now() + 60s;
    for (std::size_t ready = 0; ready < n && clock::now() < give_up;) {
        int waiting = 0;
        if (::ioctl(held[ready].get(), SIOCINQ, &waiting) == 0 && static_cast<std::size_t>(waiting) >= bytes) ++ready;
        else co_await sleep(1ms);
    }
    st->active_peak = n;
    for (auto& fd : held) loop::current()->spawn(echo_connection(std::move(fd), opts, st));
}

std::string storm_child(address addr, std::size_t n, std::size_t bytes) {
    loop l;
    return *l.run_sync(with_timeout(120s, storm(addr, n, bytes)));
}

// The clients run in a forked child: 10,000 client descriptors would not
// fit beside the server's in one process. The child makes its own loop
// after the fork; the server's loop is made after it too.
void run_storm(std::size_t clients, unsigned ring_buffers, stream_options server_opts, loop_options small_ring = {}) {
    constexpr std::size_t bytes = 8 * 1024;
    unique_fd lfd = listen_on(address::ip("127.0.0.1", 0));
    address addr = local_address(lfd.get());
    int inherited = lfd.get();
    child_process child = fork_child([addr, inherited, clients] {
        ::close(inherited);
        return storm_child(addr, clients, bytes);
    });
    small_ring.recv_buffers = ring_buffers;
    small_ring.recv_inc_buffers = ring_buffers / 8;  // 64 KiB each
    small_ring.recv_buffer_size = 4096;
    loop l(small_ring);
    listener lst(std::move(lfd));
    echo_stats st;
    l.spawn(gated_echo(&lst, clients, bytes, server_opts, &st));
    std::string verdict = l.run_sync(await_child(child.report.get(), &st, 150s));
    EXPECT_EQ(verdict, "ok");
    EXPECT_EQ(reap_child(child.pid, verdict != "ok"), 0);
    EXPECT_EQ(st.accepted, clients);
    EXPECT_EQ(st.eofs, clients);
    EXPECT_EQ(st.errors, 0u) << st.last_error.message();
    EXPECT_EQ(st.bytes_in, clients * bytes);
    EXPECT_EQ(st.bytes_out, clients * bytes);
    EXPECT_GT(st.starvations, 0u) << "the ring never ran dry: the -ENOBUFS path did not run";
    // About two per connection when the ring hands its free buffers to as
    // many waiting streams; ~100 when every starved stream is woken at once
    // and most of them run dry again (a thundering herd).
    EXPECT_LE(st.starvations, 4 * clients) << "starved streams are woken all at once";
    EXPECT_EQ(l.buffers().in_use(), 0u);
    lst.close();
    EXPECT_EQ(l.run_sync(settle_ops(&l)), 0u);
    std::printf("[ info     ] %zu connections, %llu receive starvations, %llu receive pauses\n", clients,
                static_cast<unsigned long long>(st.starvations), static_cast<unsigned long long>(st.recv_pauses));
}

}  // namespace

// 2,000 under ThreadSanitizer: the storm runs on one thread per process,
// so more connections would only repeat its checks, several times slower.
TEST(echo_stress, ten_thousand_connections_drain_the_buffer_ring) {
    run_storm(squall::testing::under_tsan ? 2'000 : 10'000, 256, {});
}

TEST(echo_stress, storm_with_one_shot_receives_drains_the_buffer_ring) {
    run_storm(2'000, 64, {.multishot_recv = false});
}

TEST(echo_stress, storm_with_zero_copy_echo_drains_the_buffer_ring) {
    // Leases stay held until each SEND_ZC notification.
    run_storm(2'000, 64, {.zc_threshold = 1024, .zc_on_loopback = true});
}

// --- the io_uring switches of Linux 6.2+ (each skips without its feature);
// the tests above run with the default, incremental buffer consumption ---

namespace {

struct loop_switch {
    const char* name;
    bool incremental;
    unsigned min_wait_usec, napi_usec;
    loop_options opts() const {
        loop_options o;
        o.recv_incremental = incremental;
        o.min_wait_usec = min_wait_usec;
        o.napi_busy_poll_usec = napi_usec;
        return o;
    }
    bool in_force() const {  // whether the kernel took it
        loop l(opts());
        if (min_wait_usec) return l.features().min_wait;
        if (napi_usec) return l.features().napi;
        return !incremental || l.buffers().incremental();
    }
};
class echo_stress_switch : public ::testing::TestWithParam<loop_switch> {};

}  // namespace

TEST_P(echo_stress_switch, concurrent_connections_of_random_sizes) {
    if (!GetParam().in_force()) GTEST_SKIP() << GetParam().name << ": not on this kernel";
    concurrent_echo(300, {.loop = GetParam().opts(), .stream = {}, .listen = {}}, {}, GetParam().opts());
}

TEST_P(echo_stress_switch, storm_drains_the_buffer_ring) {
    if (!GetParam().in_force()) GTEST_SKIP() << GetParam().name << ": not on this kernel";
    run_storm(2'000, 64, {}, GetParam().opts());
}

INSTANTIATE_TEST_SUITE_P(switches, echo_stress_switch,
                         ::testing::Values(loop_switch{"plain_4k_ring", false, 0, 0},
                                           loop_switch{"min_wait", true, 200, 0}, loop_switch{"napi", true, 0, 20}),
                         [](const ::testing::TestParamInfo<loop_switch>& info) {
                             return std::string(info.param.name);
                         });
