// add_todo_routes: the to-do API's route table.
#include "common/todo_routes.hpp"
#include "todo/handlers.hpp"

namespace squall::examples {

const std::vector<route_info>& todo_routes() {
    static const std::vector<route_info> routes = {
        {"GET", "/api/v1", "this list of routes"},
        {"POST", "/api/v1/accounts", "register: username, email, password -> 201 and the account"},
        {"POST", "/api/v1/accounts/login", "log in: username, password -> the signed session cookie"},
        {"GET, POST", "/api/v1/accounts/logout", "log out: clears the session cookie"},
        {"GET", "/api/v1/accounts/<username>", "an account (its email only for its owner)"},
        {"PUT, PATCH", "/api/v1/accounts/<username>", "edit your account: username, email, password"},
        {"DELETE", "/api/v1/accounts/<username>", "delete your account and its tasks -> 204"},
        {"GET", "/api/v1/accounts/<username>/tasks", "your tasks"},
        {"POST", "/api/v1/accounts/<username>/tasks", "new task: name, note, due_date, completed -> 201"},
        {"GET", "/api/v1/accounts/<username>/tasks/<id>", "one of your tasks"},
        {"PUT, PATCH", "/api/v1/accounts/<username>/tasks/<id>", "update a task: name, note, due_date, completed"},
        {"DELETE", "/api/v1/accounts/<username>/tasks/<id>", "delete a task -> 204"},
    };
    return routes;
}

void add_todo_routes(http::application& app, todo_store& store, todo_options opts) {
    todo_context c{&store, opts.password_iterations};
    // The literal login and logout routes come before the (\w+) account
    // route, which would match them too (first match wins); registration
    // refuses those two names.
    app.add<info_handler>("/api/v1", c);
    app.add<registration_handler>("/api/v1/accounts", c);
    app.add<login_handler>("/api/v1/accounts/login", c);
    app.add<logout_handler>("/api/v1/accounts/logout", c);
    app.add<profile_handler>(R"(/api/v1/accounts/(\w+))", c);
    app.add<task_list_handler>(R"(/api/v1/accounts/(\w+)/tasks)", c);
    app.add<task_handler>(R"(/api/v1/accounts/(\w+)/tasks/(\d+))", c);
    app.add<api_not_found_handler>("/api/v1/.*", c);
}

}  // namespace squall::examples
