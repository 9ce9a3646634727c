// serve() as a Tornado-shaped program uses it: a host name resolved at
// start ("localhost"), a start-up hook on each serving loop (a periodic
// callback that really runs there and stops with the server), and
// server_options unambiguous under both using-directives the docs show.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <csignal>
#include <stdexcept>
#include <string>
#include <thread>

#include <squall/engine/periodic.hpp>
#include <squall/engine/time.hpp>
#include <squall/http/application.hpp>
#include <squall/http/server.hpp>

using namespace squall;
using namespace squall::http;
using namespace std::chrono_literals;

namespace {

std::uint16_t free_port() {
    unique_fd fd = listen_on(address::ip("127.0.0.1", 0));
    return local_address(fd.get()).port();
}

bool connects(std::uint16_t port) {
    unique_fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return ::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
}

template <class Pred>
bool eventually(Pred pred) {
    for (int i = 0; i < 7500 && !pred(); ++i) std::this_thread::sleep_for(2ms);
    return pred();
}

std::atomic<int> ticks{0};
std::atomic<int> hooks_started{0};
std::atomic<int> hooks_ended{0};
std::atomic<bool> hook_on_a_loop{false};

task<void> tick_until_stopped(cancel_token) {
    ++hooks_started;
    hook_on_a_loop = loop::current() != nullptr;
    periodic_callback pc(*loop::current(), 5ms, [] { ++ticks; });
    pc.start();
    result<void> r = co_await sleep(24h);  // cancelled by the graceful stop
    (void)r;
    ++hooks_ended;
}

}  // namespace

TEST(serve, host_names_resolve_at_start) {
    auto local = resolve_host("localhost", 8080);
    ASSERT_FALSE(local.empty());
    bool v4 = false;
    for (const auto& a : local) v4 = v4 || a.to_string() == "127.0.0.1:8080";
    EXPECT_TRUE(v4);
    auto literal = resolve_host("127.0.0.1", 81);
    ASSERT_EQ(literal.size(), 1u);
    EXPECT_EQ(literal[0].to_string(), "127.0.0.1:81");
    EXPECT_EQ(resolve_host("::1", 82).at(0).to_string(), "[::1]:82");
    EXPECT_THROW(resolve_host("no-such-host.invalid", 80), std::runtime_error);
}

TEST(serve, localhost_and_a_start_up_hook_on_each_serving_loop) {
    block_signals({SIGINT, SIGTERM});  // before any thread: the server's signalfd gets them
    server_options so;                 // http's, although `using namespace squall` is in force too
    so.host = "localhost";
    so.port = free_port();
    so.run.threads = 2;
    so.run.drain_timeout = 30s;
    so.on_start = [](cancel_token shutdown) { return tick_until_stopped(shutdown); };
    application app;
    app.get("/", [](request_handler& h) -> task<void> {
        h.write("hi");
        co_return;
    });
    std::atomic<int> rc{-1};
    std::thread server([&] { rc = serve(app, so); });
    ASSERT_TRUE(eventually([&] { return connects(so.port); }));
    EXPECT_TRUE(eventually([] { return hooks_started == 2; }));  // one per loop
    EXPECT_TRUE(hook_on_a_loop);
    EXPECT_TRUE(eventually([] { return ticks > 4; }));  // the callbacks run on the serving loops
    ::kill(::getpid(), SIGTERM);
    server.join();
    EXPECT_EQ(rc, 0);
    EXPECT_EQ(hooks_ended, 2);  // the hooks saw the stop and returned
}

TEST(serve, unknown_host_fails_at_start_with_its_name) {
    server_options so;
    so.host = "no-such-host.invalid";
    application app;
    try {
        serve(app, so);
        FAIL() << "served an unknown host";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("no-such-host.invalid"), std::string::npos) << e.what();
    }
}
