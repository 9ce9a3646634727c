// The to-do API's account routes: the route list, register, log in and
// out, and an account's detail, edit and delete.
#include <algorithm>
#include <cctype>

#include "common/todo_routes.hpp"
#include "todo/handlers.hpp"
#include "todo/password.hpp"
#include <squall/engine/thread_pool.hpp>

namespace squall::examples {
namespace {

// Usernames are what the routes' (\w+) groups match, minus the two words
// that name the login and logout routes.
void check_username(const std::string& name) {
    bool word = !name.empty() && name.size() <= 32 &&
                std::all_of(name.begin(), name.end(), [](unsigned char c) { return std::isalnum(c) || c == '_'; });
    if (!word) throw http::http_error(400, "username: 1 to 32 letters, digits or _");
    if (name == "login" || name == "logout") throw http::http_error(400, "username " + name + " is reserved");
}

void check_email(const std::string& email) {
    auto at = email.find('@');
    if (email.size() > 254 || at == std::string::npos || at == 0 || at + 1 == email.size())
        throw http::http_error(400, "email: not an address");
}

void check_password(const std::string& password) {
    if (password.size() < 6 || password.size() > 1024) throw http::http_error(400, "password: 6 to 1024 characters");
}

// A hash to check wrong usernames against, so that a login for an unknown
// name takes as long as one for a known name with a wrong password.
const std::string& decoy_hash(unsigned iterations) {
    static const std::string hash = hash_password("decoy password", iterations);
    return hash;
}

}  // namespace

task<void> info_handler::get() {
    nlohmann::json routes = nlohmann::json::array();
    for (const route_info& r : todo_routes())
        routes.push_back({{"methods", r.methods}, {"path", r.path}, {"description", r.description}});
    write(nlohmann::json{{"api", "squall to-do"}, {"version", 1}, {"routes", std::move(routes)}});
    co_return;
}

task<void> registration_handler::post() {
    std::string username = required_field("username");
    std::string email = required_field("email");
    std::string password = required_field("password");
    check_username(username);
    check_email(email);
    check_password(password);
    todo_context c = ctx_;
    // Hashing is slow on purpose: it runs in the pool too, before the
    // store's lock is taken.
    auto job = run_in_pool([c, username, email, password] {
        std::string hash = hash_password(password, c.password_iterations);
        try {
            return c.store->create_account(username, email, hash);
        } catch (const duplicate_username& e) {
            throw http::http_error(409, e.what());
        }
    });
    account a = co_await job;
    set_status(201);
    set_header("Location", "/api/v1/accounts/" + a.username);
    write(account_json(a, true));
}

task<void> login_handler::post() {
    std::string username = required_field("username");
    std::string password = required_field("password");
    todo_context c = ctx_;
    auto job = run_in_pool([c, username, password]() -> std::optional<account> {
        std::optional<account> found = c.store->account_by_name(username);
        bool ok = verify_password(password, found ? found->password_hash : decoy_hash(c.password_iterations));
        if (!found || !ok) return std::nullopt;
        return found;
    });
    std::optional<account> a = co_await job;
    if (!a) throw http::http_error(401, "wrong username or password");
    start_session(*a);
    write(nlohmann::json{{"logged_in", true}, {"account", account_json(*a, true)}});
}

task<void> logout_handler::get() {
    end_session();
    write(nlohmann::json{{"logged_in", false}});
    co_return;
}

task<void> logout_handler::post() { return get(); }

task<void> profile_handler::get(std::string username) {
    account a = co_await find_account(std::move(username));
    std::optional<std::int64_t> me = session_account();
    write(account_json(a, me == a.id));
}

task<void> profile_handler::put(std::string username) { return edit(std::move(username)); }
task<void> profile_handler::patch(std::string username) { return edit(std::move(username)); }

// PUT and PATCH both change only the fields given (at least one).
task<void> profile_handler::edit(std::string username) {
    account a = co_await owned_account(std::move(username));
    account_changes changes;
    changes.username = field("username");
    changes.email = field("email");
    std::optional<std::string> password = field("password");
    if (!changes.username && !changes.email && !password)
        throw http::http_error(400, "nothing to change: give username, email or password");
    if (changes.username) check_username(*changes.username);
    if (changes.email) check_email(*changes.email);
    if (password) check_password(*password);
    todo_context c = ctx_;
    std::int64_t id = a.id;
    auto job = run_in_pool([c, id, changes, password]() mutable {
        if (password) changes.password_hash = hash_password(*password, c.password_iterations);
        try {
            return c.store->update_account(id, changes);
        } catch (const duplicate_username& e) {
            throw http::http_error(409, e.what());
        }
    });
    std::optional<account> updated = co_await job;
    if (!updated) throw http::http_error(404, "the account is gone");
    write(account_json(*updated, true));
}

task<void> profile_handler::delete_(std::string username) {
    account a = co_await owned_account(std::move(username));
    todo_store* store = ctx_.store;
    std::int64_t id = a.id;
    auto job = run_in_pool([store, id] { return store->delete_account(id); });
    bool deleted = co_await job;
    if (!deleted) throw http::http_error(404, "the account is gone");
    end_session();
    set_status(204);
}

}  // namespace squall::examples
