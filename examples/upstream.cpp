// upstream: an asynchronous handler that calls another service with the
// HTTP client and answers with what it got (the async handler of
// Tornado's documentation: `response = await AsyncHTTPClient().fetch(...)`).
//
//   build/examples/upstream --port 8888 --upstream http://127.0.0.1:9000
//   curl http://127.0.0.1:8888/some/path?q=1  -> the upstream's answer to
//                                               GET /some/path?q=1
//
// GET and POST on any path go to the upstream (the one given by the flag,
// never a URL from the request: this is not an open proxy, and it is not
// among make run's routes). The upstream's status, Content-Type and body
// come back; when the upstream cannot be reached or breaks HTTP the answer
// is 502, when it does not answer within --timeout it is 504.
// Each loop has its own client (one pool per loop); handlers share it by
// shared_ptr, so it lives until the last fetch on it is over.
// Tests: tests/examples/upstream_test.py.
#include <CLI/CLI.hpp>

#include <memory>
#include <string>

#include <squall/engine/listener.hpp>
#include <squall/engine/server.hpp>
#include <squall/http/application.hpp>
#include <squall/http/client.hpp>
#include <squall/http/handler.hpp>
#include <squall/http/server.hpp>

using namespace squall;

namespace {

thread_local std::weak_ptr<http::client> loop_client;

struct upstream_config {
    std::string base;  // the upstream's URL, without a trailing '/'
    clock::duration timeout = std::chrono::seconds(10);
};

class upstream_handler : public http::request_handler {
public:
    explicit upstream_handler(std::shared_ptr<const upstream_config> cfg) : cfg_(std::move(cfg)) {}
    task<void> get(std::string path) { return forward(std::move(path)); }
    task<void> post(std::string path) { return forward(std::move(path)); }

private:
    task<void> forward(std::string path) {
        std::shared_ptr<http::client> c = loop_client.lock();
        if (!c) throw http::http_error(503);
        http::request req;
        req.url = cfg_->base + "/" + path;
        if (!request().query.empty()) req.url += "?" + std::string(request().query);
        req.method = std::string(request().method);
        req.body = std::string(body());
        if (auto ct = request().headers.get("content-type")) req.headers.emplace_back("Content-Type", std::string(*ct));
        req.request_timeout = cfg_->timeout;
        auto r = co_await c->fetch(std::move(req));
        if (!r) {
            const bool timed_out = http::error_kind(r.error()) == http::client_errc::timeout;
            send_error(timed_out ? 504 : 502, r.error().message());
            co_return;
        }
        set_status(r->status, r->reason);
        if (auto ct = r->header("content-type")) set_header("Content-Type", *ct);
        write(r->body);
    }

    std::shared_ptr<const upstream_config> cfg_;
};

// One loop's part: its listener and its client.
task<void> serve_on_loop(address addr, bool reuse_port, const http::application* app, cancel_token shutdown) {
    listen_options lo;
    lo.reuse_port = reuse_port;
    listener l(listen_on(addr, lo));
    auto c = std::make_shared<http::client>();
    loop_client = c;
    co_await http::serve_listener(&l, app, {}, shutdown);
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App cli{"upstream: answers each request with what the upstream service answered"};
    std::string host = "127.0.0.1", upstream;
    std::uint16_t port = 8888;
    double timeout = 10;
    squall::run_options run;
    cli.add_option("--host", host, "address to listen on");
    cli.add_option("--port", port, "port to listen on");
    cli.add_option("--threads", run.threads, "loops, one per thread")->check(CLI::Range(1u, 256u));
    cli.add_option("--upstream", upstream, "the service to call, e.g. http://127.0.0.1:9000")->required();
    cli.add_option("--timeout", timeout, "seconds the upstream gets to answer (then 504)");
    CLI11_PARSE(cli, argc, argv);
    while (!upstream.empty() && upstream.back() == '/') upstream.pop_back();

    auto cfg = std::make_shared<upstream_config>();
    cfg->base = upstream;
    cfg->timeout = std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(timeout));
    http::application app;
    app.add<upstream_handler>("/(.*)", std::shared_ptr<const upstream_config>(cfg));
    const address addr = address::ip(host, port);
    const bool reuse_port = run.threads > 1;
    const http::application* a = &app;
    return run_server(run, [=](cancel_token shutdown) { return serve_on_loop(addr, reuse_port, a, shutdown); });
}
