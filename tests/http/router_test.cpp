#include <squall/http/application.hpp>

#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <squall/engine/loop.hpp>

using namespace squall;
using namespace squall::http;

namespace {

using strings = std::vector<std::string>;

// Handlers that only record which verb ran with which arguments: verbs
// are called directly here, without a connection.
struct recording : request_handler {
    std::string ran;
    strings args;
};

struct get_only : recording {
    task<void> get() {
        ran = "get";
        co_return;
    }
};

struct post_only : recording {
    task<void> post() {
        ran = "post";
        co_return;
    }
};

struct get_and_post : recording {
    task<void> get() {
        ran = "get";
        co_return;
    }
    task<void> post(std::string id) {
        ran = "post";
        args = {id};
        co_return;
    }
};

struct many_args : recording {
    task<void> put(std::string a, std::string b, std::string c) {
        ran = "put";
        args = {a, b, c};
        co_return;
    }
    task<void> delete_(std::string a, std::string b, std::string c, std::string d) {
        ran = "delete";
        args = {a, b, c, d};
        co_return;
    }
    task<void> head() {
        ran = "head";
        co_return;
    }
};

template <class H>
bool serves_with(const application::match& m) {
    auto h = m.target->make();
    return dynamic_cast<H*>(h.get()) != nullptr;
}

// Runs the verb `v` of a fresh handler from `t` with `args`; the handler.
std::unique_ptr<request_handler> call(const handler_target& t, verb v, const strings& args) {
    auto h = t.make();
    loop l;
    l.run_sync(t.verbs[static_cast<std::size_t>(v)](*h, args));
    return h;
}

}  // namespace

TEST(router, literal_routes_fast_path) {
    application app;
    app.add<get_only>("/").add<post_only>("/a/b-c_d~");
    auto m = app.find("/a/b-c_d~");
    ASSERT_TRUE(m);
    EXPECT_TRUE(serves_with<post_only>(*m));
    EXPECT_TRUE(m->args.empty());
    ASSERT_TRUE(app.find("/"));
    EXPECT_TRUE(serves_with<get_only>(*app.find("/")));
    // Whole paths only, case-sensitive, no prefix or trailing-slash match.
    EXPECT_FALSE(app.find("/a/b-c_d~/"));
    EXPECT_FALSE(app.find("/a"));
    EXPECT_FALSE(app.find("/A/b-c_d~"));
    EXPECT_FALSE(app.find(""));
}

TEST(router, regex_groups_are_url_decoded_arguments) {
    application app;
    app.add<get_and_post>(R"(/user/([^/]+)/post/([0-9]+))");
    auto m = app.find("/user/j%C3%B6rg%20x/post/42");
    ASSERT_TRUE(m);
    EXPECT_EQ(m->args, (strings{"j\xc3\xb6rg x", "42"}));
    // A path's '+' is no space (Tornado's unquote, plus=False).
    EXPECT_EQ(app.find("/user/a+b/post/1")->args, (strings{"a+b", "1"}));
    // The whole path must match (Tornado's implicit $).
    EXPECT_FALSE(app.find("/user/a/post/1x"));
    EXPECT_FALSE(app.find("/x/user/a/post/1"));
    EXPECT_FALSE(app.find("/user/a/post/"));
}

TEST(router, optional_group_that_did_not_match_is_empty) {
    application app;
    app.add<get_only>(R"(/files(/.*)?)");
    EXPECT_EQ(app.find("/files")->args, (strings{""}));
    EXPECT_EQ(app.find("/files/a/b")->args, (strings{"/a/b"}));
}

TEST(router, first_match_wins) {
    application app;
    app.add<get_only>("/items/special");  // literal before the regex
    app.add<post_only>(R"(/items/(.*))");
    app.add<get_and_post>("/items/other");  // literal after a regex that matches it
    app.add<get_only>(R"(/items/other)");   // never reached
    EXPECT_TRUE(serves_with<get_only>(*app.find("/items/special")));
    auto other = app.find("/items/other");
    ASSERT_TRUE(other);
    EXPECT_TRUE(serves_with<post_only>(*other));
    EXPECT_EQ(other->args, (strings{"other"}));
    // A literal route added twice: the first one serves.
    application twice;
    twice.add<post_only>("/x").add<get_only>("/x");
    EXPECT_TRUE(serves_with<post_only>(*twice.find("/x")));
}

TEST(router, literal_after_a_regex_that_does_not_match_it) {
    application app;
    app.add<post_only>(R"(/api/v[0-9]+)");
    app.add<get_only>("/health");
    auto m = app.find("/health");
    ASSERT_TRUE(m);
    EXPECT_TRUE(serves_with<get_only>(*m));
    EXPECT_TRUE(serves_with<post_only>(*app.find("/api/v2")));
}

TEST(router, not_found_target_serves_every_verb) {
    application app;
    app.add<get_only>("/");
    EXPECT_FALSE(app.find("/nope"));
    const handler_target& nf = app.not_found();
    for (std::size_t i = 0; i < verb_count; ++i) EXPECT_TRUE(nf.allows(static_cast<verb>(i))) << i;
    EXPECT_EQ(nf.allow_header(), "GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS");
    ASSERT_TRUE(nf.make());
}

TEST(router, custom_not_found_target) {
    application app;
    app.set_not_found<post_only>();
    // Every verb reaches it: an unrouted path is a 404 whatever the method.
    EXPECT_EQ(app.not_found().allow_header(), "GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS");
    EXPECT_NE(dynamic_cast<post_only*>(app.not_found().make().get()), nullptr);
}

TEST(router, reverse_url_fills_groups_in_order) {
    application app;
    app.add_named<get_only>("user", R"(/user/([^/]+)/post/([0-9]+))");
    app.add_named<get_only>("static", R"(^/static/(.*)$)");
    app.add_named<get_only>("home", "/");
    app.add_named<get_only>("dotted", R"(/a\.b/(\d+)\?)");
    EXPECT_EQ(app.reverse_url("user", {"jo", "7"}), "/user/jo/post/7");
    // Arguments are escaped as Tornado does (urllib's quote): '/' stays.
    EXPECT_EQ(app.reverse_url("user", {"a b&c", "7"}), "/user/a%20b%26c/post/7");
    EXPECT_EQ(app.reverse_url("static", {"css/site.css"}), "/static/css/site.css");
    EXPECT_EQ(app.reverse_url("home"), "/");
    EXPECT_EQ(app.reverse_url("dotted", {"5"}), "/a.b/5?");
    // Missing arguments are empty.
    EXPECT_EQ(app.reverse_url("user", {"jo"}), "/user/jo/post/");
    EXPECT_THROW((void)app.reverse_url("nobody"), std::invalid_argument);
    // Round trip: the reversed path finds the route with the arguments.
    EXPECT_EQ(app.find(app.reverse_url("user", {"a b", "9"}))->args, (strings{"a b", "9"}));
}

TEST(router, patterns_in_order) {
    application app;
    app.add<get_only>("/b").add<post_only>(R"(/a/(\d+))");
    app.get("/f", [](request_handler&) -> task<void> { co_return; });
    app.post("/f", [](request_handler&) -> task<void> { co_return; });
    app.add<get_only>("/a");
    EXPECT_EQ(app.patterns(), (strings{"/b", R"(/a/(\d+))", "/f", "/a"}));
    // Verbs given as functions on one pattern share a route.
    EXPECT_EQ(app.find("/f")->target->allow_header(), "GET, HEAD, POST");
}

TEST(router, allow_header_from_detected_verbs) {
    application app;
    app.add<get_and_post>("/gp").add<post_only>("/p").add<many_args>("/m");
    const handler_target& gp = *app.find("/gp")->target;
    EXPECT_EQ(gp.allow_header(), "GET, HEAD, POST");  // HEAD falls back to get()
    EXPECT_TRUE(gp.allows(verb::get) && gp.allows(verb::post));
    EXPECT_FALSE(gp.allows(verb::head));  // no head() of its own
    EXPECT_FALSE(gp.allows(verb::put) || gp.allows(verb::delete_) || gp.allows(verb::patch) ||
                 gp.allows(verb::options));
    EXPECT_EQ(app.find("/p")->target->allow_header(), "POST");
    EXPECT_EQ(app.find("/m")->target->allow_header(), "HEAD, PUT, DELETE");
}

TEST(router, verbs_receive_arguments_in_order) {
    application app;
    app.add<get_and_post>(R"(/gp/(\w+))").add<many_args>(R"(/m/(\w)/(\w)/(\w)/(\w))");
    auto gp = app.find("/gp/abc");
    ASSERT_TRUE(gp);
    auto h = call(*gp->target, verb::post, gp->args);
    EXPECT_EQ(static_cast<recording&>(*h).ran, "post");
    EXPECT_EQ(static_cast<recording&>(*h).args, (strings{"abc"}));
    h = call(*gp->target, verb::get, gp->args);  // get() ignores the arguments
    EXPECT_EQ(static_cast<recording&>(*h).ran, "get");
    auto m = app.find("/m/w/x/y/z");
    ASSERT_TRUE(m);
    h = call(*m->target, verb::delete_, m->args);
    EXPECT_EQ(static_cast<recording&>(*h).args, (strings{"w", "x", "y", "z"}));
    h = call(*m->target, verb::put, m->args);  // three parameters: the first three
    EXPECT_EQ(static_cast<recording&>(*h).args, (strings{"w", "x", "y"}));
    h = call(*m->target, verb::put, {"only"});  // fewer groups: the rest are empty
    EXPECT_EQ(static_cast<recording&>(*h).args, (strings{"only", "", ""}));
}

TEST(router, verb_names) {
    EXPECT_EQ(parse_verb("GET"), verb::get);
    EXPECT_EQ(parse_verb("DELETE"), verb::delete_);
    EXPECT_EQ(parse_verb("OPTIONS"), verb::options);
    EXPECT_FALSE(parse_verb("get"));  // methods are case-sensitive
    EXPECT_FALSE(parse_verb("TRACE"));
    EXPECT_EQ(verb_name(verb::patch), "PATCH");
}
