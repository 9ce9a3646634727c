#include <squall/http/health.hpp>

#include <squall/engine/server.hpp>

namespace squall::http {

void add_health_route(application& app, std::string path) {
    app.get(std::move(path), [](request_handler& h) -> task<void> {
        h.set_header("Cache-Control", "no-store");
        h.set_header("Content-Type", "text/plain");
        if (stopping()) {
            h.set_status(503);
            h.write("stopping\n");
        } else {
            h.write("ok\n");
        }
        co_return;
    });
}

}  // namespace squall::http
