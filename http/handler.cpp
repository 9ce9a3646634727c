#include <squall/http/handler.hpp>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstring>

#include <squall/http/application.hpp>
#include <squall/http/cookies.hpp>
#include <squall/http/detail/connection.hpp>
#include <squall/http/detail/exchange.hpp>
#include <squall/http/status.hpp>

namespace squall::http {
namespace {

// Which bytes may appear in a header name (a token) and in a value (no
// CR, LF, NUL or other controls: no response splitting through a
// handler's input), a reason phrase, and a URI (for redirect()). One
// table lookup per byte: this runs for every header of every response.
struct header_bytes {
    bool name[256] = {};
    bool value[256] = {};
    bool reason[256] = {};
    bool uri[256] = {};
    constexpr header_bytes() {
        for (int c = 0; c < 256; ++c) {
            value[c] = c == '\t' || (c >= 0x20 && c != 0x7f);  // RFC 9110 5.5: no controls but HTAB
            bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
            name[c] = alnum;
            for (char t : std::string_view("!#$%&'*+-.^_`|~")) name[c] = name[c] || c == t;
            // reason-phrase = 1*( HTAB / SP / VCHAR / obs-text ) (RFC 9112
            // 4), without '<' (as Tornado: no markup in error pages).
            reason[c] = value[c] && c != '<';
            uri[c] = c > 0x20 && c < 0x7f;
            for (char t : std::string_view("\"<>\\^`{|}")) uri[c] = uri[c] && c != t;
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
    // The server frames the response by a handler's Content-Length: it
    // must be a plain decimal (RFC 9110 8.6).
    if (name.size() == 14 && iequals(name, "content-length")) {
        ok = !value.empty() && value.size() <= 19;
        for (char c : value) ok &= c >= '0' && c <= '9';
        if (!ok) throw std::invalid_argument("squall: Content-Length must be a decimal number");
    }
}

bool valid_reason(std::string_view reason) noexcept {
    bool ok = !reason.empty();
    for (unsigned char c : reason) ok &= allowed.reason[c];
    return ok;
}

// A URL with the bytes a URI may not hold percent-encoded: a Location
// built from request data can neither split the response nor carry
// spaces and markup.
std::string uri_encode(std::string_view url) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(url.size());
    for (unsigned char c : url) {
        if (allowed.uri[c]) {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
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

std::vector<std::string> all_args(const std::vector<std::pair<std::string, std::string>>& args, std::string_view name,
                                  bool strip) {
    std::vector<std::string> out;
    for (const auto& [n, v] : args) {
        if (n == name) out.push_back(clean_argument(v, strip));
    }
    return out;
}

// Adds a Set-Cookie field, replacing one for the same name, domain and path.
void put_cookie(std::vector<std::pair<std::string, std::string>>& headers, std::string field) {
    cookie_id id = cookie_key(field);
    std::erase_if(headers, [&](const auto& h) { return iequals(h.first, "set-cookie") && cookie_key(h.second) == id; });
    headers.emplace_back("Set-Cookie", std::move(field));
}

std::string signed_value(const app_settings& s, std::string_view name, std::string_view value) {
    if (s.cookie_secrets.empty()) {
        if (s.cookie_secret.empty()) throw std::logic_error("squall: signed cookies need app_settings::cookie_secret");
        return create_signed_value(s.cookie_secret, name, value, unix_now());
    }
    auto key = s.key_version ? s.cookie_secrets.find(*s.key_version) : s.cookie_secrets.end();
    if (key == s.cookie_secrets.end())
        throw std::logic_error("squall: app_settings::key_version must name a key of cookie_secrets");
    return create_signed_value(key->second, name, value, unix_now(), key->first);
}

}  // namespace

void request_handler::write_error(int status, std::string_view) {
    // The reason phrase, not the message: that may hold request data.
    finish(detail::error_page(status, ex_->reason));
}

const request_head& request_handler::request() const noexcept { return ex_->head(); }
std::string_view request_handler::body() const noexcept { return ex_->body(); }
const std::vector<std::string>& request_handler::path_args() const noexcept { return ex_->args(); }
std::string_view request_handler::remote_ip() const noexcept { return ex_->remote_ip(); }
std::string_view request_handler::protocol() const noexcept { return ex_->scheme(); }
const application& request_handler::app() const noexcept { return ex_->app(); }
cancel_token request_handler::shutdown_token() const noexcept { return ex_->conn().shutdown_token(); }
cancel_token request_handler::connection_closed_token() const noexcept { return ex_->conn().closed_token(); }
cancel_token request_handler::wait_token() const noexcept { return ex_->conn().wait_token(); }
const std::vector<std::pair<std::string, uploaded_file>>& request_handler::files() const { return ex_->files(); }

std::optional<std::string> request_handler::get_query_argument(std::string_view name, strip s) const {
    auto v = find_arg(ex_->query_args(), name);
    if (v) *v = clean_argument(*v, s == strip::yes);
    return v;
}

std::optional<std::string> request_handler::get_body_argument(std::string_view name, strip s) const {
    auto v = find_arg(ex_->body_args(), name);
    if (v) *v = clean_argument(*v, s == strip::yes);
    return v;
}

std::string request_handler::get_argument(std::string_view name, strip s) const {
    if (auto v = get_body_argument(name, s)) return *v;
    if (auto v = get_query_argument(name, s)) return *v;
    throw http_error(400, "Missing argument " + std::string(name));
}

std::string request_handler::get_argument(std::string_view name, std::string_view fallback, strip s) const {
    if (auto v = get_body_argument(name, s)) return *v;
    if (auto v = get_query_argument(name, s)) return *v;
    return std::string(fallback);
}

std::vector<std::string> request_handler::get_query_arguments(std::string_view name, strip s) const {
    return all_args(ex_->query_args(), name, s == strip::yes);
}

std::vector<std::string> request_handler::get_body_arguments(std::string_view name, strip s) const {
    return all_args(ex_->body_args(), name, s == strip::yes);
}

std::vector<std::string> request_handler::get_arguments(std::string_view name, strip s) const {
    std::vector<std::string> out = get_query_arguments(name, s);
    for (auto& v : get_body_arguments(name, s)) out.push_back(std::move(v));
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
    if (!reason.empty() && !valid_reason(reason)) {
        spdlog::warn("squall: set_status({}): invalid reason phrase, the standard one is sent", status);
        reason = {};
    }
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
    // Invalid UTF-8 (request bytes put into a value) becomes U+FFFD
    // rather than an exception; "</" is written "<\/" as Tornado's
    // json_encode does, so the JSON can sit in a <script> element.
    std::string text = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    for (std::size_t at = text.find("</"); at != std::string::npos; at = text.find("</", at + 3))
        text.insert(at + 1, "\\");
    write(std::string_view(text));
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
    set_header("Location", uri_encode(url));
    finish();
}

void request_handler::send_error(int status, std::string_view reason) { send_error(status, reason, {}); }

void request_handler::send_error(int status, std::string_view reason, std::string_view message) {
    if (ex_->headers_sent) throw std::logic_error("squall: send_error after flush()");
    ex_->headers.clear();
    ex_->body_out.clear();
    ex_->finished = false;
    set_status(status, reason);
    set_default_headers();
    std::string_view phrase = ex_->reason.empty() ? reason_phrase(status) : std::string_view(ex_->reason);
    write_error(status, message.empty() ? phrase : message);
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

void request_handler::set_cookie(std::string_view name, std::string_view value, const cookie_options& opts) {
    put_cookie(ex_->headers, set_cookie_field(name, value, opts, std::chrono::system_clock::now()));
}

void request_handler::set_cookie(std::string_view name, std::string_view value, std::string_view attributes) {
    // As Tornado: no controls or whitespace in either, and no ';' (which
    // would start an attribute) in the value.
    bool ok = !name.empty();
    for (unsigned char c : name) ok &= allowed.name[c];
    for (unsigned char c : value) ok &= c > 0x20 && c != 0x7f && c != ';';
    if (!ok) throw std::invalid_argument("squall: invalid cookie name or value");
    std::string cookie = std::string(name) + "=" + std::string(value);
    if (!attributes.empty()) cookie += "; " + std::string(attributes);
    check_header("Set-Cookie", cookie);
    put_cookie(ex_->headers, std::move(cookie));
}

void request_handler::clear_cookie(std::string_view name, std::string_view path, std::string_view domain) {
    // As Tornado: an empty value that expired a year ago.
    cookie_options o;
    o.path = std::string(path);
    o.domain = std::string(domain);
    o.expires = std::chrono::system_clock::now() - std::chrono::hours(24 * 365);
    set_cookie(name, "", o);
}

std::optional<std::string> request_handler::get_signed_cookie(std::string_view name, int max_age_days) const {
    const auto& s = app().settings();
    auto raw = get_cookie(name);
    if (s.cookie_secrets.empty()) {
        if (s.cookie_secret.empty()) throw std::logic_error("squall: signed cookies need app_settings::cookie_secret");
        if (!raw) return std::nullopt;
        return decode_signed_value(s.cookie_secret, name, *raw, unix_now(), max_age_days);
    }
    if (!raw) return std::nullopt;
    return decode_signed_value(s.cookie_secrets, name, *raw, unix_now(), max_age_days);
}

void request_handler::set_signed_cookie(std::string_view name, std::string_view value,
                                        std::optional<double> expires_days, cookie_options opts) {
    if (!opts.expires && !opts.expires_days) opts.expires_days = expires_days;
    set_cookie(name, signed_value(app().settings(), name, value), opts);
}

void request_handler::set_signed_cookie(std::string_view name, std::string_view value, std::string_view attributes) {
    set_cookie(name, signed_value(app().settings(), name, value), attributes);
}

}  // namespace squall::http
