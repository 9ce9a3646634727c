// HTTP/1.1 keep-alive load on one connection, and the worker's counters.
//
// A connection sends `pipeline` requests with one write (bytes built once
// per run), then reads until that many responses are scanned, timing each
// from the batch's send (or, with --rate, intended send) time to the
// arrival of the chunk that completed it. Receives come from the loop's
// buffer ring through a multishot recv and are scanned in place; nothing
// is allocated per request. Every response is checked (status, body
// length); an error is counted by kind and the connection is replaced.
#include <chrono>
#include <string_view>
#include <system_error>

#include "load/load.hpp"
#include "load/response_scanner.hpp"
#include <squall/engine/connect.hpp>
#include <squall/engine/stream.hpp>
#include <squall/engine/time.hpp>

namespace squall::load {

void worker::error(error_kind k, const std::string& what) {
    ++errors[static_cast<std::size_t>(k)];
    if (first_error.empty()) first_error = std::string(error_names[static_cast<std::size_t>(k)]) + ": " + what;
}

unsigned worker::take(unsigned n) noexcept {
    if (stopping) return 0;
    if (budget < n) n = static_cast<unsigned>(budget);
    budget -= n;
    return n;
}

bool worker::check(int status, std::uint64_t body_bytes) {
    if (status != cfg->expect_status) {
        error(error_kind::status,
              "status " + std::to_string(status) + ", expected " + std::to_string(cfg->expect_status));
        return false;
    }
    auto len = static_cast<std::int64_t>(body_bytes);
    std::int64_t want = cfg->expect_length >= 0 ? cfg->expect_length : ref_length;
    if (want < 0) {
        ref_length = len;  // the first good response sets the length the others must have
    } else if (len != want) {
        error(error_kind::length, "body of " + std::to_string(len) + " bytes, expected " + std::to_string(want));
        return false;
    }
    return true;
}

void worker::on_connected() {
    if (++connected != conns) return;
    start = clock::now();
    if (cfg->duration > 0) {
        stop_at = start + std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(cfg->duration));
        l->call_at(stop_at, [this] { stopping = true; });
    }
    go.set();
}

void worker::on_connection_done() {
    if (--live == 0) {
        end = clock::now();
        l->stop();
    }
}

namespace {

using std::chrono::nanoseconds;

enum class next { stop, reconnect };

clock::duration seconds(double s) {
    return std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(s));
}

}  // namespace

task<std::unique_ptr<byte_stream>> open_stream(worker* w) {
    const config& cfg = *w->cfg;
    auto fd = co_await connect_to(cfg.host, cfg.port, nanoseconds(seconds(cfg.timeout)));
    if (!fd) {
        w->error(error_kind::connect, fd.error().message());
        co_return nullptr;
    }
    std::unique_ptr<byte_stream> s = std::make_unique<stream>(std::move(*fd));
    if (cfg.tls) {
        auto secured = std::make_unique<tls_stream>(std::move(s), cfg.tls);
        auto hs = co_await secured->handshake(cfg.host);
        if (!hs) {
            w->error(error_kind::connect, "TLS handshake: " + hs.error().message());
            co_return nullptr;
        }
        s = std::move(secured);
    }
    co_return s;
}

namespace {

// How one failed read is counted. Returns how the session goes on.
next read_failed(worker* w, std::error_code ec, response_scanner& sc, unsigned got, unsigned sent,
                 clock::time_point sent_at) {
    if (ec == errc::eof) {
        bool ok = sc.finish([&](const response_info& r) {
            ++got;
            ++w->responses;
            w->bytes += r.wire_bytes;
            if (w->check(r.status, r.body_bytes))
                w->hist.record(static_cast<std::uint64_t>(nanoseconds(clock::now() - sent_at).count()));
        });
        if (!ok) w->error(error_kind::parse, sc.error());
        else if (got < sent) w->error(error_kind::closed, "server closed the connection with requests unanswered");
    } else if (ec == errc::timed_out) {
        w->error(error_kind::timeout, "no response within the timeout");
    } else {
        w->error(error_kind::read, ec.message());
    }
    return next::reconnect;
}

// Requests on one connected stream until the run ends or the connection
// must be replaced.
task<next> http_session(worker* w, byte_stream* s, clock::time_point* next_send, clock::duration interval) {
    const config& cfg = *w->cfg;
    const std::size_t req_size = cfg.request.size();
    const auto timeout = seconds(cfg.timeout);
    response_scanner sc;
    sc.expect_head_response(cfg.head_method);
    for (;;) {
        clock::time_point sent_at;
        if (interval.count() > 0) {
            if (*next_send >= w->stop_at) co_return next::stop;
            if (*next_send > clock::now()) {
                auto slept = co_await sleep_until(*next_send);
                if (!slept) co_return next::stop;
            }
            sent_at = *next_send;  // latency counts from when the request was due
            *next_send += interval;
        }
        unsigned n = w->take(cfg.pipeline);
        if (n == 0) co_return next::stop;
        if (interval.count() == 0) sent_at = clock::now();
        auto wrote = co_await s->write(std::string_view(w->batch).substr(0, n * req_size));
        if (!wrote) {
            w->error(error_kind::write, wrote.error().message());
            co_return next::reconnect;
        }
        unsigned got = 0;
        bool close = false, bad = false;
        while (got < n && !bad) {
            auto chunk = co_await s->read_some(sent_at + timeout);
            if (!chunk) co_return read_failed(w, chunk.error(), sc, got, n, sent_at);
            auto now = static_cast<std::uint64_t>(nanoseconds(clock::now() - sent_at).count());
            auto bytes = chunk->bytes();
            bool ok = sc.feed(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()),
                              [&](const response_info& r) {
                                  if (got++ == n) return;  // an answer to nothing: reported below
                                  ++w->responses;
                                  w->bytes += r.wire_bytes;
                                  close = close || r.close;
                                  if (w->check(r.status, r.body_bytes)) w->hist.record(now);
                              });
            if (!ok) {
                w->error(error_kind::parse, sc.error());
                co_return next::reconnect;
            }
            if (got > n) {
                w->error(error_kind::parse, "more responses than requests");
                co_return next::reconnect;
            }
            bad = close && got < n;
        }
        if (bad) w->error(error_kind::closed, "Connection: close with requests unanswered");
        if (close || !sc.idle()) co_return next::reconnect;
    }
}

}  // namespace

task<void> http_connection(worker* w, unsigned index) {
    const config& cfg = *w->cfg;
    clock::duration interval{};
    clock::time_point next_send{};
    bool started = false;
    unsigned failures = 0;
    for (;;) {
        std::unique_ptr<byte_stream> s = co_await open_stream(w);
        if (!s) {
            // A server that refuses every connection ends the run rather than spinning.
            if (++failures >= 3 || w->stopping) break;
            auto slept = co_await sleep(std::chrono::milliseconds(50));
            (void)slept;
            continue;
        }
        failures = 0;
        if (!started) {
            started = true;
            w->on_connected();
            auto go = co_await w->go.wait();
            (void)go;
            if (w->rate > 0) {
                // Each connection's share of the rate, its first send staggered
                // so the connections do not all fire at once.
                interval = seconds(cfg.pipeline * w->conns / w->rate);
                next_send = w->start + interval * index / w->conns;
            }
        } else {
            ++w->reconnects;
        }
        auto how = co_await http_session(w, s.get(), &next_send, interval);
        if (how == next::stop) break;
        if (w->stopping) break;
    }
    if (!started) w->on_connected();  // never connected: let the others start
    w->on_connection_done();
}

}  // namespace squall::load
