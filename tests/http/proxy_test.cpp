// Trusted proxies (http/proxy.hpp): CIDR matching, Tornado's xheaders
// walk, RFC 7239 Forwarded, and headers from untrusted peers ignored.
#include <gtest/gtest.h>

#include <squall/http/proxy.hpp>

using namespace squall::http;

namespace {

proxy_settings trusting(std::initializer_list<const char*> blocks) {
    proxy_settings s;
    for (const char* b : blocks) s.trusted.push_back(*cidr::parse(b));
    return s;
}

header_list headers(std::initializer_list<std::pair<const char*, const char*>> fields) {
    header_list h;
    for (auto [n, v] : fields) h.add(n, v);
    return h;
}

}  // namespace

TEST(cidr, parses_and_matches) {
    auto c = cidr::parse("10.1.0.0/16");
    ASSERT_TRUE(c);
    EXPECT_TRUE(c->contains("10.1.255.3"));
    EXPECT_FALSE(c->contains("10.2.0.1"));
    EXPECT_TRUE(c->contains("::ffff:10.1.0.9"));  // v4-mapped
    EXPECT_FALSE(c->contains("not an ip"));
    auto one = cidr::parse("127.0.0.1");
    ASSERT_TRUE(one);
    EXPECT_TRUE(one->contains("127.0.0.1"));
    EXPECT_FALSE(one->contains("127.0.0.2"));
    auto v6 = cidr::parse("fd00::/8");
    ASSERT_TRUE(v6);
    EXPECT_TRUE(v6->contains("fd12::1"));
    EXPECT_FALSE(v6->contains("fe80::1"));
    auto odd = cidr::parse("192.168.0.0/23");
    EXPECT_TRUE(odd->contains("192.168.1.200"));
    EXPECT_FALSE(odd->contains("192.168.2.1"));
    for (const char* bad : {"", "10.0.0.0/33", "10.0.0.0/", "10.0.0.0/a", "::/129", "example.com/8", "10.0.0/8"})
        EXPECT_FALSE(cidr::parse(bad)) << bad;
}

TEST(believe, untrusted_peer_is_never_believed) {
    auto s = trusting({"10.0.0.0/8"});
    auto h = headers({{"X-Forwarded-For", "1.2.3.4"},
                      {"X-Real-Ip", "5.6.7.8"},
                      {"X-Scheme", "https"},
                      {"Forwarded", "for=9.9.9.9;proto=https"}});
    auto c = believe(s, "192.0.2.1", "http", h);
    EXPECT_EQ(c.ip, "192.0.2.1");
    EXPECT_EQ(c.scheme, "http");
    auto none = believe(proxy_settings{}, "10.0.0.1", "http", h);
    EXPECT_EQ(none.ip, "10.0.0.1");
}

TEST(believe, x_forwarded_for_right_to_left_over_trusted_hops) {
    auto s = trusting({"10.0.0.0/8", "127.0.0.1"});
    // The client spoofed the first entry; 10.0.0.5 is our second proxy.
    auto h = headers({{"X-Forwarded-For", "6.6.6.6, 203.0.113.9, 10.0.0.5"}});
    EXPECT_EQ(believe(s, "127.0.0.1", "http", h).ip, "203.0.113.9");
    auto two = headers({{"X-Forwarded-For", "6.6.6.6"}, {"X-Forwarded-For", "203.0.113.9, 10.0.0.5"}});
    EXPECT_EQ(believe(s, "127.0.0.1", "http", two).ip, "203.0.113.9");
    auto junk = headers({{"X-Forwarded-For", "not-an-ip"}});
    EXPECT_EQ(believe(s, "127.0.0.1", "http", junk).ip, "127.0.0.1");
}

TEST(believe, x_real_ip_and_scheme) {
    auto s = trusting({"127.0.0.1"});
    auto h =
        headers({{"X-Forwarded-For", "1.1.1.1"}, {"X-Real-Ip", "2001:db8::7"}, {"X-Forwarded-Proto", "http, https"}});
    auto c = believe(s, "127.0.0.1", "http", h);
    EXPECT_EQ(c.ip, "2001:db8::7");
    EXPECT_EQ(c.scheme, "https");
    auto scheme = headers({{"X-Scheme", "HTTPS"}, {"X-Forwarded-Proto", "http"}});
    EXPECT_EQ(believe(s, "127.0.0.1", "http", scheme).scheme, "https");
    auto bogus = headers({{"X-Forwarded-Proto", "gopher"}});
    EXPECT_EQ(believe(s, "127.0.0.1", "http", bogus).scheme, "http");
}

TEST(believe, forwarded_rfc7239) {
    auto s = trusting({"127.0.0.1", "10.0.0.0/8"});
    auto h = headers({{"Forwarded", "for=6.6.6.6, for=\"[2001:db8:cafe::17]:4711\";proto=https, for=10.1.2.3"}});
    auto c = believe(s, "127.0.0.1", "http", h);
    EXPECT_EQ(c.ip, "2001:db8:cafe::17");
    EXPECT_EQ(c.scheme, "https");
    auto port = headers({{"Forwarded", "For=\"192.0.2.60:8080\";Proto=http;by=203.0.113.43"}});
    EXPECT_EQ(believe(s, "127.0.0.1", "https", port).ip, "192.0.2.60");
    auto unknown = headers({{"Forwarded", "for=unknown"}});
    EXPECT_EQ(believe(s, "127.0.0.1", "http", unknown).ip, "127.0.0.1");
    // Forwarded wins over the X- headers when both are there.
    auto both = headers({{"X-Forwarded-For", "1.1.1.1"}, {"Forwarded", "for=192.0.2.1"}});
    EXPECT_EQ(believe(s, "127.0.0.1", "http", both).ip, "192.0.2.1");
}

// RFC 7239's grammar: quoted-strings (with escapes, and commas or
// semicolons inside them), IPv6 in brackets and quotes, ports, obfuscated
// identifiers and "unknown" ending the walk, and a malformed field
// believed in none of its parts.
TEST(believe, forwarded_quoting_and_node_forms) {
    auto s = trusting({"127.0.0.1", "10.0.0.0/8", "fd00::/8"});
    auto ip = [&](const char* value) { return believe(s, "127.0.0.1", "http", headers({{"Forwarded", value}})).ip; };
    EXPECT_EQ(ip("for=\"[2001:db8::1]\""), "2001:db8::1");
    EXPECT_EQ(ip("for=\"[2001:db8::1]:443\""), "2001:db8::1");
    EXPECT_EQ(ip("for=\"[2001:db8::1]:_port\""), "2001:db8::1");
    EXPECT_EQ(ip("for=\"192.0.2.43:47011\""), "192.0.2.43");
    EXPECT_EQ(ip("FOR=192.0.2.43"), "192.0.2.43");
    EXPECT_EQ(ip("for=\"192.0.2.43\""), "192.0.2.43");
    // Escapes inside a quoted-string are undone.
    EXPECT_EQ(ip("for=\"\\192.0.2.4\\3\""), "192.0.2.43");
    // A comma or semicolon inside quotes does not split the field: the
    // host below is one value, the element's for= comes after it.
    EXPECT_EQ(ip("host=\"a,b;c\";for=192.0.2.5"), "192.0.2.5");
    EXPECT_EQ(ip("for=192.0.2.7;by=\"[2001:db8::2]:80\", for=10.0.0.1"), "192.0.2.7");
    // A trusted IPv6 hop in brackets is walked past.
    EXPECT_EQ(ip("for=192.0.2.8, for=\"[fd00::1]\""), "192.0.2.8");
    // Empty list members and whitespace around elements are allowed.
    EXPECT_EQ(ip(" , for=192.0.2.9 ,, "), "192.0.2.9");
    // "unknown" and obfuscated nodes end the walk: the last address known
    // stays (a trusted hop or the peer), never one to their left.
    EXPECT_EQ(ip("for=192.0.2.10, for=unknown"), "127.0.0.1");
    EXPECT_EQ(ip("for=192.0.2.10, for=_hidden.node-1"), "127.0.0.1");
    EXPECT_EQ(ip("for=192.0.2.10, for=_hidden, for=10.0.0.3"), "10.0.0.3");
    EXPECT_EQ(ip("for=\"unknown:_p\""), "127.0.0.1");
    EXPECT_EQ(ip("for=192.0.2.10, proto=https"), "127.0.0.1");  // an element without for=
    // Malformed: the peer stays the client, whatever the rest says.
    for (const char* bad : {
             "for=[2001:db8::1]",            // IPv6 must be quoted
             "for=2001:db8::1",              // ... and bracketed
             "for=\"2001:db8::1\"",          // (unbracketed inside quotes: not a node)
             "for=192.0.2.1:80",             // a port must be quoted (':' is not a tchar)
             "for=\"192.0.2.1",              // no closing quote
             "for=\"192.0.2.1\\",            // an escape at the end
             "for=192.0.2.1;for=192.0.2.2",  // a parameter twice in one element
             "for=",                         // no value
             "=192.0.2.1",                   // no name
             "for 192.0.2.1",                // no '='
             "for=192.0.2.1 192.0.2.2",      // two values
             "for=\"192.0.2.1\"x",           // bytes after a quoted value
             "for=\"\x01\"",                 // a control byte
             "for=\"192.0.2.1:99999\"",      // a port out of range
             "for=\"[2001:db8::1\"",         // an unclosed bracket
             "for=\"[2001:db8::1]x\"",       // bytes after the bracket
             "for=example.com",              // a host name is not a node
             "for=_",                        // an obfuscated name needs a character
             "for=300.0.0.1",
         }) {
        EXPECT_EQ(ip(bad), "127.0.0.1") << bad;
    }
    // A client that breaks the quoting to hide the proxy's element (its
    // unclosed quote would swallow what the proxy appended) gains nothing.
    auto smuggled = headers({{"Forwarded", "for=\"6.6.6.6, for=192.0.2.77"}});
    EXPECT_EQ(believe(s, "127.0.0.1", "http", smuggled).ip, "127.0.0.1");
    // One malformed Forwarded line spoils the set: none of it is believed.
    auto lines = headers({{"Forwarded", "for=192.0.2.1"}, {"Forwarded", "for=\"oops"}});
    EXPECT_EQ(believe(s, "127.0.0.1", "http", lines).ip, "127.0.0.1");
    // proto as a quoted-string.
    auto proto = headers({{"Forwarded", "for=192.0.2.1;proto=\"https\""}});
    EXPECT_EQ(believe(s, "127.0.0.1", "http", proto).scheme, "https");
}
