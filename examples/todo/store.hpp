// todo_store: the to-do example's accounts and their tasks, in SQLite.
//
// Every method blocks (disk I/O, SQLite's file locks), so handlers never
// call them on a loop thread: they run them through run_in_pool, the way
// tornado-sqlalchemy's as_future runs a query on an executor, and resume on
// their loop with the result. Any thread may call any method.
//
// Thread safety: one SQLite connection, guarded by a mutex that each method
// holds for its whole run. We chose this over one connection per pool
// thread because (1) the pools are the loops' default pools, one per loop
// and one thread per core each, so connections would multiply with
// --threads and never be closed before the pools; (2) `:memory:` databases
// are private to their connection, so per-thread connections would each
// see a different, empty database; (3) SQLite allows one writer at a time
// anyway, so separate connections would only turn waits on our mutex into
// SQLITE_BUSY retries. The mutex also makes each method's statements one
// unit. The lock is never held across a co_await: it lives inside the
// pool job. Slow work that needs no database (password hashing) is done in
// the pool job before the lock is taken.
//
// Errors: sqlite::error for database failures (the handler answers 500);
// duplicate_username when a username is taken (the handler answers 409).
// Tests: tests/examples/todo_test.py.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "todo/sqlite.hpp"

namespace squall::examples {

struct account {
    std::int64_t id = 0;
    std::string username;
    std::string email;
    std::string password_hash;  // see todo/password.hpp
    std::string date_joined;    // ISO 8601, UTC
};

struct todo_task {
    std::int64_t id = 0;
    std::int64_t account_id = 0;
    std::string name;
    std::string note;
    std::string creation_date;            // ISO 8601, UTC
    std::optional<std::string> due_date;  // YYYY-MM-DD
    bool completed = false;
};

// What an update changes: fields left empty stay as they are.
struct account_changes {
    std::optional<std::string> username;
    std::optional<std::string> email;
    std::optional<std::string> password_hash;
};

struct task_changes {
    std::optional<std::string> name;
    std::optional<std::string> note;
    std::optional<std::string> due_date;  // "" clears it
    std::optional<bool> completed;
};

class duplicate_username : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class todo_store {
public:
    // Opens or creates the database at `path` (":memory:" for one that
    // lives as long as the store) and creates the tables if missing.
    // Throws sqlite::error.
    explicit todo_store(const std::string& path);

    account create_account(const std::string& username, const std::string& email, const std::string& password_hash);
    std::optional<account> account_by_name(const std::string& username);
    std::optional<account> account_by_id(std::int64_t id);
    // nullopt: no such account.
    std::optional<account> update_account(std::int64_t id, const account_changes& changes);
    // Deletes the account and its tasks; false when there was none.
    bool delete_account(std::int64_t id);

    std::vector<todo_task> tasks_of(std::int64_t account_id);
    // `fields.name` must be set; the other fields default to empty/false.
    todo_task add_task(std::int64_t account_id, const task_changes& fields);
    // Tasks are looked up within their account: another account's task id
    // is not found.
    std::optional<todo_task> find_task(std::int64_t account_id, std::int64_t task_id);
    std::optional<todo_task> update_task(std::int64_t account_id, std::int64_t task_id, const task_changes& changes);
    bool delete_task(std::int64_t account_id, std::int64_t task_id);

private:
    std::mutex mu_;
    sqlite::database db_;
};

}  // namespace squall::examples
