// ws_echo: WebSocket echo and the prime-number service.
//
//   build/examples/ws_echo --port 8888
//   /ws     echoes every text and binary message as it came
//   /prime  answers each integer with whether it is prime, e.g.
//           "7" -> "7 is prime", "8" -> "8 is not prime"
//
// permessage-deflate is offered to clients that ask (--no-deflate to
// refuse). A ping goes out every --ping-interval seconds (20 by default,
// as Tornado's websocket_ping_interval would be set in production) and a
// write a client does not take within --write-timeout closes it, so a
// vanished or stalled reader is found and costs at most --max-queued
// bytes. Tests: tests/examples/ws_python_test.py, ws_node_test.js;
// bench/ws_bench.py measures /ws.
#include <CLI/CLI.hpp>

#include <charconv>
#include <cstdint>
#include <string>

#include "common/server_flags.hpp"
#include <squall/http/application.hpp>
#include <squall/http/server.hpp>
#include <squall/ws/handler.hpp>

using namespace squall;

namespace {

class echo_socket : public ws::websocket_handler {
public:
    explicit echo_socket(ws::connection_options o) { ws_options = o; }
    task<void> on_message(ws::message m) override {
        result<void> w = co_await write_message(m.data, m.binary);
        (void)w;  // a failed write ends the connection; its reader sees that
    }
};

bool is_prime(std::uint64_t n) {
    if (n < 2) return false;
    for (std::uint64_t d = 2; d <= n / d; ++d)
        if (n % d == 0) return false;
    return true;
}

class prime_socket : public ws::websocket_handler {
public:
    explicit prime_socket(ws::connection_options o) { ws_options = o; }
    task<void> on_message(ws::message m) override {
        std::uint64_t n = 0;
        auto [end, ec] = std::from_chars(m.data.data(), m.data.data() + m.data.size(), n);
        std::string answer;
        if (ec != std::errc() || end != m.data.data() + m.data.size() || m.data.empty()) {
            answer = "not a non-negative integer: " + std::string(m.data.substr(0, 64));
        } else {
            answer = std::to_string(n) + (is_prime(n) ? " is prime" : " is not prime");
        }
        result<void> w = co_await write_message(answer);
        (void)w;
    }
};

}  // namespace

int main(int argc, char** argv) {
    CLI::App cli{"squall ws_echo: WebSocket echo on /ws, primes on /prime"};
    http::server_options so;
    examples::feature_flags flags;
    bool no_deflate = false;
    std::size_t max_message = 10 * 1024 * 1024;
    double ping_interval = 20;
    double write_timeout = 30;
    std::size_t max_queued = 4 * 1024 * 1024;
    int level = 6;
    cli.add_flag("--no-deflate", no_deflate, "refuse permessage-deflate");
    cli.add_option("--compression-level", level, "zlib level for permessage-deflate (1 fastest, 9 smallest)")
        ->check(CLI::Range(0, 9));
    cli.add_option("--max-message-size", max_message, "bytes a message may have (also after inflating)");
    cli.add_option("--ping-interval", ping_interval, "seconds between pings (0: none)")->capture_default_str();
    cli.add_option("--write-timeout", write_timeout, "seconds a write to a client may take (0: none)")
        ->capture_default_str();
    cli.add_option("--max-queued", max_queued, "bytes queued for a client at most")->capture_default_str();
    examples::add_http_server_flags(cli, so, flags);
    CLI11_PARSE(cli, argc, argv);
    examples::apply_http_server_flags(flags, so);

    ws::connection_options wo;
    wo.deflate.enabled = !no_deflate;
    wo.deflate.level = level;
    wo.max_message_size = max_message;
    auto seconds = [](double s) {
        return std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(s));
    };
    wo.ping_interval = seconds(ping_interval);
    wo.write_timeout = seconds(write_timeout);
    wo.max_queued_bytes = max_queued;
    http::application app;
    app.add<echo_socket>("/ws", wo);
    app.add<prime_socket>("/prime", wo);
    return http::serve(app, so);
}
