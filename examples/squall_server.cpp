// squall-server: the server `make run` starts. One process serves the
// hello routes (examples/common/hello_routes.hpp) and the to-do REST API
// (examples/common/todo_routes.hpp) on --host:--port (an address or a
// host name: every address it names is served).
//
//   build/examples/squall-server --host 127.0.0.1 --port 8888
//   curl http://127.0.0.1:8888/         -> Hello, world!
//   curl http://127.0.0.1:8888/api/v1   -> the to-do API's routes
//
// Tests: tests/examples/todo_test.py (its last part), tests/examples/process_test.py.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <cstdio>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "chat/chat_room.hpp"
#include "common/hello_routes.hpp"
#include "common/production_flags.hpp"
#include "common/server_flags.hpp"
#include "common/todo_flags.hpp"
#include "common/todo_routes.hpp"
#include "todo/store.hpp"
#include <squall/engine/process.hpp>
#include <squall/http/process_server.hpp>
#include <squall/http/server.hpp>
#include <squall/http/static_files.hpp>

using namespace squall;

namespace {

void print_routes(const http::server_options& so, const std::string& db) {
    std::printf("squall-server: listening on http://%s:%u/ (to-do database: %s)\n", so.host.c_str(),
                static_cast<unsigned>(so.port), db.c_str());
    auto line = [](const std::string& methods, const std::string& path, const std::string& what) {
        std::printf("  %-11s %-40s %s\n", methods.c_str(), path.c_str(), what.c_str());
    };
    line("GET", "/", "Hello, world!");
    line("POST", "/echo", "the request body, echoed");
    line("GET", "/json", R"({"message":"Hello, world!"})");
    for (const auto& r : examples::todo_routes()) line(r.methods, r.path, r.description);
    line("GET", "/chat/", "Tornado's chat demo (WebSocket /chat/chatsocket, long polling)");
    line("GET", "/healthz", "200 while serving, 503 once stopping");
    line("GET", "/whoami", R"({"remote_ip":...,"scheme":...} as the handler sees them)");
    std::fflush(stdout);
}

// The sockets inherited (systemd, a binary upgrade), else one for every
// address --host names: a literal address, or a name resolved once
// ("localhost": 127.0.0.1 and ::1), IPv6 ones v6-only so that both
// families can share the port. With --port 0 every socket gets the port
// the first one was given.
std::vector<unique_fd> listening_sockets(const std::string& host, std::uint16_t port) {
    std::vector<unique_fd> out = inherited_sockets();
    if (!out.empty()) {
        spdlog::info("squall: serving {} inherited listening socket(s)", out.size());
        return out;
    }
    for (const address& a : http::resolve_host(host, port)) {
        listen_options lo;
        lo.v6_only = a.family() == AF_INET6;
        const std::uint16_t p = out.empty() ? port : local_address(out.front().get()).port();
        address at = a;
        if (p != a.port()) {
            std::string text = a.to_string();  // "1.2.3.4:0" or "[::1]:0"
            text = text.substr(0, text.rfind(':'));
            if (text.starts_with('[')) text = text.substr(1, text.size() - 2);
            at = address::ip(text, p);
        }
        out.push_back(listen_on(at, lo));
    }
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App cli{"squall-server: the hello routes and the to-do REST API in one server"};
    http::server_options so;
    examples::feature_flags flags;
    examples::todo_flags todo;
    examples::production_flags prod;
    bool access_log = false;
    std::string static_path;
    cli.add_flag("--access-log", access_log, "log one line per request");
    cli.add_option("--static-path", static_path, "serve this folder at /static/ (Tornado's static_path)")
        ->check(CLI::ExistingDirectory);
    examples::add_todo_flags(cli, todo);
    examples::add_http_server_flags(cli, so, flags);
    examples::add_production_flags(cli, prod);
    CLI11_PARSE(cli, argc, argv);
    examples::apply_http_server_flags(flags, so);

    // Bound (or inherited) once, before any fork; every process shares
    // the cookie secret. The database is opened in each child.
    std::vector<unique_fd> sockets;
    try {
        sockets = listening_sockets(so.host, so.port);
        if (!prod.log_file.empty()) log_to_file(prod.log_file);
    } catch (const std::exception& e) {
        spdlog::error("squall-server: {}", e.what());
        return 1;
    }
    http::app_settings settings = examples::todo_app_settings(todo, access_log);
    examples::apply_production_flags(prod, settings, so);
    if (prod.processes != 1)
        fork_processes({prod.processes, prod.max_restarts, std::chrono::seconds(60), {argv, argv + argc}}, sockets);

    auto store = examples::open_todo_store(todo, "squall-server");
    if (!store) return 1;
    settings.static_path = static_path;
    settings.etag = true;  // Tornado's automatic ETag: pages revalidate with 304
    http::application app(settings);
    examples::add_production_routes(app);
    examples::add_hello_routes(app);
    examples::add_todo_routes(app, *store, {todo.password_iterations});
    examples::chat_room chat;
    try {
        examples::add_chat_routes(app, chat, SQUALL_CHAT_STATIC_DIR, "/chat");
    } catch (const std::exception& e) {
        spdlog::error("squall-server: {}", e.what());
        return 1;
    }
    if (!static_path.empty()) {
        // A page whose assets come from /static/ by static_url (versioned).
        app.get("/static-page", [](http::request_handler& h) -> task<void> {
            h.write("<!DOCTYPE html><html><head><link rel=\"stylesheet\" href=\"" + http::static_url(h, "site.css") +
                    "\"><script src=\"" + http::static_url(h, "app.js") +
                    "\"></script></head><body>static</body></html>");
            co_return;
        });
    }
    if (!task_id()) print_routes(so, todo.db);
    return http::serve_sockets(app, so, std::move(sockets));
}
