#include <squall/http/detail/file_rules.hpp>

#include <gtest/gtest.h>

#include <squall/http/detail/compress.hpp>

namespace squall::http::detail {
namespace {

TEST(SafePath, PlainPathsPass) {
    auto p = make_safe_path("css/site.css", false);
    EXPECT_EQ(p.refuse, 0);
    EXPECT_EQ(p.rel, "css/site.css");
    EXPECT_FALSE(p.dir);
    auto d = make_safe_path("docs/", false);
    EXPECT_EQ(d.rel, "docs");
    EXPECT_TRUE(d.dir);
    EXPECT_EQ(make_safe_path("", false).rel, "");
    EXPECT_EQ(make_safe_path("caf%C3%A9.txt", false).rel, "caf\xC3\xA9.txt");
    EXPECT_EQ(make_safe_path("a%20b", false).rel, "a b");
    EXPECT_EQ(make_safe_path("a+b", false).rel, "a+b");  // '+' is no space in a path
}

TEST(SafePath, EverySpellingOfDotDotIsRefused) {
    for (const char* p : {"..",
                          "../etc/passwd",
                          "a/../../etc/passwd",
                          "%2e%2e/etc/passwd",
                          "%2E%2E%2Fetc%2Fpasswd",
                          "a/%2e%2e/%2e%2e/x",
                          "..%2f..%2fetc",
                          ".%2e/x",
                          "%2e./x",
                          "a/./b",
                          "./a",
                          "a//b",
                          "/etc/passwd",
                          "..\\..\\etc",
                          "a%5c..%5cb",
                          "%c0%ae%c0%ae/x",
                          "%c0%af",
                          "%e0%80%ae%e0%80%ae/x",
                          "%f0%80%80%ae",
                          "a%00.txt",
                          "a\x01",
                          "%ed%a0%80",
                          "%ff"}) {
        EXPECT_NE(make_safe_path(p, false).refuse, 0) << p;
    }
}

TEST(SafePath, DecodesExactlyOnce) {
    // "%252e%252e" is the name "%2e%2e", a harmless file name, never "..".
    auto p = make_safe_path("%252e%252e/x", false);
    EXPECT_EQ(p.refuse, 0);
    EXPECT_EQ(p.rel, "%2e%2e/x");
    EXPECT_EQ(make_safe_path("a%2", false).refuse, 400);
    EXPECT_EQ(make_safe_path("a%zz", false).refuse, 400);
}

TEST(SafePath, DotfilesOnlyWhenAllowed) {
    EXPECT_EQ(make_safe_path(".env", false).refuse, 404);
    EXPECT_EQ(make_safe_path("a/.git/config", false).refuse, 404);
    EXPECT_EQ(make_safe_path("%2egit/config", false).refuse, 404);
    EXPECT_EQ(make_safe_path(".well-known/x", true).rel, ".well-known/x");
    EXPECT_NE(make_safe_path("..", true).refuse, 0);
}

TEST(ContentType, FromMimeTypesWithCharsetForText) {
    EXPECT_EQ(content_type_for("index.html"), "text/html; charset=utf-8");
    EXPECT_EQ(content_type_for("a/site.CSS"), "text/css; charset=utf-8");
    EXPECT_EQ(content_type_for("app.js"), "text/javascript; charset=utf-8");
    EXPECT_EQ(content_type_for("x.json"), "application/json; charset=utf-8");
    EXPECT_EQ(content_type_for("logo.png"), "image/png");
    EXPECT_EQ(content_type_for("noext"), "application/octet-stream");
    EXPECT_EQ(content_type_for("weird.zzqq"), "application/octet-stream");
    EXPECT_TRUE(compressible_type("text/css; charset=utf-8"));
    EXPECT_TRUE(compressible_type("application/json"));
    EXPECT_FALSE(compressible_type("image/png"));
}

TEST(HttpDate, FormatsAndParsesAllThreeForms) {
    EXPECT_EQ(format_http_date(784111777), "Sun, 06 Nov 1994 08:49:37 GMT");
    EXPECT_EQ(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), 784111777);
    EXPECT_EQ(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), 784111777);
    EXPECT_EQ(parse_http_date("Sun Nov  6 08:49:37 1994"), 784111777);
    EXPECT_FALSE(parse_http_date("yesterday"));
    EXPECT_FALSE(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT junk"));
}

TEST(EntityTags, ListsStarAndWeakComparison) {
    EXPECT_TRUE(etag_list_matches("\"a\"", "\"a\"", true));
    EXPECT_TRUE(etag_list_matches("\"x\", \"a\"", "\"a\"", true));
    EXPECT_TRUE(etag_list_matches("*", "\"a\"", true));
    EXPECT_TRUE(etag_list_matches("W/\"a\"", "\"a\"", false));
    EXPECT_FALSE(etag_list_matches("W/\"a\"", "\"a\"", true));
    EXPECT_TRUE(etag_list_matches("\"a\"", "W/\"a\"", false));
    EXPECT_FALSE(etag_list_matches("\"a\"", "W/\"a\"", true));
    EXPECT_FALSE(etag_list_matches("\"b\"", "\"a\"", false));
    EXPECT_TRUE(etag_list_matches("\"x,y\", \"a\"", "\"a\"", false));  // a comma inside a tag
    EXPECT_FALSE(etag_list_matches("a", "\"a\"", false));              // unquoted: malformed
}

TEST(Ranges, SingleSuffixOpenClippedAndUnsatisfiable) {
    auto r = parse_range("bytes=0-99", 1000);
    ASSERT_EQ(r.what, range_request::satisfiable);
    EXPECT_EQ(r.ranges[0].first, 0u);
    EXPECT_EQ(r.ranges[0].length, 100u);
    r = parse_range("bytes=-100", 1000);
    EXPECT_EQ(r.ranges[0].first, 900u);
    EXPECT_EQ(r.ranges[0].length, 100u);
    r = parse_range("bytes=-5000", 1000);
    EXPECT_EQ(r.ranges[0].first, 0u);
    EXPECT_EQ(r.ranges[0].length, 1000u);
    r = parse_range("bytes=990-", 1000);
    EXPECT_EQ(r.ranges[0].length, 10u);
    r = parse_range("bytes=990-5000", 1000);
    EXPECT_EQ(r.ranges[0].length, 10u);
    EXPECT_EQ(parse_range("bytes=1000-", 1000).what, range_request::unsatisfiable);
    EXPECT_EQ(parse_range("bytes=-0", 1000).what, range_request::unsatisfiable);
    r = parse_range("bytes=0-0, 1000-2000, -1", 1000);  // the unsatisfiable one drops out
    ASSERT_EQ(r.ranges.size(), 2u);
    EXPECT_EQ(r.ranges[1].first, 999u);
}

TEST(Ranges, MalformedFieldsAreIgnored) {
    for (const char* f : {"bytes=5-1", "bytes=abc", "bytes=-", "items=0-1", "bytes=1-2-3", "bytes=+1-2",
                          "bytes= ", "bytes=0x1-2", "bytes=99999999999999999999-"}) {
        EXPECT_EQ(parse_range(f, 1000).what, range_request::none) << f;
    }
    std::string many = "bytes=0-0";
    for (int i = 1; i < 20; ++i) many += "," + std::to_string(i) + "-" + std::to_string(i);
    EXPECT_EQ(parse_range(many, 1000).what, range_request::none);
}

TEST(Conditionals, Rfc9110Order) {
    validators v{"\"t\"", 1000};
    auto eval = [&](request_conditionals c) { return evaluate(c, v); };
    EXPECT_EQ(eval({"\"other\"", {}, {}, {}, true}), precondition::failed);
    EXPECT_EQ(eval({"\"t\"", {}, {}, {}, true}), precondition::proceed);
    EXPECT_EQ(eval({"W/\"t\"", {}, {}, {}, true}), precondition::failed);  // If-Match is strong
    EXPECT_EQ(eval({{}, {}, {}, format_http_date(999), true}), precondition::failed);
    EXPECT_EQ(eval({{}, {}, {}, format_http_date(1000), true}), precondition::proceed);
    EXPECT_EQ(eval({{}, "W/\"t\"", {}, {}, true}), precondition::not_modified);
    EXPECT_EQ(eval({{}, "*", {}, {}, true}), precondition::not_modified);
    EXPECT_EQ(eval({{}, "\"t\"", {}, {}, false}), precondition::failed);  // not GET/HEAD: 412
    std::string later = format_http_date(1000), earlier = format_http_date(999);
    EXPECT_EQ(eval({{}, {}, later, {}, true}), precondition::not_modified);
    EXPECT_EQ(eval({{}, {}, earlier, {}, true}), precondition::proceed);
    // If-None-Match wins over If-Modified-Since.
    EXPECT_EQ(eval({{}, "\"x\"", later, {}, true}), precondition::proceed);
    EXPECT_EQ(eval({{}, {}, "garbage", {}, true}), precondition::proceed);
    EXPECT_TRUE(if_range_holds("\"t\"", v));
    EXPECT_FALSE(if_range_holds("W/\"t\"", v));
    EXPECT_TRUE(if_range_holds(later, v));
    EXPECT_FALSE(if_range_holds(earlier, v));
}

TEST(AcceptEncoding, QValues) {
    EXPECT_TRUE(accepts_gzip("gzip"));
    EXPECT_TRUE(accepts_gzip("deflate, gzip;q=0.5"));
    EXPECT_TRUE(accepts_gzip("x-gzip"));
    EXPECT_FALSE(accepts_gzip("gzip;q=0"));
    EXPECT_FALSE(accepts_gzip("br"));
    EXPECT_TRUE(accepts_gzip("*"));
    EXPECT_FALSE(accepts_gzip("*;q=0"));
    EXPECT_FALSE(accepts_gzip("gzip;q=0, *"));
    EXPECT_FALSE(accepts_gzip(""));
    EXPECT_TRUE(accepts_gzip("GZIP ; Q=1.0"));
}

}  // namespace
}  // namespace squall::http::detail
