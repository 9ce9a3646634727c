// The application the handler tests serve (tests/http/handler_test.cpp,
// tests/http/handler_body_test.cpp): an Upgrade that detaches and echoes,
// a streamed upload, slow and long-poll handlers for the graceful stop,
// and small gathered-body routes, on a loopback_server.
#pragma once

#include <sys/socket.h>

#include <cerrno>
#include <memory>
#include <string>

#include "loopback_server.hpp"
#include <squall/engine/time.hpp>
#include <squall/http/application.hpp>

namespace squall::http::testing::handler_app {

using namespace std::chrono_literals;

// Takes the connection over after a 101 and echoes bytes until EOF,
// prefixed with a field of the request read after detach() (the head
// must outlive the receive buffers it came in).
class echo_upgrade : public request_handler {
public:
    task<void> get() {
        auto proto = request().headers.get("upgrade");
        if (!proto || !iequals(*proto, "echo")) {
            send_error(400);
            co_return;
        }
        set_status(101);
        set_header("Upgrade", "echo");
        set_header("Connection", "Upgrade");
        auto taken = co_await detach();
        if (!taken) co_return;
        byte_stream& s = *taken->stream;
        std::string hello = "name=" + std::string(request().headers.get("x-name").value_or("-")) + ";";
        if (!body().empty()) hello += "body=" + std::string(body()) + ";";
        hello += taken->buffered;
        auto w = co_await s.write(hello);
        if (!w) co_return;
        for (;;) {
            auto chunk = co_await s.read_some();
            if (!chunk) co_return;
            auto bytes = chunk->bytes();
            auto sent = co_await s.write(bytes);
            if (!sent) co_return;
        }
    }
};

inline task<void> hello(request_handler& h) {
    h.write("hello");
    co_return;
}

// A streamed body: each piece is counted and acknowledged with a flushed
// chunk, so the client sees that the handler got the first piece before
// it sent the second. X-Deny makes prepare() refuse the body.
class upload : public request_handler {
public:
    static constexpr bool stream_request_body = true;

    task<void> prepare() override {
        if (request().headers.get("x-deny")) send_error(403);
        if (request().headers.get("x-flush-first")) {
            write("early\n");
            auto f = co_await flush();
            (void)f;
        }
    }
    task<void> data_received(std::string_view chunk) override {
        bytes_ += chunk.size();
        ++pieces_;
        if (request().headers.get("x-ack")) {
            write("got " + std::to_string(bytes_) + "\n");
            auto f = co_await flush();
            (void)f;
        }
    }
    task<void> post() {
        write("total " + std::to_string(bytes_) + " body " + std::to_string(body().size()));
        co_return;
    }
    void write_error(int status, std::string_view) override { finish("custom " + std::to_string(status)); }

private:
    std::uint64_t bytes_ = 0;
    std::uint64_t pieces_ = 0;
};

// Answers after a while: a request in progress when shutdown begins.
inline task<void> slow(request_handler& h) {
    co_await sleep(200ms);
    h.write("slow");
}

// Two flushes; the second one's result shows in the body.
inline task<void> flush_twice(request_handler& h) {
    h.write("a");
    auto first = co_await h.flush();
    h.write(first ? "b" : "X");
    auto second = co_await h.flush();
    h.write(second ? "c" : "Y");
}

// The body's size, gathered whole (not streamed).
inline task<void> body_size(request_handler& h) {
    h.write(std::to_string(h.body().size()));
    co_return;
}

inline task<void> form(request_handler& h) {
    h.write(h.get_argument("a", "(none)"));
    co_return;
}

// A long poll: waits up to 30 s, or until the server stops.
inline task<result<void>> long_wait() {
    result<void> slept = co_await sleep(30s);
    co_return slept;
}

inline task<void> long_poll(request_handler& h) {
    auto wait = long_wait();
    wait.set_cancel_token(h.shutdown_token());
    result<void> slept = co_await std::move(wait);
    h.write(slept ? "timeout" : "stopping");
}

inline std::unique_ptr<loopback_server> start(std::uint64_t max_body = 1 << 20) {
    app_settings s;
    s.access_log = false;
    s.max_body = max_body;
    auto app = std::make_unique<application>(std::move(s));
    app->add<echo_upgrade>("/echo");
    app->get("/hello", hello);
    app->get("/slow", slow);
    app->get("/poll", long_poll);
    app->post("/form", form);
    app->get("/flush2", flush_twice);
    app->post("/size", body_size);
    app->add<upload>("/upload");
    return std::make_unique<loopback_server>(std::move(app));
}

// Reads until `want` bytes arrived (or the connection ended).
inline std::string read_exactly(raw_client& c, std::size_t want) {
    std::string got;
    char buf[4096];
    while (got.size() < want) {
        ssize_t n = ::recv(c.fd(), buf, std::min(sizeof buf, want - got.size()), 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got.append(buf, static_cast<std::size_t>(n));
    }
    return got;
}

}  // namespace squall::http::testing::handler_app
