// Must not compile: a std::string& parameter would alias the request's own argument.
#include <string>

#include <squall/http/application.hpp>

struct item : squall::http::request_handler {
    squall::task<void> post(std::string& id) {
        id.clear();
        co_return;
    }
};

void add(squall::http::application& app) { app.add<item>("/items/([0-9]+)"); }
