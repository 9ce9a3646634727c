// How requests reach handlers, end to end over loopback: verb parameters
// taken by reference or view (valid across co_await), Python's named
// groups, the custom not-found handler for every method, Tornado's
// SUPPORTED_METHODS (extra methods get 405, HEAD only where allowed), and
// absolute-form request targets (routed on the path, host from the target).
// The compile-time refusals of bad verbs: tests/http/compile_fail/.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "loopback_server.hpp"
#include <squall/engine/time.hpp>
#include <squall/http/application.hpp>

using namespace squall;
using namespace squall::http;
using namespace squall::http::testing;
using namespace std::chrono_literals;

namespace {

// Reads its arguments after suspending: they must still be there.
class by_reference : public request_handler {
public:
    task<void> get(const std::string& a, std::string_view b) {
        co_await sleep(5ms);
        std::string big(4096, 'x');  // reuses freed memory, if any was freed
        write(std::string(a) + "," + std::string(b));
        (void)big;
    }
};

class named : public request_handler {
public:
    task<void> get(std::string kind, std::string id) {
        write(kind + ":" + id);
        co_return;
    }
};

// Tornado's idiom: prepare() raises 404, and a page of its own.
class missing : public request_handler {
public:
    task<void> prepare() override {
        throw http_error(404);
        co_return;
    }
    void write_error(int status, std::string_view) override { finish("custom " + std::to_string(status)); }
};

// A not-found handler that declares only get().
class missing_get : public request_handler {
public:
    task<void> get() {
        send_error(404);
        co_return;
    }
    void write_error(int status, std::string_view) override { finish("only-get " + std::to_string(status)); }
};

class dav : public request_handler {
public:
    static constexpr std::string_view supported_methods[] = {"GET", "PROPFIND"};
    task<void> get() {
        write("dav");
        co_return;
    }
    task<void> post() {  // not in supported_methods: never reached
        write("post");
        co_return;
    }
};

class plain : public request_handler {
public:
    task<void> get() {
        write("plain");
        co_return;
    }
};

// prepare() from a base class, and one kept private: both must run (the
// server skips prepare() only where no class overrides it).
class greets_first : public request_handler {
public:
    task<void> prepare() override {
        write("prepared,");
        co_return;
    }
};

class inherits_prepare : public greets_first {
public:
    task<void> get() {
        write("get");
        co_return;
    }
};

class hides_prepare : public request_handler {
public:
    task<void> get() {
        write("get");
        co_return;
    }

private:
    task<void> prepare() override {
        write("hidden,");
        co_return;
    }
};

task<void> where(request_handler& h) {
    h.write(std::string(h.request().host) + " " + std::string(h.request().path) + " " + std::string(h.request().query));
    co_return;
}

template <class NotFound>
std::unique_ptr<loopback_server> start() {
    app_settings s;
    s.access_log = false;
    auto app = std::make_unique<application>(std::move(s));
    app->add<by_reference>("/ref/([a-z]+)/([a-z]+)");
    app->add<named>("/named/(?P<kind>[a-z]+)/(?P<id>[0-9]+)");
    app->add<dav>("/dav");
    app->add<plain>("/plain");
    app->add<inherits_prepare>("/inherits");
    app->add<hides_prepare>("/hides");
    app->get("/where", where);
    app->set_not_found<NotFound>();
    return std::make_unique<loopback_server>(std::move(app));
}

response ask(loopback_server& srv, std::string_view method, std::string_view target, std::string_view host = "t") {
    raw_client c(srv.port());
    EXPECT_TRUE(c.send(std::string(method) + " " + std::string(target) + " HTTP/1.1\r\nHost: " + std::string(host) +
                       "\r\nContent-Length: 0\r\n\r\n"));
    auto r = c.read_response(method == "HEAD");
    EXPECT_TRUE(r) << method << " " << target;
    return r ? *r : response{};
}

}  // namespace

TEST(routing, reference_and_view_parameters_outlive_a_suspension) {
    auto srv = start<missing>();
    EXPECT_EQ(ask(*srv, "GET", "/ref/abc/def").body, "abc,def");
}

TEST(routing, prepare_runs_wherever_a_class_overrides_it) {
    auto srv = start<missing>();
    EXPECT_EQ(ask(*srv, "GET", "/inherits").body, "prepared,get");
    EXPECT_EQ(ask(*srv, "GET", "/hides").body, "hidden,get");
    EXPECT_EQ(ask(*srv, "GET", "/plain").body, "plain");
    EXPECT_EQ(ask(*srv, "GET", "/nowhere").body, "custom 404");  // missing::prepare
    application app;
    app.add<plain>("/p");
    app.add<inherits_prepare>("/i");
    app.get("/f", where);
    EXPECT_FALSE(app.find("/p")->target->has_prepare);
    EXPECT_TRUE(app.find("/i")->target->has_prepare);
    EXPECT_FALSE(app.find("/f")->target->has_prepare);
}

TEST(routing, python_named_groups_are_plain_groups) {
    auto srv = start<missing>();
    EXPECT_EQ(ask(*srv, "GET", "/named/task/42").body, "task:42");
    application app;
    EXPECT_NO_THROW(app.add<named>("/n/(?P<a>[a-z]+)/([0-9]+)"));
    auto m = app.find("/n/x/7");
    ASSERT_TRUE(m);
    EXPECT_EQ(m->args, (std::vector<std::string>{"x", "7"}));
}

TEST(routing, patterns_std_regex_refuses_name_the_route) {
    application app;
    try {
        app.add<named>("/bad/([a-z]+");
        FAIL() << "no exception";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("squall: route '/bad/([a-z]+'"), std::string::npos) << e.what();
    }
    EXPECT_THROW(app.add<named>("/x/(?P<a>[a-z]+)/(?P=a)"), std::invalid_argument);
}

TEST(routing, custom_not_found_answers_404_for_every_method) {
    auto srv = start<missing>();
    for (auto method : {"GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"}) {
        response r = ask(*srv, method, "/nowhere");
        EXPECT_EQ(r.status_line, "HTTP/1.1 404 Not Found") << method;
        EXPECT_EQ(r.body, "custom 404") << method;
    }
    EXPECT_EQ(ask(*srv, "HEAD", "/nowhere").status_line, "HTTP/1.1 404 Not Found");
    auto only_get = start<missing_get>();
    for (auto method : {"GET", "POST", "DELETE"}) {
        response r = ask(*only_get, method, "/nowhere");
        EXPECT_EQ(r.status_line, "HTTP/1.1 404 Not Found") << method;
        EXPECT_EQ(r.body, "only-get 404") << method;
    }
}

TEST(routing, supported_methods_make_extra_methods_405) {
    auto srv = start<missing>();
    response r = ask(*srv, "PROPFIND", "/dav");
    EXPECT_EQ(r.status_line, "HTTP/1.1 405 Method Not Allowed");
    EXPECT_EQ(r.field("allow").value_or(""), "GET");
    // Not listed: POST (though declared) and HEAD.
    EXPECT_EQ(ask(*srv, "POST", "/dav").status_line, "HTTP/1.1 405 Method Not Allowed");
    EXPECT_EQ(ask(*srv, "HEAD", "/dav").status_line, "HTTP/1.1 405 Method Not Allowed");
    EXPECT_EQ(ask(*srv, "GET", "/dav").body, "dav");
    // A class without the list: PROPFIND is unknown to it (501), HEAD comes from get().
    EXPECT_EQ(ask(*srv, "PROPFIND", "/plain").status_line, "HTTP/1.1 501 Not Implemented");
    r = ask(*srv, "HEAD", "/plain");
    EXPECT_EQ(r.status_line, "HTTP/1.1 200 OK");
    EXPECT_EQ(r.field("content-length").value_or(""), "5");
}

TEST(routing, absolute_form_targets_route_on_the_path) {
    auto srv = start<missing>();
    response r = ask(*srv, "GET", "http://a.example:8080/where?x=1", "other");
    EXPECT_EQ(r.status_line, "HTTP/1.1 200 OK");
    EXPECT_EQ(r.body, "a.example:8080 /where x=1");
    EXPECT_EQ(ask(*srv, "GET", "/where", "b.example").body, "b.example /where ");
    EXPECT_EQ(ask(*srv, "GET", "https://[::1]:8443/where").body, "[::1]:8443 /where ");
    // No path: "/", which this application does not route.
    EXPECT_EQ(ask(*srv, "GET", "http://a.example").status_line, "HTTP/1.1 404 Not Found");
    for (auto bad : {"http://user@a.example/where", "http:///where", "http://a:8x/where", "http://[::1/where"}) {
        response e = ask(*srv, "GET", bad);
        EXPECT_EQ(e.status_line, "HTTP/1.1 400 Bad Request") << bad;
        EXPECT_TRUE(e.closes()) << bad;
    }
}
