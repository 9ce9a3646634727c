// Tornado's chat demo on squall: long polling and WebSocket over one room.
// See chat_room.hpp.
#include "chat/chat_room.hpp"

#include <spdlog/spdlog.h>

#include <charconv>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>

#include <squall/engine/sync.hpp>
#include <squall/engine/time.hpp>
#include <squall/http/handler.hpp>
#include <squall/http/template.hpp>
#include <squall/ws/broadcast.hpp>
#include <squall/ws/handler.hpp>

namespace squall::examples {

namespace {

std::string html_escape(std::string_view s) {
    std::string out;
    for (char c : s) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&#39;"; break;
            default: out += c;
        }
    }
    return out;
}

std::string message_html(const chat_message& m) {
    return "<div class=\"message\" id=\"m" + std::to_string(m.id) + "\">" + html_escape(m.body) + "</div>\n";
}

class chat_socket;

}  // namespace

// What one loop holds: its WebSocket readers and a condition its long
// pollers wait on. Used on that loop only.
struct chat_readers {
    std::set<chat_socket*> sockets;
    condition changed;
};

namespace {

std::string read_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw std::runtime_error("chat: cannot read " + path);
    std::ostringstream s;
    s << f.rdbuf();
    return s.str();
}

class page_handler : public http::request_handler {
public:
    explicit page_handler(chat_room* c) : c_(c) {}
    task<void> get() {
        // The page is a mustache template (escaping each message).
        nlohmann::json values = {{"prefix", c_->prefix}, {"messages", nlohmann::json::array()}};
        for (const auto& m : c_->since(0)) values["messages"].push_back({{"id", m.id}, {"body", m.body}});
        set_header("Content-Type", "text/html; charset=UTF-8");
        write(http::render_file(c_->template_dir, "index.html", values));
        co_return;
    }

private:
    chat_room* c_;
};

class script_handler : public http::request_handler {
public:
    explicit script_handler(chat_room* c) : c_(c) {}
    task<void> get() {
        set_header("Content-Type", "application/javascript; charset=UTF-8");
        write(c_->script);
        co_return;
    }

private:
    chat_room* c_;
};

class new_message_handler : public http::request_handler {
public:
    explicit new_message_handler(chat_room* c) : c_(c) {}
    task<void> post() {
        chat_message m = c_->add(get_argument("body"));
        if (auto next = get_argument("next", ""); !next.empty()) {
            redirect(next);
            co_return;
        }
        write(m.to_json());
        co_return;
    }

private:
    chat_room* c_;
};

// A long poll's wait, run under the request's wait token: a client that
// leaves ends it at once (Tornado's demo cancels its future in
// on_connection_close), and a graceful stop answers waiting pollers at
// once (they poll again).
task<result<void>> wait_for_news(chat_readers* here, clock::time_point deadline) {
    result<void> woke = co_await here->changed.wait(deadline);
    co_return woke;
}

class updates_handler : public http::request_handler {
public:
    explicit updates_handler(chat_room* c) : c_(c) {}
    task<void> post() {
        std::string text = get_argument("cursor", "0");
        std::uint64_t cursor = 0;
        auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), cursor);
        if (ec != std::errc() || p != text.data() + text.size()) throw http::http_error(400, "bad cursor");
        chat_readers& here = c_->readers_here();
        auto deadline = clock::now() + std::chrono::seconds(25);
        std::vector<chat_message> news = c_->since(cursor);
        while (news.empty() && clock::now() < deadline) {
            auto wait = wait_for_news(&here, deadline);
            wait.set_cancel_token(wait_token());
            result<void> woke = co_await std::move(wait);
            if (connection_closed_token().cancel_requested()) co_return;  // nobody to answer
            if (!woke) break;
            news = c_->since(cursor);
        }
        nlohmann::json list = nlohmann::json::array();
        for (const auto& m : news) list.push_back(m.to_json());
        write(nlohmann::json{{"messages", list}});
    }

private:
    chat_room* c_;
};

class chat_socket : public ws::websocket_handler {
public:
    explicit chat_socket(chat_room* c) : c_(c) {
        ws_options.max_message_size = 64 * 1024;
        // A reader that vanished is found by the pings; one that stops
        // reading is dropped once 1 MiB waits for it (see deliver).
        ws_options.ping_interval = std::chrono::seconds(20);
        ws_options.max_queued_bytes = 1024 * 1024;
    }
    task<void> open() override {
        c_->readers_here().sockets.insert(this);
        co_return;
    }
    void on_close() override { c_->readers_here().sockets.erase(this); }
    task<void> on_message(ws::message m) override {
        auto parsed = nlohmann::json::parse(m.data, nullptr, false);
        if (parsed.is_discarded() || !parsed.is_object() || !parsed.contains("body") || !parsed["body"].is_string()) {
            result<void> c = co_await close(ws::close_code::unsupported_data, "expected {\"body\": \"...\"}");
            (void)c;
            co_return;
        }
        c_->add(parsed["body"].get<std::string>());
    }

private:
    chat_room* c_;
};

// On a loop with readers: hand them a new message, framed once. A
// subscriber too far behind is dropped (its connection closed) rather
// than buffered for; it reloads the page when it comes back.
void deliver(chat_readers* r, const std::string& json) {
    std::vector<ws::connection*> to;
    to.reserve(r->sockets.size());
    for (chat_socket* s : r->sockets) {
        if (s->ws_connection()) to.push_back(s->ws_connection().get());
    }
    auto sent = ws::broadcast(to, json, false, ws::slow_policy::close);
    if (sent.closed > 0) spdlog::info("chat: dropped {} subscriber(s) that stopped reading", sent.closed);
    r->changed.notify_all();
}

}  // namespace

nlohmann::json chat_message::to_json() const {
    return {{"id", std::to_string(id)}, {"body", body}, {"html", message_html(*this)}};
}

chat_room::chat_room() = default;
chat_room::~chat_room() = default;

chat_message chat_room::add(std::string body) {
    chat_message m;
    std::vector<std::pair<loop*, chat_readers*>> loops;
    {
        std::lock_guard lk(mu_);
        m.id = next_id_++;
        m.body = std::move(body);
        cache_.push_back(m);
        if (cache_.size() > cache_size) cache_.pop_front();
        for (auto& [l, r] : readers_) loops.emplace_back(l, r.get());
    }
    std::string json = m.to_json().dump();
    for (auto [l, r] : loops) {
        if (l == loop::current()) {
            deliver(r, json);
        } else {
            l->post([r, json] { deliver(r, json); });
        }
    }
    return m;
}

std::vector<chat_message> chat_room::since(std::uint64_t cursor) {
    std::lock_guard lk(mu_);
    std::vector<chat_message> out;
    for (const auto& m : cache_)
        if (m.id > cursor) out.push_back(m);
    return out;
}

chat_readers& chat_room::readers_here() {
    std::lock_guard lk(mu_);
    auto& r = readers_[loop::current()];
    if (!r) r = std::make_unique<chat_readers>();
    return *r;
}

void add_chat_routes(http::application& app, chat_room& room, const std::string& static_dir,
                     const std::string& prefix) {
    room.template_dir = static_dir;
    room.prefix = prefix;
    (void)http::render_file(static_dir, "index.html", nlohmann::json::object());  // fails now, not per request
    room.script = read_file(static_dir + "/chat.js");
    chat_room* cc = &room;
    app.add<page_handler>(prefix + "/", cc);
    app.add<script_handler>(prefix + "/static/chat.js", cc);
    app.add<new_message_handler>(prefix + "/a/message/new", cc);
    app.add<updates_handler>(prefix + "/a/message/updates", cc);
    app.add<chat_socket>(prefix + "/chatsocket", cc);
}

}  // namespace squall::examples
