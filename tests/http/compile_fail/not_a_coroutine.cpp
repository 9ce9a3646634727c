// Must not compile: a verb that returns no task.
#include <squall/http/application.hpp>

struct item : squall::http::request_handler {
    void get() { write("x"); }
};

void add(squall::http::application& app) { app.add<item>("/items"); }
