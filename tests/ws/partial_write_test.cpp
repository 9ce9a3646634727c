// A write that completes partially and then fails, at every byte offset
// of the frames a connection sends, on the in-memory test_stream: each
// send takes one byte (write_size 1) and the n-th fails, so the failure
// falls after exactly n bytes. What went out must be exactly the first n
// bytes of the wire (no later frame, ever), the stream closed (no close
// frame can follow a half frame), every writer told, and the connection
// refuses later messages.
#include <gtest/gtest.h>

#include <squall/engine/loop.hpp>
#include <squall/engine/test_stream.hpp>
#include <squall/engine/when.hpp>
#include <squall/ws/connection.hpp>
#include <squall/ws/writer.hpp>

using namespace squall;
using namespace squall::ws;

namespace {

const std::string big(200, 'B');

// The three messages as the server writes them, framed by a writer of
// the same options.
std::string expected_wire(const connection_options& o) {
    message_writer w({.mask = false, .max_frame_size = o.max_frame_size, .borrow_from = 0});
    std::string wire;
    for (std::string_view m : {std::string_view("first"), std::string_view(big), std::string_view("third")}) {
        wire_message out;
        w.frame(opcode::text, m, out);
        wire += out.bytes;
    }
    return wire;
}

// Posts two messages, then awaits a third; returns the awaited result and
// what a later post gives.
task<std::pair<std::error_code, std::error_code>> send_three(connection* c) {
    result<void> a = c->post_message("first");
    result<void> b = c->post_message(std::string(big));
    result<void> w = co_await c->write_message("third");
    result<void> later = c->post_message("later");
    std::error_code first = !a ? a.error() : !b ? b.error() : !w ? w.error() : std::error_code();
    co_return std::pair{first, later ? std::error_code() : later.error()};
}

}  // namespace

TEST(partial_write, a_send_that_fails_at_any_byte_sends_nothing_after_it) {
    connection_options o;
    o.max_frame_size = 64;  // the long message in four fragments
    const std::string wire = expected_wire(o);
    for (std::size_t n = 0; n <= wire.size(); ++n) {
        SCOPED_TRACE("fails at byte " + std::to_string(n));
        loop l;
        fail_count fc(n, std::make_error_code(std::errc::broken_pipe));
        auto owned = std::make_unique<test_stream>(&fc);
        test_stream* s = owned.get();
        s->write_size(1);
        auto c = std::make_shared<connection>(std::move(owned), std::string(), role::server, o, std::nullopt);
        auto [err, later] = l.run_sync(send_three(c.get()));
        if (n == wire.size()) {  // the failure is never reached
            EXPECT_FALSE(err);
            EXPECT_FALSE(later);
            EXPECT_EQ(s->output(), wire);
        } else {
            EXPECT_EQ(err, std::errc::broken_pipe);
            EXPECT_EQ(later, ws::errc::closed);
            EXPECT_EQ(s->output(), wire.substr(0, n));
            EXPECT_TRUE(s->closed()) << "the connection stayed open after a half-sent frame";
            EXPECT_EQ(c->buffered_amount(), 0u);
        }
        l.run_sync(c->finish());
        EXPECT_EQ(s->output().size(), std::min(n, wire.size()));  // and nothing at the end either
    }
}
