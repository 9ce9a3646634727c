// file_server: a folder over HTTP, like `python3 -m http.server`, with the
// static file rules of http/static_files.hpp (no listings, dotfiles
// refused, index.html for folders, validators, ranges, kernel-checked
// paths).
//
//   build/examples/file_server --root ./public --port 8000 [--threads N] [--compress]
//   curl -I http://127.0.0.1:8000/index.html
//
// Tests: tests/http/static_peers_test.py (curl, Python, Chromium).
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "common/server_flags.hpp"
#include <squall/http/application.hpp>
#include <squall/http/server.hpp>
#include <squall/http/static_files.hpp>

using namespace squall;

int main(int argc, char** argv) {
    CLI::App cli{"squall file_server: serves a folder at /"};
    http::server_options so;
    examples::feature_flags flags;
    http::static_options files;
    bool access_log = false, no_splice = false;
    cli.add_option("--root", files.root, "the folder to serve")->required()->check(CLI::ExistingDirectory);
    cli.add_flag("--compress", files.compress, "gzip text files (and serve file.gz siblings)");
    cli.add_flag("--dotfiles", files.allow_dotfiles, "serve names starting with '.'");
    cli.add_flag("--no-splice", no_splice, "send large files by read + send instead of splice");
    cli.add_option("--memory-max", files.memory_max, "files up to this many bytes are kept in memory");
    cli.add_flag("--access-log", access_log, "log one line per request");
    examples::add_http_server_flags(cli, so, flags);
    CLI11_PARSE(cli, argc, argv);
    examples::apply_http_server_flags(flags, so);
    files.splice = !no_splice;

    http::app_settings settings;
    settings.access_log = access_log;
    http::application app(settings);
    try {
        http::mount_static(app, "/", files);
    } catch (const std::exception& e) {
        spdlog::error("{}", e.what());
        return 1;
    }
    return http::serve(app, so);
}
