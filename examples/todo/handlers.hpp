// The to-do API's handlers, Tornado-style: one class per route, verbs as
// coroutines, capture groups (username, task id) as string parameters.
// Verbs a class lacks answer 405 on their own (application::add).
//
// api_handler is what they share: input from a JSON object body
// (Content-Type application/json) or from url-encoded/multipart form and
// query arguments, the session (a signed cookie holding the account id),
// and errors rendered as JSON. A handler object serves one request on its
// loop thread; the store it borrows is shared by every loop and only
// touched inside run_in_pool jobs. Routes: examples/common/todo_routes.hpp.
//
// Every pool job is named before it is awaited (`auto job =
// run_in_pool([..] {..}); T r = co_await job;`): GCC 12 destroys a
// capturing lambda, or any brace-built aggregate, passed by value inside a
// co_await's operand twice, a double free.
// Tests: tests/examples/todo_test.py.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "todo/store.hpp"
#include <squall/http/handler.hpp>

namespace squall::examples {

// What each handler is built with (copied per request).
struct todo_context {
    todo_store* store = nullptr;
    unsigned password_iterations = 0;
};

class api_handler : public http::request_handler {
public:
    explicit api_handler(todo_context ctx) : ctx_(ctx) {}

    void set_default_headers() override;
    // {"error": reason, "status": status} instead of an HTML page.
    void write_error(int status, std::string_view reason) override;

protected:
    // A submitted field: a JSON member (strings as they are, numbers and
    // booleans as their JSON text) or a form/query argument. nullopt when
    // absent (or JSON null); 400 for a body that is not a JSON object or a
    // member that is an array or object.
    std::optional<std::string> field(std::string_view name);
    // 400 when the field is missing or empty.
    std::string required_field(std::string_view name);
    // true/false, 1/0, on/off, yes/no; 400 for anything else.
    std::optional<bool> bool_field(std::string_view name);

    // The account id in a valid session cookie.
    std::optional<std::int64_t> session_account() const;
    void start_session(const account& a);
    void end_session();

    // The account named `username`: 404 when there is none.
    task<account> find_account(std::string username);
    // ... and only for its owner: 401 without a session, 403 for another
    // account's session.
    task<account> owned_account(std::string username);

    todo_context ctx_;

private:
    const nlohmann::json* json_input();

    bool input_read_ = false;
    std::optional<nlohmann::json> json_;
};

nlohmann::json account_json(const account& a, bool with_email);
nlohmann::json task_json(const todo_task& t, const std::string& owner);

class info_handler : public api_handler {
public:
    using api_handler::api_handler;
    task<void> get();
};

class registration_handler : public api_handler {
public:
    using api_handler::api_handler;
    task<void> post();
};

class login_handler : public api_handler {
public:
    using api_handler::api_handler;
    task<void> post();
};

class logout_handler : public api_handler {
public:
    using api_handler::api_handler;
    task<void> get();
    task<void> post();
};

class profile_handler : public api_handler {
public:
    using api_handler::api_handler;
    task<void> get(std::string username);
    task<void> put(std::string username);
    task<void> patch(std::string username);
    task<void> delete_(std::string username);

private:
    task<void> edit(std::string username);
};

class task_list_handler : public api_handler {
public:
    using api_handler::api_handler;
    task<void> get(std::string username);
    task<void> post(std::string username);
};

class task_handler : public api_handler {
public:
    using api_handler::api_handler;
    task<void> get(std::string username, std::string id);
    task<void> put(std::string username, std::string id);
    task<void> patch(std::string username, std::string id);
    task<void> delete_(std::string username, std::string id);

private:
    task<void> update(std::string username, std::string id);
};

// Any other path under /api/v1/: a JSON 404 whatever the verb.
class api_not_found_handler : public api_handler {
public:
    using api_handler::api_handler;
    task<void> get();
    task<void> post();
    task<void> put();
    task<void> patch();
    task<void> delete_();
    task<void> options();
};

}  // namespace squall::examples
