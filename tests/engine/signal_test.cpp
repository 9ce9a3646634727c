#include <gtest/gtest.h>
#include <pthread.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <vector>

#include <squall/engine/loop.hpp>

using namespace squall;
using namespace std::chrono_literals;

TEST(signals, sigterm_and_sighup_arrive_through_the_ring) {
    loop l;
    std::vector<int> got;
    l.add_signal_handler(SIGTERM, [&](int s) { got.push_back(s); });
    l.add_signal_handler(SIGHUP, [&](int s) {
        got.push_back(s);
        l.stop();
    });
    l.call_later(1ms, [] { ::kill(::getpid(), SIGTERM); });               // process-directed
    l.call_later(3ms, [] { ::pthread_kill(::pthread_self(), SIGHUP); });  // thread-directed
    l.call_later(5s, [&] { l.stop(); });                                  // guard: the test fails instead of hanging
    l.run();
    EXPECT_EQ(got, (std::vector<int>{SIGTERM, SIGHUP}));
}

TEST(signals, sigint_handler_can_stop_the_loop) {
    loop l;
    bool seen = false;
    l.add_signal_handler(SIGINT, [&](int) {
        seen = true;
        l.stop();
    });
    l.call_later(1ms, [] { ::raise(SIGINT); });
    l.call_later(5s, [&] { l.stop(); });
    l.run();
    EXPECT_TRUE(seen);
}

TEST(signals, sigpipe_is_ignored_once_a_loop_exists) {
    loop l;
    int p[2];
    ASSERT_EQ(::pipe(p), 0);
    ::close(p[0]);
    char c = 'x';
    // Without SIG_IGN this write would kill the test process.
    EXPECT_EQ(::write(p[1], &c, 1), -1);
    EXPECT_EQ(errno, EPIPE);
    ::close(p[1]);
}
