// squall-load: an HTTP/1.1 and WebSocket load generator on squall's own
// engine, the client of `make bench` and `make bench-features`.
//
//   build/bench/squall-load -c 50 -d 5 http://127.0.0.1:8080/
//   build/bench/squall-load -c 50 -d 5 --pipeline 16 --json http://127.0.0.1:8080/
//   build/bench/squall-load -c 50 -d 5 --rate 20000 http://127.0.0.1:8080/
//   build/bench/squall-load -c 50 -d 5 --ws --ws-size 64 [--ws-deflate] ws://127.0.0.1:8080/ws
//   build/bench/squall-load -c 50 -d 5 --cacert ca.pem https://localhost:8443/
//
// The host may be a name: each load thread resolves it with the engine's
// resolver (c-ares on the ring, /etc/hosts first, cached) and connects
// with Happy Eyeballs (engine/connect.hpp). https:// and wss:// speak TLS
// through the engine's client (engine/tls.hpp): the certificate is checked
// against the system store or --cacert and the host name, unless
// --insecure; a failed handshake counts as a connect error.
// --threads load threads, each with one io_uring loop and its share of the
// connections; every connection is up before a thread's clock starts. Each
// response is checked (status, and body length against --expect-length or
// the first response), so a broken server cannot look fast: errors are
// counted by kind and the exit status is 1 when any occurred. --rate fixes
// the request rate and times each request from when it was due, not when
// it could be sent (coordinated omission, as wrk2 corrects it). With
// --json one JSON object goes to stdout: requests_per_sec, bytes_per_sec,
// latency_us {p50, p90, p99, p999, max, mean}, errors {kind: count}, and
// the generator's own CPU time per request (getrusage of the process).
// Latency comes from a log-bucket histogram (load/histogram.hpp).
// Tests: tests/bench/ (histogram, response scanner, and the program
// against servers that answer right and wrong).
#include <CLI/CLI.hpp>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "load/load.hpp"
#include <squall/engine/loop.hpp>
#include <squall/engine/tls.hpp>

using namespace squall;
using namespace squall::load;

namespace {

struct parsed_url {
    bool ws = false;
    bool tls = false;
    std::string host;
    std::uint16_t port = 80;
    std::string path = "/";
};

parsed_url parse_url(const std::string& url) {
    parsed_url u;
    std::string_view rest = url;
    for (std::string_view scheme : {"http://", "https://", "ws://", "wss://"}) {
        if (!rest.starts_with(scheme)) continue;
        u.ws = scheme[0] == 'w';
        u.tls = scheme == "https://" || scheme == "wss://";
        u.port = u.tls ? 443 : 80;
        rest.remove_prefix(scheme.size());
        break;
    }
    if (rest.size() == url.size())
        throw std::invalid_argument("the URL must start with http://, https://, ws:// or wss://");
    std::size_t slash = rest.find('/');
    std::string_view authority = rest.substr(0, slash);
    if (slash != std::string_view::npos) u.path = std::string(rest.substr(slash));
    std::size_t colon = authority.rfind(':');
    if (colon != std::string_view::npos && authority.find(']', colon) == std::string_view::npos) {
        u.port = static_cast<std::uint16_t>(std::stoul(std::string(authority.substr(colon + 1))));
        authority = authority.substr(0, colon);
    }
    if (authority.starts_with('[') && authority.ends_with(']')) authority = authority.substr(1, authority.size() - 2);
    if (authority.empty()) throw std::invalid_argument("no host");
    u.host = std::string(authority);
    return u;
}

std::string host_header(const parsed_url& u) {
    std::string h = u.host.find(':') != std::string::npos ? "[" + u.host + "]" : u.host;
    return h + ":" + std::to_string(u.port);
}

std::string build_request(const std::string& method, const parsed_url& u, const std::vector<std::string>& headers,
                          const std::string& body) {
    std::string r = method + " " + u.path + " HTTP/1.1\r\nHost: " + host_header(u) + "\r\n";
    for (const auto& h : headers) r += h + "\r\n";
    if (!body.empty() || method == "POST" || method == "PUT")
        r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    return r + "\r\n" + body;
}

struct totals {
    histogram hist;
    std::uint64_t responses = 0, bytes = 0, reconnects = 0;
    std::array<std::uint64_t, static_cast<std::size_t>(error_kind::count_)> errors{};
    std::uint64_t error_total = 0;
    std::string first_error;
    double seconds = 0;
    double cpu_user = 0, cpu_sys = 0;
};

void run_worker(worker* w) {
    loop_options lo;
    lo.sq_entries = 1024;
    loop l(lo);
    w->l = &l;
    w->live = w->conns;
    for (unsigned i = 0; i < w->conns; ++i) {
        if (w->cfg->ws) l.spawn(ws_connection(w, i));
        else l.spawn(http_connection(w, i));
    }
    l.run();
}

totals run(const config& cfg) {
    std::vector<std::unique_ptr<worker>> workers;
    unsigned first = 0;
    for (unsigned t = 0; t < cfg.threads; ++t) {
        auto w = std::make_unique<worker>();
        w->cfg = &cfg;
        w->conns = cfg.connections / cfg.threads + (t < cfg.connections % cfg.threads ? 1 : 0);
        w->first_conn = first;
        first += w->conns;
        w->rate = cfg.rate * w->conns / cfg.connections;
        if (cfg.requests) w->budget = cfg.requests / cfg.threads + (t < cfg.requests % cfg.threads ? 1 : 0);
        for (unsigned i = 0; i < cfg.pipeline; ++i) w->batch += cfg.request;
        if (w->conns) workers.push_back(std::move(w));
    }
    std::vector<std::thread> threads;
    for (auto& w : workers) threads.emplace_back(run_worker, w.get());
    for (auto& t : threads) t.join();

    totals out;
    for (auto& w : workers) {
        out.hist.merge(w->hist);
        out.responses += w->responses;
        out.bytes += w->bytes;
        out.reconnects += w->reconnects;
        for (std::size_t k = 0; k < out.errors.size(); ++k) out.errors[k] += w->errors[k];
        if (out.first_error.empty()) out.first_error = w->first_error;
        if (w->end > w->start && w->start != clock::time_point{})
            out.seconds = std::max(out.seconds, std::chrono::duration<double>(w->end - w->start).count());
    }
    for (auto e : out.errors) out.error_total += e;
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    out.cpu_user = static_cast<double>(ru.ru_utime.tv_sec) + static_cast<double>(ru.ru_utime.tv_usec) / 1e6;
    out.cpu_sys = static_cast<double>(ru.ru_stime.tv_sec) + static_cast<double>(ru.ru_stime.tv_usec) / 1e6;
    return out;
}

std::string json_escape(const std::string& s) {
    std::string o;
    for (char c : s) {
        if (c == '"' || c == '\\') o += '\\';
        if (static_cast<unsigned char>(c) < 0x20) o += ' ';
        else o += c;
    }
    return o;
}

double us(std::uint64_t ns) { return static_cast<double>(ns) / 1e3; }

void print_json(const config& cfg, const totals& t) {
    double rps = t.seconds > 0 ? static_cast<double>(t.responses) / t.seconds : 0;
    double cpu = t.cpu_user + t.cpu_sys;
    std::printf(
        "{\"url\": \"%s\", \"mode\": \"%s\", \"connections\": %u, \"threads\": %u, \"pipeline\": %u, "
        "\"rate\": %.0f, \"duration_s\": %.6f, \"requests\": %llu, \"requests_per_sec\": %.1f, "
        "\"bytes\": %llu, \"bytes_per_sec\": %.1f, \"reconnects\": %llu, ",
        json_escape(cfg.url).c_str(), cfg.ws ? "ws" : "http", cfg.connections, cfg.threads, cfg.pipeline, cfg.rate,
        t.seconds, static_cast<unsigned long long>(t.responses), rps, static_cast<unsigned long long>(t.bytes),
        t.seconds > 0 ? static_cast<double>(t.bytes) / t.seconds : 0, static_cast<unsigned long long>(t.reconnects));
    std::printf(
        "\"latency_us\": {\"p50\": %.1f, \"p90\": %.1f, \"p99\": %.1f, \"p999\": %.1f, \"max\": %.1f, "
        "\"min\": %.1f, \"mean\": %.1f, \"count\": %llu}, ",
        us(t.hist.percentile(50)), us(t.hist.percentile(90)), us(t.hist.percentile(99)), us(t.hist.percentile(99.9)),
        us(t.hist.max()), us(t.hist.min()), t.hist.mean() / 1e3, static_cast<unsigned long long>(t.hist.count()));
    std::printf("\"errors\": {");
    for (std::size_t k = 0; k < t.errors.size(); ++k)
        std::printf("\"%s\": %llu, ", error_names[k], static_cast<unsigned long long>(t.errors[k]));
    std::printf("\"total\": %llu}, \"first_error\": \"%s\", ", static_cast<unsigned long long>(t.error_total),
                json_escape(t.first_error).c_str());
    std::printf("\"cpu_user_s\": %.3f, \"cpu_sys_s\": %.3f, \"cpu_us_per_request\": %.3f}\n", t.cpu_user, t.cpu_sys,
                t.responses ? 1e6 * cpu / static_cast<double>(t.responses) : 0.0);
}

void print_table(const config& cfg, const totals& t) {
    double rps = t.seconds > 0 ? static_cast<double>(t.responses) / t.seconds : 0;
    double cpu = t.cpu_user + t.cpu_sys;
    std::printf("squall-load %s: %u connections, %u thread(s), pipeline %u%s\n", cfg.url.c_str(), cfg.connections,
                cfg.threads, cfg.pipeline, cfg.ws ? ", WebSocket echo" : "");
    if (cfg.rate > 0) std::printf("  fixed rate %.0f req/s, latency from each request's due time\n", cfg.rate);
    std::printf("  %-14s %llu in %.2f s\n", "requests", static_cast<unsigned long long>(t.responses), t.seconds);
    std::printf("  %-14s %.0f\n", "requests/s", rps);
    std::printf("  %-14s %.2f MB/s\n", "transfer", t.seconds > 0 ? static_cast<double>(t.bytes) / t.seconds / 1e6 : 0);
    std::printf("  latency (us)   p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f  mean %.1f\n",
                us(t.hist.percentile(50)), us(t.hist.percentile(90)), us(t.hist.percentile(99)),
                us(t.hist.percentile(99.9)), us(t.hist.max()), t.hist.mean() / 1e3);
    std::printf("  %-14s %.2f s user + %.2f s sys = %.2f us/request\n", "client CPU", t.cpu_user, t.cpu_sys,
                t.responses ? 1e6 * cpu / static_cast<double>(t.responses) : 0.0);
    std::printf("  %-14s %llu", "errors", static_cast<unsigned long long>(t.error_total));
    for (std::size_t k = 0; k < t.errors.size(); ++k)
        if (t.errors[k]) std::printf("  %s %llu", error_names[k], static_cast<unsigned long long>(t.errors[k]));
    std::printf("%s%s\n", t.first_error.empty() ? "" : "  first: ", t.first_error.c_str());
    if (t.reconnects) std::printf("  %-14s %llu\n", "reconnects", static_cast<unsigned long long>(t.reconnects));
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"squall-load: HTTP/1.1 and WebSocket load generator on squall's io_uring engine"};
    config cfg;
    std::string method = "GET", body;
    std::vector<std::string> headers;
    bool json = false, insecure = false;
    std::string cacert;
    app.add_option("url", cfg.url, "http[s]://HOST:PORT/PATH or ws[s]://HOST:PORT/PATH (a name or numeric host)")
        ->required();
    app.add_option("-c,--connections", cfg.connections, "open connections")->check(CLI::Range(1u, 100000u));
    app.add_option("-d,--duration", cfg.duration, "seconds to run (default 10; none with -n alone)");
    app.add_option("-n,--requests", cfg.requests, "stop after this many requests (with -d: or at its end)");
    app.add_option("-p,--pipeline", cfg.pipeline, "requests sent together on each connection")
        ->check(CLI::Range(1u, 1024u));
    app.add_option("-m,--method", method, "request method");
    app.add_option("-b,--body", body, "request body");
    app.add_option("-H,--header", headers, "extra request header, 'Name: value' (repeatable)");
    app.add_option("-r,--rate", cfg.rate, "fixed request rate over all connections (req/s)");
    app.add_option("-t,--threads", cfg.threads, "load threads, one io_uring each")->check(CLI::Range(1u, 256u));
    app.add_option("--timeout", cfg.timeout, "seconds a response may take before it counts as an error");
    app.add_option("--expect-status", cfg.expect_status, "status every response must have");
    app.add_option("--expect-length", cfg.expect_length, "body bytes every response must have (default: as the first)");
    app.add_flag("--ws", cfg.ws, "WebSocket echo: send a message, wait for it to come back");
    app.add_option("--ws-size", cfg.ws_size, "WebSocket message bytes")->check(CLI::Range(1, 1 << 24));
    app.add_flag("--ws-deflate", cfg.ws_deflate, "negotiate permessage-deflate");
    app.add_flag("--json", json, "one JSON object on stdout instead of the table");
    app.add_option("--cacert", cacert, "https/wss: trust the CA certificates in this PEM file (default: the system's)");
    app.add_flag("-k,--insecure", insecure, "https/wss: do not check the server's certificate");
    CLI11_PARSE(app, argc, argv);

    parsed_url url;
    try {
        url = parse_url(cfg.url);
        const parsed_url& u = url;
        cfg.ws = cfg.ws || u.ws;
        cfg.host = u.host;
        cfg.port = u.port;
        cfg.host_header = host_header(u);
        cfg.path = u.path;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "squall-load: bad URL %s: %s\n", cfg.url.c_str(), e.what());
        return 2;
    }
    try {
        if (url.tls) {
            tls_client_options o;
            o.ca_file = cacert;
            o.verify = !insecure;
            cfg.tls = tls_context::client(o);
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "squall-load: TLS: %s\n", e.what());
        return 2;
    }
    if (cfg.requests > 0 && app.count("--duration") == 0) cfg.duration = 0;  // -n alone: until they are done
    if (cfg.duration <= 0 && cfg.requests == 0) {
        std::fprintf(stderr, "squall-load: give --duration or --requests\n");
        return 2;
    }
    if (cfg.ws && cfg.pipeline != 1) {
        std::fprintf(stderr, "squall-load: --pipeline is for HTTP; WebSocket echo keeps one message in flight\n");
        return 2;
    }
    cfg.threads = std::min(cfg.threads, cfg.connections);
    cfg.head_method = method == "HEAD";
    cfg.request = build_request(method, url, headers, body);

    totals t = run(cfg);
    if (json) print_json(cfg, t);
    else print_table(cfg, t);
    if (t.errors[static_cast<std::size_t>(error_kind::connect)] && t.responses == 0) return 2;
    return t.error_total || t.responses == 0 ? 1 : 0;
}
