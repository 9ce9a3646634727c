#include <squall/engine/crypto.hpp>

#include <gtest/gtest.h>

#include <vector>

using namespace squall::crypto;

TEST(crypto, hmac_sha256_matches_rfc_4231) {
    // RFC 4231 test case 2.
    EXPECT_EQ(hex(hmac_sha256("Jefe", "what do ya want for nothing?")),
              "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(crypto, pbkdf2_hmac_sha256_matches_known_vectors) {
    // The widely used PBKDF2-HMAC-SHA256 vectors (P="password", S="salt").
    EXPECT_EQ(hex(pbkdf2_hmac_sha256("password", "salt", 1)),
              "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b");
    EXPECT_EQ(hex(pbkdf2_hmac_sha256("password", "salt", 4096)),
              "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a");
}

TEST(crypto, sha1_matches_fips_180) { EXPECT_EQ(hex(sha1("abc")), "a9993e364706816aba3e25717850c26c9cd0d89d"); }

TEST(crypto, base64_round_trips_and_rejects_garbage) {
    EXPECT_EQ(base64_encode(""), "");
    EXPECT_EQ(base64_encode("f"), "Zg==");
    EXPECT_EQ(base64_encode("fo"), "Zm8=");
    EXPECT_EQ(base64_encode("foo"), "Zm9v");
    EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
    for (std::string s : std::vector<std::string>{"", "a", "ab", "abc", "abcd", std::string("\0\xff\x10", 3)})
        EXPECT_EQ(base64_decode(base64_encode(s)), s);
    EXPECT_EQ(base64_decode("Zg="), std::nullopt);
    EXPECT_EQ(base64_decode("Z=g="), std::nullopt);
    EXPECT_EQ(base64_decode("Zm9v!A=="), std::nullopt);
    EXPECT_EQ(base64_decode("=Zm9"), std::nullopt);
}

TEST(crypto, constant_time_equal_and_random) {
    EXPECT_TRUE(constant_time_equal("abc", "abc"));
    EXPECT_FALSE(constant_time_equal("abc", "abd"));
    EXPECT_FALSE(constant_time_equal("abc", "ab"));
    unsigned char a[32] = {}, b[32] = {};
    random_bytes(a, sizeof a);
    random_bytes(b, sizeof b);
    EXPECT_NE(std::string_view(reinterpret_cast<char*>(a), 32), std::string_view(reinterpret_cast<char*>(b), 32));
}
