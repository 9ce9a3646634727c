// http/request.hpp: iequals (compared eight bytes at a time) against the
// byte-by-byte definition, for every pair of bytes at every place in a
// word and across word ends, and header_list lookups.
#include <squall/http/request.hpp>

#include <gtest/gtest.h>

#include <string>

using namespace squall::http;

namespace {

bool reference_iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        auto lower = [](unsigned char c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; };
        if (lower(static_cast<unsigned char>(a[i])) != lower(static_cast<unsigned char>(b[i]))) return false;
    }
    return true;
}

}  // namespace

TEST(iequals, agrees_with_the_bytewise_definition_for_every_byte_pair) {
    // Lengths below, at and past one and two words; the pair at the first,
    // a middle and the last place; the other bytes equal letters.
    for (std::size_t len : {1u, 2u, 3u, 4u, 5u, 7u, 8u, 9u, 12u, 15u, 16u, 17u}) {
        for (std::size_t at : {std::size_t{0}, len / 2, len - 1}) {
            for (int x = 0; x < 256; ++x) {
                for (int y = 0; y < 256; ++y) {
                    std::string a(len, 'k'), b(len, 'K');
                    a[at] = static_cast<char>(x);
                    b[at] = static_cast<char>(y);
                    ASSERT_EQ(iequals(a, b), reference_iequals(a, b))
                        << "len " << len << " at " << at << " bytes " << x << ", " << y;
                }
            }
        }
    }
}

TEST(iequals, common_cases) {
    EXPECT_TRUE(iequals("", ""));
    EXPECT_TRUE(iequals("Content-Type", "content-type"));
    EXPECT_TRUE(iequals("TRANSFER-ENCODING", "transfer-encoding"));
    EXPECT_FALSE(iequals("content-type", "content-typf"));
    EXPECT_FALSE(iequals("content-type", "content-typ"));
    // '@' and '`', '[' and '{' differ by 0x20 but are not letters.
    EXPECT_FALSE(iequals("@", "`"));
    EXPECT_FALSE(iequals("x-[aaaaaaaaa", "x-{aaaaaaaaa"));
    EXPECT_FALSE(iequals(std::string_view("a\0b", 3), std::string_view("a b", 3)));
    // Bytes past ASCII: never folded.
    EXPECT_FALSE(iequals("\xc1", "\xe1"));
    EXPECT_TRUE(iequals("\xc1", "\xc1"));
}

TEST(header_list, get_and_count_ignore_case) {
    header_list h;
    h.add("Host", "a");
    h.add("X-Long-Header-Name", "1");
    h.add("x-long-header-name", "2");
    EXPECT_EQ(h.get("host"), "a");
    EXPECT_EQ(h.get("X-LONG-HEADER-NAME"), "1");
    EXPECT_EQ(h.count("x-long-header-name"), 2u);
    EXPECT_FALSE(h.get("x-long-header-nam"));
}
