// squall-server: the server `make run` starts. One process serves the
// hello routes (examples/common/hello_routes.hpp) and the to-do REST API
// (examples/common/todo_routes.hpp) on --host:--port.
//
//   build/examples/squall-server --host 127.0.0.1 --port 8888
//   curl http://127.0.0.1:8888/         -> Hello, world!
//   curl http://127.0.0.1:8888/api/v1   -> the to-do API's routes
//
// Tests: tests/examples/todo_test.py (its last part).
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <exception>
#include <memory>

#include "chat/chat_room.hpp"
#include "common/hello_routes.hpp"
#include "common/server_flags.hpp"
#include "common/todo_flags.hpp"
#include "common/todo_routes.hpp"
#include <squall/http/server.hpp>
#include <squall/http/static_files.hpp>
#include "todo/store.hpp"

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
    std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App cli{"squall-server: the hello routes and the to-do REST API in one server"};
    http::server_options so;
    examples::feature_flags flags;
    examples::todo_flags todo;
    bool access_log = false;
    std::string static_path;
    cli.add_flag("--access-log", access_log, "log one line per request");
    cli.add_option("--static-path", static_path, "serve this folder at /static/ (Tornado's static_path)")
        ->check(CLI::ExistingDirectory);
    examples::add_todo_flags(cli, todo);
    examples::add_http_server_flags(cli, so, flags);
    CLI11_PARSE(cli, argc, argv);
    examples::apply_http_server_flags(flags, so);

    auto store = examples::open_todo_store(todo, "squall-server");
    if (!store) return 1;
    auto settings = examples::todo_app_settings(todo, access_log);
    settings.static_path = static_path;
    settings.etag = true;  // Tornado's automatic ETag: pages revalidate with 304
    http::application app(settings);
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
                    "\"><script src=\"" + http::static_url(h, "app.js") + "\"></script></head><body>static</body></html>");
            co_return;
        });
    }
    print_routes(so, todo.db);
    return http::serve(app, so);
}
