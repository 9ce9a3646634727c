// chat: Tornado's chat demo on squall, with both ways of getting news: long
// polling (POST /a/message/updates) and a WebSocket (/chatsocket), over one
// room, so that a message posted either way reaches every page.
//
//   build/examples/chat --port 8888      then open http://127.0.0.1:8888/
//   (http://127.0.0.1:8888/?transport=poll for the long-polling page)
//
// Tests: tests/examples/chat_chromium_test.py (two headless Chromium pages).
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "chat/chat_room.hpp"
#include "common/server_flags.hpp"
#include <squall/http/server.hpp>

using namespace squall;

int main(int argc, char** argv) {
    CLI::App cli{"squall chat: Tornado's chat demo, long polling and WebSocket"};
    http::server_options so;
    examples::feature_flags flags;
    std::string static_dir = SQUALL_CHAT_STATIC_DIR;
    cli.add_option("--static-dir", static_dir, "where index.html and chat.js are")->capture_default_str();
    examples::add_http_server_flags(cli, so, flags);
    CLI11_PARSE(cli, argc, argv);
    examples::apply_http_server_flags(flags, so);

    examples::chat_room room;
    http::application app;
    try {
        examples::add_chat_routes(app, room, static_dir);
    } catch (const std::exception& e) {
        spdlog::error("{}", e.what());
        return 1;
    }
    return http::serve(app, so);
}
