// The in-memory test stream: scripted chunks, pairs, short and blocked
// writes, and the n-th operation failing.
#include <squall/engine/test_stream.hpp>

#include <gtest/gtest.h>

#include <string>

#include <squall/engine/loop.hpp>
#include <squall/engine/time.hpp>
#include <squall/engine/when.hpp>

using namespace squall;
using namespace std::chrono_literals;

namespace {

std::string text_of(const buffer_lease& l) { return {reinterpret_cast<const char*>(l.bytes().data()), l.size()}; }

// Every chunk until the end, each in brackets, then the error.
task<std::string> chunks(byte_stream* s) {
    std::string out;
    for (;;) {
        auto c = co_await s->read_some();
        if (!c) co_return out + "<" + c.error().message() + ">";
        out += "[" + text_of(*c) + "]";
    }
}

task<result<void>> write_text(byte_stream* s, std::string text) {
    auto r = co_await s->write(std::string_view(text));
    co_return r;
}

// Takes the output as it comes until n bytes came.
task<std::string> drain(test_stream* s, std::size_t n) {
    std::string got;
    while (got.size() < n) {
        got += s->take_output();
        auto slept = co_await sleep(1ms);
        (void)slept;
    }
    co_return got;
}

}  // namespace

TEST(test_stream, reads_the_script_chunk_by_chunk_then_eof) {
    loop l;
    test_stream s;
    s.append("GET / ");
    s.append("HTTP/1.1\r\n");
    s.end_input();
    EXPECT_EQ(l.run_sync(chunks(&s)), "[GET / ][HTTP/1.1\r\n]<" + make_error_code(errc::eof).message() + ">");
}

TEST(test_stream, read_size_cuts_chunks) {
    loop l;
    test_stream s;
    s.read_size(2);
    s.append("abcde");
    s.end_input();
    EXPECT_EQ(l.run_sync(chunks(&s)), "[ab][cd][e]<" + make_error_code(errc::eof).message() + ">");
}

TEST(test_stream, a_reader_waits_for_input_and_its_deadline) {
    loop l;
    test_stream s;
    auto r = l.run_sync([](test_stream* st) -> task<std::error_code> {
        auto c = co_await st->read_some(clock::now() + 20ms);
        co_return c ? std::error_code() : c.error();
    }(&s));
    EXPECT_EQ(r, errc::timed_out);
}

TEST(test_stream, read_until_gathers_and_leaves_the_rest) {
    loop l;
    test_stream s;
    s.read_size(1);
    s.append("line one\r\nrest");
    s.end_input();
    auto got = l.run_sync([](test_stream* st) -> task<std::string> {
        auto line = co_await st->read_until("\r\n", 100);
        if (!line) co_return "error";
        std::string out(*line);
        auto more = co_await chunks(st);
        co_return out + more;
    }(&s));
    EXPECT_EQ(got, "line one\r\n[r][e][s][t]<" + make_error_code(errc::eof).message() + ">");
}

TEST(test_stream, writes_collect_in_output_and_in_order) {
    loop l;
    test_stream s;
    s.write_size(3);  // short sends: the writes must still not interleave
    auto both = l.run_sync([](test_stream* st) -> task<bool> {
        auto first = write_text(st, "first message ");
        auto second = write_text(st, "second");
        auto [a, b] = co_await when_all(std::move(first), std::move(second));
        co_return a.has_value() && b.has_value();
    }(&s));
    EXPECT_TRUE(both);
    EXPECT_EQ(s.output(), "first message second");
    auto shut = l.run_sync(s.shutdown_write());
    EXPECT_TRUE(shut.has_value());
    EXPECT_TRUE(s.output_shut());
}

TEST(test_stream, a_pair_carries_bytes_both_ways_and_the_end) {
    loop l;
    auto [a, b] = test_stream::pair();
    auto got = l.run_sync([](test_stream* x, test_stream* y) -> task<std::string> {
        auto w = co_await x->write(std::string_view("ping"));
        if (!w) co_return "write failed";
        auto s = co_await x->shutdown_write();
        if (!s) co_return "shutdown failed";
        auto text = co_await chunks(y);
        co_return text;
    }(a.get(), b.get()));
    EXPECT_EQ(got, "[ping]<" + make_error_code(errc::eof).message() + ">");
    // The survivor of a pair reads the end and cannot write.
    b.reset();
    auto w = l.run_sync(write_text(a.get(), "x"));
    EXPECT_EQ(w.error(), std::errc::broken_pipe);
}

TEST(test_stream, a_full_peer_blocks_writes_until_read_or_timeout) {
    loop l;
    test_stream s;
    s.write_limit(4);
    s.write_timeout(30ms);
    auto w = l.run_sync(write_text(&s, "abcdefgh"));
    EXPECT_EQ(w.error(), errc::timed_out);
    EXPECT_EQ(s.output(), "abcd");  // a partial write, which poisons the next
    EXPECT_EQ(l.run_sync(write_text(&s, "x")).error(), errc::timed_out);
    // Reading makes room: a blocked write goes on.
    test_stream t;
    t.write_limit(4);
    auto later = l.run_sync([](test_stream* st) -> task<std::string> {
        auto writing = write_text(st, "abcdefghij");
        auto reading = drain(st, 10);
        auto [w, taken] = co_await when_all(std::move(writing), std::move(reading));
        co_return taken + (w ? "+ok" : "+failed");
    }(&t));
    EXPECT_EQ(later, "abcdefghij+ok");
}

TEST(test_stream, the_nth_operation_fails_with_the_chosen_error) {
    loop l;
    // Operations: read 0, read 1, send 2, send 3 (write_size 2), shutdown 4;
    // a failed send poisons the shutdown after it.
    for (std::size_t n = 0; n < 6; ++n) {
        fail_count fc(n, make_error_code(std::errc::connection_reset));
        test_stream s(&fc);
        s.write_size(2);
        s.append("ab");
        s.append("cd");
        auto trace = l.run_sync([](test_stream* st) -> task<std::string> {
            std::string out;
            for (int i = 0; i < 2; ++i) {
                auto c = co_await st->read_some();
                out += c ? "r" : "R";
            }
            auto w = co_await st->write(std::string_view("wxyz"));
            out += w ? "w" : "W";
            auto sh = co_await st->shutdown_write();
            out += sh ? "s" : "S";
            co_return out;
        }(&s));
        const char* expect[] = {"Rrws", "rRws", "rrWS", "rrWS", "rrwS", "rrws"};
        EXPECT_EQ(trace, expect[n]) << "n = " << n;
        EXPECT_EQ(fc.reached(), n < 5);
        if (n == 3) {
            EXPECT_EQ(s.output(), "wx");  // failed after a partial send
        }
    }
}

TEST(test_stream, close_ends_reads_and_writes) {
    loop l;
    test_stream s;
    s.close();
    auto r = l.run_sync([](test_stream* st) -> task<std::error_code> {
        auto c = co_await st->read_some();
        co_return c ? std::error_code() : c.error();
    }(&s));
    EXPECT_EQ(r, errc::closed);
    EXPECT_EQ(l.run_sync(write_text(&s, "x")).error(), errc::closed);
}
