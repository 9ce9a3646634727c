// Command-line switches shared by the examples: threads, drain time, each
// io_uring feature squall uses, so that a run can measure what one buys
// (make bench-features switches them off in turn), and TLS (--cert/--key:
// HTTPS and WSS; plain HTTP without them).
#pragma once

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <squall/engine/listener.hpp>
#include <squall/engine/server.hpp>
#include <squall/engine/stream.hpp>
#include <squall/engine/tls.hpp>
#include <squall/http/server.hpp>

namespace squall::examples {

struct feature_flags {
    double drain_seconds = 10;
    bool no_multishot_accept = false;
    bool no_multishot_recv = false;
    bool no_buffer_ring = false;
    bool no_send_zc = false;
    bool no_defer_taskrun = false;
    bool no_register_ring_fd = false;
    bool sqpoll = false;
    bool no_ring_setup = false;
    // HTTPS / WSS: certificate and key (PEM), optional chain, and extra
    // certificates chosen by SNI as HOST:CERT:KEY.
    std::string cert, key, chain;
    std::vector<std::string> sni;
    double handshake_seconds = 10;
};

inline void add_server_flags(CLI::App& app, run_options& so, stream_options& st, feature_flags& f) {
    app.add_option("--threads", so.threads, "loops, one per thread, each with its own SO_REUSEPORT listener")
        ->check(CLI::Range(1u, 256u));
    app.add_option("--drain", f.drain_seconds, "seconds open connections get to finish after SIGTERM");
    app.add_flag("--no-multishot-accept", f.no_multishot_accept, "one-shot accept per connection");
    app.add_flag("--no-multishot-recv", f.no_multishot_recv, "one-shot recv per read");
    app.add_flag("--no-buffer-ring", f.no_buffer_ring, "plain recv into a buffer per connection");
    app.add_flag("--no-send-zc", f.no_send_zc, "never use IORING_OP_SEND_ZC");
    app.add_option("--zc-threshold", st.zc_threshold, "bytes from which owned writes use SEND_ZC");
    app.add_flag("--zc-on-loopback", st.zc_on_loopback, "use SEND_ZC for loopback peers too (slower there)");
    app.add_option("--recv-buffers", so.loop.recv_buffers, "buffers in each loop's receive ring");
    app.add_option("--recv-buffer-size", so.loop.recv_buffer_size, "bytes per receive buffer");
    app.add_flag("--recv-incremental,!--no-recv-incremental", so.loop.recv_incremental,
                 "large receive buffers consumed in pieces (IOU_PBUF_RING_INC, Linux 6.12)");
    app.add_option("--recv-inc-buffers", so.loop.recv_inc_buffers, "buffers in an incremental receive ring");
    app.add_option("--recv-inc-buffer-size", so.loop.recv_inc_buffer_size, "bytes per incremental receive buffer");
    app.add_flag("--no-defer-taskrun", f.no_defer_taskrun, "ring without SINGLE_ISSUER/DEFER_TASKRUN");
    app.add_flag("--no-register-ring-fd", f.no_register_ring_fd, "do not register the ring fd");
    app.add_flag("--sqpoll", f.sqpoll, "a kernel thread polls the submission queue");
    app.add_flag("--no-ring-setup", f.no_ring_setup,
                 "set the listener up with syscalls, not IORING_OP_BIND/LISTEN and setsockopt commands");
    app.add_option("--min-wait-usec", so.loop.min_wait_usec,
                   "batch waits: return this long after the first completion (Linux 6.12; 0 off)");
    app.add_option("--wait-batch", so.loop.wait_batch, "completions a batched wait asks for");
    app.add_option("--napi-busy-poll", so.loop.napi_busy_poll_usec,
                   "microseconds of NAPI busy poll per wait (IORING_REGISTER_NAPI, Linux 6.9; 0 off)");
    auto* cert = app.add_option("--cert", f.cert, "serve TLS with this certificate (PEM; SIGHUP reloads it)");
    auto* key = app.add_option("--key", f.key, "the certificate's private key (PEM)");
    cert->needs(key);
    key->needs(cert);
    app.add_option("--chain", f.chain, "intermediate certificates sent after --cert (PEM)")->needs(cert);
    app.add_option("--sni", f.sni, "HOST:CERT:KEY, a certificate for clients asking for HOST (repeatable)")
        ->needs(cert);
    app.add_option("--handshake-timeout", f.handshake_seconds, "seconds a TLS client gets to finish its handshake")
        ->needs(cert);
}

// Applies the switches once parsing is done.
inline void apply_server_flags(const feature_flags& f, run_options& so, stream_options& st, listener_options& lo,
                               std::shared_ptr<tls_context>& tls) {
    so.drain_timeout = std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(f.drain_seconds));
    lo.multishot = !f.no_multishot_accept;
    lo.ring_setup = !f.no_ring_setup;
    st.multishot_recv = !f.no_multishot_recv;
    st.buffer_ring = !f.no_buffer_ring;
    st.send_zc = !f.no_send_zc;
    so.loop.defer_taskrun = !f.no_defer_taskrun;
    so.loop.register_ring_fd = !f.no_register_ring_fd;
    so.loop.sqpoll = f.sqpoll;
    if (f.cert.empty()) return;
    tls_server_options t;
    t.certificate = {f.cert, f.key, f.chain};
    t.handshake_timeout =
        std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(f.handshake_seconds));
    for (const auto& spec : f.sni) {
        auto a = spec.find(':'), b = spec.find(':', a == std::string::npos ? a : a + 1);
        if (a == std::string::npos || b == std::string::npos) {
            std::fprintf(stderr, "--sni wants HOST:CERT:KEY, got %s\n", spec.c_str());
            std::exit(2);
        }
        t.sni.push_back({spec.substr(0, a), {spec.substr(a + 1, b - a - 1), spec.substr(b + 1), ""}});
    }
    try {
        tls = tls_context::server(std::move(t));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s\n", e.what());
        std::exit(2);
    }
}

// The HTTP examples' --host and --port, then the switches above.
inline void add_http_server_flags(CLI::App& app, http::server_options& so, feature_flags& f) {
    app.add_option("--host", so.host, "address or host name to listen on (every address it names)")
        ->capture_default_str();
    app.add_option("--port", so.port, "TCP port")->capture_default_str();
    add_server_flags(app, so.run, so.stream, f);
}

inline void apply_http_server_flags(const feature_flags& f, http::server_options& so) {
    apply_server_flags(f, so.run, so.stream, so.listener, so.tls);
}

}  // namespace squall::examples
