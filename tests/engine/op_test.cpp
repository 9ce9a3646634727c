#include <squall/engine/op.hpp>

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>

#include <squall/engine/time.hpp>

using namespace squall;
using namespace std::chrono_literals;

namespace {

struct pipe_fds {
    int r = -1, w = -1;
    pipe_fds() {
        int p[2];
        if (::pipe(p) == 0) r = p[0], w = p[1];
    }
    ~pipe_fds() {
        ::close(r);
        ::close(w);
    }
};

task<result<int>> nop_once() { co_return co_await nop(); }

task<std::string> read_text(int fd) {
    std::byte buf[64];
    auto r = co_await read(fd, buf);
    if (!r) co_return "error: " + r.error().message();
    co_return std::string(reinterpret_cast<char*>(buf), *r);
}

task<void> write_later(int fd, const char* text) {
    co_await sleep(2ms);
    auto r = co_await write(fd, std::as_bytes(std::span(text, std::strlen(text))));
    (void)r;
}

task<std::error_code> read_error(int fd) {
    std::byte buf[8];
    auto r = co_await read(fd, buf);
    co_return r.error();
}

task<void> cancel_after(cancel_source* src, std::chrono::milliseconds d) {
    co_await sleep(d);
    src->request_cancel();
}

task<std::error_code> read_cancelled_by(loop* l, int fd) {
    cancel_source src;
    l->spawn(cancel_after(&src, 2ms));
    auto t = read_error(fd);
    t.set_cancel_token(src.token());
    co_return co_await std::move(t);
}

}  // namespace

TEST(op, nop_completes_with_zero) {
    loop l;
    auto r = l.run_sync(nop_once());
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, 0);
    EXPECT_EQ(l.ops_in_flight(), 0u);
}

TEST(op, read_gets_what_another_task_writes) {
    pipe_fds p;
    loop l;
    l.spawn(write_later(p.w, "hello ring"));
    EXPECT_EQ(l.run_sync(read_text(p.r)), "hello ring");
}

TEST(op, kernel_errors_become_error_codes) {
    loop l;
    EXPECT_EQ(l.run_sync(read_error(-1)), std::errc::bad_file_descriptor);
}

TEST(op, a_cancelled_read_frees_its_state) {
    pipe_fds p;
    loop l;
    EXPECT_EQ(l.run_sync(read_cancelled_by(&l, p.r)), errc::canceled);
    EXPECT_EQ(l.ops_in_flight(), 0u);
    // The pipe still works: nothing was left reading it.
    l.spawn(write_later(p.w, "after"));
    EXPECT_EQ(l.run_sync(read_text(p.r)), "after");
}

TEST(op, an_already_cancelled_token_submits_nothing) {
    pipe_fds p;
    loop l;
    cancel_source src;
    src.request_cancel();
    auto t = read_error(p.r);
    t.set_cancel_token(src.token());
    EXPECT_EQ(l.run_sync(std::move(t)), errc::canceled);
    EXPECT_EQ(l.ops_in_flight(), 0u);
}

TEST(op, with_timeout_cancels_the_read_in_the_kernel) {
    pipe_fds p;
    loop l;
    auto timed = [](int fd) -> task<std::error_code> {
        std::byte buf[8];
        auto r = co_await with_timeout(5ms, read(fd, buf));
        co_return r.error();
    };
    EXPECT_EQ(l.run_sync(timed(p.r)), errc::timed_out);
    EXPECT_EQ(l.ops_in_flight(), 0u);
}

TEST(op, ring_timeout_expires_and_can_be_cancelled) {
    loop l;
    auto expire = []() -> task<result<int>> { co_return co_await ring_timeout(1ms); };
    auto r = l.run_sync(expire());
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, 0);
    auto cut = []() -> task<std::error_code> {
        auto r = co_await with_timeout(2ms, []() -> task<result<int>> { co_return co_await ring_timeout(1h); }());
        co_return r.error();
    };
    EXPECT_EQ(l.run_sync(cut()), errc::timed_out);
    EXPECT_EQ(l.ops_in_flight(), 0u);
}
