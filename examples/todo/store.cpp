#include "todo/store.hpp"

namespace squall::examples {
namespace {

// AUTOINCREMENT keeps ids from being reused after a delete: a session
// cookie naming a deleted account must never match a newer one.
constexpr const char* schema = R"sql(
PRAGMA foreign_keys = ON;
CREATE TABLE IF NOT EXISTS accounts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    username    TEXT NOT NULL UNIQUE,
    email       TEXT NOT NULL,
    password    TEXT NOT NULL,
    date_joined TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE TABLE IF NOT EXISTS tasks (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id    INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    note          TEXT NOT NULL DEFAULT '',
    creation_date TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    due_date      TEXT,
    completed     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS tasks_by_account ON tasks(account_id);
)sql";

constexpr std::string_view account_columns = "id, username, email, password, date_joined";
constexpr std::string_view task_columns = "id, account_id, name, note, creation_date, due_date, completed";

account read_account(const sqlite::statement& s) {
    return account{s.integer(0), s.text(1), s.text(2), s.text(3), s.text(4)};
}

todo_task read_task(const sqlite::statement& s) {
    return todo_task{s.integer(0), s.integer(1),       s.text(2),        s.text(3),
                     s.text(4),    s.optional_text(5), s.integer(6) != 0};
}

std::string sql(std::string_view head, std::string_view columns, std::string_view tail = {}) {
    std::string out(head);
    out += columns;
    out += tail;
    return out;
}

std::optional<std::int64_t> flag(const std::optional<bool>& b) {
    if (!b) return std::nullopt;
    return *b ? 1 : 0;
}

}  // namespace

// WAL: with several server processes on one file, readers never wait for
// the writer and a writer waits (sqlite's busy timeout, in the pool thread
// the store runs on, never on a loop) only for another writer's commit.
todo_store::todo_store(const std::string& path) : db_(path) {
    db_.exec("PRAGMA journal_mode = WAL;");
    db_.exec(schema);
}

account todo_store::create_account(const std::string& username, const std::string& email,
                                   const std::string& password_hash) {
    std::lock_guard lock(mu_);
    sqlite::statement s(
        db_, sql("INSERT INTO accounts (username, email, password) VALUES (?1, ?2, ?3) RETURNING ", account_columns));
    s.bind(1, username).bind(2, email).bind(3, password_hash);
    try {
        s.step();
    } catch (const sqlite::constraint_error&) {
        throw duplicate_username("username " + username + " is taken");
    }
    account created = read_account(s);
    s.finish();
    return created;
}

std::optional<account> todo_store::account_by_name(const std::string& username) {
    std::lock_guard lock(mu_);
    sqlite::statement s(db_, sql("SELECT ", account_columns, " FROM accounts WHERE username = ?1"));
    s.bind(1, username);
    if (!s.step()) return std::nullopt;
    return read_account(s);
}

std::optional<account> todo_store::account_by_id(std::int64_t id) {
    std::lock_guard lock(mu_);
    sqlite::statement s(db_, sql("SELECT ", account_columns, " FROM accounts WHERE id = ?1"));
    s.bind(1, id);
    if (!s.step()) return std::nullopt;
    return read_account(s);
}

std::optional<account> todo_store::update_account(std::int64_t id, const account_changes& changes) {
    std::lock_guard lock(mu_);
    sqlite::statement s(db_, sql("UPDATE accounts SET username = coalesce(?1, username), email = coalesce(?2, email), "
                                 "password = coalesce(?3, password) WHERE id = ?4 RETURNING ",
                                 account_columns));
    s.bind_optional(1, changes.username).bind_optional(2, changes.email).bind_optional(3, changes.password_hash);
    s.bind(4, id);
    bool found = false;
    try {
        found = s.step();
    } catch (const sqlite::constraint_error&) {
        throw duplicate_username("username " + changes.username.value_or("") + " is taken");
    }
    if (!found) return std::nullopt;
    account updated = read_account(s);
    s.finish();
    return updated;
}

bool todo_store::delete_account(std::int64_t id) {
    std::lock_guard lock(mu_);
    sqlite::statement s(db_, "DELETE FROM accounts WHERE id = ?1 RETURNING id");
    s.bind(1, id);
    bool found = s.step();
    s.finish();
    return found;
}

std::vector<todo_task> todo_store::tasks_of(std::int64_t account_id) {
    std::lock_guard lock(mu_);
    sqlite::statement s(db_, sql("SELECT ", task_columns, " FROM tasks WHERE account_id = ?1 ORDER BY id"));
    s.bind(1, account_id);
    std::vector<todo_task> out;
    while (s.step()) out.push_back(read_task(s));
    return out;
}

todo_task todo_store::add_task(std::int64_t account_id, const task_changes& fields) {
    std::lock_guard lock(mu_);
    sqlite::statement s(db_, sql("INSERT INTO tasks (account_id, name, note, due_date, completed) "
                                 "VALUES (?1, ?2, ?3, nullif(?4, ''), ?5) RETURNING ",
                                 task_columns));
    s.bind(1, account_id).bind(2, fields.name.value_or("")).bind(3, fields.note.value_or(""));
    s.bind_optional(4, fields.due_date).bind(5, std::int64_t{fields.completed.value_or(false) ? 1 : 0});
    s.step();
    todo_task created = read_task(s);
    s.finish();
    return created;
}

std::optional<todo_task> todo_store::find_task(std::int64_t account_id, std::int64_t task_id) {
    std::lock_guard lock(mu_);
    sqlite::statement s(db_, sql("SELECT ", task_columns, " FROM tasks WHERE id = ?1 AND account_id = ?2"));
    s.bind(1, task_id).bind(2, account_id);
    if (!s.step()) return std::nullopt;
    return read_task(s);
}

std::optional<todo_task> todo_store::update_task(std::int64_t account_id, std::int64_t task_id,
                                                 const task_changes& changes) {
    std::lock_guard lock(mu_);
    // ?4 IS NULL: due_date not given, keep it; '' clears it.
    sqlite::statement s(db_, sql("UPDATE tasks SET name = coalesce(?1, name), note = coalesce(?2, note), "
                                 "due_date = CASE WHEN ?3 IS NULL THEN due_date ELSE nullif(?3, '') END, "
                                 "completed = coalesce(?4, completed) WHERE id = ?5 AND account_id = ?6 RETURNING ",
                                 task_columns));
    s.bind_optional(1, changes.name).bind_optional(2, changes.note).bind_optional(3, changes.due_date);
    if (auto c = flag(changes.completed)) {
        s.bind(4, *c);
    } else {
        s.bind_null(4);
    }
    s.bind(5, task_id).bind(6, account_id);
    if (!s.step()) return std::nullopt;
    todo_task updated = read_task(s);
    s.finish();
    return updated;
}

bool todo_store::delete_task(std::int64_t account_id, std::int64_t task_id) {
    std::lock_guard lock(mu_);
    sqlite::statement s(db_, "DELETE FROM tasks WHERE id = ?1 AND account_id = ?2 RETURNING id");
    s.bind(1, task_id).bind(2, account_id);
    bool found = s.step();
    s.finish();
    return found;
}

}  // namespace squall::examples
