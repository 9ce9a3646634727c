#include <squall/http/cookies.hpp>

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <squall/engine/crypto.hpp>

using namespace squall::http;

namespace {

using pairs = std::vector<std::pair<std::string, std::string>>;

pairs cookies(std::string_view field) {
    pairs out;
    for (auto [n, v] : parse_cookies(field)) out.emplace_back(n, v);
    return out;
}

// A value in the signed format with its HMAC, built by hand.
std::string sign(std::string_view secret, std::string to_sign) {
    return to_sign + squall::crypto::hex(squall::crypto::hmac_sha256(secret, to_sign));
}

constexpr std::int64_t t0 = 1'700'000'000;
constexpr std::int64_t day = 86'400;

}  // namespace

TEST(cookies, parse_pairs_trimmed_and_unquoted) {
    EXPECT_EQ(cookies("a=1; b=2"), (pairs{{"a", "1"}, {"b", "2"}}));
    EXPECT_EQ(cookies("  a = 1 ;\tb=\"two words\"  "), (pairs{{"a", "1"}, {"b", "two words"}}));
    EXPECT_EQ(cookies("a=x=y"), (pairs{{"a", "x=y"}}));  // only the first '=' splits
    EXPECT_EQ(cookies("a=\"\""), (pairs{{"a", ""}}));
    EXPECT_EQ(cookies("a=\""), (pairs{{"a", "\""}}));  // a lone quote stays
    EXPECT_EQ(cookies("a="), (pairs{{"a", ""}}));
}

TEST(cookies, parse_skips_what_is_not_a_pair) {
    EXPECT_EQ(cookies(""), pairs{});
    EXPECT_EQ(cookies(";;; ;"), pairs{});
    EXPECT_EQ(cookies("novalue; =nameless; ok=1"), (pairs{{"ok", "1"}}));
    EXPECT_EQ(cookies("a=1;;b=2;"), (pairs{{"a", "1"}, {"b", "2"}}));
    // Repeated names are all kept, in order (the first is the one a
    // browser sends for the most specific path).
    EXPECT_EQ(cookies("id=1; id=2"), (pairs{{"id", "1"}, {"id", "2"}}));
}

TEST(cookies, signed_value_round_trip_and_format) {
    std::string s = create_signed_value("secret", "session", "hello world", t0);
    EXPECT_TRUE(s.starts_with("2|1:0|10:1700000000|7:session|16:aGVsbG8gd29ybGQ=|")) << s;
    EXPECT_EQ(s.size(), s.rfind('|') + 1 + 64);  // hex HMAC-SHA256
    EXPECT_EQ(decode_signed_value("secret", "session", s, t0), "hello world");
    EXPECT_EQ(decode_signed_value("secret", "session", s, t0 + 30 * day), "hello world");
    std::string binary("\0\xff|:x", 5);
    auto b = decode_signed_value("k", "n", create_signed_value("k", "n", binary, t0), t0);
    EXPECT_EQ(b, binary);
    EXPECT_EQ(decode_signed_value("k", "", create_signed_value("k", "", "", t0), t0), "");
}

TEST(cookies, tampering_is_refused) {
    const std::string s = create_signed_value("secret", "session", "user=1", t0);
    EXPECT_FALSE(decode_signed_value("wrong secret", "session", s, t0));
    EXPECT_FALSE(decode_signed_value("secret", "other", s, t0));
    // The value, the name, the timestamp and the signature each changed.
    std::string value = s;
    value.replace(value.find("dXNlcj0x"), 8, "dXNlcj0y");  // user=2
    EXPECT_FALSE(decode_signed_value("secret", "session", value, t0));
    std::string name = s;
    name.replace(name.find("session"), 7, "sessioN");
    EXPECT_FALSE(decode_signed_value("secret", "sessioN", name, t0));
    std::string stamp = s;
    stamp.replace(stamp.find("1700000000"), 10, "1700000001");
    EXPECT_FALSE(decode_signed_value("secret", "session", stamp, t0));
    std::string sig = s;
    sig.back() = sig.back() == '0' ? '1' : '0';
    EXPECT_FALSE(decode_signed_value("secret", "session", sig, t0));
    EXPECT_FALSE(decode_signed_value("secret", "session", s.substr(0, s.size() - 1), t0));
    EXPECT_FALSE(decode_signed_value("secret", "session", s + "0", t0));
}

TEST(cookies, malformed_values_are_refused) {
    for (std::string_view bad :
         {"", "2|", "1|1:0|10:1700000000|1:n|4:dmFs|00", "2|1:0", "2|x:0|10:1700000000|1:n|",
          "2|99999999999999999999:0|", "2|18446744073709551615:0|1:n|", "2|-1:0|", "2|1:0|10:1700000000|1:n|4:dmFs"}) {
        EXPECT_FALSE(decode_signed_value("secret", "n", bad, t0)) << bad;
    }
    // Signed correctly, but the value is not base64 or the time no number.
    EXPECT_EQ(decode_signed_value("secret", "n", sign("secret", "2|1:0|10:1700000000|1:n|4:dmFs|"), t0), "val");
    EXPECT_FALSE(decode_signed_value("secret", "n", sign("secret", "2|1:0|10:1700000000|1:n|4:d!Fs|"), t0));
    EXPECT_FALSE(decode_signed_value("secret", "n", sign("secret", "2|1:0|10:17000000xx|1:n|4:dmFs|"), t0));
    EXPECT_FALSE(decode_signed_value("secret", "n", sign("secret", "2|1:0|0:|1:n|4:dmFs|"), t0));
}

TEST(cookies, expired_and_future_timestamps) {
    const std::string s = create_signed_value("secret", "n", "v", t0);
    EXPECT_TRUE(decode_signed_value("secret", "n", s, t0 + 31 * day));
    EXPECT_FALSE(decode_signed_value("secret", "n", s, t0 + 31 * day + 1));  // default max_age_days = 31
    EXPECT_TRUE(decode_signed_value("secret", "n", s, t0 + 2 * day, 2));
    EXPECT_FALSE(decode_signed_value("secret", "n", s, t0 + 2 * day + 1, 2));
    EXPECT_FALSE(decode_signed_value("secret", "n", s, t0 + 1, 0));
    // From the future: a little clock skew passes, more than 31 days not.
    EXPECT_TRUE(decode_signed_value("secret", "n", s, t0 - 60));
    EXPECT_TRUE(decode_signed_value("secret", "n", s, t0 - 31 * day));
    EXPECT_FALSE(decode_signed_value("secret", "n", s, t0 - 31 * day - 1));
}

namespace {

// Produced once with Debian 12's python3-tornado (6.2):
//   tornado.web.create_signed_value(secret, name, value, version=2,
//                                   clock=lambda: timestamp)
struct tornado_vector {
    const char* secret;
    const char* name;
    const char* value;  // UTF-8
    std::int64_t timestamp;
    const char* signed_value;
};

constexpr tornado_vector tornado_vectors[] = {
    {"squall interop secret", "session", R"({"user": 42})", 1700000000,
     "2|1:0|10:1700000000|7:session|16:eyJ1c2VyIjogNDJ9|"
     "01803ac488c9d8b7e75e868d13ce061616c0c8c79f1e4b346b4af1ffe5804efa"},
    {"k", "user", "h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93", 1714000000,
     "2|1:0|10:1714000000|4:user|24:aMOpbGxvIHfDtnJsZCDinJM=|"
     "7b07059df19f719dcd720b2168ceac527d28994f45e1c1f3952341532ce5b295"},
    {"another secret", "empty", "", 1700000123,
     "2|1:0|10:1700000123|5:empty|0:|e4915ba64783d42671267f23207b9eb6b6f37d395d9ffc59f713ab12d7621687"},
};

std::string to_hex(std::string_view s) {
    return squall::crypto::hex(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
}

// Tornado's decode_signed_value on `signed_value` at time `now`, run by
// Debian's python3: "ok:<hex of the value>", "none", or "skip" when
// tornado does not import.
std::string tornado_decode(std::string_view secret, std::string_view name, std::string_view signed_value,
                           std::int64_t now) {
    ::setenv("SQ_SECRET", std::string(secret).c_str(), 1);
    ::setenv("SQ_NAME", std::string(name).c_str(), 1);
    ::setenv("SQ_VALUE", std::string(signed_value).c_str(), 1);
    ::setenv("SQ_NOW", std::to_string(now).c_str(), 1);
    const char* cmd =
        "/usr/bin/python3 -c '\n"
        "import os, sys\n"
        "try:\n"
        "    import tornado.web\n"
        "except ImportError:\n"
        "    sys.stdout.write(\"skip\"); sys.exit(0)\n"
        "e = os.environ\n"
        "v = tornado.web.decode_signed_value(e[\"SQ_SECRET\"], e[\"SQ_NAME\"], e[\"SQ_VALUE\"],\n"
        "                                    max_age_days=31, clock=lambda: int(e[\"SQ_NOW\"]))\n"
        "sys.stdout.write(\"none\" if v is None else \"ok:\" + v.hex())\n"
        "' 2>&1";
    FILE* f = ::popen(cmd, "r");
    if (!f) return "popen failed";
    std::string out;
    std::array<char, 256> buf;
    while (std::size_t n = std::fread(buf.data(), 1, buf.size(), f)) out.append(buf.data(), n);
    ::pclose(f);
    return out;
}

}  // namespace

TEST(cookies, tornado_signed_values_decode_here) {
    for (const auto& v : tornado_vectors) {
        EXPECT_EQ(decode_signed_value(v.secret, v.name, v.signed_value, v.timestamp + 3600), v.value) << v.name;
        // And ours is byte for byte what Tornado made.
        EXPECT_EQ(create_signed_value(v.secret, v.name, v.value, v.timestamp), v.signed_value) << v.name;
        EXPECT_FALSE(decode_signed_value(v.secret, v.name, v.signed_value, v.timestamp + 32 * day)) << v.name;
        EXPECT_FALSE(decode_signed_value("not the secret", v.name, v.signed_value, v.timestamp)) << v.name;
    }
}

TEST(cookies, our_signed_values_decode_in_tornado) {
    if (std::FILE* probe = std::fopen("/usr/bin/python3", "r")) {
        std::fclose(probe);
    } else {
        GTEST_SKIP() << "no /usr/bin/python3";
    }
    const std::string value = "caf\xc3\xa9 | {\"id\": 7}";
    const std::string s = create_signed_value("interop", "session", value, t0);
    std::string got = tornado_decode("interop", "session", s, t0 + 60);
    if (got == "skip") GTEST_SKIP() << "python3-tornado is not installed";
    EXPECT_EQ(got, "ok:" + to_hex(value));
    std::string binary("\0\x01\xfe\xff", 4);
    EXPECT_EQ(tornado_decode("k", "b", create_signed_value("k", "b", binary, t0), t0), "ok:" + to_hex(binary));
    // Tornado refuses what it should: another name, a changed byte, age.
    EXPECT_EQ(tornado_decode("interop", "other", s, t0 + 60), "none");
    std::string changed = s;
    changed[changed.find("10:") + 3] = '2';
    EXPECT_EQ(tornado_decode("interop", "session", changed, t0 + 60), "none");
    EXPECT_EQ(tornado_decode("interop", "session", s, t0 + 32 * day), "none");
}

namespace {

// Tornado 6.2 run by Debian's python3 on `code` (environment SQ_*):
// what it printed, or "skip" when tornado does not import.
std::string tornado_run(const std::string& code) {
    ::setenv("SQ_CODE", code.c_str(), 1);
    const char* cmd =
        "/usr/bin/python3 -c '\n"
        "import os, sys\n"
        "try:\n"
        "    import tornado.web\n"
        "except ImportError:\n"
        "    sys.stdout.write(\"skip\"); sys.exit(0)\n"
        "exec(os.environ[\"SQ_CODE\"])\n"
        "' 2>&1";
    FILE* f = ::popen(cmd, "r");
    if (!f) return "popen failed";
    std::string out;
    std::array<char, 256> buf;
    while (std::size_t n = std::fread(buf.data(), 1, buf.size(), f)) out.append(buf.data(), n);
    ::pclose(f);
    return out;
}

const cookie_keys rotation{{1, "old secret"}, {2, "new secret"}};

}  // namespace

TEST(cookies, key_rotation_signs_with_the_version_and_checks_with_its_key) {
    std::string s = create_signed_value(rotation.at(2), "sid", "v", t0, 2);
    EXPECT_TRUE(s.starts_with("2|1:2|10:1700000000|3:sid|")) << s;
    EXPECT_EQ(signature_key_version(s), 2);
    EXPECT_EQ(decode_signed_value(rotation, "sid", s, t0), "v");
    // A value signed with the older key stays valid while the key is kept.
    std::string old = create_signed_value(rotation.at(1), "sid", "w", t0, 1);
    EXPECT_EQ(decode_signed_value(rotation, "sid", old, t0), "w");
    EXPECT_FALSE(decode_signed_value(cookie_keys{{2, "new secret"}}, "sid", old, t0));
    // The version field is signed: relabelling a value fails.
    std::string relabelled = old;
    relabelled[4] = '2';
    EXPECT_FALSE(decode_signed_value(rotation, "sid", relabelled, t0));
    EXPECT_FALSE(signature_key_version("2|x"));
}

TEST(cookies, key_rotation_interoperates_with_tornado) {
    std::string tornado_made = tornado_run(
        "s = {1: \"old secret\", 2: \"new secret\"}\n"
        "sys.stdout.write(tornado.web.create_signed_value(s, \"sid\", \"from tornado\", key_version=1,\n"
        "                 clock=lambda: 1700000000).decode())\n");
    if (tornado_made == "skip") GTEST_SKIP() << "python3-tornado is not installed";
    EXPECT_TRUE(tornado_made.starts_with("2|1:1|")) << tornado_made;
    EXPECT_EQ(decode_signed_value(rotation, "sid", tornado_made, t0 + 60), "from tornado");
    std::string ours = create_signed_value(rotation.at(2), "sid", "from squall", t0, 2);
    std::string back = tornado_run(
        "s = {1: \"old secret\", 2: \"new secret\"}\n"
        "v = tornado.web.decode_signed_value(s, \"sid\", \"" +
        ours +
        "\", clock=lambda: 1700000060)\n"
        "sys.stdout.write(repr(v) + \" \" + repr(tornado.web.get_signature_key_version(\"" +
        ours + "\")))\n");
    EXPECT_EQ(back, "b'from squall' 2");
}

TEST(cookies, set_cookie_field_in_tornado_spelling_and_order) {
    using namespace std::chrono;
    const system_clock::time_point now{seconds(t0)};  // Tue, 14 Nov 2023 22:13:20 GMT
    EXPECT_EQ(set_cookie_field("a", "1", {}, now), "a=1; Path=/");
    cookie_options all;
    all.domain = "example.com";
    all.path = "/app";
    all.expires_days = 30;
    all.max_age = 60;
    all.secure = true;
    all.httponly = true;
    all.samesite = "Lax";
    EXPECT_EQ(set_cookie_field("sid", "x", all, now),
              "sid=x; Domain=example.com; expires=Thu, 14 Dec 2023 22:13:20 GMT; HttpOnly; Max-Age=60; "
              "Path=/app; SameSite=Lax; Secure");
    cookie_options explicit_time;
    explicit_time.path = "";
    explicit_time.expires = now;
    explicit_time.expires_days = 1;  // ignored: expires wins, as in Tornado
    EXPECT_EQ(set_cookie_field("a", "", explicit_time, now), "a=; expires=Tue, 14 Nov 2023 22:13:20 GMT");
}

TEST(cookies, set_cookie_field_refuses_what_could_inject) {
    using namespace std::chrono;
    const system_clock::time_point now{seconds(t0)};
    for (const std::string& bad :
         std::vector<std::string>{"a b", "a;b", "a\r\nX: y", std::string("a\0b", 3), "a,b", "a\"b", "a\\b", "\x7f"})
        EXPECT_THROW(set_cookie_field("n", bad, {}, now), std::invalid_argument) << bad;
    for (std::string bad : {"", "a=b", "a b", "a;b", "a\n"})
        EXPECT_THROW(set_cookie_field(bad, "v", {}, now), std::invalid_argument) << bad;
    cookie_options o;
    o.path = "/; Domain=evil";
    EXPECT_THROW(set_cookie_field("n", "v", o, now), std::invalid_argument);
    o = {};
    o.domain = "a\r\nb";
    EXPECT_THROW(set_cookie_field("n", "v", o, now), std::invalid_argument);
    o = {};
    o.samesite = "lax; Secure";
    EXPECT_THROW(set_cookie_field("n", "v", o, now), std::invalid_argument);
    o.samesite = "Sometimes";
    EXPECT_THROW(set_cookie_field("n", "v", o, now), std::invalid_argument);
}

TEST(cookies, cookie_key_is_name_domain_and_path) {
    EXPECT_EQ(cookie_key("a=1; Path=/"), (cookie_id{"a", "", "/"}));
    EXPECT_EQ(cookie_key("a=1; domain=Example.COM; path=/x; HttpOnly"), (cookie_id{"a", "example.com", "/x"}));
    EXPECT_EQ(cookie_key("a=1"), (cookie_id{"a", "", ""}));
    EXPECT_FALSE(cookie_key("a=1; Path=/") == cookie_key("a=2; Path=/x"));
}
