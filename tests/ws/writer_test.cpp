// The sans-I/O writer (ws/writer.hpp) checked against its mirror, the
// reader: whatever one role writes, the other role's reader reads back
// as the same messages, fed whole and byte by byte; plus the wire format
// of headers, fragments, borrowing and control frames.
#include <squall/ws/writer.hpp>

#include <gtest/gtest.h>

#include "tests/ws/frames.hpp"
#include <squall/ws/reader.hpp>

using namespace squall::ws;
using namespace squall::ws::testing;

namespace {

// The wire bytes, gathered in order.
std::string flat(const wire_message& m) {
    std::vector<iovec> iov;
    m.gather(iov);
    std::string out;
    for (const auto& v : iov) out.append(static_cast<const char*>(v.iov_base), v.iov_len);
    EXPECT_EQ(out.size(), m.size());
    return out;
}

std::vector<seen> read_back(const std::string& wire, bool masked, std::size_t piece, inflater* inf = nullptr) {
    message_reader r({masked, 1 << 24}, inf);
    return feed(r, wire, piece);
}

}  // namespace

TEST(writer, server_and_client_messages_read_back_whole_and_byte_by_byte) {
    for (bool client : {false, true}) {
        for (std::size_t frag : {0u, 1u, 7u, 1000u}) {
            message_writer w({.mask = client, .max_frame_size = frag, .borrow_from = 16});
            std::string wire;
            std::string big(3000, 'q');
            for (std::string_view m : {std::string_view("hello"), std::string_view(), std::string_view(big)}) {
                wire_message out;
                w.frame(opcode::text, m, out);
                wire += flat(out);
            }
            wire_message ping;
            w.frame(opcode::ping, "p", ping);
            wire += flat(ping);
            for (std::size_t piece : {0u, 1u}) {
                SCOPED_TRACE("client " + std::to_string(client) + " frag " + std::to_string(frag));
                auto got = read_back(wire, client, piece);
                ASSERT_EQ(got.size(), 4u);
                EXPECT_EQ(got[0].data, "hello");
                EXPECT_EQ(got[1].data, "");
                EXPECT_EQ(got[2].data, big);
                EXPECT_EQ(got[3].kind, event_kind::ping);
                EXPECT_EQ(got[3].data, "p");
            }
        }
    }
}

TEST(writer, a_server_borrows_large_payloads_and_a_client_never_does) {
    std::string big(10000, 'b');
    message_writer server({.mask = false, .max_frame_size = 4096, .borrow_from = 8192});
    wire_message s;
    server.frame(opcode::binary, big, s);
    EXPECT_EQ(s.borrowed.data(), reinterpret_cast<const std::byte*>(big.data()));
    EXPECT_EQ(s.heads.size(), 3u);  // 4096 + 4096 + 1808
    auto got = read_back(flat(s), false, 0);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_TRUE(got[0].binary);
    EXPECT_EQ(got[0].data, big);

    message_writer client({.mask = true, .borrow_from = 8192});
    wire_message c;
    client.frame(opcode::binary, big, c);
    EXPECT_TRUE(c.borrowed.empty());
    EXPECT_EQ(c.bytes.find(big.substr(0, 64)), std::string::npos);  // masked on the wire
    got = read_back(flat(c), true, 0);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].data, big);
}

TEST(writer, compresses_data_from_min_size_and_never_control_frames) {
    deflater d(6, 8, 15, false);
    inflater inf(false);
    message_writer w({.mask = false, .min_deflate = 10}, &d);
    std::string wire;
    for (std::string_view m : {std::string_view("short"), std::string_view("a longer message, a longer message")}) {
        wire_message out;
        w.frame(opcode::text, m, out);
        wire += flat(out);
    }
    wire_message ping;
    w.frame(opcode::ping, std::string(200, 'x'), ping);  // cut to 125
    wire += flat(ping);
    EXPECT_EQ(static_cast<unsigned char>(wire[0]) & 0x40, 0);  // "short": no RSV1
    auto got = read_back(wire, false, 1, &inf);
    ASSERT_EQ(got.size(), 3u);
    EXPECT_EQ(got[0].data, "short");
    EXPECT_EQ(got[1].data, "a longer message, a longer message");
    EXPECT_EQ(got[2].data, std::string(125, 'x'));
}

TEST(writer, close_payload_cuts_the_reason_on_a_character_boundary) {
    EXPECT_EQ(message_writer::close_payload(close_code::no_status, "ignored"), "");
    EXPECT_EQ(message_writer::close_payload(1000, "ok"), close_payload(1000, "ok"));
    std::string reason(121, 'r');
    reason += "\xC3\xA9\xC3\xA9";  // 125 bytes: the second e-acute does not fit
    std::string p = message_writer::close_payload(4000, reason);
    EXPECT_EQ(p.size(), 2 + 123u);
    EXPECT_EQ(p.substr(2), reason.substr(0, 123));
}
