// A client that leaves while its handler waits (http/detail/close_watch.hpp):
// on_connection_close() and connection_closed_token() fire at once, not
// at the wait's deadline, the access log says 499 rather than 200, and
// bytes a client sends meanwhile are its next request (served in order)
// or, after detach(), the new protocol's first bytes.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "loopback_server.hpp"
#include <squall/engine/time.hpp>
#include <squall/http/application.hpp>

using namespace squall;
using namespace squall::http;
using namespace squall::http::testing;
using namespace std::chrono_literals;

namespace {

// What the handlers saw, read by the test thread.
struct seen {
    std::atomic<int> waiting{0};       // handlers that started their wait
    std::atomic<int> closed_calls{0};  // on_connection_close() calls
    std::atomic<int> token_set{0};     // ... with connection_closed_token() already fired
    std::atomic<int> canceled{0};      // waits that ended early
    std::atomic<int> timed_out{0};     // waits that ran to their deadline
    std::mutex mu;
    std::vector<std::string> log;  // "<status> <method> <target>"
    std::string log_text() {
        std::lock_guard lk(mu);
        std::string all;
        for (const auto& l : log) all += l + "\n";
        return all;
    }
};
seen g;

task<result<void>> nap(clock::duration d) {
    result<void> slept = co_await sleep(d);
    co_return slept;
}

// Waits `wait` (a long poll: far longer than any guard here) under one of
// the request's tokens.
template <bool use_wait_token>
class waiter_handler : public request_handler {
public:
    explicit waiter_handler(clock::duration wait) : wait_(wait) {}
    task<void> get() {
        ++g.waiting;
        auto w = nap(wait_);
        w.set_cancel_token(use_wait_token ? wait_token() : connection_closed_token());
        result<void> slept = co_await std::move(w);
        ++(slept ? g.timed_out : g.canceled);
        write(slept ? "slept" : "woken");
    }
    void on_connection_close() override {
        ++g.closed_calls;
        if (connection_closed_token().cancel_requested()) ++g.token_set;
    }

private:
    clock::duration wait_;
};

// Sleeps, then takes the connection over and sends back what it was
// handed (the bytes that came during the sleep).
class late_upgrade : public request_handler {
public:
    task<void> get() {
        ++g.waiting;
        result<void> slept = co_await sleep(300ms);
        (void)slept;
        set_status(101);
        set_header("Upgrade", "echo");
        set_header("Connection", "Upgrade");
        auto taken = co_await detach();
        if (!taken) co_return;
        std::string back = "[" + taken->buffered + "]";
        auto w = co_await taken->stream->write(back);
        (void)w;
    }
};

task<void> hello(request_handler& h) {
    h.write("hello");
    co_return;
}

std::unique_ptr<loopback_server> start() {
    g.waiting = g.closed_calls = g.token_set = g.canceled = g.timed_out = 0;
    {
        std::lock_guard lk(g.mu);
        g.log.clear();
    }
    app_settings s;
    s.log_function = [](const access_entry& e) {
        std::lock_guard lk(g.mu);
        g.log.push_back(std::to_string(e.status) + " " + std::string(e.method) + " " + std::string(e.target));
    };
    auto app = std::make_unique<application>(std::move(s));
    app->add<waiter_handler<false>>("/poll", clock::duration(120s));
    app->add<waiter_handler<true>>("/poll-wait-token", clock::duration(120s));
    app->add<waiter_handler<false>>("/nap", clock::duration(300ms));
    app->add<late_upgrade>("/upgrade");
    app->get("/hello", hello);
    return std::make_unique<loopback_server>(std::move(app));
}

// Polls `pred` until it holds or the guard passes (never a measure).
template <class Pred>
bool eventually(Pred pred) {
    auto give_up = std::chrono::steady_clock::now() + 15s;
    while (!pred()) {
        if (std::chrono::steady_clock::now() > give_up) return false;
        std::this_thread::sleep_for(2ms);
    }
    return true;
}

void leave_a_long_poll(bool reset, const char* path) {
    auto server = start();
    auto c = std::make_unique<raw_client>(server->port());
    ASSERT_TRUE(c->send(std::string("GET ") + path + " HTTP/1.1\r\nHost: x\r\n\r\n"));
    ASSERT_TRUE(eventually([] { return g.waiting == 1; }));
    if (reset) c->reset();
    c.reset();
    // The wait's deadline is two minutes away: only the close ends it.
    ASSERT_TRUE(eventually([] { return g.canceled == 1; }));
    EXPECT_EQ(g.timed_out, 0);
    EXPECT_EQ(g.closed_calls, 1);
    EXPECT_EQ(g.token_set, 1);
    EXPECT_TRUE(eventually([&] { return g.log_text().find(" GET ") != std::string::npos; }));
    EXPECT_EQ(g.log_text(), std::string("499 GET ") + path + "\n");
    auto st = server->wait_idle();
    EXPECT_EQ(st.connections, 0u);
    EXPECT_EQ(st.buffers_in_use, 0u);
}

TEST(close_watch, client_that_closes_ends_the_wait_at_once) { leave_a_long_poll(false, "/poll"); }

TEST(close_watch, client_that_resets_ends_the_wait_at_once) { leave_a_long_poll(true, "/poll"); }

TEST(close_watch, wait_token_fires_when_the_client_leaves) { leave_a_long_poll(false, "/poll-wait-token"); }

TEST(close_watch, wait_token_fires_at_a_graceful_stop) {
    auto server = start();
    raw_client c(server->port());
    ASSERT_TRUE(c.send("GET /poll-wait-token HTTP/1.1\r\nHost: x\r\n\r\n"));
    ASSERT_TRUE(eventually([] { return g.waiting == 1; }));
    server->begin_shutdown();
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "woken");
    EXPECT_EQ(g.closed_calls, 0);
}

// A request sent while the one before it waits is read by the watch and
// served next, in order; the waiting one is not taken for a close.
TEST(close_watch, request_sent_during_the_wait_is_served_next) {
    auto server = start();
    raw_client c(server->port());
    ASSERT_TRUE(c.send("GET /nap HTTP/1.1\r\nHost: x\r\n\r\n"));
    ASSERT_TRUE(eventually([] { return g.waiting == 1; }));
    ASSERT_TRUE(c.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\nGET /nap HTTP/1.1\r\nHost: x\r\n\r\n"));
    for (const char* want : {"slept", "hello", "slept"}) {
        auto r = c.read_response();
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status_line, "HTTP/1.1 200 OK");
        EXPECT_EQ(r->body, want);
    }
    EXPECT_EQ(g.closed_calls, 0);
    EXPECT_EQ(g.canceled, 0);
    ASSERT_TRUE(c.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "hello");
}

// Bytes of the new protocol sent while the handler waits before detach()
// reach it in detached_connection::buffered.
TEST(close_watch, bytes_read_by_the_watch_go_to_detach) {
    auto server = start();
    raw_client c(server->port());
    ASSERT_TRUE(c.send("GET /upgrade HTTP/1.1\r\nHost: x\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n"));
    ASSERT_TRUE(eventually([] { return g.waiting == 1; }));
    ASSERT_TRUE(c.send("early"));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status_line, "HTTP/1.1 101 Switching Protocols");
    std::string rest = c.take_unexpected();
    char buf[64];
    while (rest.size() < 7) {
        ssize_t n = ::recv(c.fd(), buf, sizeof buf, 0);
        if (n <= 0) break;
        rest.append(buf, static_cast<std::size_t>(n));
    }
    EXPECT_EQ(rest, "[early]");
    EXPECT_TRUE(eventually([] { return g.log_text().find("101 GET /upgrade") != std::string::npos; }));
}

}  // namespace
