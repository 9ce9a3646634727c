// hello: the smallest squall HTTP service.
//
//   build/examples/hello --port 8888 --threads 1
//   curl http://127.0.0.1:8888/           -> Hello, world!
//   curl -d hi http://127.0.0.1:8888/echo -> hi
//   curl http://127.0.0.1:8888/json       -> {"message":"Hello, world!"}
#include <CLI/CLI.hpp>

#include <chrono>

#include "common/hello_routes.hpp"
#include "common/server_flags.hpp"
#include <squall/http/server.hpp>

using namespace squall;

int main(int argc, char** argv) {
    CLI::App cli{"squall hello: GET /, POST /echo, GET /json"};
    http::server_options so;
    examples::feature_flags flags;
    bool access_log = false;
    double write_timeout = 30;
    cli.add_flag("--access-log", access_log, "log one line per request");
    cli.add_option("--write-timeout", write_timeout, "seconds one write to a client may take before it is closed")
        ->check(CLI::PositiveNumber);
    examples::add_http_server_flags(cli, so, flags);
    CLI11_PARSE(cli, argc, argv);
    examples::apply_http_server_flags(flags, so);

    http::app_settings settings;
    settings.access_log = access_log;
    settings.write_timeout = std::chrono::milliseconds(static_cast<long>(write_timeout * 1000));
    http::application app(settings);
    examples::add_hello_routes(app);
    return http::serve(app, so);
}
