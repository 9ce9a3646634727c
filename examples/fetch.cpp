// fetch: a small curl on squall's HTTP client.
//
//   build/examples/fetch [options] URL...
//
// Fetches each URL in order through one client (one pool: keep-alive
// reuse between them) and writes each body to stdout. Exit status 0 when
// every URL got a complete, valid response (any status); 1 with one line
// on stderr at the first transport, protocol, decoding, redirect-limit or
// timeout error; 2 for bad options.
// Tests: tests/examples/fetch_test.py.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <string>
#include <vector>

#include <squall/engine/loop.hpp>
#include <squall/http/client.hpp>

using namespace squall;

namespace {

struct options {
    bool include = false, no_decompress = false;
    std::string method, data, cacert, proxy;
    std::vector<std::string> headers, urls;
    int max_redirects = 5;
    double connect_timeout = 20, timeout = 60;
};

http::request make_request(const options& o, const std::string& url) {
    http::request r;
    r.url = url;
    if (!o.data.empty()) {
        r.method = "POST";
        r.body = o.data;
        r.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
    }
    if (!o.method.empty()) r.method = o.method;
    for (const auto& h : o.headers) {
        auto colon = h.find(':');
        if (colon == std::string::npos) throw CLI::ValidationError("-H", "expects 'Name: value'");
        std::string value = h.substr(colon + 1);
        value.erase(0, value.find_first_not_of(" \t"));
        // A user's field replaces the client's default of that name.
        std::string name = h.substr(0, colon);
        if (name == "User-Agent" || name == "user-agent") r.user_agent.clear();
        r.headers.emplace_back(name, value);
    }
    r.follow_redirects = o.max_redirects > 0;
    r.max_redirects = static_cast<unsigned>(std::max(o.max_redirects, 0));
    r.connect_timeout = std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(o.connect_timeout));
    r.request_timeout = std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(o.timeout));
    r.decompress_response = !o.no_decompress;
    r.ca_file = o.cacert;
    r.proxy = o.proxy;
    return r;
}

void print_head(const http::response& r) {
    std::string head = "HTTP/1.1 " + std::to_string(r.status) + " " + r.reason + "\r\n";
    for (const auto& [n, v] : r.headers) head += n + ": " + v + "\r\n";
    head += "\r\n";
    std::fwrite(head.data(), 1, head.size(), stdout);
}

task<int> run(options o) {
    http::client c;
    for (const auto& url : o.urls) {
        http::request req = make_request(o, url);
        auto r = co_await c.fetch(std::move(req));
        if (!r) {
            const std::error_code ec = r.error();
            std::string why = make_error_code(http::error_kind(ec)).message();
            if (ec.category() != http::client_category()) why += ": " + ec.message();
            std::fprintf(stderr, "fetch: %s: %s\n", url.c_str(), why.c_str());
            co_return 1;
        }
        if (o.include) print_head(*r);
        std::fwrite(r->body.data(), 1, r->body.size(), stdout);
        std::fflush(stdout);
    }
    co_return 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App cli{"fetch: a small curl on squall's HTTP client"};
    options o;
    cli.add_flag("-i,--include", o.include, "print the status line and headers before each body");
    cli.add_option("-X,--request", o.method, "request method");
    cli.add_option("-H,--header", o.headers, "extra request field 'Name: value' (repeatable)");
    cli.add_option("-d,--data", o.data, "request body (POST unless -X)");
    cli.add_option("--max-redirects", o.max_redirects, "redirects to follow (0: none)");
    cli.add_option("--connect-timeout", o.connect_timeout, "seconds to connect");
    cli.add_option("--timeout", o.timeout, "seconds for the whole request");
    cli.add_flag("--no-decompress", o.no_decompress, "do not ask for or decode gzip");
    cli.add_option("--cacert", o.cacert, "PEM file of trusted CAs");
    cli.add_option("--proxy", o.proxy, "HTTP proxy URL");
    cli.add_option("urls", o.urls, "URLs to fetch")->required();
    try {
        cli.parse(argc, argv);
        loop l;
        return l.run_sync(run(o));
    } catch (const CLI::ParseError& e) {
        return cli.exit(e) == 0 ? 0 : 2;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "fetch: %s\n", e.what());
        return 1;
    }
}
