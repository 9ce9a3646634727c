#include "http/handler.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstring>

#include "http/application.hpp"
#include "http/cookies.hpp"
#include "http/detail/connection.hpp"
#include "http/detail/exchange.hpp"
#include "http/status.hpp"

namespace squall::http {
namespace {

// Which bytes may appear in a header name (a token) and in a value (no
// CR, LF or NUL: no response splitting through a handler's input). One
// table lookup per byte: this runs for every header of every response.
struct header_bytes {
    bool name[256] = {};
    bool value[256] = {};
    constexpr header_bytes() {
        for (int c = 0; c < 256; ++c) {
            value[c] = c != '\r' && c != '\n' && c != 0;
            bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
            name[c] = alnum;
            for (char t : std::string_view("!#$%&'*+-.^_`|~")) name[c] = name[c] || c == t;
        }
    }
};
constexpr header_bytes allowed;

void check_header(std::string_view name, std::string_view value) {
    bool ok = !name.empty();
    for (unsigned char c : name) ok &= allowed.name[c];
    if (!ok) throw std::invalid_argument("squall: invalid header name");
    for (unsigned char c : value) ok &= allowed.value[c];
    if (!ok) throw std::invalid_argument("squall: unsafe header value");
}

std::int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::optional<std::string> find_arg(const std::vector<std::pair<std::string, std::string>>& args,
                                    std::string_view name) {
    for (auto it = args.rbegin(); it != args.rend(); ++it) {
        if (it->first == name) return it->second;  // the last one wins, as in Tornado
    }
    return std::nullopt;
}

}  // namespace

void request_handler::write_error(int status, std::string_view reason) {
    finish(detail::error_page(status, reason));
}

const request_head& request_handler::request() const noexcept { return ex_->head(); }
std::string_view request_handler::body() const noexcept { return ex_->body(); }
const std::vector<std::string>& request_handler::path_args() const noexcept { return ex_->args(); }
std::string_view request_handler::remote_ip() const noexcept { return ex_->remote_ip(); }
std::string_view request_handler::protocol() const noexcept { return ex_->scheme(); }
const application& request_handler::app() const noexcept { return ex_->app(); }
cancel_token request_handler::shutdown_token() const noexcept { return ex_->conn().shutdown_token(); }
const std::vector<std::pair<std::string, uploaded_file>>& request_handler::files() const { return ex_->files(); }

std::optional<std::string> request_handler::get_query_argument(std::string_view name) const {
    return find_arg(ex_->query_args(), name);
}

std::optional<std::string> request_handler::get_body_argument(std::string_view name) const {
    return find_arg(ex_->body_args(), name);
}

std::string request_handler::get_argument(std::string_view name) const {
    if (auto v = get_body_argument(name)) return *v;
    if (auto v = get_query_argument(name)) return *v;
    throw http_error(400, "Missing argument " + std::string(name));
}

std::string request_handler::get_argument(std::string_view name, std::string_view fallback) const {
    if (auto v = get_body_argument(name)) return *v;
    if (auto v = get_query_argument(name)) return *v;
    return std::string(fallback);
}

std::vector<std::string> request_handler::get_arguments(std::string_view name) const {
    std::vector<std::string> out;
    for (const auto& [n, v] : ex_->query_args()) {
        if (n == name) out.push_back(v);
    }
    for (const auto& [n, v] : ex_->body_args()) {
        if (n == name) out.push_back(v);
    }
    return out;
}

nlohmann::json request_handler::json_body() const {
    auto parsed = nlohmann::json::parse(ex_->body(), nullptr, false);
    if (parsed.is_discarded()) throw http_error(400, "body is not JSON");
    return parsed;
}

void request_handler::set_status(int status, std::string_view reason) {
    if (status < 100 || status > 999) throw std::invalid_argument("squall: invalid status code");
    ex_->status = status;
    ex_->reason = std::string(reason);
}

int request_handler::get_status() const noexcept { return ex_->status; }

void request_handler::set_header(std::string_view name, std::string_view value) {
    check_header(name, value);
    ex_->set_header(name, value);
}

void request_handler::add_header(std::string_view name, std::string_view value) {
    check_header(name, value);
    ex_->headers.emplace_back(name, value);
}

void request_handler::clear_header(std::string_view name) { ex_->clear_header(name); }

void request_handler::write(std::string_view chunk) {
    if (ex_->finished) throw std::logic_error("squall: write() after finish()");
    ex_->body_out.append(chunk);
}

void request_handler::write(const nlohmann::json& value) {
    set_header("Content-Type", "application/json; charset=UTF-8");
    write(std::string_view(value.dump()));
}

task<result<void>> request_handler::flush() { return ex_->conn().flush(*ex_); }

task<void> request_handler::data_received(std::string_view) { co_return; }

task<result<detached_connection>> request_handler::detach() {
    if (ex_->headers_sent || ex_->finished) throw std::logic_error("squall: detach() after flush() or finish()");
    return ex_->conn().detach(*ex_);
}

void request_handler::finish() {
    if (ex_->finished) throw std::logic_error("squall: finish() called twice");
    ex_->finished = true;
}

void request_handler::finish(std::string_view chunk) {
    write(chunk);
    finish();
}

bool request_handler::finished() const noexcept { return ex_->finished; }

void request_handler::redirect(std::string_view url, bool permanent, int status) {
    if (status == 0) status = permanent ? 301 : 302;
    if (status < 300 || status > 399) throw std::invalid_argument("squall: redirect needs a 3xx status");
    set_status(status);
    set_header("Location", url);
    finish();
}

void request_handler::send_error(int status, std::string_view reason) {
    if (ex_->headers_sent) throw std::logic_error("squall: send_error after flush()");
    ex_->headers.clear();
    ex_->body_out.clear();
    ex_->finished = false;
    set_status(status);
    set_default_headers();
    write_error(status, reason.empty() ? reason_phrase(status) : reason);
    if (!ex_->finished) finish();
}

std::optional<std::string> request_handler::get_cookie(std::string_view name) const {
    auto field = ex_->head().headers.get("cookie");
    if (!field) return std::nullopt;
    for (auto [n, v] : parse_cookies(*field)) {
        if (n == name) return std::string(v);
    }
    return std::nullopt;
}

void request_handler::set_cookie(std::string_view name, std::string_view value, std::string_view attributes) {
    if (name.find_first_of("=;, \t\r\n") != std::string_view::npos || value.find_first_of(";\r\n") != std::string_view::npos)
        throw std::invalid_argument("squall: invalid cookie name or value");
    std::string cookie = std::string(name) + "=" + std::string(value);
    if (!attributes.empty()) cookie += "; " + std::string(attributes);
    add_header("Set-Cookie", cookie);
}

void request_handler::clear_cookie(std::string_view name, std::string_view path) {
    set_cookie(name, "", "Path=" + std::string(path) + "; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0");
}

std::optional<std::string> request_handler::get_signed_cookie(std::string_view name, int max_age_days) const {
    const auto& secret = app().settings().cookie_secret;
    if (secret.empty()) throw std::logic_error("squall: signed cookies need app_settings::cookie_secret");
    auto raw = get_cookie(name);
    if (!raw) return std::nullopt;
    return decode_signed_value(secret, name, *raw, unix_now(), max_age_days);
}

void request_handler::set_signed_cookie(std::string_view name, std::string_view value, std::string_view attributes) {
    const auto& secret = app().settings().cookie_secret;
    if (secret.empty()) throw std::logic_error("squall: signed cookies need app_settings::cookie_secret");
    set_cookie(name, create_signed_value(secret, name, value, unix_now()), attributes);
}

}  // namespace squall::http
