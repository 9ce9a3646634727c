// Fault injection on the send path (ws/detail/send_queue.hpp): the queue
// and its drain, fed by the writer, write to a sink that takes N bytes
// and then fails, for every N inside the frames. What reaches the sink
// is exactly a prefix of the wire up to N, the sink is never written to
// again, it is aborted, every awaiting writer learns the error and the
// queue frees everything and refuses more. (A stand-in for the in-memory
// test stream: the same loop, without a socket.)
#include <squall/ws/detail/send_queue.hpp>

#include <gtest/gtest.h>

#include "tests/ws/frames.hpp"
#include <squall/engine/loop.hpp>
#include <squall/engine/when.hpp>
#include <squall/ws/reader.hpp>

using namespace squall;
using namespace squall::ws;
using namespace squall::ws::detail;

namespace {

struct failing_sink {
    explicit failing_sink(std::size_t at) : fail_at(at) {}
    std::size_t fail_at;  // bytes accepted before the failure
    std::string got;
    int writes = 0, writes_after_failure = 0, aborts = 0;
    bool failed = false;

    task<result<void>> write(std::vector<iovec> iov) {
        ++writes;
        if (failed) ++writes_after_failure;
        for (const auto& v : iov) {
            std::size_t room = fail_at - got.size();
            got.append(static_cast<const char*>(v.iov_base), std::min(room, v.iov_len));
            if (v.iov_len > room) {
                failed = true;
                co_return std::make_error_code(std::errc::broken_pipe);
            }
        }
        co_return result<void>{};
    }
    void abort() noexcept { ++aborts; }
};

// Three messages and a ping, as the queue holds them (one awaited).
std::string queue_three(message_writer& w, send_queue& q, send_waiter* waiter, const std::string& big) {
    std::string wire;
    for (std::string_view m : {std::string_view("first"), std::string_view(big), std::string_view("third")}) {
        outgoing o;
        w.frame(opcode::text, m, o.wire);
        std::vector<iovec> iov;
        o.wire.gather(iov);
        for (auto& v : iov) wire.append(static_cast<const char*>(v.iov_base), v.iov_len);
        if (m == "third") o.waiter = waiter;
        q.push(std::move(o));
    }
    return wire;
}

}  // namespace

TEST(send_queue, a_write_that_fails_at_any_byte_sends_nothing_after_it) {
    loop l;
    const std::string big(300, 'B');
    message_writer w({.mask = false, .max_frame_size = 100, .borrow_from = 64});
    std::size_t total = 0;
    {
        send_queue probe(1 << 20);
        send_waiter unused;
        total = queue_three(w, probe, &unused, big).size();
        probe.fail_all(errc::canceled);
    }
    for (std::size_t at = 0; at < total; ++at) {
        SCOPED_TRACE("fails after " + std::to_string(at) + " bytes");
        send_queue q(1 << 20);
        send_waiter waiter;
        std::string wire = queue_three(w, q, &waiter, big);
        failing_sink sink(at);
        l.run_sync(drain(&q, &sink));
        EXPECT_EQ(sink.got, wire.substr(0, at));
        EXPECT_EQ(sink.writes_after_failure, 0);
        EXPECT_EQ(sink.aborts, 1);
        EXPECT_TRUE(waiter.done.is_set());
        EXPECT_EQ(waiter.error, std::errc::broken_pipe);
        EXPECT_TRUE(q.empty());
        EXPECT_EQ(q.bytes(), 0u);
        EXPECT_EQ(q.failed(), std::errc::broken_pipe);
        // A message pushed later is refused: its writer is told at once.
        send_waiter late;
        outgoing o;
        w.frame(opcode::text, "late", o.wire);
        o.waiter = &late;
        q.push(std::move(o));
        EXPECT_TRUE(late.done.is_set());
        EXPECT_TRUE(q.empty());
        l.run_sync(drain(&q, &sink));
        EXPECT_EQ(sink.writes_after_failure, 0);
        // What went out parses as whole frames and at most one cut short.
        message_reader r({false, 1 << 20});
        auto seen = ws::testing::feed(r, sink.got);
        for (const auto& s : seen) EXPECT_NE(s.kind, event_kind::fail);
    }
    // And without a failure everything goes out, in order, once.
    send_queue q(1 << 20);
    send_waiter waiter;
    std::string wire = queue_three(w, q, &waiter, big);
    failing_sink sink(total);
    l.run_sync(drain(&q, &sink));
    EXPECT_EQ(sink.got, wire);
    EXPECT_EQ(sink.aborts, 0);
    EXPECT_FALSE(waiter.error);
    EXPECT_TRUE(waiter.done.is_set());
}

TEST(send_queue, the_cap_counts_queued_bytes_and_one_message_always_fits) {
    send_queue q(100);
    EXPECT_TRUE(q.fits(1000));  // empty: any one message
    outgoing o;
    o.payload = std::string(60, 'x');
    o.wire.bytes = o.payload;
    q.push(std::move(o));
    EXPECT_EQ(q.bytes(), 60u);
    EXPECT_TRUE(q.fits(40));
    EXPECT_FALSE(q.fits(41));
    q.pop(1);
    EXPECT_EQ(q.bytes(), 0u);
    EXPECT_TRUE(q.fits(1000));
}
