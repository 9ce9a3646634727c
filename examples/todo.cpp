// todo: the to-do REST API of the well-known Tornado article (accounts and
// their tasks) on squall, with Tornado-style class handlers and SQLite
// queried off the loop through run_in_pool.
//
//   build/examples/todo --port 8888 --db /tmp/todo.sqlite3
//   curl http://127.0.0.1:8888/api/v1                     -> the routes
//   curl -d username=ann -d email=ann@example.org -d password=secret1 http://127.0.0.1:8888/api/v1/accounts
//   curl -c jar -d username=ann -d password=secret1 http://127.0.0.1:8888/api/v1/accounts/login
//   curl -b jar -H 'Content-Type: application/json' -d '{"name":"milk"}' http://127.0.0.1:8888/api/v1/accounts/ann/tasks
//   curl -b jar http://127.0.0.1:8888/api/v1/accounts/ann/tasks
//
// The routes are in examples/common/todo_routes.hpp, the handlers in
// examples/todo/, the end-to-end test in tests/examples/todo_test.py.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <exception>
#include <memory>

#include "common/server_flags.hpp"
#include "common/todo_flags.hpp"
#include "common/todo_routes.hpp"
#include "todo/store.hpp"
#include <squall/http/server.hpp>

using namespace squall;

int main(int argc, char** argv) {
    CLI::App cli{"squall to-do: the REST API of Tornado's to-do article (see GET /api/v1)"};
    http::server_options so;
    examples::feature_flags flags;
    examples::todo_flags todo;
    bool access_log = false;
    cli.add_flag("--access-log", access_log, "log one line per request");
    examples::add_todo_flags(cli, todo);
    examples::add_http_server_flags(cli, so, flags);
    CLI11_PARSE(cli, argc, argv);
    examples::apply_http_server_flags(flags, so);

    auto store = examples::open_todo_store(todo, "todo");
    if (!store) return 1;
    http::application app(examples::todo_app_settings(todo, access_log));
    examples::add_todo_routes(app, *store, {todo.password_iterations});
    spdlog::info("todo: database {}", todo.db);
    return http::serve(app, so);
}
