// The HTTP grammar module (http/detail/grammar.hpp, date.hpp) on its edge
// cases: empty and all-whitespace input, tabs, quoted-pairs, unterminated
// quotes, overflow, signs, and list elements that differ.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include <squall/http/detail/date.hpp>
#include <squall/http/detail/grammar.hpp>

using namespace squall::http::detail;

namespace {

std::vector<std::string> elements(std::string_view list) {
    std::vector<std::string> out;
    for (std::string_view e; next_element(list, e);) out.emplace_back(e);
    return out;
}

std::vector<std::string> params(std::string_view element, std::string* value = nullptr) {
    std::string_view rest;
    std::string_view v = element_value(element, rest);
    if (value) *value = std::string(v);
    std::vector<std::string> out;
    for (parameter p; next_parameter(rest, p);)
        out.push_back(std::string(p.name) + (p.has_value ? "=" + std::string(p.value) : ""));
    return out;
}

using strings = std::vector<std::string>;

}  // namespace

TEST(grammar, token_characters) {
    for (char c : std::string_view("!#$%&'*+-.^_`|~09azAZ")) EXPECT_TRUE(is_tchar(c)) << c;
    for (char c : std::string_view("\"(),/:;<=>?@[\\]{} \t\x7f\x80\xff")) EXPECT_FALSE(is_tchar(c)) << int(c);
    EXPECT_FALSE(is_tchar('\0'));
    EXPECT_TRUE(is_token("Content-Type"));
    EXPECT_FALSE(is_token(""));
    EXPECT_FALSE(is_token("a b"));
    EXPECT_FALSE(is_token(std::string_view("a\0b", 3)));
}

TEST(grammar, trim_takes_spaces_and_tabs_only) {
    EXPECT_EQ(trim_ows(""), "");
    EXPECT_EQ(trim_ows(" \t \t"), "");
    EXPECT_EQ(trim_ows("\t a b \t"), "a b");
    EXPECT_EQ(trim_ows("\r\na\n"), "\r\na\n");  // CR and LF are no OWS
    EXPECT_EQ(trim_ows("\va"), "\va");
}

TEST(grammar, field_values_refuse_line_breaks_and_nul) {
    EXPECT_TRUE(safe_field_value("a\tb c"));
    EXPECT_TRUE(safe_field_value(""));
    EXPECT_FALSE(safe_field_value("a\r\nX-Injected: 1"));
    EXPECT_FALSE(safe_field_value("a\nb"));
    EXPECT_FALSE(safe_field_value(std::string_view("a\0", 2)));
}

TEST(grammar, lists_skip_empty_elements) {
    EXPECT_EQ(elements(""), strings{});
    EXPECT_EQ(elements(" \t "), strings{});
    EXPECT_EQ(elements(",,, ,\t,"), strings{});
    EXPECT_EQ(elements("a"), strings{"a"});
    EXPECT_EQ(elements(" a ,\tb\t, , c,"), (strings{"a", "b", "c"}));
    EXPECT_EQ(elements(", gzip ,chunked"), (strings{"gzip", "chunked"}));
}

TEST(grammar, list_commas_inside_quotes_do_not_split) {
    EXPECT_EQ(elements(R"("a,b", c)"), (strings{R"("a,b")", "c"}));
    EXPECT_EQ(elements(R"(x;p="1,\",2", y)"), (strings{R"(x;p="1,\",2")", "y"}));
    // An unterminated quote runs to the end of the field.
    EXPECT_EQ(elements(R"(a, "b, c)"), (strings{"a", R"("b, c)"}));
}

TEST(grammar, quoted_strings) {
    EXPECT_EQ(quoted_string_length(R"("")"), 2u);
    EXPECT_EQ(quoted_string_length(R"("abc" rest)"), 5u);
    EXPECT_EQ(quoted_string_length(R"("a\"b")"), 6u);
    EXPECT_EQ(quoted_string_length("\"a\tb\""), 5u);
    EXPECT_EQ(quoted_string_length(R"(abc)"), std::string_view::npos);
    EXPECT_EQ(quoted_string_length(R"("abc)"), std::string_view::npos);
    EXPECT_EQ(quoted_string_length(R"("abc\")"), std::string_view::npos);  // the last quote is escaped
    EXPECT_EQ(quoted_string_length("\"a\\"), std::string_view::npos);      // a trailing backslash
    EXPECT_EQ(quoted_string_length("\"a\nb\""), std::string_view::npos);   // no control bytes
    EXPECT_EQ(quoted_string_length("\"a\\\x01\""), std::string_view::npos);
    EXPECT_EQ(quoted_string_length(""), std::string_view::npos);
}

TEST(grammar, unquote_reads_quoted_pairs) {
    EXPECT_EQ(unquote(R"("")"), "");
    EXPECT_EQ(unquote(R"("a\"b\\c\d")"), R"(a"b\cd)");
    EXPECT_FALSE(unquote(R"("abc)"));
    EXPECT_FALSE(unquote(R"("a" b)"));  // not the whole input
    EXPECT_FALSE(unquote(R"(abc)"));
    EXPECT_FALSE(unquote(R"(")"));
    // Browsers' form-data convention: only \" and \\ are escapes.
    EXPECT_EQ(unquote(R"("C:\dir\f.txt")", quoted_pairs::quote_and_backslash), R"(C:\dir\f.txt)");
    EXPECT_EQ(unquote(R"("a\"b\\c")", quoted_pairs::quote_and_backslash), R"(a"b\c)");
}

TEST(grammar, quote_escapes_and_round_trips) {
    EXPECT_EQ(quote(""), R"("")");
    EXPECT_EQ(quote(R"(a"b\c)"), R"("a\"b\\c")");
    EXPECT_EQ(unquote(*quote("x \" \\ \t y")), "x \" \\ \t y");
    EXPECT_FALSE(quote("line\r\nbreak"));
    EXPECT_FALSE(quote("del\x7f"));
}

TEST(grammar, parameters) {
    std::string v;
    EXPECT_EQ(params("gzip", &v), strings{});
    EXPECT_EQ(v, "gzip");
    EXPECT_EQ(params(" text/html ; charset=utf-8 ;q=0.5", &v), (strings{"charset=utf-8", "q=0.5"}));
    EXPECT_EQ(v, "text/html");
    // ';' inside a quoted value belongs to the value.
    EXPECT_EQ(params(R"(form-data; name="a;b"; filename="x\";y")"), (strings{R"(name="a;b")", R"(filename="x\";y")"}));
    // Empty segments come back with empty names; a name without '='.
    EXPECT_EQ(params("x;;a;", &v), (strings{"", "a", ""}));
    EXPECT_EQ(params("x; server_no_context_takeover ; b = 1"), (strings{"server_no_context_takeover", "b=1"}));
    // A list of pairs with no leading value (Forwarded).
    std::string_view pairs = "for=1.2.3.4;proto=https";
    parameter p;
    ASSERT_TRUE(next_parameter(pairs, p));
    EXPECT_EQ(p.name, "for");
    EXPECT_EQ(p.value, "1.2.3.4");
    ASSERT_TRUE(next_parameter(pairs, p));
    EXPECT_EQ(p.name, "proto");
    EXPECT_FALSE(next_parameter(pairs, p));
}

TEST(grammar, parameter_values) {
    EXPECT_EQ(parameter_value("15"), "15");
    EXPECT_EQ(parameter_value(R"("15")"), "15");
    EXPECT_EQ(parameter_value(R"("a\"b")"), "a\"b");
    EXPECT_FALSE(parameter_value(""));
    EXPECT_FALSE(parameter_value("a b"));
    EXPECT_FALSE(parameter_value(R"("open)"));
}

TEST(grammar, decimals_are_plain) {
    EXPECT_EQ(parse_decimal("0"), 0u);
    EXPECT_EQ(parse_decimal("0042"), 42u);
    EXPECT_EQ(parse_decimal("18446744073709551615"), UINT64_MAX);
    EXPECT_FALSE(parse_decimal("18446744073709551616"));  // 2^64
    EXPECT_FALSE(parse_decimal("99999999999999999999999"));
    EXPECT_FALSE(parse_decimal(""));
    EXPECT_FALSE(parse_decimal("+1"));
    EXPECT_FALSE(parse_decimal("-1"));
    EXPECT_FALSE(parse_decimal(" 1"));
    EXPECT_FALSE(parse_decimal("1 "));
    EXPECT_FALSE(parse_decimal("0x10"));
    EXPECT_FALSE(parse_decimal("1Z"));
    EXPECT_FALSE(parse_decimal("5, 6"));  // a list that differs
    EXPECT_FALSE(parse_decimal("5,5"));   // and one that does not: the writer's value must be one number
}

TEST(grammar, chunk_sizes) {
    std::size_t used = 0;
    EXPECT_EQ(parse_chunk_size("0", &used), 0u);
    EXPECT_EQ(used, 1u);
    EXPECT_EQ(parse_chunk_size("1aF;ext=1", &used), 0x1afu);
    EXPECT_EQ(used, 3u);
    EXPECT_EQ(parse_chunk_size("ffffffffffffffff", &used), UINT64_MAX);
    EXPECT_EQ(used, 16u);
    EXPECT_EQ(parse_chunk_size("000000000000000000001"), 1u);  // leading zeros are no overflow
    EXPECT_FALSE(parse_chunk_size("10000000000000000"));       // 2^64
    EXPECT_FALSE(parse_chunk_size(""));
    EXPECT_FALSE(parse_chunk_size("+1"));
    EXPECT_FALSE(parse_chunk_size("-1"));
    EXPECT_FALSE(parse_chunk_size(" 1"));
    EXPECT_FALSE(parse_chunk_size(";ext"));
    // "0x10" reads as the size 0 followed by 'x': the caller sees the
    // line does not end after the size.
    EXPECT_EQ(parse_chunk_size("0x10", &used), 0u);
    EXPECT_EQ(used, 1u);
}

TEST(grammar, chunk_headers) {
    std::string s;
    append_chunk_header(s, 0);
    append_chunk_header(s, 255);
    append_chunk_header(s, UINT64_MAX);
    EXPECT_EQ(s, "0\r\nff\r\nffffffffffffffff\r\n");
    char buf[chunk_header_max];
    EXPECT_EQ(write_chunk_header(buf, UINT64_MAX), chunk_header_max);
    EXPECT_EQ(last_chunk, "0\r\n\r\n");
    // What the writer writes, the parser reads back.
    std::size_t used = 0;
    for (std::uint64_t n : {std::uint64_t{1}, std::uint64_t{4096}, std::uint64_t{1} << 40}) {
        std::string h;
        append_chunk_header(h, n);
        EXPECT_EQ(parse_chunk_size(h, &used), n);
        EXPECT_EQ(h.substr(used), "\r\n");
    }
}

TEST(grammar, dates_in_all_three_forms) {
    EXPECT_EQ(format_http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
    EXPECT_EQ(format_http_date(784111777), "Sun, 06 Nov 1994 08:49:37 GMT");
    EXPECT_EQ(format_http_date(951782400), "Tue, 29 Feb 2000 00:00:00 GMT");
    EXPECT_EQ(format_http_date(-1), "Wed, 31 Dec 1969 23:59:59 GMT");
    EXPECT_EQ(format_http_date(INT64_MAX), "Fri, 31 Dec 9999 23:59:59 GMT");
    EXPECT_EQ(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), 784111777);
    EXPECT_EQ(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), 784111777);
    EXPECT_EQ(parse_http_date("Sun Nov  6 08:49:37 1994"), 784111777);
    EXPECT_EQ(parse_http_date("Tue, 29 Feb 2000 00:00:00 GMT"), 951782400);
    EXPECT_EQ(parse_http_date("Thu, 31 Dec 1998 23:59:60 GMT"), 915148800);  // a leap second
    for (std::int64_t t : {std::int64_t{0}, std::int64_t{1700000000}, std::int64_t{4102444799}})
        EXPECT_EQ(parse_http_date(format_http_date(t)), t);
}

TEST(grammar, dates_that_are_not) {
    EXPECT_FALSE(parse_http_date(""));
    EXPECT_FALSE(parse_http_date("   "));
    EXPECT_FALSE(parse_http_date("yesterday"));
    EXPECT_FALSE(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT junk"));
    EXPECT_FALSE(parse_http_date(" Sun, 06 Nov 1994 08:49:37 GMT"));
    EXPECT_FALSE(parse_http_date("Sun, 06 Nov 1994 08:49:37 UTC"));
    EXPECT_FALSE(parse_http_date("Sun,\t06 Nov 1994 08:49:37 GMT"));
    EXPECT_FALSE(parse_http_date("Mon, 06 Nov 1994 08:49:37 GMT"));  // 6 Nov 1994 was a Sunday
    EXPECT_FALSE(parse_http_date("Wed, 29 Feb 1900 00:00:00 GMT"));  // 1900 was no leap year
    EXPECT_FALSE(parse_http_date("Sun, 31 Apr 1994 00:00:00 GMT"));
    EXPECT_FALSE(parse_http_date("Sun, 06 Nov 1994 24:00:00 GMT"));
    EXPECT_FALSE(parse_http_date("Sun, 06 Nov 1994 08:60:00 GMT"));
    EXPECT_FALSE(parse_http_date("Sun, 6 Nov 1994 08:49:37 GMT"));
    EXPECT_FALSE(parse_http_date("Sun, 06 nov 1994 08:49:37 GMT"));
    EXPECT_FALSE(parse_http_date("Sun, 06 Nov +994 08:49:37 GMT"));
    EXPECT_FALSE(parse_http_date("Sun Nov 6 08:49:37 1994"));
    EXPECT_FALSE(parse_http_date("Sun, 06-Nov-94 08:49:37 GMT"));  // RFC 850 takes the long day name
}

// 1 January of `year` in the RFC 850 form ("Tuesday, 01-Jan-30 ...").
std::string rfc850_new_year(int year) {
    using namespace std::chrono;
    const auto t = sys_seconds(sys_days(std::chrono::year(year) / January / 1)).time_since_epoch().count();
    const std::string fix = format_http_date(t);  // "Tue, 01 Jan 2030 00:00:00 GMT"
    static const char* const names[] = {"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"};
    std::string day;
    for (const char* n : names) {
        if (fix.compare(0, 3, n, 3) == 0) day = n;
    }
    return day + ", 01-Jan-" + fix.substr(14, 2) + " 00:00:00 GMT";
}

TEST(grammar, two_digit_years_are_never_far_ahead) {
    // RFC 9110 5.6.7: a two-digit year more than 50 years ahead is the
    // last past year with those digits.
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    const int this_year =
        std::stoi(format_http_date(std::chrono::duration_cast<std::chrono::seconds>(now).count()).substr(12, 4));
    auto year_of = [](const std::string& d) {
        auto t = parse_http_date(d);
        return t ? std::stoi(format_http_date(*t).substr(12, 4)) : -1;
    };
    EXPECT_EQ(year_of(rfc850_new_year(this_year)), this_year);
    EXPECT_EQ(year_of(rfc850_new_year(this_year + 50)), this_year + 50);
    EXPECT_EQ(year_of(rfc850_new_year(this_year - 49)), this_year - 49);
    EXPECT_EQ(year_of(rfc850_new_year(this_year - 1)), this_year - 1);
}

TEST(grammar, the_date_field_is_an_imf_fixdate_of_now) {
    std::string_view d = http_date();
    ASSERT_EQ(d.size(), imf_fixdate_size);
    auto t = parse_http_date(d);
    ASSERT_TRUE(t);
    const auto now =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    EXPECT_LE(*t, now);
    EXPECT_GE(*t, now - 5);  // the coarse clock and the cache lag by at most a second or so
}
