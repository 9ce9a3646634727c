// The receiving rules of RFC 6455 and RFC 7692, one test suite per section
// of the Autobahn|Testsuite (1 framing, 2 ping/pong, 3 reserved bits,
// 4 opcodes, 5 fragmentation, 6 UTF-8, 7 close, 9 limits, 12/13
// permessage-deflate), written from the RFCs. Every case runs with the
// bytes fed whole, one at a time and in odd-sized pieces, as leased
// receive buffers may cut them anywhere.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/ws/frames.hpp"
#include <squall/ws/deflate.hpp>
#include <squall/ws/reader.hpp>

using namespace squall::ws;
using namespace squall::ws::testing;

namespace {

const std::size_t pieces[] = {0, 1, 3, 7, 130};

std::vector<seen> run(const std::string& wire, std::size_t piece, reader_options o = {}) {
    message_reader r(o);
    return feed(r, wire, piece);
}

void expect_fail(const std::string& wire, std::uint16_t code, reader_options o = {}) {
    for (auto p : pieces) {
        auto ev = run(wire, p, o);
        ASSERT_FALSE(ev.empty()) << "piece " << p;
        EXPECT_EQ(ev.back().kind, event_kind::fail) << "piece " << p;
        EXPECT_EQ(ev.back().code, code) << "piece " << p << ": " << ev.back().data;
    }
}

frame_spec op(std::uint8_t o, bool fin = true) {
    frame_spec f;
    f.op = o;
    f.fin = fin;
    return f;
}

std::string text_of(std::size_t n) {
    std::string s(n, 'a');
    for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + i % 26);
    return s;
}

}  // namespace

// --- 1: framing ---------------------------------------------------------

TEST(framing, text_and_binary_of_every_length_class) {
    for (std::size_t n : {0, 1, 125, 126, 127, 65535, 65536, 200000}) {
        std::string payload = text_of(n);
        for (std::uint8_t o : {1, 2}) {
            for (auto p : pieces) {
                auto ev = run(make_frame(payload, op(o)), p);
                ASSERT_EQ(ev.size(), 1u) << n << " " << p;
                EXPECT_EQ(ev[0].kind, event_kind::message);
                EXPECT_EQ(ev[0].binary, o == 2);
                EXPECT_EQ(ev[0].data, payload);
            }
        }
    }
}

TEST(framing, many_messages_in_one_buffer_come_out_in_order) {
    std::string wire;
    for (int i = 0; i < 50; ++i) wire += make_frame("m" + std::to_string(i));
    for (auto p : pieces) {
        auto ev = run(wire, p);
        ASSERT_EQ(ev.size(), 50u);
        for (int i = 0; i < 50; ++i) EXPECT_EQ(ev[static_cast<std::size_t>(i)].data, "m" + std::to_string(i));
    }
}

TEST(framing, a_whole_frame_in_one_buffer_is_handed_out_in_place) {
    std::string wire = make_frame("hello, in place");
    message_reader r({});
    std::span<std::byte> in(reinterpret_cast<std::byte*>(wire.data()), wire.size());
    event ev = r.next(in);
    ASSERT_EQ(ev.kind, event_kind::message);
    EXPECT_EQ(ev.data, "hello, in place");
    EXPECT_GE(ev.data.data(), wire.data());
    EXPECT_LT(ev.data.data(), wire.data() + wire.size());
    EXPECT_TRUE(in.empty());
}

TEST(framing, length_with_top_bit_set_fails) {
    frame_spec f;
    f.force_64bit = true;
    expect_fail(make_frame("", f), close_code::protocol_error);
}

TEST(framing, server_refuses_unmasked_and_client_refuses_masked) {
    frame_spec f;
    f.masked = false;
    expect_fail(make_frame("hi", f), close_code::protocol_error);
    reader_options client;
    client.expect_masked = false;
    expect_fail(make_frame("hi"), close_code::protocol_error, client);
    auto ok = run(make_frame("hi", f), 0, client);
    ASSERT_EQ(ok.size(), 1u);
    EXPECT_EQ(ok[0].data, "hi");
}

// --- 2: ping and pong ---------------------------------------------------

TEST(ping_pong, ping_and_pong_payloads_up_to_125_bytes) {
    for (std::size_t n : {0, 1, 125}) {
        for (auto p : pieces) {
            auto ev = run(make_frame(text_of(n), op(9)) + make_frame(text_of(n), op(10)), p);
            ASSERT_EQ(ev.size(), 2u);
            EXPECT_EQ(ev[0].kind, event_kind::ping);
            EXPECT_EQ(ev[0].data, text_of(n));
            EXPECT_EQ(ev[1].kind, event_kind::pong);
            EXPECT_EQ(ev[1].data, text_of(n));
        }
    }
}

TEST(ping_pong, ping_over_125_bytes_fails) {
    expect_fail(make_frame(text_of(126), op(9)), close_code::protocol_error);
    expect_fail(make_frame(text_of(126), op(10)), close_code::protocol_error);
}

TEST(ping_pong, fragmented_ping_fails) {
    expect_fail(make_frame("ab", op(9, false)) + make_frame("cd", op(0)), close_code::protocol_error);
}

TEST(ping_pong, binary_payload_is_kept_byte_for_byte) {
    std::string bin("\x00\xff\xfe\x01", 4);
    auto ev = run(make_frame(bin, op(9)), 1);
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].data, bin);
}

// --- 3: reserved bits ---------------------------------------------------

TEST(reserved_bits, any_rsv_bit_without_an_extension_fails) {
    for (int bit = 1; bit <= 3; ++bit) {
        frame_spec f;
        f.rsv1 = bit == 1;
        f.rsv2 = bit == 2;
        f.rsv3 = bit == 3;
        expect_fail(make_frame("hi", f), close_code::protocol_error);
        f.op = 9;
        expect_fail(make_frame("hi", f), close_code::protocol_error);
    }
}

TEST(reserved_bits, a_good_message_before_the_bad_frame_is_delivered) {
    frame_spec bad;
    bad.rsv2 = true;
    auto ev = run(make_frame("first") + make_frame("bad", bad), 0);
    ASSERT_EQ(ev.size(), 2u);
    EXPECT_EQ(ev[0].data, "first");
    EXPECT_EQ(ev[1].kind, event_kind::fail);
}

// --- 4: opcodes ---------------------------------------------------------

TEST(opcodes, reserved_data_and_control_opcodes_fail) {
    for (std::uint8_t o : {3, 4, 5, 6, 7, 11, 12, 13, 14, 15}) {
        expect_fail(make_frame("", op(o)), close_code::protocol_error);
        expect_fail(make_frame("payload", op(o)), close_code::protocol_error);
    }
}

// --- 5: fragmentation ---------------------------------------------------

TEST(fragmentation, fragments_make_one_message) {
    std::string wire = make_frame("frag", op(1, false)) + make_frame("men", op(0, false)) + make_frame("ted", op(0));
    for (auto p : pieces) {
        auto ev = run(wire, p);
        ASSERT_EQ(ev.size(), 1u);
        EXPECT_EQ(ev[0].data, "fragmented");
        EXPECT_FALSE(ev[0].binary);
    }
}

TEST(fragmentation, control_frames_between_fragments) {
    std::string wire = make_frame("one ", op(2, false)) + make_frame("p", op(9)) + make_frame("two ", op(0, false)) +
                       make_frame("q", op(10)) + make_frame("three", op(0));
    for (auto p : pieces) {
        auto ev = run(wire, p);
        ASSERT_EQ(ev.size(), 3u);
        EXPECT_EQ(ev[0].kind, event_kind::ping);
        EXPECT_EQ(ev[1].kind, event_kind::pong);
        EXPECT_EQ(ev[2].kind, event_kind::message);
        EXPECT_TRUE(ev[2].binary);
        EXPECT_EQ(ev[2].data, "one two three");
    }
}

TEST(fragmentation, empty_fragments) {
    auto ev = run(make_frame("", op(1, false)) + make_frame("", op(0, false)) + make_frame("", op(0)), 1);
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].kind, event_kind::message);
    EXPECT_EQ(ev[0].data, "");
}

TEST(fragmentation, continuation_without_a_start_fails) {
    expect_fail(make_frame("x", op(0)), close_code::protocol_error);
    expect_fail(make_frame("x", op(0, false)), close_code::protocol_error);
}

TEST(fragmentation, a_new_message_inside_a_fragmented_one_fails) {
    expect_fail(make_frame("a", op(1, false)) + make_frame("b", op(1)), close_code::protocol_error);
    expect_fail(make_frame("a", op(2, false)) + make_frame("b", op(2, false)), close_code::protocol_error);
}

// --- 6: UTF-8 handling --------------------------------------------------

TEST(utf8_handling, valid_text_split_inside_characters) {
    std::string text = "κόσμε \xF0\x9F\x98\x80 €";  // Greek, an emoji, the euro sign
    for (std::size_t cut = 1; cut < text.size(); ++cut) {
        std::string wire = make_frame(text.substr(0, cut), op(1, false)) + make_frame(text.substr(cut), op(0));
        auto ev = run(wire, 1);
        ASSERT_EQ(ev.size(), 1u) << cut;
        EXPECT_EQ(ev[0].data, text);
    }
}

TEST(utf8_handling, invalid_text_fails_with_1007) {
    for (std::string bad : {std::string("\xC0\xAF"), std::string("\xED\xA0\x80"), std::string("\xF4\x90\x80\x80"),
                            std::string("\xFF"), std::string("ab\x80")}) {
        expect_fail(make_frame(bad, op(1)), close_code::invalid_payload);
    }
}

TEST(utf8_handling, message_ending_inside_a_character_fails) {
    expect_fail(make_frame("ok\xE2\x82", op(1)), close_code::invalid_payload);
}

TEST(utf8_handling, binary_messages_are_not_checked) {
    auto ev = run(make_frame("\xFF\xFE", op(2)), 1);
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].kind, event_kind::message);
}

TEST(utf8_handling, fails_on_the_first_bad_fragment_before_the_rest_arrives) {
    // Only the first fragment (fin clear) is sent; the rest never comes.
    auto ev = run(make_frame("good \xCE\xBA then bad \xF5 more", op(1, false)), 1);
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].kind, event_kind::fail);
    EXPECT_EQ(ev[0].code, close_code::invalid_payload);
}

TEST(utf8_handling, fails_inside_a_frame_at_the_first_bad_byte) {
    // A 100 KB frame whose 11th byte is bad: the reader fails having seen
    // only part of the payload.
    std::string payload = "0123456789\xC0" + text_of(100000);
    std::string wire = make_frame(payload, op(1));
    message_reader r({});
    std::span<std::byte> in(reinterpret_cast<std::byte*>(wire.data()), 32);  // header + 24 payload bytes
    event ev = r.next(in);
    EXPECT_EQ(ev.kind, event_kind::fail);
    EXPECT_EQ(ev.code, close_code::invalid_payload);
}

// --- 7: close handling --------------------------------------------------

TEST(close_handling, close_without_body_reports_1005) {
    auto ev = run(make_frame("", op(8)), 0);
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].kind, event_kind::close);
    EXPECT_EQ(ev[0].code, close_code::no_status);
}

TEST(close_handling, code_and_reason) {
    for (auto p : pieces) {
        auto ev = run(make_frame(close_payload(1000, "bye \xCE\xBA"), op(8)), p);
        ASSERT_EQ(ev.size(), 1u);
        EXPECT_EQ(ev[0].code, 1000);
        EXPECT_EQ(ev[0].data, "bye \xCE\xBA");
    }
}

TEST(close_handling, valid_codes) {
    for (std::uint16_t c :
         {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999}) {
        auto ev = run(make_frame(close_payload(c), op(8)), 0);
        ASSERT_EQ(ev.size(), 1u);
        EXPECT_EQ(ev[0].kind, event_kind::close) << c;
        EXPECT_EQ(ev[0].code, c);
    }
}

TEST(close_handling, invalid_codes_fail_with_1002) {
    for (std::uint16_t c : {0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535})
        expect_fail(make_frame(close_payload(c), op(8)), close_code::protocol_error);
}

TEST(close_handling, one_byte_body_fails) { expect_fail(make_frame("\x03", op(8)), close_code::protocol_error); }

TEST(close_handling, invalid_utf8_reason_fails_with_1007) {
    expect_fail(make_frame(close_payload(1000, "\xFF"), op(8)), close_code::invalid_payload);
}

TEST(close_handling, close_over_125_bytes_fails) {
    expect_fail(make_frame(close_payload(1000, text_of(124)), op(8)), close_code::protocol_error);
}

// --- 9: limits and performance ------------------------------------------

TEST(limits, message_at_the_limit_passes_and_one_byte_more_fails) {
    reader_options o;
    o.max_message_size = 1000;
    auto ev = run(make_frame(text_of(1000)), 0, o);
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].kind, event_kind::message);
    expect_fail(make_frame(text_of(1001)), close_code::message_too_big, o);
}

TEST(limits, too_big_is_seen_from_the_header_before_the_payload) {
    reader_options o;
    o.max_message_size = 1000;
    std::string wire = make_frame(text_of(100000));
    message_reader r(o);
    std::span<std::byte> in(reinterpret_cast<std::byte*>(wire.data()), 14);
    EXPECT_EQ(r.next(in).kind, event_kind::fail);
}

TEST(limits, fragments_add_up_to_the_limit) {
    reader_options o;
    o.max_message_size = 1000;
    std::string wire = make_frame(text_of(600), op(1, false)) + make_frame(text_of(600), op(0));
    expect_fail(wire, close_code::message_too_big, o);
}

TEST(limits, large_messages_in_many_fragments) {
    std::string wire, whole;
    for (int i = 0; i < 1000; ++i) {
        std::string part = text_of(1000 + static_cast<std::size_t>(i));
        whole += part;
        wire += make_frame(part, op(i == 0 ? 2 : 0, i == 999));
    }
    auto ev = run(wire, 4096);
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].data, whole);
}

// --- 12/13: permessage-deflate ------------------------------------------

namespace {

// A client's compressed message: deflated, tail dropped, RSV1 on the first frame.
std::string deflated_frames(deflater& d, std::string_view text, std::size_t fragments = 1, std::uint8_t opc = 1) {
    std::string packed;
    d.compress(std::as_bytes(std::span(text)), packed);
    std::string wire;
    std::size_t step = packed.size() / fragments + 1;
    for (std::size_t i = 0, pos = 0; i < fragments; ++i) {
        std::string part = packed.substr(std::min(pos, packed.size()), step);
        pos += step;
        frame_spec f = op(i == 0 ? opc : 0, i + 1 == fragments);
        f.rsv1 = i == 0;
        wire += make_frame(part, f);
    }
    return wire;
}

}  // namespace

TEST(permessage_deflate, messages_with_and_without_context_takeover) {
    for (bool no_takeover : {false, true}) {
        for (auto p : pieces) {
            deflater d(6, 8, 15, no_takeover);
            inflater inf(no_takeover);
            message_reader r({}, &inf);
            std::string wire;
            for (int i = 0; i < 5; ++i)
                wire += deflated_frames(d, "compress me, compress me, compress me " + std::to_string(i));
            wire += make_frame("plain");  // RSV1 clear: not compressed
            auto ev = feed(r, wire, p);
            ASSERT_EQ(ev.size(), 6u);
            for (int i = 0; i < 5; ++i)
                EXPECT_EQ(ev[static_cast<std::size_t>(i)].data,
                          "compress me, compress me, compress me " + std::to_string(i));
            EXPECT_EQ(ev[5].data, "plain");
        }
    }
}

TEST(permessage_deflate, fragmented_compressed_message) {
    deflater d(9, 8, 15, false);
    inflater inf(false);
    message_reader r({}, &inf);
    std::string text = text_of(50000);
    auto ev = feed(r, deflated_frames(d, text, 7, 2), 1000);
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_TRUE(ev[0].binary);
    EXPECT_EQ(ev[0].data, text);
}

TEST(permessage_deflate, small_windows) {
    for (int bits = 9; bits <= 15; ++bits) {
        deflater d(6, 8, bits, false);
        inflater inf(false);
        message_reader r({}, &inf);
        std::string text = text_of(20000) + text_of(3000);
        std::string wire = deflated_frames(d, text);
        wire += deflated_frames(d, text);
        auto ev = feed(r, wire, 0);
        ASSERT_EQ(ev.size(), 2u) << bits << " " << (ev.empty() ? "" : ev.back().data);
        EXPECT_EQ(ev[1].data, text);
    }
}

TEST(permessage_deflate, deflate_bomb_stops_at_the_limit) {
    deflater d(9, 9, 15, false);
    inflater inf(false);
    reader_options o;
    o.max_message_size = 1 << 20;
    message_reader r(o, &inf);
    std::string zeros(16 << 20, '\0');
    std::string wire = deflated_frames(d, zeros, 1, 2);
    EXPECT_LT(wire.size(), 64u * 1024);  // small on the wire
    auto ev = feed(r, wire, 0);
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].kind, event_kind::fail);
    EXPECT_EQ(ev[0].code, close_code::message_too_big);
}

TEST(permessage_deflate, rsv1_on_a_continuation_or_control_frame_fails) {
    inflater inf(false);
    reader_options o;
    frame_spec cont = op(0);
    cont.rsv1 = true;
    for (auto p : pieces) {
        message_reader r(o, &inf);
        auto ev = feed(r, make_frame("a", op(1, false)) + make_frame("b", cont), p);
        ASSERT_FALSE(ev.empty());
        EXPECT_EQ(ev.back().code, close_code::protocol_error);
    }
    frame_spec ping = op(9);
    ping.rsv1 = true;
    message_reader r(o, &inf);
    auto ev = feed(r, make_frame("", ping));
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].code, close_code::protocol_error);
}

TEST(permessage_deflate, garbage_deflate_data_fails) {
    inflater inf(false);
    message_reader r({}, &inf);
    frame_spec f;
    f.rsv1 = true;
    auto ev = feed(r, make_frame("\xFF\xFF\xFF\xFF garbage", f));
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].kind, event_kind::fail);
    EXPECT_EQ(ev[0].code, close_code::invalid_payload);
}

TEST(permessage_deflate, invalid_utf8_inside_compressed_text_fails) {
    deflater d(6, 8, 15, false);
    inflater inf(false);
    message_reader r({}, &inf);
    auto ev = feed(r, deflated_frames(d, "fine \xC3\x28 not"));
    ASSERT_EQ(ev.size(), 1u);
    EXPECT_EQ(ev[0].code, close_code::invalid_payload);
}
