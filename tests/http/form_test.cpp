#include <squall/http/form.hpp>

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <squall/http/url.hpp>

using namespace squall::http;

namespace {

using pairs = std::vector<std::pair<std::string, std::string>>;

std::string part(std::string_view disposition, std::string_view content, std::string_view extra = {}) {
    return "--b\r\nContent-Disposition: " + std::string(disposition) + "\r\n" + std::string(extra) + "\r\n" +
           std::string(content) + "\r\n";
}

}  // namespace

TEST(url, decode_escapes_and_plus) {
    EXPECT_EQ(url_decode("a%20b%2Fc"), "a b/c");
    EXPECT_EQ(url_decode("%e2%9C%93"), "\xe2\x9c\x93");  // either case of hex digit
    EXPECT_EQ(url_decode("a+b"), "a+b");                 // paths keep '+'
    EXPECT_EQ(url_decode("a+b", true), "a b");           // forms: '+' is a space
    EXPECT_EQ(url_decode("%2B", true), "+");
    EXPECT_EQ(url_decode("%00"), std::string(1, '\0'));
}

TEST(url, decode_keeps_malformed_escapes) {
    // Like Python's unquote: what is not %XX stays as it is.
    EXPECT_EQ(url_decode("%"), "%");
    EXPECT_EQ(url_decode("%4"), "%4");
    EXPECT_EQ(url_decode("100%"), "100%");
    EXPECT_EQ(url_decode("%zz%4g"), "%zz%4g");
    EXPECT_EQ(url_decode("%%41"), "%A");
    EXPECT_EQ(url_decode("%41%"), "A%");
}

TEST(url, encode_is_percent_encoding_of_all_but_unreserved) {
    EXPECT_EQ(url_encode("AZaz09-_.~"), "AZaz09-_.~");
    EXPECT_EQ(url_encode("a b/c?d=e&f+g"), "a%20b%2Fc%3Fd%3De%26f%2Bg");
    EXPECT_EQ(url_encode(std::string("\0\xff", 2)), "%00%FF");
    std::string all;
    for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
    EXPECT_EQ(url_decode(url_encode(all)), all);
    EXPECT_EQ(url_decode(url_encode(all), true), all);
}

TEST(url, parse_query_pairs) {
    EXPECT_EQ(parse_query("a=1&b=two+words&c=%26%3D"), (pairs{{"a", "1"}, {"b", "two words"}, {"c", "&="}}));
    EXPECT_EQ(parse_query(""), pairs{});
    // Empty values and names without '=' are kept (Tornado's
    // keep_blank_values); empty pieces between '&' are not.
    EXPECT_EQ(parse_query("a=&b&&c=3&"), (pairs{{"a", ""}, {"b", ""}, {"c", "3"}}));
    EXPECT_EQ(parse_query("=v"), (pairs{{"", "v"}}));
    // Repeated names keep every value, in order.
    EXPECT_EQ(parse_query("x=1&x=2&y=3&x=4"), (pairs{{"x", "1"}, {"x", "2"}, {"y", "3"}, {"x", "4"}}));
    EXPECT_EQ(parse_query("k=a=b"), (pairs{{"k", "a=b"}}));
    EXPECT_EQ(parse_query("k%20x+y=%zz"), (pairs{{"k x y", "%zz"}}));
    EXPECT_EQ(parse_query(";a=1"), (pairs{{";a", "1"}}));  // ';' separates nothing
}

TEST(form, multipart_boundary_from_content_type) {
    EXPECT_EQ(multipart_boundary("multipart/form-data; boundary=----abc"), "----abc");
    EXPECT_EQ(multipart_boundary("Multipart/Form-Data;charset=utf-8;  BOUNDARY=\"a b;c\""), "a b;c");
    EXPECT_FALSE(multipart_boundary("multipart/form-data"));
    EXPECT_FALSE(multipart_boundary("multipart/form-data; charset=utf-8"));
    EXPECT_FALSE(multipart_boundary("multipart/form-data; boundary="));
    EXPECT_FALSE(multipart_boundary("multipart/form-data; boundary=\"\""));
    EXPECT_FALSE(multipart_boundary("multipart/mixed; boundary=x"));
    EXPECT_FALSE(multipart_boundary("application/x-www-form-urlencoded"));
    EXPECT_TRUE(multipart_boundary("multipart/form-data; boundary=" + std::string(70, 'x')));
    EXPECT_FALSE(multipart_boundary("multipart/form-data; boundary=" + std::string(71, 'x')));
}

TEST(form, multipart_fields_and_files) {
    std::string body =
        part("form-data; name=\"title\"", "hello") +
        part("form-data; name=\"upload\"; filename=\"notes.txt\"", "line 1\r\nline 2", "Content-Type: text/plain\r\n") +
        part("form-data; name=blob; filename=raw.bin", std::string("\0\xff", 2)) + "--b--\r\n";
    auto f = parse_multipart(body, "b");
    ASSERT_TRUE(f) << f.error().message();
    EXPECT_EQ(f->fields, (pairs{{"title", "hello"}}));
    ASSERT_EQ(f->files.size(), 2u);
    EXPECT_EQ(f->files[0].first, "upload");
    EXPECT_EQ(f->files[0].second.filename, "notes.txt");
    EXPECT_EQ(f->files[0].second.content_type, "text/plain");
    EXPECT_EQ(f->files[0].second.body, "line 1\r\nline 2");  // CRLF inside content is content
    EXPECT_EQ(f->files[1].first, "blob");
    EXPECT_EQ(f->files[1].second.content_type, "application/unknown");  // Tornado's default
    EXPECT_EQ(f->files[1].second.body, std::string("\0\xff", 2));
}

TEST(form, multipart_quoted_names) {
    // ';' and '=' inside quotes belong to the value; \" and \\ are escapes,
    // a backslash before anything else is kept (browsers send it as is).
    std::string body = part(R"(form-data; name="a;b=c"; filename="x; y \"q\".txt")", "1") +
                       part(R"(form-data; filename="C:\dir\f.txt"; name="back\\slash")", "2") +
                       part(R"(form-data; name="empty"; filename="")", "3") + "--b--";
    auto f = parse_multipart(body, "b");
    ASSERT_TRUE(f) << f.error().message();
    ASSERT_EQ(f->files.size(), 2u);
    EXPECT_EQ(f->files[0].first, "a;b=c");
    EXPECT_EQ(f->files[0].second.filename, "x; y \"q\".txt");
    EXPECT_EQ(f->files[1].first, "back\\slash");
    EXPECT_EQ(f->files[1].second.filename, "C:\\dir\\f.txt");
    // An empty file name (a browser's empty file input) is a field, as in
    // Tornado.
    EXPECT_EQ(f->fields, (pairs{{"empty", "3"}}));
}

TEST(form, multipart_preamble_epilogue_and_empty_content) {
    std::string body = "This is the preamble.\r\n" + part("form-data; name=a", "") +
                       "--b\r\nContent-Disposition: form-data; name=z\r\n\r\n--b--\r\nepilogue --b\r\n";
    auto f = parse_multipart(body, "b");
    ASSERT_TRUE(f) << f.error().message();
    // The second part's headers end where the delimiter starts: no content.
    EXPECT_EQ(f->fields, (pairs{{"a", ""}, {"z", ""}}));
    auto none = parse_multipart("--b--", "b");
    ASSERT_TRUE(none);
    EXPECT_TRUE(none->fields.empty() && none->files.empty());
}

TEST(form, multipart_errors) {
    auto bad = [](std::string_view body, std::string_view boundary = "b") {
        return !parse_multipart(body, boundary).has_value();
    };
    std::string field = part("form-data; name=a", "1");
    EXPECT_TRUE(bad(field));          // no closing delimiter
    EXPECT_TRUE(bad(field + "--b"));  // the delimiter without "--"
    EXPECT_TRUE(bad("--b\r\nContent-Disposition: form-data; name=a\r\n\r\nvalue"));
    EXPECT_TRUE(bad("garbage, no multipart at all"));
    EXPECT_TRUE(bad(""));
    EXPECT_TRUE(bad(field + "--b--", "other"));                // another boundary
    EXPECT_TRUE(bad("--bX\r\n" + field.substr(5) + "--b--"));  // text after the delimiter
    EXPECT_TRUE(bad(part("form-data", "no name") + "--b--"));
    EXPECT_TRUE(bad(part("form-data; name=\"\"", "empty name") + "--b--"));
    EXPECT_TRUE(bad(part("attachment; name=a", "1") + "--b--"));
    EXPECT_TRUE(bad(part("form-data; name=a", "1", "No colon here\r\n") + "--b--"));
    EXPECT_TRUE(bad("--b\r\nContent-Disposition: form-data; name=a\r\n--b--"));  // no blank line
}

// Tornado's get_argument: control characters become spaces, then
// str.strip() whitespace goes from both ends (strip=True).
TEST(clean_argument, control_characters_and_whitespace_as_tornado) {
    EXPECT_EQ(clean_argument("  hello \t\r\n", true), "hello");
    EXPECT_EQ(clean_argument("  hello \t", false), "  hello \t");
    EXPECT_EQ(clean_argument(std::string("a\0b\x01\x08", 5), false), "a b  ");
    EXPECT_EQ(clean_argument("a\tb\nc\x0b\x0c\x0d", false), "a\tb\nc\x0b\x0c\x0d");  // kept inside
    EXPECT_EQ(clean_argument("a\x0e\x1f\x7f", false), "a  \x7f");
    EXPECT_EQ(clean_argument("\x1c\x1d x \x1e\x1f", true), "x");
    // Unicode whitespace as Python's str.strip(): NBSP, U+2003, U+3000, U+0085.
    EXPECT_EQ(clean_argument("\xc2\xa0\xe2\x80\x83x y\xe3\x80\x80\xc2\x85", true), "x y");
    EXPECT_EQ(clean_argument("\xc3\xa9t\xc3\xa9", true), "\xc3\xa9t\xc3\xa9");  // letters stay
    EXPECT_EQ(clean_argument("\xe2\x80\x8b", true), "\xe2\x80\x8b");            // U+200B is no space to Python
    EXPECT_EQ(clean_argument("", true), "");
    EXPECT_EQ(clean_argument(" \t ", true), "");
}
