// The slow and vanishing clients of shared/BAD_INPUT.md, end to end
// (slowloris, trickled bodies, unread responses, resets at every phase,
// idle keep-alive, EMFILE). Timeouts are set short per test (a few hundred
// ms) so these rows run fast; elapsed times are only checked against
// generous guards, never as measures.
#include <fcntl.h>
#include <sys/resource.h>

#include <filesystem>

#include "bad_input_support.hpp"
#include "tests/support/fd_limit.hpp"
#include <squall/engine/stream.hpp>
#include <squall/engine/time.hpp>

// --- slow and vanishing clients ------------------------------------------------

TEST(http_slow_clients, slowloris_is_closed_at_the_header_deadline_while_others_are_served) {
    app_settings s = base_settings();
    s.header_timeout = 500ms;
    auto srv = start(s);
    std::atomic<bool> done{false};
    std::atomic<int> served{0}, failed{0};
    std::thread normal([&] {
        while (!done) {
            raw_client c(srv->port());
            auto r = c.send(get("/hello")) ? c.read_response() : std::nullopt;
            if (r && r->status_line == "HTTP/1.1 200 OK" && r->body == "hello") ++served;
            else ++failed;
            std::this_thread::sleep_for(10ms);
        }
    });
    const std::string head = "GET / HTTP/1.1\r\nHost: t\r\nX-Slow: ";
    auto t0 = steady::now();
    raw_client slow(srv->port());
    bool closed = false;
    for (std::size_t i = 0; !closed && ms_since(t0) < 10'000; ++i) {
        if (!slow.send(std::string(1, i < head.size() ? head[i] : 'a'))) {
            closed = true;  // reset while sending: closed all the same
            break;
        }
        if (!slow.quiet_for(20ms)) closed = slow.eof_next();
        if (!slow.unexpected().empty()) break;
    }
    auto elapsed = ms_since(t0);
    done = true;
    normal.join();
    EXPECT_TRUE(closed) << "not closed; got: " << printable(slow.unexpected());
    EXPECT_GE(elapsed, 450);
    EXPECT_LT(elapsed, 10'000);
    EXPECT_GT(served.load(), 0);
    EXPECT_EQ(failed.load(), 0);
    expect_served(*srv);
}

TEST(http_slow_clients, trickled_body_is_closed_at_the_body_idle_timeout) {
    app_settings s = base_settings();
    s.body_timeout = 500ms;
    auto srv = start(s);
    raw_client c(srv->port());
    ASSERT_TRUE(c.send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n"));
    // A byte every 100 ms stays within the idle timeout...
    for (int i = 0; i < 5; ++i) {
        ASSERT_TRUE(c.send("x"));
        ASSERT_TRUE(c.quiet_for(100ms)) << "closed while the body was still coming";
    }
    // ...a pause longer than it does not (no answer: the request is not whole).
    auto t0 = steady::now();
    EXPECT_TRUE(c.closed_by_server()) << printable(c.unexpected());
    EXPECT_GE(ms_since(t0), 300);
    EXPECT_LT(ms_since(t0), 10'000);
    expect_served(*srv);
}

TEST(http_slow_clients, unread_response_is_closed_at_the_write_timeout_with_bounded_memory) {
    app_settings s = base_settings();
    s.write_timeout = 300ms;
    auto srv = start(s);
    big_calls = 0;
    raw_client slow(srv->port(), 4096);
    // Twenty pipelined requests for 8 MiB each, and nothing read: a server
    // that ran them all would hold 160 MiB for this one client.
    std::string all;
    for (int i = 0; i < 20; ++i) all += get("/big");
    ASSERT_TRUE(slow.send(all));
    auto t0 = steady::now();
    srv->wait_until([](const server_stats&) { return big_calls.load() > 0; });
    expect_served(*srv);  // meanwhile, others are served
    auto st = srv->wait_until([](const server_stats& x) { return x.connections == 0; });
    EXPECT_EQ(st.connections, 0u) << "the slow reader's connection is still open";
    // At the write timeout, not after a lingering close (2 s) as if the
    // client were still there: a generous guard, not a measure.
    EXPECT_GE(ms_since(t0), 250);
    EXPECT_LT(ms_since(t0), 1800);
    EXPECT_LE(big_calls.load(), 2) << "responses piled up for a client that reads nothing";
    std::size_t got = slow.drain_to_close();
    EXPECT_LT(got, big_size) << "the whole response went out";
    EXPECT_EQ(srv->wait_idle().buffers_in_use, 0u);
    expect_served(*srv);
}

namespace {

std::atomic<bool> stream_failed{false}, stream_release{false};

// Streams until a flush fails, then goes on (as a long poll would) until
// the test releases it.
task<void> stream_then_linger(request_handler& h) {
    for (int i = 0; i < 4096; ++i) {
        h.write(std::string(64 * 1024, 's'));
        result<void> f = co_await h.flush();
        if (!f) break;
    }
    stream_failed = true;
    for (int i = 0; i < 2000 && !stream_release; ++i) co_await sleep(10ms);
}

// Whether the server ends the connection within `guard`, reading (and
// discarding) what the socket still holds.
bool ends_within(int fd, std::chrono::milliseconds guard) {
    auto until = steady::now() + guard;
    char c[65536];
    while (steady::now() < until) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 50) <= 0) continue;
        ssize_t n = ::recv(fd, c, sizeof c, 0);
        if (n == 0 || (n < 0 && errno == ECONNRESET)) return true;
    }
    return false;
}

}  // namespace

// A failed write ends the connection at once: without closing the stream
// there, the socket stayed open until the handler returned.
TEST(http_slow_clients, a_failed_flush_closes_the_socket_while_the_handler_goes_on) {
    app_settings s = base_settings();
    s.write_timeout = 300ms;
    auto app = std::make_unique<application>(std::move(s));
    app->get("/stream", stream_then_linger);
    loopback_server srv(std::move(app));
    stream_failed = stream_release = false;
    raw_client slow(srv.port(), 4096);
    ASSERT_TRUE(slow.send(get("/stream")));
    for (int i = 0; i < 1500 && !stream_failed; ++i) std::this_thread::sleep_for(10ms);
    ASSERT_TRUE(stream_failed) << "the flush to a client that reads nothing never failed";
    EXPECT_TRUE(ends_within(slow.fd(), 10s)) << "the socket stayed open after the failed write";
    EXPECT_FALSE(stream_release);  // (the handler is still running)
    stream_release = true;
    EXPECT_EQ(srv.wait_idle().connections, 0u);
}

using squall::testing::fd_limit;

namespace {

// Sends `bytes`, lets the server read them, then resets the connection.
void reset_after(loopback_server& srv, std::string_view bytes, std::size_t read_first = 0) {
    raw_client c(srv.port());
    ASSERT_TRUE(c.send(bytes));
    srv.wait_until([](const server_stats& s) { return s.connections > 0; });
    std::this_thread::sleep_for(50ms);
    char buf[4096];
    std::size_t got = 0;
    while (got < read_first) {
        ssize_t n = ::recv(c.fd(), buf, std::min(sizeof buf, read_first - got), 0);
        if (n <= 0) break;
        got += static_cast<std::size_t>(n);
    }
    EXPECT_EQ(got, read_first);
    c.reset();
    auto st = srv.wait_idle();
    EXPECT_EQ(st.connections, 0u) << "the reset connection was not freed";
    EXPECT_EQ(st.buffers_in_use, 0u) << "receive buffers still leased";
    expect_served(srv);
}

}  // namespace

TEST(http_slow_clients, reset_during_headers_frees_the_connection) {
    auto srv = start();
    reset_after(*srv, "GET / HTTP/1.1\r\nHost: t\r\nX-Partial: ab");
    reset_after(*srv, "GE");
}

TEST(http_slow_clients, reset_during_body_frees_the_connection) {
    auto srv = start();
    reset_after(*srv, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n" + std::string(20000, 'b'));
    reset_after(*srv, "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n0123456789abcdef\r\n");
}

TEST(http_slow_clients, reset_during_response_frees_the_connection) {
    auto srv = start();
    reset_after(*srv, get("/big"), 1000);
    reset_after(*srv, get("/big") + get("/big") + get("/hello"), 100000);
}

TEST(http_slow_clients, idle_keep_alive_is_closed_after_the_keepalive_timeout) {
    app_settings s = base_settings();
    s.keepalive_timeout = 500ms;
    auto srv = start(s);
    raw_client c(srv->port());
    for (int i = 0; i < 3; ++i) {  // pauses shorter than the timeout keep it open
        ASSERT_TRUE(c.send(get("/hello")));
        auto r = c.read_response();
        ASSERT_TRUE(r);
        EXPECT_EQ(r->body, "hello");
        EXPECT_TRUE(c.quiet_for(100ms));
    }
    auto t0 = steady::now();
    EXPECT_TRUE(c.eof_next()) << "bytes sent on an idle connection: " << printable(c.unexpected());
    EXPECT_GE(ms_since(t0), 350);
    EXPECT_LT(ms_since(t0), 10'000);
    EXPECT_EQ(srv->wait_idle().connections, 0u);
}

// --- EMFILE --------------------------------------------------------------------

namespace {

void expect_hello(raw_client& c) {
    ASSERT_TRUE(c.send(get("/hello")));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status_line, "HTTP/1.1 200 OK");
    EXPECT_EQ(r->body, "hello");
}

}  // namespace

// UBSan checks a polymorphic object's type through a pipe the first time
// it meets that type; with no descriptor left the check itself fails and
// reports a bad vptr that is not there. A stream met once before the
// limit keeps the sanitizer's check out of the test.
void meet_stream_types_once() {
    int sv[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    ::close(sv[1]);
    loop l;
    auto s = std::make_unique<stream>(unique_fd(sv[0]), stream_options{});
    byte_stream& b = *s;
    EXPECT_FALSE(b.closed());
}

TEST(http_slow_clients, out_of_descriptors_pauses_accepting_and_resumes) {
    meet_stream_types_once();
    // The kernel reads the fd limit when an accept is submitted, so the
    // limit drops before the server arms its accept, with one descriptor
    // left for the first client; client sockets are made before that. The
    // limit is restored as soon as accepting has paused (the pause lasts
    // fd_backoff): the rest of the process, the sanitizers included, then
    // has descriptors again while the server still waits.
    auto srv = start(base_settings(), {.fd_backoff = 2s}, false);
    raw_client existing(raw_client::deferred{});
    std::vector<std::unique_ptr<raw_client>> later;
    for (int i = 0; i < 3; ++i) later.push_back(std::make_unique<raw_client>(raw_client::deferred{}));
    {
        fd_limit limit(1);
        srv->start_serving();
        existing.connect_now(srv->port());
        srv->wait_until([](const server_stats& x) { return x.connections == 1; });
        for (auto& c : later) c->connect_now(srv->port());  // completes in the kernel's backlog
        auto st = srv->wait_until([](const server_stats& x) { return x.fd_pauses > 0; });
        ASSERT_GT(st.fd_pauses, 0u) << "accept never ran out of descriptors";
    }
    auto paused = steady::now();
    for (auto& c : later) ASSERT_TRUE(c->send(get("/hello")));
    expect_hello(existing);  // open connections keep working meanwhile
    EXPECT_EQ(srv->stats().connections, 1u);
    bool quiet = later[0]->quiet_for(200ms);
    // (Only meaningful while well inside the 2 s pause.)
    EXPECT_TRUE(quiet || ms_since(paused) > 1500) << "served while accepting was paused";
    // Then accepting resumes: the waiting clients are accepted and served.
    for (auto& c : later) {
        auto r = c->read_response();
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status_line, "HTTP/1.1 200 OK");
        EXPECT_EQ(r->body, "hello");
    }
    expect_hello(existing);
    expect_served(*srv);
}
