// A Tornado program ported to squall, route for route: the squall half of
// the field-by-field comparison with Tornado 6.2 (tornado_app.py serves
// the same routes; tornado_parity_test.py compares the two).
//
//   tornado_port --port 8888 [--host localhost]
//
// Routes: /  hello; /json  a dict; /missing (any path no route knows)  a
// custom 404 by prepare() raising 404; /poll  a long poll (cursor: answer
// at once; else wait until the client leaves, counted by
// on_connection_close, or 30 s); /poll/closed  that count; /cookies/set
// typed cookies and one set twice; /cookies/signed  a signed cookie;
// /cookies/read  the signed cookie's value; /args  get_argument as
// cleaned; /error/<code>  http_error(code, text with markup); /boom  an
// exception; /ticks  the calls of a periodic callback set up on the
// serving loop (server_options::on_start).
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>

#include <squall/engine/periodic.hpp>
#include <squall/engine/time.hpp>
#include <squall/http/application.hpp>
#include <squall/http/server.hpp>

using namespace squall;
using namespace squall::http;  // with `using namespace squall`: server_options is http's

namespace {

std::atomic<int> closed_polls{0};
std::atomic<int> ticks{0};

class main_handler : public request_handler {
public:
    task<void> get() {
        write("Hello, world");
        co_return;
    }
};

class json_handler : public request_handler {
public:
    task<void> get() {
        write(nlohmann::json{{"a", 1}});
        co_return;
    }
};

class not_found_handler : public request_handler {
public:
    task<void> prepare() override { throw http_error(404); }
    void write_error(int status, std::string_view) override { write("custom " + std::to_string(status) + " page"); }
};

task<result<void>> nap(clock::duration d) {
    result<void> r = co_await sleep(d);
    co_return r;
}

class poll_handler : public request_handler {
public:
    task<void> get() {
        if (get_argument("cursor", "").empty()) {
            auto w = nap(std::chrono::seconds(30));
            w.set_cancel_token(wait_token());
            result<void> r = co_await std::move(w);
            (void)r;
            if (connection_closed_token().cancel_requested()) co_return;
        }
        write(nlohmann::json{{"messages", nlohmann::json::array()}});
    }
    void on_connection_close() override { ++closed_polls; }
};

class closed_handler : public request_handler {
public:
    task<void> get() {
        write(std::to_string(closed_polls.load()));
        co_return;
    }
};

class cookie_set_handler : public request_handler {
public:
    task<void> get() {
        set_cookie("plain", "1");
        set_cookie("twice", "first");
        set_cookie("twice", "second");
        cookie_options o;
        o.domain = "example.com";
        o.path = "/app";
        o.expires_days = 2;
        o.max_age = 3600;
        o.httponly = true;
        o.secure = true;
        o.samesite = "Lax";
        set_cookie("typed", "v", o);
        write("set");
        co_return;
    }
};

class cookie_signed_handler : public request_handler {
public:
    task<void> get() {
        set_signed_cookie("session", "user 42");
        write("signed");
        co_return;
    }
};

class cookie_read_handler : public request_handler {
public:
    task<void> get() {
        auto v = get_signed_cookie("session");
        write(v ? *v : std::string("none"));
        co_return;
    }
};

class args_handler : public request_handler {
public:
    task<void> get() {
        write(nlohmann::json{{"a", get_argument("a", "")},
                             {"raw", get_argument("a", "", strip::no)},
                             {"all", get_query_arguments("a")}});
        co_return;
    }
};

class error_handler : public request_handler {
public:
    task<void> get(std::string code) {
        throw http_error(std::atoi(code.c_str()), "bad <b>" + get_argument("x", "") + "</b>");
        co_return;
    }
};

class boom_handler : public request_handler {
public:
    task<void> get() {
        throw std::runtime_error("boom");
        co_return;
    }
};

class ticks_handler : public request_handler {
public:
    task<void> get() {
        write(std::to_string(ticks.load()));
        co_return;
    }
};

// On each serving loop: a periodic callback, kept until the server stops.
task<void> start_ticking(cancel_token) {
    periodic_callback pc(*loop::current(), std::chrono::milliseconds(20), [] { ++ticks; });
    pc.start();
    result<void> r = co_await sleep(std::chrono::hours(24 * 365));  // ends at the graceful stop
    (void)r;
}

}  // namespace

int main(int argc, char** argv) {
    server_options so;
    so.host = "localhost";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (std::strcmp(argv[i], "--port") == 0) so.port = static_cast<std::uint16_t>(std::atoi(argv[i + 1]));
        if (std::strcmp(argv[i], "--host") == 0) so.host = argv[i + 1];
    }
    so.on_start = [](cancel_token shutdown) { return start_ticking(shutdown); };
    app_settings s;
    s.cookie_secrets = {{1, "parity old secret"}, {2, "parity secret"}};
    s.key_version = 2;
    s.server_name = "TornadoServer/6.2";
    application app(std::move(s));
    app.add<main_handler>("/");
    app.add<json_handler>("/json");
    app.add<poll_handler>("/poll");
    app.add<closed_handler>("/poll/closed");
    app.add<cookie_set_handler>("/cookies/set");
    app.add<cookie_signed_handler>("/cookies/signed");
    app.add<cookie_read_handler>("/cookies/read");
    app.add<args_handler>("/args");
    app.add<error_handler>("/error/([0-9]+)");
    app.add<boom_handler>("/boom");
    app.add<ticks_handler>("/ticks");
    app.set_not_found<not_found_handler>();
    return serve(app, so);
}
