// Response framing end to end: a handler's Content-Length frames a
// flushed response (no chunks) and is checked against what is written,
// and every framing and singleton field (Content-Length,
// Transfer-Encoding, Date, Server, Connection, Content-Type) appears at
// most once on every response path: normal, error page, flush, HEAD, 304
// and detach. Raw loopback sockets see the bytes as sent; curl and
// Python's http.client check the same responses as real clients do.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "loopback_server.hpp"
#include <squall/http/application.hpp>

using namespace squall;
using namespace squall::http;
using namespace squall::http::testing;

namespace {

// Sets every singleton field itself: the server must not add its own.
class singletons : public request_handler {
public:
    void set_default_headers() override {
        set_header("Server", "mine");
        add_header("Server", "again");
        set_header("Date", "Thu, 01 Jan 1970 00:00:00 GMT");
        set_header("Content-Type", "text/plain");
        add_header("Content-Type", "text/other");
        set_header("Transfer-Encoding", "chunked");
        set_header("Connection", "keep-alive");
    }
    task<void> get() {
        std::string_view how = request().query;
        if (how == "error") throw http_error(400);
        if (how == "304") {
            set_status(304);
            set_header("Content-Length", "5");
            co_return;
        }
        if (how == "304flush") {
            set_status(304);
            auto f = co_await flush();
            (void)f;
            co_return;
        }
        if (how == "upgrade") {
            set_status(101);
            set_header("Upgrade", "x");
            set_header("Connection", "Upgrade");
            auto taken = co_await detach();
            (void)taken;
            co_return;
        }
        if (how == "length") set_header("Content-Length", "5");
        write("hello");
        if (how == "flush" || how == "length") {
            auto f = co_await flush();
            (void)f;
            write(std::string_view());
        }
    }
};

// A handler-set Content-Length of 10, and `?n` bytes written in two
// flushed halves (the second half after the flush).
task<void> declared(request_handler& h) {
    std::size_t n = std::stoul(std::string(h.request().query.empty() ? "10" : h.request().query));
    h.set_header("Content-Length", "10");
    h.write(std::string(n / 2, 'a'));
    auto first = co_await h.flush();
    (void)first;
    h.write(std::string(n - n / 2, 'b'));
    auto second = co_await h.flush();
    (void)second;
}

// Content-Length not flushed: 5 declared, `?n` written.
task<void> unflushed(request_handler& h) {
    h.set_header("Content-Length", "5");
    h.write(std::string(h.request().query.empty() ? 5 : std::stoul(std::string(h.request().query)), 'x'));
    co_return;
}

task<void> hello(request_handler& h) {
    h.write("hello");
    co_return;
}

std::unique_ptr<loopback_server> start() {
    app_settings s;
    s.access_log = false;
    auto app = std::make_unique<application>(std::move(s));
    app->add<singletons>("/s");
    app->get("/declared", declared);
    app->get("/unflushed", unflushed);
    app->get("/hello", hello);
    return std::make_unique<loopback_server>(std::move(app));
}

std::size_t count(const response& r, std::string_view name) {
    std::size_t n = 0;
    for (const auto& [f, v] : r.fields) n += iequals(f, name);
    return n;
}

void expect_singletons(const response& r) {
    for (auto name : {"Content-Length", "Transfer-Encoding", "Date", "Server", "Connection", "Content-Type"})
        EXPECT_LE(count(r, name), 1u) << name << " in " << r.status_line;
    EXPECT_FALSE(r.field("content-length") && r.field("transfer-encoding")) << "both framing fields";
}

std::string request(std::string_view method, std::string_view target) {
    return std::string(method) + " " + std::string(target) + " HTTP/1.1\r\nHost: t\r\n\r\n";
}

// One request, then GET /hello on the same connection: a response with
// stray bytes would make the second one unreadable.
response exchange_then_hello(loopback_server& srv, std::string_view method, std::string_view target) {
    raw_client c(srv.port());
    EXPECT_TRUE(c.send(request(method, target) + request("GET", "/hello")));
    auto r = c.read_response(method == "HEAD");
    EXPECT_TRUE(r) << method << " " << target;
    if (!r) return {};
    expect_singletons(*r);
    auto next = c.read_response();
    EXPECT_TRUE(next) << "no second response after " << method << " " << target;
    if (next) {
        EXPECT_EQ(next->body, "hello") << "after " << method << " " << target;
    }
    return *r;
}

// Runs a command; its standard output, and its exit status in `status`.
std::string run(const std::string& cmd, int& status) {
    std::string out;
    FILE* p = ::popen(cmd.c_str(), "r");
    if (!p) return out;
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    status = ::pclose(p);
    return out;
}

}  // namespace

TEST(framing, every_singleton_field_at_most_once_on_every_path) {
    auto srv = start();
    for (auto target : {"/s", "/s?error", "/s?flush", "/s?length", "/s?304", "/s?304flush"}) {
        SCOPED_TRACE(target);
        response r = exchange_then_hello(*srv, "GET", target);
        EXPECT_EQ(r.field("server").value_or(""), "mine");
        EXPECT_EQ(r.field("date").value_or(""), "Thu, 01 Jan 1970 00:00:00 GMT");
        response h = exchange_then_hello(*srv, "HEAD", target);
        EXPECT_EQ(h.field("server").value_or(""), "mine");
    }
    EXPECT_EQ(exchange_then_hello(*srv, "GET", "/s").body, "hello");
    EXPECT_EQ(exchange_then_hello(*srv, "GET", "/s?length").field("content-length").value_or(""), "5");
    EXPECT_EQ(exchange_then_hello(*srv, "GET", "/s?304").field("content-length").value_or(""), "5");
    EXPECT_FALSE(exchange_then_hello(*srv, "GET", "/s?304flush").field("transfer-encoding"));
    EXPECT_FALSE(exchange_then_hello(*srv, "HEAD", "/s?flush").field("transfer-encoding"));
    EXPECT_EQ(exchange_then_hello(*srv, "GET", "/s?error").status_line, "HTTP/1.1 400 Bad Request");
    // Detach: the handler's head as it stands, once each.
    raw_client c(srv->port());
    ASSERT_TRUE(c.send(request("GET", "/s?upgrade")));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status_line, "HTTP/1.1 101 Switching Protocols");
    expect_singletons(*r);
    EXPECT_EQ(r->field("connection").value_or(""), "Upgrade");
    EXPECT_FALSE(r->field("content-length"));
}

// The server's own Server and Date (and the default Content-Type) fill
// in exactly the fields the handler left out, in any combination.
TEST(framing, server_date_and_type_fill_in_what_the_handler_left_out) {
    for (std::string server_name : {"squall", ""}) {
        SCOPED_TRACE(server_name);
        app_settings s;
        s.access_log = false;
        s.server_name = server_name;
        auto app = std::make_unique<application>(std::move(s));
        app->get("/server", [](request_handler& h) -> task<void> {
            h.set_header("Server", "mine");
            h.write("x");
            co_return;
        });
        app->get("/date", [](request_handler& h) -> task<void> {
            h.set_header("Date", "Thu, 01 Jan 1970 00:00:00 GMT");
            h.set_header("Content-Type", "text/plain");
            h.write("x");
            co_return;
        });
        app->get("/hello", hello);
        loopback_server srv(std::move(app));
        response own_server = exchange_then_hello(srv, "GET", "/server");
        EXPECT_EQ(own_server.field("server").value_or(""), "mine");
        EXPECT_TRUE(own_server.field("date").value_or("").ends_with(" GMT"));
        EXPECT_EQ(own_server.field("content-type").value_or(""), "text/html; charset=UTF-8");
        response own_date = exchange_then_hello(srv, "GET", "/date");
        EXPECT_EQ(own_date.field("server").value_or("<none>"), server_name.empty() ? "<none>" : server_name);
        EXPECT_EQ(own_date.field("date").value_or(""), "Thu, 01 Jan 1970 00:00:00 GMT");
        EXPECT_EQ(own_date.field("content-type").value_or(""), "text/plain");
        response plain = exchange_then_hello(srv, "GET", "/hello");
        EXPECT_EQ(plain.field("server").value_or("<none>"), server_name.empty() ? "<none>" : server_name);
        EXPECT_EQ(plain.field("date").value_or("").size(), 29u);
        EXPECT_EQ(plain.field("content-length").value_or(""), "5");
    }
}

TEST(framing, handler_content_length_frames_a_flushed_response) {
    auto srv = start();
    raw_client c(srv->port());
    for (int i = 0; i < 2; ++i) {  // and the connection goes on
        ASSERT_TRUE(c.send(request("GET", "/declared")));
        auto r = c.read_response();
        ASSERT_TRUE(r);
        expect_singletons(*r);
        EXPECT_EQ(r->field("content-length").value_or(""), "10");
        EXPECT_FALSE(r->field("transfer-encoding"));
        EXPECT_FALSE(r->closes());
        EXPECT_EQ(r->body, "aaaaabbbbb");
    }
    // HEAD: the handler's length, once, and no body.
    ASSERT_TRUE(c.send(request("HEAD", "/declared") + request("GET", "/hello")));
    auto h = c.read_response(true);
    ASSERT_TRUE(h);
    expect_singletons(*h);
    EXPECT_EQ(h->field("content-length").value_or(""), "10");
    auto next = c.read_response();
    ASSERT_TRUE(next);
    EXPECT_EQ(next->body, "hello");
}

TEST(framing, too_few_bytes_after_a_flush_close_the_connection) {
    auto srv = start();
    raw_client c(srv->port());
    ASSERT_TRUE(c.send(request("GET", "/declared?6") + request("GET", "/hello")));
    // Ten bytes declared, six sent: the connection ends after them, and
    // the pipelined request is never answered from the wrong bytes.
    std::string got;
    char buf[4096];
    for (;;) {
        ssize_t n = ::recv(c.fd(), buf, sizeof buf, 0);
        if (n <= 0) break;
        got.append(buf, static_cast<std::size_t>(n));
    }
    EXPECT_NE(got.find("Content-Length: 10\r\n"), std::string::npos) << got;
    EXPECT_EQ(got.substr(got.find("\r\n\r\n") + 4), "aaabbb");
    EXPECT_EQ(got.find("hello"), std::string::npos);
}

TEST(framing, too_many_bytes_after_a_flush_fail_the_response) {
    auto srv = start();
    raw_client c(srv->port());
    ASSERT_TRUE(c.send(request("GET", "/declared?14") + request("GET", "/hello")));
    std::string got;
    char buf[4096];
    for (;;) {
        ssize_t n = ::recv(c.fd(), buf, sizeof buf, 0);
        if (n <= 0) break;
        got.append(buf, static_cast<std::size_t>(n));
    }
    // The first half went out; the second (past the length) never does.
    EXPECT_EQ(got.substr(got.find("\r\n\r\n") + 4), "aaaaaaa");
    EXPECT_EQ(got.find("hello"), std::string::npos);
}

TEST(framing, unflushed_length_mismatch_is_500_and_close) {
    auto srv = start();
    for (auto target : {"/unflushed?3", "/unflushed?9"}) {
        raw_client c(srv->port());
        ASSERT_TRUE(c.send(request("GET", target)));
        auto r = c.read_response();
        ASSERT_TRUE(r) << target;
        EXPECT_EQ(r->status_line, "HTTP/1.1 500 Internal Server Error") << target;
        expect_singletons(*r);
        EXPECT_TRUE(r->closes());
        EXPECT_TRUE(c.eof_next());
    }
    raw_client c(srv->port());
    ASSERT_TRUE(c.send(request("GET", "/unflushed")));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "xxxxx");
    EXPECT_EQ(count(*r, "content-length"), 1u);
}

// curl: complete bodies, no "excess" warning, a short one is an error
// (exit 18: partial file); --head prints one Content-Length.
TEST(framing, curl_sees_well_framed_responses) {
    auto srv = start();
    std::string base = "curl -sS --max-time 15 http://127.0.0.1:" + std::to_string(srv->port());
    int st = -1;
    EXPECT_EQ(run(base + "/declared 2>&1", st), "aaaaabbbbb");
    EXPECT_EQ(st, 0);
    std::string head = run(base + "/declared --head 2>&1", st);
    EXPECT_EQ(st, 0);
    EXPECT_EQ(head.find("Content-Length"), head.rfind("Content-Length")) << head;
    EXPECT_NE(head.find("Content-Length: 10"), std::string::npos) << head;
    std::string s = run(base + "/s?length -D - 2>&1", st);
    EXPECT_EQ(st, 0);
    EXPECT_EQ(s.find("Server:"), s.rfind("Server:")) << s;
    run(base + "/declared?6 -o /dev/null 2>/dev/null", st);
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 18) << st;
}

// Python's http.client on one keep-alive connection: the framed flush,
// a HEAD with the handler's length, then an ordinary GET.
TEST(framing, python_http_client_reads_them_on_one_connection) {
    auto srv = start();
    std::string script =
        "import http.client,sys\n"
        "c=http.client.HTTPConnection('127.0.0.1',int(sys.argv[1]),timeout=15)\n"
        "out=[]\n"
        "for m,p in (('GET','/declared'),('HEAD','/declared'),('GET','/s?length'),('HEAD','/s?flush'),"
        "('GET','/hello')):\n"
        "  c.request(m,p); r=c.getresponse(); b=r.read()\n"
        "  out.append('%s %s %d %s %s' % (m,p,r.status,r.getheader('Content-Length'),b.decode()))\n"
        "print('|'.join(out))\n";
    int st = -1;
    std::string got = run("/usr/bin/python3 -c \"" + script + "\" " + std::to_string(srv->port()) + " 2>&1", st);
    EXPECT_EQ(st, 0) << got;
    EXPECT_EQ(got,
              "GET /declared 200 10 aaaaabbbbb|HEAD /declared 200 10 |GET /s?length 200 5 hello|"
              "HEAD /s?flush 200 None |GET /hello 200 5 hello\n");
}
