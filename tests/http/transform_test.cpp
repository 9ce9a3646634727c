// The automatic ETag (and its 304) and response compression for ordinary
// handler responses, over raw loopback sockets.
#include <zlib.h>

#include <gtest/gtest.h>

#include <string>

#include "loopback_server.hpp"
#include <squall/http/application.hpp>

using namespace squall;
using namespace squall::http;
using namespace squall::http::testing;

namespace {

const std::string page(5000, 'p');

class plain : public request_handler {
public:
    task<void> get() {
        write(get_argument("body", page));
        if (auto t = get_query_argument("type")) set_header("Content-Type", *t);
        if (auto e = get_query_argument("encoding")) set_header("Content-Encoding", *e);
        co_return;
    }
    task<void> post() {
        write(page);
        co_return;
    }
};

class no_etag : public request_handler {
public:
    std::optional<std::string> compute_etag() override { return std::nullopt; }
    task<void> get() {
        write("x");
        co_return;
    }
};

class own_etag : public request_handler {
public:
    task<void> get() {
        set_header("ETag", "\"v1\"");
        write("versioned");
        co_return;
    }
};

class flushed : public request_handler {
public:
    task<void> get() {
        write(page);
        auto f = co_await flush();
        (void)f;
    }
};

std::string gunzip(std::string_view in) {
    z_stream z{};
    inflateInit2(&z, 16 + MAX_WBITS);
    std::string out(1 << 20, '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z.avail_in = static_cast<uInt>(in.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    int rc = inflate(&z, Z_FINISH);
    out.resize(z.total_out);
    inflateEnd(&z);
    return rc == Z_STREAM_END ? out : "<corrupt>";
}

std::unique_ptr<application> make_app(bool compress) {
    app_settings s;
    s.compress_response = compress;
    s.etag = true;
    auto app = std::make_unique<application>(s);
    app->add<plain>("/");
    app->add<no_etag>("/none");
    app->add<own_etag>("/own");
    app->add<flushed>("/flushed");
    return app;
}

response fetch(loopback_server& s, std::string_view target, std::string_view extra = {},
               std::string_view method = "GET") {
    raw_client c(s.port());
    EXPECT_TRUE(c.send(std::string(method) + " " + std::string(target) + " HTTP/1.1\r\nHost: x\r\n" +
                       std::string(extra) + "\r\n"));
    return c.read_response(method == "HEAD").value_or(response{});
}

TEST(AutoEtag, HashOfTheBodyAnd304OnAMatch) {
    loopback_server s(make_app(false));
    auto r = fetch(s, "/");
    ASSERT_TRUE(r.field("etag"));
    std::string tag(*r.field("etag"));
    EXPECT_EQ(fetch(s, "/").field("etag"), tag);  // stable
    EXPECT_NE(fetch(s, "/?body=other").field("etag"), tag);
    auto nm = fetch(s, "/", "If-None-Match: \"zz\", " + tag + "\r\n");
    EXPECT_EQ(nm.status_line, "HTTP/1.1 304 Not Modified");
    EXPECT_TRUE(nm.body.empty());
    EXPECT_FALSE(nm.field("content-length"));
    EXPECT_EQ(fetch(s, "/", "If-None-Match: W/" + tag + "\r\n").status_line, "HTTP/1.1 304 Not Modified");
    EXPECT_EQ(fetch(s, "/", "If-None-Match: " + tag + "\r\n", "HEAD").status_line, "HTTP/1.1 304 Not Modified");
    EXPECT_FALSE(fetch(s, "/", "Content-Length: 0\r\n", "POST").field("etag"));
    EXPECT_EQ(fetch(s, "/", "Content-Length: 0\r\nIf-None-Match: " + tag + "\r\n", "POST").status_line,
              "HTTP/1.1 200 OK");
    EXPECT_FALSE(fetch(s, "/flushed").field("etag"));
}

TEST(AutoEtag, OverriddenPerHandler) {
    loopback_server s(make_app(false));
    EXPECT_FALSE(fetch(s, "/none").field("etag"));
    EXPECT_EQ(fetch(s, "/none", "If-None-Match: *\r\n").status_line, "HTTP/1.1 200 OK");
    EXPECT_EQ(fetch(s, "/own").field("etag"), "\"v1\"");
    EXPECT_EQ(fetch(s, "/own", "If-None-Match: \"v1\"\r\n").status_line, "HTTP/1.1 304 Not Modified");
}

TEST(AutoEtag, OffByDefault) {
    auto app = std::make_unique<application>();
    app->add<plain>("/");
    loopback_server s(std::move(app));
    EXPECT_FALSE(fetch(s, "/").field("etag"));
}

TEST(Compression, OffByDefault) {
    loopback_server s(make_app(false));
    auto r = fetch(s, "/", "Accept-Encoding: gzip\r\n");
    EXPECT_FALSE(r.field("content-encoding"));
    EXPECT_FALSE(r.field("vary"));
    EXPECT_EQ(r.body, page);
}

TEST(Compression, CompressibleBodiesAboveTheMinimumWhenAccepted) {
    loopback_server s(make_app(true));
    auto r = fetch(s, "/", "Accept-Encoding: br;q=1, gzip;q=0.8\r\n");
    EXPECT_EQ(r.field("content-encoding"), "gzip");
    EXPECT_EQ(r.field("vary"), "Accept-Encoding");
    EXPECT_LT(r.body.size(), 200u);
    EXPECT_EQ(gunzip(r.body), page);
    ASSERT_TRUE(r.field("etag"));
    std::string tag(*r.field("etag"));
    EXPECT_TRUE(tag.starts_with("W/\"")) << tag;
    EXPECT_EQ(fetch(s, "/", "Accept-Encoding: gzip\r\nIf-None-Match: " + tag + "\r\n").status_line,
              "HTTP/1.1 304 Not Modified");
    // The identity ETag matches the weak one too (weak comparison).
    std::string strong = tag.substr(2);
    EXPECT_EQ(fetch(s, "/", "If-None-Match: " + strong + "\r\n").status_line, "HTTP/1.1 304 Not Modified");
}

TEST(Compression, NotWhenItMustNot) {
    loopback_server s(make_app(true));
    auto no_accept = fetch(s, "/");
    EXPECT_FALSE(no_accept.field("content-encoding"));
    EXPECT_EQ(no_accept.field("vary"), "Accept-Encoding");
    EXPECT_FALSE(fetch(s, "/", "Accept-Encoding: gzip;q=0\r\n").field("content-encoding"));
    EXPECT_FALSE(fetch(s, "/?body=short", "Accept-Encoding: gzip\r\n").field("content-encoding"));
    auto image = fetch(s, "/?type=image/png", "Accept-Encoding: gzip\r\n");
    EXPECT_FALSE(image.field("content-encoding"));
    EXPECT_FALSE(image.field("vary"));
    auto already = fetch(s, "/?encoding=br", "Accept-Encoding: gzip\r\n");
    EXPECT_EQ(already.field("content-encoding"), "br");
    EXPECT_EQ(already.body, page);
    EXPECT_FALSE(fetch(s, "/", "Accept-Encoding: gzip\r\nRange: bytes=0-1\r\n").field("content-encoding"));
    auto head = fetch(s, "/", "Accept-Encoding: gzip\r\n", "HEAD");
    EXPECT_EQ(head.field("content-encoding"), "gzip");
}

}  // namespace
