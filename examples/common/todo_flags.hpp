// Command-line options of the servers that carry the to-do API
// (examples/todo and squall-server): the database, the cookie secret and
// the password hashing cost, and the store and settings made from them.
#pragma once

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <array>
#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <string_view>

#include "todo/password.hpp"
#include "todo/store.hpp"
#include <squall/engine/crypto.hpp>
#include <squall/http/application.hpp>

namespace squall::examples {

struct todo_flags {
    std::string db = "/tmp/squall-todo.sqlite3";
    std::string cookie_secret;
    unsigned password_iterations = default_password_iterations;
};

inline void add_todo_flags(CLI::App& app, todo_flags& f) {
    app.add_option("--db", f.db,
                   "SQLite database file, created if missing; ':memory:' for one that ends with the process")
        ->capture_default_str();
    app.add_option("--cookie-secret", f.cookie_secret,
                   "key that signs the session cookie (default: random per run, so sessions end on restart)")
        ->envname("SQUALL_COOKIE_SECRET");
    app.add_option("--password-iterations", f.password_iterations, "PBKDF2-HMAC-SHA256 rounds for new password hashes")
        ->capture_default_str()
        ->check(CLI::Range(1u, 10'000'000u));
}

// The flag's secret, or 32 random bytes drawn for this run.
inline std::string todo_cookie_secret(const todo_flags& f) {
    if (!f.cookie_secret.empty()) return f.cookie_secret;
    std::array<std::uint8_t, 32> key{};
    crypto::random_bytes(key.data(), key.size());
    return crypto::hex(key);
}

// The store for --db; null (after logging why, as `program`) when the
// database cannot be opened.
inline std::unique_ptr<todo_store> open_todo_store(const todo_flags& f, std::string_view program) {
    try {
        return std::make_unique<todo_store>(f.db);
    } catch (const std::exception& e) {
        spdlog::error("{}: {}", program, e.what());
        return nullptr;
    }
}

// Settings of an application that serves the to-do API.
inline http::app_settings todo_app_settings(const todo_flags& f, bool access_log) {
    http::app_settings settings;
    settings.access_log = access_log;
    settings.cookie_secret = todo_cookie_secret(f);
    return settings;
}

}  // namespace squall::examples
