// A service built outside squall's tree against an installed squall (the
// consumer test: tests/consumer/consumer_test.py builds it once through
// find_package and once through pkg-config). One HTTP route and one
// WebSocket; it only includes the spelling consumers use.
#include <squall/http/application.hpp>
#include <squall/http/server.hpp>
#include <squall/version.hpp>
#include <squall/ws/handler.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

class shout_socket : public squall::ws::websocket_handler {
public:
    squall::task<void> on_message(squall::ws::message m) override {
        std::string loud(m.data);
        for (char& c : loud) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c);
        squall::result<void> w = co_await write_message(loud);
        (void)w;
    }
};

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3 || std::string(argv[1]) != "--port") {
        std::fprintf(stderr, "usage: %s --port PORT\n", argv[0]);
        return 2;
    }
    squall::http::application app;
    app.get("/", [](squall::http::request_handler& h) -> squall::task<void> {
        h.write(std::string("consumer on squall ") + squall::library_version() + " built with " +
                SQUALL_VERSION_STRING + "\n");
        co_return;
    });
    app.add<shout_socket>("/shout");
    squall::http::server_options so;
    so.port = static_cast<std::uint16_t>(std::atoi(argv[2]));
    return squall::http::serve(app, so);
}
