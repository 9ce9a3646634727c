// Must not compile with squall_warnings: no co_await, no co_return, so
// not a coroutine, and a task<void> function that returns nothing.
#include <squall/http/application.hpp>

struct item : squall::http::request_handler {
    squall::task<void> get() { write("x"); }
};

void add(squall::http::application& app) { app.add<item>("/items"); }
