// permessage-deflate negotiation (RFC 7692 5 and 7.1) and the zlib
// streams (ws/deflate.hpp): which offers the server takes and what it
// answers, what the client accepts, round trips with and without context
// takeover, and the output limit.
#include <gtest/gtest.h>

#include <string>

#include <squall/ws/deflate.hpp>

using namespace squall::ws;

namespace {

deflate_options on() {
    deflate_options o;
    o.enabled = true;
    return o;
}

}  // namespace

TEST(deflate_negotiation, plain_offer) {
    std::string answer;
    auto p = negotiate_deflate("permessage-deflate", on(), &answer);
    ASSERT_TRUE(p);
    EXPECT_EQ(answer, "permessage-deflate");
    EXPECT_FALSE(p->server_no_context_takeover);
}

TEST(deflate_negotiation, offer_parameters_are_honoured) {
    std::string answer;
    auto p = negotiate_deflate(
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; "
        "client_max_window_bits",
        on(), &answer);
    ASSERT_TRUE(p);
    EXPECT_TRUE(p->server_no_context_takeover);
    EXPECT_TRUE(p->client_no_context_takeover);
    EXPECT_EQ(p->server_max_window_bits, 10);
    EXPECT_EQ(answer,
              "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10");
}

TEST(deflate_negotiation, client_window_limited_only_when_offered) {
    deflate_options o = on();
    o.client_max_window_bits = 11;
    std::string answer;
    auto p = negotiate_deflate("permessage-deflate; client_max_window_bits", o, &answer);
    ASSERT_TRUE(p);
    EXPECT_EQ(answer, "permessage-deflate; client_max_window_bits=11");
    p = negotiate_deflate("permessage-deflate", o, &answer);
    ASSERT_TRUE(p);
    EXPECT_EQ(answer, "permessage-deflate");  // a client that did not offer it must not get it
}

TEST(deflate_negotiation, bad_offers_are_skipped_for_the_next_one) {
    std::string answer;
    for (const char* bad :
         {"permessage-deflate; unknown_param",
          "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
          "permessage-deflate; server_max_window_bits=16", "permessage-deflate; server_max_window_bits=7",
          "permessage-deflate; server_max_window_bits", "permessage-deflate; server_max_window_bits=8",
          "permessage-deflate; server_no_context_takeover=1", "permessage-deflate; client_max_window_bits=08"}) {
        EXPECT_FALSE(negotiate_deflate(bad, on(), &answer)) << bad;
        auto p =
            negotiate_deflate(std::string(bad) + ", permessage-deflate; client_no_context_takeover", on(), &answer);
        ASSERT_TRUE(p) << bad;
        EXPECT_TRUE(p->client_no_context_takeover);
    }
    EXPECT_FALSE(negotiate_deflate("x-webkit-deflate-frame", on(), &answer));
    EXPECT_FALSE(negotiate_deflate("permessage-deflate", deflate_options{}, &answer));  // not enabled
}

TEST(deflate_negotiation, quoted_values) {
    std::string answer;
    auto p = negotiate_deflate("permessage-deflate; server_max_window_bits=\"12\"", on(), &answer);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->server_max_window_bits, 12);
}

TEST(deflate_negotiation, client_checks_the_answer) {
    deflate_options o = on();
    EXPECT_EQ(deflate_offer(o), "permessage-deflate; client_max_window_bits");
    EXPECT_TRUE(accept_deflate_answer("permessage-deflate", o));
    auto p = accept_deflate_answer("permessage-deflate; server_no_context_takeover; client_max_window_bits=12", o);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->client_max_window_bits, 12);
    EXPECT_FALSE(accept_deflate_answer("permessage-deflate; foo", o));
    EXPECT_FALSE(accept_deflate_answer("permessage-deflate, permessage-deflate", o));
    EXPECT_FALSE(accept_deflate_answer("something-else", o));
    o.server_no_context_takeover = true;
    EXPECT_FALSE(accept_deflate_answer("permessage-deflate", o));  // we asked, it must agree
}

TEST(deflate_stream, round_trip_many_messages) {
    for (bool no_takeover : {false, true}) {
        deflater d(6, 8, 15, no_takeover);
        inflater inf(no_takeover);
        std::size_t first_size = 0, later_size = 0;
        for (int i = 0; i < 20; ++i) {
            std::string msg = "The quick brown fox jumps over the lazy dog, message " + std::to_string(i % 2);
            std::string packed, out;
            d.compress(std::as_bytes(std::span(msg)), packed);
            (i == 0 ? first_size : later_size) = packed.size();
            ASSERT_EQ(inf.feed(std::as_bytes(std::span(packed)), true, out, 1 << 20), inflater::status::ok);
            EXPECT_EQ(out, msg);
        }
        // With context takeover, repeats compress to back-references.
        if (no_takeover) {
            EXPECT_EQ(later_size, first_size);
        } else {
            EXPECT_LT(later_size, first_size / 2);
        }
    }
}

TEST(deflate_stream, empty_messages_in_a_row_then_text) {
    // Two empty messages in a row once made a payload no peer can inflate.
    deflater d(6, 8, 15, false);
    inflater inf(false);
    for (std::string m : {"", "", "a", "", "bc"}) {
        std::string packed, out;
        d.compress(std::as_bytes(std::span(m)), packed);
        EXPECT_FALSE(packed.empty());
        EXPECT_EQ(inf.feed(std::as_bytes(std::span(packed)), true, out, 100), inflater::status::ok);
        EXPECT_EQ(out, m);
    }
}

TEST(deflate_stream, output_limit) {
    deflater d(9, 8, 15, false);
    std::string zeros(100000, '\0'), packed;
    d.compress(std::as_bytes(std::span(zeros)), packed);
    inflater a(false), b(false);
    std::string out;
    EXPECT_EQ(a.feed(std::as_bytes(std::span(packed)), true, out, 100000), inflater::status::ok);
    EXPECT_EQ(out.size(), 100000u);
    out.clear();
    EXPECT_EQ(b.feed(std::as_bytes(std::span(packed)), true, out, 99999), inflater::status::too_big);
    EXPECT_LE(out.size(), 100000u);
}
