// static_file_handler end to end over raw loopback sockets: the path
// rules (every spelling of a way out of the root, symlinks, dotfiles,
// folders), the validators and conditionals, ranges, HEAD and 405, both
// ways of sending large files, compression, static_url, and files that
// change while they are being sent. Real clients (curl, Python, Chromium)
// are in tests/http/static_peers_test.py.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>

#include "loopback_server.hpp"
#include <squall/http/application.hpp>
#include <squall/http/detail/file_rules.hpp>
#include <squall/http/static_files.hpp>

using namespace squall;
using namespace squall::http;
using namespace squall::http::testing;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

void put(const fs::path& p, std::string_view data) {
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary | std::ios::trunc) << data;
}

std::string random_bytes(std::size_t n, unsigned seed) {
    std::mt19937 g(seed);
    std::string s(n, '\0');
    for (auto& c : s) c = static_cast<char>('a' + g() % 26);
    return s;
}

std::string gunzip(std::string_view in) {
    z_stream z{};
    inflateInit2(&z, 16 + MAX_WBITS);
    std::string out(1 << 22, '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z.avail_in = static_cast<uInt>(in.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    int rc = inflate(&z, Z_FINISH);
    out.resize(z.total_out);
    inflateEnd(&z);
    return rc == Z_STREAM_END ? out : "<corrupt>";
}

const std::string secret = "TOP-SECRET-OUTSIDE-THE-ROOT";

// A root with files, folders, symlinks in and out, and a secret next to it.
class StaticFiles : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/squall-static-XXXXXX";
        base_ = fs::path(::mkdtemp(tmpl));
        root_ = base_ / "root";
        put(base_ / "secret.txt", secret);
        put(root_ / "a.txt", "hello, file\n");
        put(root_ / "index.html", "<h1>root</h1>");
        put(root_ / "sub" / "index.html", "<h1>sub</h1>");
        put(root_ / "noindex" / "x.txt", "x");
        put(root_ / ".env", "PASSWORD=1");
        put(root_ / "%2e%2e" / "x", "literal name");
        put(root_ / "big.bin", random_bytes(3 << 20, 7));
        put(root_ / "page.css", std::string(4000, 'c'));
        put(root_ / "pre.js", std::string(3000, 'j'));
        put(root_ / "pre.js.gz", "not really gzip, but the sibling");
        fs::create_symlink("a.txt", root_ / "inside_link");
        fs::create_symlink(base_ / "secret.txt", root_ / "abs_out");
        fs::create_symlink("../secret.txt", root_ / "rel_out");
        fs::create_symlink(base_, root_ / "dir_out");
        fs::create_symlink("/proc/self/root/etc/passwd", root_ / "magic");
        auto app = std::make_unique<application>();
        static_options o;
        o.root = root_.string();
        o.cache_valid = 20ms;
        mount_static(*app, "/s/", o);
        o.splice = false;
        mount_static(*app, "/r/", o);
        o.compress = true;
        o.splice = true;
        mount_static(*app, "/z/", o);
        server_.emplace(std::move(app));
    }
    void TearDown() override {
        server_.reset();
        fs::remove_all(base_);
    }
    response get(std::string_view target, std::string_view extra = {}, std::string_view method = "GET") {
        raw_client c(server_->port());
        std::string req =
            std::string(method) + " " + std::string(target) + " HTTP/1.1\r\nHost: x\r\n" + std::string(extra) + "\r\n";
        EXPECT_TRUE(c.send(req));
        auto r = c.read_response(method == "HEAD");
        EXPECT_TRUE(r) << target;
        return r.value_or(response{});
    }

    fs::path base_, root_;
    std::optional<loopback_server> server_;
};

TEST_F(StaticFiles, ServesAFileWithValidators) {
    auto r = get("/s/a.txt");
    EXPECT_EQ(r.status_line, "HTTP/1.1 200 OK");
    EXPECT_EQ(r.body, "hello, file\n");
    EXPECT_EQ(r.field("content-type"), "text/plain; charset=utf-8");
    EXPECT_EQ(r.field("accept-ranges"), "bytes");
    ASSERT_TRUE(r.field("etag"));
    EXPECT_TRUE(r.field("etag")->starts_with("\""));
    struct stat st;
    ::stat((root_ / "a.txt").c_str(), &st);
    ASSERT_TRUE(r.field("last-modified"));
    EXPECT_EQ(*r.field("last-modified"), squall::http::detail::format_http_date(st.st_mtim.tv_sec));
    EXPECT_FALSE(r.field("cache-control"));
}

TEST_F(StaticFiles, NoSpellingLeavesTheRoot) {
    const char* spellings[] = {
        "/s/../secret.txt",
        "/s/%2e%2e/secret.txt",
        "/s/%2E%2E%2Fsecret.txt",
        "/s/..%2fsecret.txt",
        "/s/%252e%252e/secret.txt",
        "/s/%25%32%65%25%32%65/secret.txt",
        "/s/..%5csecret.txt",
        "/s/..\\secret.txt",
        "/s/%c0%ae%c0%ae/secret.txt",
        "/s/%c0%ae%c0%ae%c0%afsecret.txt",
        "/s/%e0%80%ae%e0%80%ae/secret.txt",
        "/s/a.txt%00.html",
        "/s/%00../secret.txt",
        "/s//etc/passwd",
        "/s/%2fetc%2fpasswd",
        "/s/abs_out",
        "/s/rel_out",
        "/s/dir_out/secret.txt",
        "/s/magic",
        "/s/sub/../../secret.txt",
        "/s/./../secret.txt",
        "/s/%2e/%2e%2e/secret.txt",
        "/s/.%2e/secret.txt",
        "/s/sub/%2e%2e/%2e%2e/secret.txt",
        "/r/../secret.txt",
        "/z/rel_out",
        "/s/.env",
        "/s/%2eenv",
    };
    for (const char* target : spellings) {
        raw_client c(server_->port());
        ASSERT_TRUE(c.send(std::string("GET ") + target + " HTTP/1.1\r\nHost: x\r\n\r\n"));
        auto r = c.read_response();
        ASSERT_TRUE(r) << target;
        EXPECT_TRUE(r->status_line.starts_with("HTTP/1.1 4")) << target << ": " << r->status_line;
        EXPECT_EQ(r->body.find(secret), std::string::npos) << target;
        EXPECT_EQ(r->body.find("root:"), std::string::npos) << target;
        EXPECT_EQ(r->body.find("PASSWORD"), std::string::npos) << target;
    }
    // Decoded once: the double-encoded name is a real file of that name.
    EXPECT_EQ(get("/s/%252e%252e/x").body, "literal name");
}

TEST_F(StaticFiles, SymlinksInsideTheRootAreServed) {
    auto r = get("/s/inside_link");
    EXPECT_EQ(r.status_line, "HTTP/1.1 200 OK");
    EXPECT_EQ(r.body, "hello, file\n");
}

TEST_F(StaticFiles, FoldersRedirectThenServeTheIndexNeverAListing) {
    auto r = get("/s/sub?x=1");
    EXPECT_EQ(r.status_line, "HTTP/1.1 301 Moved Permanently");
    EXPECT_EQ(r.field("location"), "/s/sub/?x=1");
    EXPECT_EQ(get("/s/sub/").body, "<h1>sub</h1>");
    EXPECT_EQ(get("/s/").body, "<h1>root</h1>");
    EXPECT_EQ(get("/s/noindex/").status_line, "HTTP/1.1 404 Not Found");
    EXPECT_EQ(get("/s/a.txt/").status_line, "HTTP/1.1 404 Not Found");
    EXPECT_EQ(get("/s/missing.txt").status_line, "HTTP/1.1 404 Not Found");
}

TEST_F(StaticFiles, HeadAndOtherVerbs) {
    auto h = get("/s/a.txt", {}, "HEAD");
    EXPECT_EQ(h.status_line, "HTTP/1.1 200 OK");
    EXPECT_EQ(h.field("content-length"), "12");
    EXPECT_TRUE(h.body.empty());
    auto big = get("/s/big.bin", {}, "HEAD");
    EXPECT_EQ(big.field("content-length"), std::to_string(3 << 20));
    auto p = get("/s/a.txt", "Content-Length: 0\r\n", "POST");
    EXPECT_EQ(p.status_line, "HTTP/1.1 405 Method Not Allowed");
    EXPECT_EQ(p.field("allow"), "GET, HEAD");
}

TEST_F(StaticFiles, ConditionalRequests) {
    std::string etag(*get("/s/a.txt").field("etag"));
    std::string lm(*get("/s/a.txt").field("last-modified"));
    EXPECT_EQ(get("/s/a.txt", "If-None-Match: " + etag + "\r\n").status_line, "HTTP/1.1 304 Not Modified");
    EXPECT_EQ(get("/s/a.txt", "If-None-Match: \"zz\", W/" + etag + "\r\n").status_line, "HTTP/1.1 304 Not Modified");
    EXPECT_EQ(get("/s/a.txt", "If-None-Match: *\r\n").status_line, "HTTP/1.1 304 Not Modified");
    EXPECT_EQ(get("/s/a.txt", "If-None-Match: \"zz\"\r\n").status_line, "HTTP/1.1 200 OK");
    auto nm = get("/s/a.txt", "If-Modified-Since: " + lm + "\r\n");
    EXPECT_EQ(nm.status_line, "HTTP/1.1 304 Not Modified");
    EXPECT_EQ(nm.field("etag"), etag);
    EXPECT_FALSE(nm.field("content-length"));
    EXPECT_EQ(get("/s/a.txt", "If-Modified-Since: Sat, 01 Jan 2000 00:00:00 GMT\r\n").status_line, "HTTP/1.1 200 OK");
    EXPECT_EQ(get("/s/a.txt", "If-Match: \"zz\"\r\n").status_line, "HTTP/1.1 412 Precondition Failed");
    EXPECT_EQ(get("/s/a.txt", "If-Match: " + etag + "\r\n").status_line, "HTTP/1.1 200 OK");
    EXPECT_EQ(get("/s/a.txt", "If-Unmodified-Since: Sat, 01 Jan 2000 00:00:00 GMT\r\n").status_line,
              "HTTP/1.1 412 Precondition Failed");
}

TEST_F(StaticFiles, Ranges) {
    auto r = get("/s/a.txt", "Range: bytes=0-4\r\n");
    EXPECT_EQ(r.status_line, "HTTP/1.1 206 Partial Content");
    EXPECT_EQ(r.body, "hello");
    EXPECT_EQ(r.field("content-range"), "bytes 0-4/12");
    EXPECT_EQ(get("/s/a.txt", "Range: bytes=-5\r\n").body, "file\n");
    EXPECT_EQ(get("/s/a.txt", "Range: bytes=7-\r\n").body, "file\n");
    EXPECT_EQ(get("/s/a.txt", "Range: bytes=7-999\r\n").field("content-range"), "bytes 7-11/12");
    auto bad = get("/s/a.txt", "Range: bytes=12-\r\n");
    EXPECT_EQ(bad.status_line, "HTTP/1.1 416 Range Not Satisfiable");
    EXPECT_EQ(bad.field("content-range"), "bytes */12");
    EXPECT_EQ(get("/s/a.txt", "Range: bytes=5-1\r\n").status_line, "HTTP/1.1 200 OK");  // malformed: ignored
    auto multi = get("/s/a.txt", "Range: bytes=0-1,7-8\r\n");
    EXPECT_EQ(multi.status_line, "HTTP/1.1 206 Partial Content");
    auto type = multi.field("content-type");
    ASSERT_TRUE(type && type->starts_with("multipart/byteranges; boundary="));
    std::string boundary(type->substr(type->find('=') + 1));
    EXPECT_NE(multi.body.find("Content-Range: bytes 0-1/12\r\n\r\nhe\r\n--" + boundary), std::string::npos);
    EXPECT_NE(multi.body.find("Content-Range: bytes 7-8/12\r\n\r\nfi\r\n--" + boundary + "--"), std::string::npos);
    // Overlapping ranges that add up past the file: the whole file.
    EXPECT_EQ(get("/s/a.txt", "Range: bytes=0-11,0-11\r\n").status_line, "HTTP/1.1 200 OK");
    std::string etag(*get("/s/a.txt").field("etag"));
    EXPECT_EQ(get("/s/a.txt", "Range: bytes=0-4\r\nIf-Range: " + etag + "\r\n").status_line,
              "HTTP/1.1 206 Partial Content");
    EXPECT_EQ(get("/s/a.txt", "Range: bytes=0-4\r\nIf-Range: \"old\"\r\n").body, "hello, file\n");
}

TEST_F(StaticFiles, LargeFilesBySpliceAndByRead) {
    std::string want = random_bytes(3 << 20, 7);
    for (const char* prefix : {"/s/", "/r/"}) {
        raw_client c(server_->port());
        std::string req = std::string("GET ") + prefix + "big.bin HTTP/1.1\r\nHost: x\r\n\r\n";
        ASSERT_TRUE(c.send(req + req));  // pipelined: the second follows the first's body exactly
        for (int i = 0; i < 2; ++i) {
            auto r = c.read_response();
            ASSERT_TRUE(r) << prefix;
            EXPECT_EQ(r->body.size(), want.size());
            EXPECT_TRUE(r->body == want) << prefix;
        }
        auto part = get(std::string(prefix) + "big.bin", "Range: bytes=1000000-1000009\r\n");
        EXPECT_EQ(part.body, want.substr(1000000, 10));
    }
}

TEST_F(StaticFiles, CompressionAndPrecompressedSiblings) {
    auto r = get("/z/page.css", "Accept-Encoding: gzip\r\n");
    EXPECT_EQ(r.field("content-encoding"), "gzip");
    EXPECT_EQ(r.field("vary"), "Accept-Encoding");
    ASSERT_TRUE(r.field("etag"));
    EXPECT_TRUE(r.field("etag")->starts_with("W/\""));
    EXPECT_EQ(gunzip(r.body), std::string(4000, 'c'));
    auto plain = get("/z/page.css", "Accept-Encoding: gzip;q=0, br\r\n");
    EXPECT_FALSE(plain.field("content-encoding"));
    EXPECT_EQ(plain.field("vary"), "Accept-Encoding");
    EXPECT_EQ(plain.body, std::string(4000, 'c'));
    auto ranged = get("/z/page.css", "Accept-Encoding: gzip\r\nRange: bytes=0-9\r\n");
    EXPECT_FALSE(ranged.field("content-encoding"));
    EXPECT_EQ(ranged.body, std::string(10, 'c'));
    auto pre = get("/z/pre.js", "Accept-Encoding: deflate, gzip\r\n");
    EXPECT_EQ(pre.field("content-encoding"), "gzip");
    EXPECT_EQ(pre.field("content-type"), "text/javascript; charset=utf-8");
    EXPECT_EQ(pre.body, "not really gzip, but the sibling");
    EXPECT_FALSE(get("/s/page.css", "Accept-Encoding: gzip\r\n").field("content-encoding"));  // off by default
    std::string weak(*r.field("etag"));
    EXPECT_EQ(get("/z/page.css", "Accept-Encoding: gzip\r\nIf-None-Match: " + weak + "\r\n").status_line,
              "HTTP/1.1 304 Not Modified");
}

TEST_F(StaticFiles, AChangedFileIsSeenAfterTheCacheWindow) {
    EXPECT_EQ(get("/s/a.txt").body, "hello, file\n");
    put(root_ / "a.txt", "changed, and longer\n");
    std::this_thread::sleep_for(100ms);
    EXPECT_EQ(get("/s/a.txt").body, "changed, and longer\n");
    fs::remove(root_ / "a.txt");
    std::this_thread::sleep_for(100ms);
    EXPECT_EQ(get("/s/a.txt").status_line, "HTTP/1.1 404 Not Found");
}

// A client that reads nothing at first: the server is mid-body (the file
// is far larger than the socket buffers) when the file changes.
std::optional<response> get_while(std::uint16_t port, const std::string& target, const std::function<void()>& change) {
    raw_client c(port, 4096);
    EXPECT_TRUE(c.send("GET " + target + " HTTP/1.1\r\nHost: x\r\n\r\n"));
    std::this_thread::sleep_for(300ms);
    change();
    return c.read_response();
}

TEST_F(StaticFiles, AFileThatChangesMidSendNeverCompletesUnderAStaleLength) {
    const std::string old_body = random_bytes(24 << 20, 1);
    for (const char* prefix : {"/s/", "/r/"}) {
        std::string target = std::string(prefix) + "moving.bin";
        // Shrunk: the file ends before the announced length.
        put(root_ / "moving.bin", old_body);
        auto shrunk = get_while(server_->port(), target, [&] { fs::resize_file(root_ / "moving.bin", 1000); });
        EXPECT_FALSE(shrunk) << prefix << ": a short body passed as complete";
        // Rewritten in place, same size: mixed bytes must not complete.
        put(root_ / "moving.bin", old_body);
        std::this_thread::sleep_for(50ms);
        auto mixed = get_while(server_->port(), target, [&] {
            int fd = ::open((root_ / "moving.bin").c_str(), O_WRONLY);
            std::string other = random_bytes(old_body.size(), 2);
            EXPECT_EQ(::pwrite(fd, other.data(), other.size(), 0), static_cast<ssize_t>(other.size()));
            ::close(fd);
        });
        EXPECT_TRUE(!mixed || mixed->body == old_body) << prefix << ": a mixed body passed as complete";
        EXPECT_FALSE(mixed) << prefix;
        // Replaced by rename: the old inode is served whole.
        put(root_ / "moving.bin", old_body);
        std::this_thread::sleep_for(50ms);
        auto renamed = get_while(server_->port(), target, [&] {
            put(root_ / "next.bin", "the new version");
            fs::rename(root_ / "next.bin", root_ / "moving.bin");
        });
        ASSERT_TRUE(renamed) << prefix;
        EXPECT_TRUE(renamed->body == old_body) << prefix;
    }
}

class url_page : public request_handler {
public:
    task<void> get() {
        write(static_url(*this, "a.txt"));
        co_return;
    }
};

TEST(StaticPath, MountsStaticFaviconRobotsAndVersionsUrls) {
    char tmpl[] = "/tmp/squall-static-XXXXXX";
    fs::path root(::mkdtemp(tmpl));
    put(root / "a.txt", "versioned");
    put(root / "favicon.ico", "icon");
    put(root / "robots.txt", "User-agent: *\n");
    app_settings s;
    s.static_path = root.string();
    auto app = std::make_unique<application>(s);
    app->add<url_page>("/page");
    loopback_server server(std::move(app));
    auto fetch = [&](const std::string& target) {
        raw_client c(server.port());
        EXPECT_TRUE(c.send("GET " + target + " HTTP/1.1\r\nHost: x\r\n\r\n"));
        return c.read_response().value_or(response{});
    };
    std::string url = fetch("/page").body;
    EXPECT_TRUE(url.starts_with("/static/a.txt?v=")) << url;
    EXPECT_EQ(url.size(), std::string("/static/a.txt?v=").size() + 32);
    auto versioned = fetch(url);
    EXPECT_EQ(versioned.body, "versioned");
    EXPECT_EQ(versioned.field("cache-control"), "public, max-age=31536000, immutable");
    EXPECT_FALSE(fetch("/static/a.txt").field("cache-control"));
    EXPECT_EQ(fetch("/favicon.ico").body, "icon");
    EXPECT_EQ(fetch("/robots.txt").body, "User-agent: *\n");
    put(root / "a.txt", "versioned, edited");
    EXPECT_NE(fetch("/page").body, url);  // new content, new version
    fs::remove_all(root);
}

}  // namespace
