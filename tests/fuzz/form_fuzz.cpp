// libFuzzer target: the multipart/form-data parser, Tornado-compatible
// signed values, and the small parsers next to them (cookies, queries).
//
// Input: control byte 0 picks the part under test, the rest is its input.
//   0: "<Content-Type value>\n<body>": parse_multipart must succeed or
//      fail cleanly; what it returns must survive encoding back into a
//      multipart body with the same boundary and parsing again.
//   1: the rest as a signed value, decoded with a fixed secret and name:
//      must not crash, and nothing a fuzzer makes up may verify.
//   2: bytes 1-3 choose a name length, a timestamp and a byte to change;
//      create_signed_value then decode_signed_value must round-trip, and
//      the changed copy, another name, a later clock or another secret
//      must all be refused.
//   3: the rest as a Cookie field, a query string and a URL piece:
//      parse_cookies returns trimmed views into its input, url_decode
//      inverts url_encode, parse_query yields at most one pair per '&'.
// A broken invariant aborts (FUZZ_CHECK). Seed corpus:
// tests/fuzz/corpus/form/, replayed by ctest as fuzz.form_corpus.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "tests/fuzz/fuzz_check.hpp"
#include <squall/http/cookies.hpp>
#include <squall/http/form.hpp>
#include <squall/http/url.hpp>

namespace {

using namespace squall::http;

constexpr std::int64_t fuzz_now = 1'700'000'000;

std::string quoted(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"";
}

std::string encode(const form_data& f, std::string_view boundary) {
    std::string out;
    const std::string delim = "--" + std::string(boundary);
    for (const auto& [name, value] : f.fields) {
        out += delim + "\r\nContent-Disposition: form-data; name=" + quoted(name) + "\r\n\r\n" + value + "\r\n";
    }
    for (const auto& [name, file] : f.files) {
        out += delim + "\r\nContent-Disposition: form-data; name=" + quoted(name) +
               "; filename=" + quoted(file.filename) + "\r\nContent-Type: " + file.content_type + "\r\n\r\n" +
               file.body + "\r\n";
    }
    return out + delim + "--\r\n";
}

bool same(const form_data& a, const form_data& b) {
    if (a.fields != b.fields || a.files.size() != b.files.size()) return false;
    for (std::size_t i = 0; i < a.files.size(); ++i) {
        const auto& x = a.files[i];
        const auto& y = b.files[i];
        if (x.first != y.first || x.second.filename != y.second.filename ||
            x.second.content_type != y.second.content_type || x.second.body != y.second.body)
            return false;
    }
    return true;
}

void multipart(std::string_view in) {
    std::size_t nl = in.find('\n');
    std::string_view type = in.substr(0, nl);
    std::string_view body = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
    auto b = multipart_boundary(type);
    if (b) FUZZ_CHECK(!b->empty() && b->size() <= 70);
    const std::string boundary = b ? *b : "b";
    auto parsed = parse_multipart(body, boundary);
    if (!parsed) return;
    const std::string delim = "\r\n--" + boundary;
    for (const auto& [name, value] : parsed->fields) {
        FUZZ_CHECK(!name.empty() && value.find(delim) == std::string::npos &&
                   body.find(value) != std::string_view::npos);
    }
    for (const auto& [name, file] : parsed->files) {
        FUZZ_CHECK(!name.empty() && !file.filename.empty());
        FUZZ_CHECK(file.body.find(delim) == std::string::npos && body.find(file.body) != std::string_view::npos);
    }
    auto again = parse_multipart(encode(*parsed, boundary), boundary);
    FUZZ_CHECK(again && same(*parsed, *again));
}

void decode_raw(std::string_view in) {
    auto v = decode_signed_value("fuzz secret", "session", in, fuzz_now);
    FUZZ_CHECK(!v);  // forging an HMAC-SHA256 is not what a fuzzer does
}

void sign_round_trip(const std::uint8_t* ctl, std::string_view rest) {
    std::size_t name_len = std::min<std::size_t>(ctl[0] % 24, rest.size());
    std::string_view name = rest.substr(0, name_len), value = rest.substr(name_len);
    const std::int64_t ts = fuzz_now - std::int64_t{ctl[1]} * 3600;
    const std::string s = create_signed_value("secret", name, value, ts);
    auto back = decode_signed_value("secret", name, s, fuzz_now);
    FUZZ_CHECK(back && *back == value);
    FUZZ_CHECK(!decode_signed_value("secret", name, s, ts + 32 * 86400));
    FUZZ_CHECK(!decode_signed_value("secret", name, s, ts - 32 * 86400));
    FUZZ_CHECK(!decode_signed_value("terces", name, s, fuzz_now));
    FUZZ_CHECK(!decode_signed_value("secret", std::string(name) + "x", s, fuzz_now));
    std::string changed = s;
    changed[ctl[2] % changed.size()] ^= static_cast<char>(ctl[1] | 1);
    FUZZ_CHECK(!decode_signed_value("secret", name, changed, fuzz_now));
    FUZZ_CHECK(!decode_signed_value("secret", name, s.substr(0, s.size() - 1), fuzz_now));
}

bool in(std::string_view outer, std::string_view v) {
    return v.data() >= outer.data() && v.data() + v.size() <= outer.data() + outer.size();
}

void small_parsers(std::string_view s) {
    for (const auto& [name, value] : parse_cookies(s)) {
        FUZZ_CHECK(!name.empty() && in(s, name) && in(s, value));
        FUZZ_CHECK(name.find(';') == std::string_view::npos && value.find(';') == std::string_view::npos);
        for (auto t : {name.front(), name.back()}) FUZZ_CHECK(t != ' ' && t != '\t');
    }
    FUZZ_CHECK(url_decode(url_encode(s)) == s);
    FUZZ_CHECK(url_decode(url_encode(s), true) == s);
    FUZZ_CHECK(url_decode(s).size() <= s.size() && url_decode(s, true).size() <= s.size());
    const auto pairs = parse_query(s);
    FUZZ_CHECK(pairs.size() <= static_cast<std::size_t>(std::count(s.begin(), s.end(), '&')) + 1);
    std::string rebuilt;
    for (const auto& [name, value] : pairs) {
        rebuilt += (rebuilt.empty() ? "" : "&") + url_encode(name) + "=" + url_encode(value);
    }
    FUZZ_CHECK(parse_query(rebuilt) == pairs);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
    switch (data[0] % 4) {
        case 0: multipart(rest); break;
        case 1: decode_raw(rest); break;
        case 2:
            if (rest.size() >= 3) sign_round_trip(data + 1, rest.substr(3));
            break;
        default: small_parsers(rest); break;
    }
    return 0;
}
