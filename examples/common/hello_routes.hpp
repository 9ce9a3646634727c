// The hello routes (examples/hello and the make-run server):
// GET / -> "Hello, world!" as text/plain, POST /echo -> the request body,
// POST /upload -> the body read and dropped, "ok" (as nginx's `return 200`
// after discarding it), GET /json -> {"message":"Hello, world!"}.
#pragma once

#include <nlohmann/json.hpp>

#include <squall/http/application.hpp>

namespace squall::examples {

inline task<void> hello(http::request_handler& h) {
    h.set_header("Content-Type", "text/plain");
    h.write("Hello, world!");
    co_return;
}

inline task<void> echo_body(http::request_handler& h) {
    h.set_header("Content-Type", h.request().headers.get("content-type").value_or("application/octet-stream"));
    h.write(h.body());
    co_return;
}

inline task<void> upload(http::request_handler& h) {
    h.set_header("Content-Type", "text/plain");
    h.write(h.body().empty() ? "empty" : "ok");
    co_return;
}

inline task<void> hello_json(http::request_handler& h) {
    h.write(nlohmann::json{{"message", "Hello, world!"}});
    co_return;
}

inline void add_hello_routes(http::application& app) {
    app.get("/", hello);
    app.post("/echo", echo_body);
    app.post("/upload", upload);
    app.get("/json", hello_json);
}

}  // namespace squall::examples
