// Incremental UTF-8 validation (ws/utf8.hpp) against the definition of
// RFC 3629: every code point's encoding passes, in any split; overlong
// forms, surrogates, code points past U+10FFFF, stray continuation bytes
// and truncated sequences fail, and they fail at the first bad byte.
#include <gtest/gtest.h>

#include <string>

#include <squall/ws/utf8.hpp>

using namespace squall::ws;

namespace {

std::string encode(char32_t c) {
    std::string s;
    if (c < 0x80) {
        s += static_cast<char>(c);
    } else if (c < 0x800) {
        s += static_cast<char>(0xC0 | (c >> 6));
        s += static_cast<char>(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
        s += static_cast<char>(0xE0 | (c >> 12));
        s += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
        s += static_cast<char>(0x80 | (c & 0x3F));
    } else {
        s += static_cast<char>(0xF0 | (c >> 18));
        s += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
        s += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
        s += static_cast<char>(0x80 | (c & 0x3F));
    }
    return s;
}

}  // namespace

TEST(utf8, every_scalar_value_passes_and_every_surrogate_fails) {
    for (char32_t c = 0; c <= 0x10FFFF; c += (c < 0x20000 ? 1 : 97)) {
        bool surrogate = c >= 0xD800 && c <= 0xDFFF;
        EXPECT_EQ(valid_utf8(encode(c)), !surrogate) << std::hex << static_cast<unsigned>(c);
    }
    EXPECT_TRUE(valid_utf8(encode(0x10FFFF)));
}

TEST(utf8, invalid_forms) {
    for (std::string bad :
         {std::string("\xC0\x80"), std::string("\xC1\xBF"), std::string("\xE0\x80\x80"), std::string("\xE0\x9F\xBF"),
          std::string("\xF0\x80\x80\x80"), std::string("\xF0\x8F\xBF\xBF"), std::string("\xF4\x90\x80\x80"),
          std::string("\xF5\x80\x80\x80"), std::string("\xFE"), std::string("\xFF"), std::string("\x80"),
          std::string("\xBF"), std::string("\xED\xBF\xBF"), std::string("\xC2\x41"), std::string("\xE2\x82\x41")})
        EXPECT_FALSE(valid_utf8(bad)) << bad.size();
}

TEST(utf8, truncated_sequence_is_incomplete_not_failed) {
    utf8_validator v;
    EXPECT_TRUE(v.feed("ab\xE2\x82"));
    EXPECT_FALSE(v.complete());
    EXPECT_FALSE(v.failed());
    EXPECT_TRUE(v.feed("\xAC"));
    EXPECT_TRUE(v.complete());
}

TEST(utf8, any_split_gives_the_whole_string_answer) {
    std::string good =
        "Hello-\xC2\xB5@\xC3\x9F\xC3\xB6\xC3\xA4\xC3\xBC\xC3\xA0\xC3\xA1-UTF-8!! \xF0\x9F\x98\x80 plenty of ascii to "
        "pass eight at a time";
    for (std::size_t a = 0; a <= good.size(); ++a) {
        utf8_validator v;
        EXPECT_TRUE(v.feed(good.substr(0, a)));
        EXPECT_TRUE(v.feed(good.substr(a)));
        EXPECT_TRUE(v.complete()) << a;
    }
}

TEST(utf8, fails_at_the_first_bad_byte_and_stays_failed) {
    utf8_validator v;
    EXPECT_TRUE(v.feed("\xCE\xBA\xE1\xBD\xB9\xCF\x83\xCE\xBC\xCE\xB5"));
    EXPECT_FALSE(v.feed("\xED\xA0\x80"));  // a surrogate: fails on its second byte
    EXPECT_TRUE(v.failed());
    EXPECT_FALSE(v.feed("plain ascii"));
    v.reset();
    EXPECT_TRUE(v.feed("plain ascii"));
}
