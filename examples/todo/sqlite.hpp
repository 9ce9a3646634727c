// A small RAII layer over SQLite's C API for the to-do example: exactly one
// owner for each sqlite3* and sqlite3_stmt*, errors as exceptions.
//
// database and statement do no locking of their own: the connection is
// opened with SQLITE_OPEN_NOMUTEX, so whoever uses one (todo_store) must
// make sure only one thread at a time touches it and its statements.
// Strings passed to bind() are copied by SQLite (SQLITE_TRANSIENT); text()
// returns copies. Every failure throws sqlite::error, a UNIQUE or other
// constraint violation sqlite::constraint_error.
// Tests: tests/examples/todo_test.py (through the to-do API).
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace squall::examples::sqlite {

class error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class constraint_error : public error {
public:
    using error::error;
};

class database {
public:
    // Opens (creating it if needed) the database at `path`; ":memory:"
    // gives a private in-memory database. Throws sqlite::error.
    explicit database(const std::string& path);
    ~database();
    database(const database&) = delete;
    database& operator=(const database&) = delete;

    // Runs statements that return no rows (schema, pragmas, BEGIN/COMMIT).
    void exec(const char* sql);
    sqlite3* handle() const noexcept { return db_; }

private:
    sqlite3* db_ = nullptr;
};

class statement {
public:
    // Borrows `db`, which must outlive the statement.
    statement(database& db, std::string_view sql);
    ~statement();
    statement(const statement&) = delete;
    statement& operator=(const statement&) = delete;

    // Parameters are numbered from 1, as in SQLite (?1, ?2, ...).
    statement& bind(int index, std::string_view text);
    statement& bind(int index, const std::string& text) { return bind(index, std::string_view(text)); }
    statement& bind(int index, std::int64_t value);
    statement& bind_optional(int index, const std::optional<std::string>& text);  // nullopt: NULL
    statement& bind_null(int index);

    // One step: true when a row is ready to read, false when done.
    bool step();
    // Steps to the end (after reading a write's RETURNING row, so that the
    // statement completes and its implicit transaction commits now).
    void finish();

    // Columns of the current row, numbered from 0.
    std::string text(int column) const;
    std::optional<std::string> optional_text(int column) const;  // NULL: nullopt
    std::int64_t integer(int column) const;

private:
    sqlite3* db_;
    sqlite3_stmt* stmt_ = nullptr;
};

}  // namespace squall::examples::sqlite
