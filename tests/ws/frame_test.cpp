// Frame headers and masking (ws/frame.hpp): every length encoding both
// ways, and word-at-a-time masking equal to the byte-by-byte definition of
// RFC 6455 5.3 at every offset and length.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <squall/ws/frame.hpp>

using namespace squall::ws;

TEST(frame_header, write_then_parse_every_length_class) {
    mask_key mask{1, 2, 3, 4};
    for (std::uint64_t len : {0ull, 1ull, 125ull, 126ull, 65535ull, 65536ull, 1ull << 40}) {
        for (bool masked : {false, true}) {
            std::byte buf[max_header_size];
            std::size_t n = write_header(buf, opcode::binary, true, true, len, masked ? &mask : nullptr);
            EXPECT_EQ(n, (len < 126 ? 2u : len <= 65535 ? 4u : 10u) + (masked ? 4u : 0u));
            frame_header h;
            for (std::size_t cut = 0; cut < n; ++cut)
                EXPECT_EQ(parse_header(std::span<const std::byte>(buf, cut), h), parse_status::need_more);
            ASSERT_EQ(parse_header(std::span<const std::byte>(buf, n), h), parse_status::ok);
            EXPECT_EQ(h.length, len);
            EXPECT_EQ(h.header_size, n);
            EXPECT_TRUE(h.fin);
            EXPECT_TRUE(h.rsv1);
            EXPECT_FALSE(h.rsv2);
            EXPECT_EQ(h.op(), opcode::binary);
            EXPECT_EQ(h.masked, masked);
            if (masked) {
                EXPECT_EQ(h.mask, mask);
            }
        }
    }
}

TEST(frame_header, sixty_four_bit_length_with_top_bit_is_refused) {
    std::byte buf[10] = {std::byte{0x82}, std::byte{127}, std::byte{0x80}};
    frame_header h;
    EXPECT_EQ(parse_header(buf, h), parse_status::bad_length);
}

TEST(masking, word_at_a_time_equals_byte_by_byte_at_any_offset) {
    mask_key mask{0xA1, 0xB2, 0xC3, 0xD4};
    std::vector<std::byte> data(300);
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = std::byte(i * 7 + 3);
    for (std::size_t off = 0; off < 9; ++off) {
        for (std::size_t len : {0u, 1u, 7u, 8u, 15u, 16u, 17u, 64u, 291u}) {
            std::vector<std::byte> a(data.begin() + static_cast<long>(off),
                                     data.begin() + static_cast<long>(off + len));
            std::vector<std::byte> want = a;
            for (std::size_t i = 0; i < len; ++i) want[i] ^= std::byte{mask[(off + i) % 4]};
            apply_mask(a, mask, off);
            EXPECT_EQ(a, want) << off << " " << len;
            std::vector<std::byte> c(len);
            copy_masked(c.data(), data.data() + off, len, mask, off);
            EXPECT_EQ(c, want);
        }
    }
}

TEST(masking, unmasking_in_pieces_equals_unmasking_whole) {
    mask_key mask{9, 8, 7, 6};
    std::vector<std::byte> whole(1000, std::byte{0x5A});
    auto pieces = whole;
    apply_mask(whole, mask);
    std::size_t pos = 0;
    for (std::size_t step : {1u, 3u, 17u, 100u, 879u}) {
        apply_mask(std::span(pieces).subspan(pos, step), mask, pos);
        pos += step;
    }
    EXPECT_EQ(pieces, whole);
}

TEST(close_codes, which_codes_a_peer_may_send) {
    for (std::uint16_t c : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4999})
        EXPECT_TRUE(valid_close_code(c)) << c;
    for (std::uint16_t c : {0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000}) EXPECT_FALSE(valid_close_code(c)) << c;
}
