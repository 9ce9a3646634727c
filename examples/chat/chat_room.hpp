// The chat of Tornado's chat demo: one room of messages, new ones
// delivered both by long polling (POST a/message/updates) and by WebSocket
// (chatsocket), kept in sync: a message sent either way reaches every
// reader of both kinds.
//
// Routes (under `prefix`, "" or e.g. "/chat"):
//   GET  prefix/                  the page (the mustache template examples/chat/index.html), with the cached messages
//   GET  prefix/static/chat.js    its script
//   POST prefix/a/message/new     form field body -> the message as JSON
//   POST prefix/a/message/updates form field cursor (last id seen) -> {"messages": [...]} newer
//                                 than it, waiting up to 25 s for one
//   GET  prefix/chatsocket        WebSocket: send {"body": "..."}, receive every new message
//
// Threads: the room is shared by every loop (a mutex guards its messages
// and its table of loops); readers live on their own loop, and a new
// message is handed to each loop that has readers with loop::post. The
// room must outlive the loops that serve it.
// Tests: tests/examples/chat_chromium_test.py.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include <squall/engine/loop.hpp>
#include <squall/http/application.hpp>

namespace squall::examples {

struct chat_message {
    std::uint64_t id = 0;
    std::string body;
    nlohmann::json to_json() const;
};

struct chat_readers;

class chat_room {
public:
    chat_room();
    ~chat_room();
    chat_room(const chat_room&) = delete;
    chat_room& operator=(const chat_room&) = delete;

    // Messages kept for new pages and late pollers (Tornado's cache_size).
    static constexpr std::size_t cache_size = 200;

    chat_message add(std::string body);
    std::vector<chat_message> since(std::uint64_t cursor);
    // The readers on the calling loop (made on first use).
    chat_readers& readers_here();

    // Filled by add_chat_routes: where the page template is, the prefix, the script.
    std::string template_dir, prefix, script;

private:
    std::mutex mu_;
    std::deque<chat_message> cache_;
    std::uint64_t next_id_ = 1;
    // Per loop that has readers; an entry lives as long as the room.
    std::map<loop*, std::unique_ptr<chat_readers>> readers_;
};

// The page and script are read from `static_dir` at start (throws when
// they are missing).
void add_chat_routes(http::application& app, chat_room& room, const std::string& static_dir,
                     const std::string& prefix = "");

}  // namespace squall::examples
