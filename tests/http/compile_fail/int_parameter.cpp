// Must not compile: a verb parameter no capture group can fill.
#include <squall/http/application.hpp>

struct item : squall::http::request_handler {
    squall::task<void> get(int id) {
        (void)id;
        co_return;
    }
};

void add(squall::http::application& app) { app.add<item>("/items/([0-9]+)"); }
