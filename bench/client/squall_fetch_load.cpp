// The squall side of bench/client_bench.py: `connections` tasks fetch
// `url` over one http::client (max_clients = connections, keep-alive)
// until `requests` responses came; prints "ok=N bytes=B". The driver
// measures this process's CPU time.
//
//   squall_fetch_load URL CONNECTIONS REQUESTS [stream]
//
// With `stream` the body goes to a streaming_callback that only counts it
// (as curl_multi_load's write callback does) instead of being kept.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <squall/engine/loop.hpp>
#include <squall/engine/when.hpp>
#include <squall/http/client.hpp>

using namespace squall;

namespace {

struct tally {
    long remaining = 0, ok = 0, failed = 0;
    unsigned long long bytes = 0, streamed = 0;
    bool stream = false;
};

task<result<void>> count(tally* t, std::string_view piece) {
    t->streamed += piece.size();
    co_return result<void>{};
}

task<void> worker(http::client* c, std::string url, tally* t) {
    while (t->remaining > 0) {
        --t->remaining;
        http::request req;
        req.url = url;
        req.decompress_response = false;  // as curl, undici and Tornado are run
        if (t->stream) req.streaming_callback = [t](std::string_view piece) { return count(t, piece); };
        auto r = co_await c->fetch(std::move(req));
        if (r && r->status == 200) {
            ++t->ok;
            t->bytes += r->body.size();
            t->bytes += std::exchange(t->streamed, 0);
        } else {
            ++t->failed;
        }
    }
}

task<void> run(http::client* c, std::string url, int connections, tally* t) {
    std::vector<task<void>> workers;
    for (int i = 0; i < connections; ++i) workers.push_back(worker(c, url, t));
    co_await when_all(std::move(workers));
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 4 && argc != 5) {
        std::fprintf(stderr, "usage: squall_fetch_load URL CONNECTIONS REQUESTS [stream]\n");
        return 2;
    }
    const int connections = std::atoi(argv[2]);
    tally t;
    t.remaining = std::atol(argv[3]);
    t.stream = argc == 5 && std::string_view(argv[4]) == "stream";
    // The receive ring's buffers can be sized from the environment: the
    // default 4 KiB suits servers with many small requests, while a client
    // reading large bodies pays a completion per buffer.
    loop_options lo;
    if (const char* size = std::getenv("SQUALL_RECV_BUFFER_SIZE"))
        lo.recv_buffer_size = static_cast<unsigned>(std::atoi(size));
    if (const char* n = std::getenv("SQUALL_RECV_BUFFERS")) lo.recv_buffers = static_cast<unsigned>(std::atoi(n));
    loop l(lo);
    http::client_options o;
    o.max_clients = static_cast<std::size_t>(connections);
    http::client c(o);
    l.run_sync(run(&c, argv[1], connections, &t));
    std::printf("ok=%ld failed=%ld bytes=%llu\n", t.ok, t.failed, t.bytes);
    return t.failed ? 1 : 0;
}
