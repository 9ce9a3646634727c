// gunzip(): gzip request bodies inflated under a limit (http/detail/gzip.hpp).
// End to end through a server: tests/http/bad_input_test.cpp.
#include <squall/http/detail/gzip.hpp>

#include <gtest/gtest.h>
#include <zlib.h>

#include "tests/support/gzip.hpp"
#include <string>

using namespace squall::http::detail;

using squall::testing::gzip;

namespace {

std::string zlib_wrapped(std::string_view data) {
    uLongf n = compressBound(data.size());
    std::string out(n, '\0');
    EXPECT_EQ(
        compress(reinterpret_cast<Bytef*>(out.data()), &n, reinterpret_cast<const Bytef*>(data.data()), data.size()),
        Z_OK);
    out.resize(n);
    return out;
}

}  // namespace

TEST(http_gzip, inflates_a_body) {
    std::string text;
    for (int i = 0; i < 10000; ++i) text += std::to_string(i * 7919 % 10007) + ",";
    std::string out = "stale";
    EXPECT_EQ(gunzip(gzip(text), 1 << 20, out), inflate_status::ok);
    EXPECT_EQ(out, text);
    EXPECT_EQ(gunzip(gzip(""), 10, out), inflate_status::ok);
    EXPECT_EQ(out, "");
    EXPECT_EQ(gunzip(gzip(text, 0), 1 << 20, out), inflate_status::ok);  // stored blocks
    EXPECT_EQ(out, text);
}

TEST(http_gzip, inflates_several_members_in_a_row) {
    std::string out;
    EXPECT_EQ(gunzip(gzip("first ") + gzip("second"), 100, out), inflate_status::ok);
    EXPECT_EQ(out, "first second");
}

TEST(http_gzip, limit_is_inclusive) {
    std::string out;
    EXPECT_EQ(gunzip(gzip(std::string(1000, 'a')), 1000, out), inflate_status::ok);
    EXPECT_EQ(out.size(), 1000u);
    EXPECT_EQ(gunzip(gzip(std::string(1001, 'a')), 1000, out), inflate_status::too_large);
    EXPECT_EQ(gunzip(gzip("a") + gzip(std::string(1000, 'a')), 1000, out), inflate_status::too_large);
}

TEST(http_gzip, deflate_bomb_stops_at_the_limit_without_inflating_it_all) {
    // 64 MiB of zeros in about 64 KiB; the limit is 1 MiB.
    std::string bomb = gzip(std::string(64u << 20, '\0'));
    ASSERT_LT(bomb.size(), 128u * 1024);
    constexpr std::uint64_t limit = 1u << 20;
    std::string out;
    EXPECT_EQ(gunzip(bomb, limit, out), inflate_status::too_large);
    // What was inflated stops one byte past the limit; the buffer never
    // grew anywhere near the 64 MiB the bomb expands to.
    EXPECT_EQ(out.size(), limit + 1);
    EXPECT_LE(out.capacity(), 3 * limit);
}

TEST(http_gzip, corrupt_input_is_refused) {
    std::string z = gzip(std::string(5000, 'q') + "tail");
    std::string out;
    EXPECT_EQ(gunzip("", 100, out), inflate_status::corrupt);
    EXPECT_EQ(gunzip("plain text, not gzip", 100, out), inflate_status::corrupt);
    EXPECT_EQ(gunzip(zlib_wrapped("zlib, not gzip"), 100, out), inflate_status::corrupt);
    EXPECT_EQ(gunzip(z.substr(0, z.size() - 1), 1 << 20, out), inflate_status::corrupt);  // cut short
    EXPECT_EQ(gunzip(z.substr(0, 10), 1 << 20, out), inflate_status::corrupt);            // header only
    std::string bad_crc = z;
    bad_crc[bad_crc.size() - 8] ^= 1;  // the CRC-32 of the trailer
    EXPECT_EQ(gunzip(bad_crc, 1 << 20, out), inflate_status::corrupt);
    std::string bad_size = z;
    bad_size[bad_size.size() - 4] ^= 1;  // ISIZE
    EXPECT_EQ(gunzip(bad_size, 1 << 20, out), inflate_status::corrupt);
    EXPECT_EQ(gunzip(z + "junk after the member", 1 << 20, out), inflate_status::corrupt);
    std::string flipped = z;
    flipped[12] ^= 0xff;
    EXPECT_EQ(gunzip(flipped, 1 << 20, out), inflate_status::corrupt);
}

TEST(http_gzip, content_coding_names) {
    EXPECT_TRUE(is_gzip_coding("gzip"));
    EXPECT_TRUE(is_gzip_coding(" GZip "));
    EXPECT_TRUE(is_gzip_coding("x-gzip"));
    EXPECT_FALSE(is_gzip_coding("deflate"));
    EXPECT_FALSE(is_gzip_coding("gzip, br"));
    EXPECT_FALSE(is_gzip_coding(""));
}
