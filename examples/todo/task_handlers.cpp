// The to-do API's task routes: a user's task list and single tasks, for
// the logged-in owner only.
#include <charconv>

#include "todo/handlers.hpp"
#include <squall/engine/thread_pool.hpp>

namespace squall::examples {
namespace {

// YYYY-MM-DD with a plausible month and day, or "" to clear it.
bool valid_date(const std::string& d) {
    if (d.empty()) return true;
    if (d.size() != 10 || d[4] != '-' || d[7] != '-') return false;
    for (std::size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
        if (d[i] < '0' || d[i] > '9') return false;
    }
    int month = (d[5] - '0') * 10 + (d[6] - '0');
    int day = (d[8] - '0') * 10 + (d[9] - '0');
    return month >= 1 && month <= 12 && day >= 1 && day <= 31;
}

// The task id from the path ((\d+)); too large to be an id: not found.
std::int64_t task_id(const std::string& text) {
    std::int64_t id = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
    if (ec != std::errc() || p != text.data() + text.size()) throw http::http_error(404, "no task " + text);
    return id;
}

// The task fields of a request, checked. Creating needs a name.
task_changes read_task_fields(std::optional<std::string> name, std::optional<std::string> note,
                              std::optional<std::string> due_date, std::optional<bool> completed, bool creating) {
    if (creating && (!name || name->empty())) throw http::http_error(400, "missing field name");
    if (name && (name->empty() || name->size() > 200)) throw http::http_error(400, "name: 1 to 200 characters");
    if (note && note->size() > 10'000) throw http::http_error(400, "note: at most 10000 characters");
    if (due_date && !valid_date(*due_date)) throw http::http_error(400, "due_date: YYYY-MM-DD");
    return task_changes{std::move(name), std::move(note), std::move(due_date), completed};
}

}  // namespace

task<void> task_list_handler::get(std::string username) {
    account a = co_await owned_account(std::move(username));
    todo_store* store = ctx_.store;
    std::int64_t id = a.id;
    auto job = run_in_pool([store, id] { return store->tasks_of(id); });
    std::vector<todo_task> tasks = co_await job;
    nlohmann::json list = nlohmann::json::array();
    for (const todo_task& t : tasks) list.push_back(task_json(t, a.username));
    write(nlohmann::json{{"username", a.username}, {"tasks", std::move(list)}});
}

task<void> task_list_handler::post(std::string username) {
    account a = co_await owned_account(std::move(username));
    task_changes fields =
        read_task_fields(field("name"), field("note"), field("due_date"), bool_field("completed"), true);
    todo_store* store = ctx_.store;
    std::int64_t id = a.id;
    auto job = run_in_pool([store, id, fields] { return store->add_task(id, fields); });
    todo_task t = co_await job;
    set_status(201);
    set_header("Location", "/api/v1/accounts/" + a.username + "/tasks/" + std::to_string(t.id));
    write(task_json(t, a.username));
}

task<void> task_handler::get(std::string username, std::string id) {
    account a = co_await owned_account(std::move(username));
    todo_store* store = ctx_.store;
    std::int64_t owner = a.id;
    std::int64_t tid = task_id(id);
    auto job = run_in_pool([store, owner, tid] { return store->find_task(owner, tid); });
    std::optional<todo_task> t = co_await job;
    if (!t) throw http::http_error(404, "no task " + id);
    write(task_json(*t, a.username));
}

task<void> task_handler::put(std::string username, std::string id) {
    return update(std::move(username), std::move(id));
}
task<void> task_handler::patch(std::string username, std::string id) {
    return update(std::move(username), std::move(id));
}

// PUT and PATCH both change only the fields given (at least one).
task<void> task_handler::update(std::string username, std::string id) {
    account a = co_await owned_account(std::move(username));
    std::int64_t tid = task_id(id);
    task_changes changes =
        read_task_fields(field("name"), field("note"), field("due_date"), bool_field("completed"), false);
    if (!changes.name && !changes.note && !changes.due_date && !changes.completed)
        throw http::http_error(400, "nothing to change: give name, note, due_date or completed");
    todo_store* store = ctx_.store;
    std::int64_t owner = a.id;
    auto job = run_in_pool([store, owner, tid, changes] { return store->update_task(owner, tid, changes); });
    std::optional<todo_task> t = co_await job;
    if (!t) throw http::http_error(404, "no task " + id);
    write(task_json(*t, a.username));
}

task<void> task_handler::delete_(std::string username, std::string id) {
    account a = co_await owned_account(std::move(username));
    todo_store* store = ctx_.store;
    std::int64_t owner = a.id;
    std::int64_t tid = task_id(id);
    auto job = run_in_pool([store, owner, tid] { return store->delete_task(owner, tid); });
    bool deleted = co_await job;
    if (!deleted) throw http::http_error(404, "no task " + id);
    set_status(204);
}

}  // namespace squall::examples
