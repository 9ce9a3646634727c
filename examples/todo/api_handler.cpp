// What the to-do handlers share: input, session, JSON errors, rendering.
#include <algorithm>
#include <cctype>
#include <charconv>

#include "todo/handlers.hpp"
#include <squall/engine/thread_pool.hpp>

namespace squall::examples {
namespace {

constexpr std::string_view session_cookie = "session";

std::string lower_trimmed(std::string_view s) {
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
    return out;
}

// "Application/JSON; charset=utf-8" -> "application/json".
std::string media_type(std::string_view content_type) {
    return lower_trimmed(content_type.substr(0, content_type.find(';')));
}

bool is_json(std::string_view content_type) {
    std::string type = media_type(content_type);
    return type == "application/json" || (type.size() > 5 && type.ends_with("+json"));
}

}  // namespace

void api_handler::set_default_headers() {
    // Answers depend on who asks (the session): never cache them.
    set_header("Cache-Control", "no-store");
}

void api_handler::write_error(int status, std::string_view reason) {
    // RFC 9110 wants a challenge with every 401; the session is a cookie
    // set by the login route, which this challenge names.
    if (status == 401)
        set_header("WWW-Authenticate", R"(Cookie realm="squall-todo", form-action="/api/v1/accounts/login")");
    write(nlohmann::json{{"status", status}, {"error", std::string(reason)}});
    finish();
}

const nlohmann::json* api_handler::json_input() {
    if (!input_read_) {
        input_read_ = true;
        if (is_json(request().headers.get("content-type").value_or(""))) {
            nlohmann::json body = json_body();  // http_error(400) when it does not parse
            if (!body.is_object()) throw http::http_error(400, "the JSON body must be an object");
            json_ = std::move(body);
        }
    }
    return json_ ? &*json_ : nullptr;
}

std::optional<std::string> api_handler::field(std::string_view name) {
    if (const nlohmann::json* j = json_input()) {
        auto it = j->find(std::string(name));
        if (it == j->end() || it->is_null()) return std::nullopt;
        if (it->is_string()) return it->get<std::string>();
        if (it->is_boolean() || it->is_number()) return it->dump();
        throw http::http_error(400, "field " + std::string(name) + " must be a string, number or boolean");
    }
    if (auto v = get_body_argument(name)) return v;
    return get_query_argument(name);
}

std::string api_handler::required_field(std::string_view name) {
    std::optional<std::string> v = field(name);
    if (!v || v->empty()) throw http::http_error(400, "missing field " + std::string(name));
    return *v;
}

std::optional<bool> api_handler::bool_field(std::string_view name) {
    std::optional<std::string> v = field(name);
    if (!v) return std::nullopt;
    std::string s = lower_trimmed(*v);
    if (s == "true" || s == "1" || s == "on" || s == "yes") return true;
    if (s == "false" || s == "0" || s == "off" || s == "no") return false;
    throw http::http_error(400, "field " + std::string(name) + " must be true or false");
}

std::optional<std::int64_t> api_handler::session_account() const {
    std::optional<std::string> v = get_signed_cookie(session_cookie);
    if (!v) return std::nullopt;
    std::int64_t id = 0;
    auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), id);
    if (ec != std::errc() || p != v->data() + v->size()) return std::nullopt;
    return id;
}

void api_handler::start_session(const account& a) {
    http::cookie_options o;
    o.httponly = true;
    o.samesite = "Lax";
    set_signed_cookie(session_cookie, std::to_string(a.id), 30, o);
}

void api_handler::end_session() { clear_cookie(session_cookie); }

task<account> api_handler::find_account(std::string username) {
    todo_store* store = ctx_.store;
    auto job = run_in_pool([store, username] { return store->account_by_name(username); });
    std::optional<account> a = co_await job;
    if (!a) throw http::http_error(404, "no account named " + username);
    co_return std::move(*a);
}

task<account> api_handler::owned_account(std::string username) {
    std::optional<std::int64_t> me = session_account();
    if (!me) throw http::http_error(401, "log in first: POST /api/v1/accounts/login");
    account a = co_await find_account(std::move(username));
    if (a.id != *me) throw http::http_error(403, "this is another account");
    co_return a;
}

nlohmann::json account_json(const account& a, bool with_email) {
    nlohmann::json j{{"id", a.id}, {"username", a.username}, {"date_joined", a.date_joined}};
    if (with_email) j["email"] = a.email;
    return j;
}

nlohmann::json task_json(const todo_task& t, const std::string& owner) {
    return nlohmann::json{{"id", t.id},
                          {"owner", owner},
                          {"name", t.name},
                          {"note", t.note},
                          {"creation_date", t.creation_date},
                          {"due_date", t.due_date ? nlohmann::json(*t.due_date) : nlohmann::json(nullptr)},
                          {"completed", t.completed}};
}

task<void> api_not_found_handler::get() {
    throw http::http_error(404, "no such route: see GET /api/v1");
    co_return;
}
task<void> api_not_found_handler::post() { return get(); }
task<void> api_not_found_handler::put() { return get(); }
task<void> api_not_found_handler::patch() { return get(); }
task<void> api_not_found_handler::delete_() { return get(); }
task<void> api_not_found_handler::options() { return get(); }

}  // namespace squall::examples
