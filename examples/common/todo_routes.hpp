// The to-do REST API (examples/todo and the make-run server squall-server):
// accounts and their tasks, after the Tornado to-do article, in SQLite.
//
// add_todo_routes adds the routes listed by todo_routes() (also served as
// JSON by GET /api/v1) and a JSON 404 for any other path under /api/v1/.
// `store` is borrowed and must outlive the application's serving; handlers
// call it off the loop through run_in_pool (see todo/store.hpp). The
// application's settings must carry a cookie_secret: the session is a
// signed cookie `session`. Tests: tests/examples/todo_test.py.
#pragma once

#include <string>
#include <vector>

#include "todo/password.hpp"
#include <squall/http/application.hpp>

namespace squall::examples {

class todo_store;

struct todo_options {
    // PBKDF2 rounds for new password hashes (stored hashes keep their own).
    unsigned password_iterations = default_password_iterations;
};

struct route_info {
    std::string methods;  // "GET" or "PUT, PATCH"
    std::string path;     // with <placeholders> for the capture groups
    std::string description;
};

const std::vector<route_info>& todo_routes();

void add_todo_routes(http::application& app, todo_store& store, todo_options opts = {});

}  // namespace squall::examples
