// Request data on its way into a response, end to end: each route below
// puts a query argument (percent-decoded, so it can hold CR, LF, NUL and
// markup) where a ported Tornado handler would, and the raw response is
// checked for injected fields, unescaped markup and broken framing.
// Reason phrases (set_status, http_error's reason), error pages
// (http_error's log message), redirect's Location, header values,
// Set-Cookie and the JSON writer.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <string>

#include "loopback_server.hpp"
#include <squall/http/application.hpp>
#include <squall/http/url.hpp>

using namespace squall;
using namespace squall::http;
using namespace squall::http::testing;

namespace {

// The raw value of v: get_argument would turn its control bytes into
// spaces (Tornado's cleaning), and these tests send them on purpose.
std::string arg(request_handler& h) {
    std::string v;
    for (const auto& [name, value] : parse_query(h.request().query)) {
        if (name == "v") v = value;
    }
    return v;
}

task<void> status_reason(request_handler& h) {
    h.set_status(std::stoi(h.get_argument("code", "200")), arg(h));
    h.write("body");
    co_return;
}

task<void> error_text(request_handler& h) {
    // Tornado's `raise HTTPError(400, "bad id %s" % id)`.
    throw http_error(400, "bad id " + arg(h));
    co_return;
}

task<void> error_reason(request_handler& h) {
    throw http_error(400, "logged only", arg(h));
    co_return;
}

task<void> send_error_reason(request_handler& h) {
    h.send_error(403, arg(h));
    co_return;
}

task<void> go(request_handler& h) {
    h.redirect(arg(h));
    co_return;
}

task<void> header(request_handler& h) {
    h.set_header("X-Echo", arg(h));
    h.write("set");
    co_return;
}

task<void> cookie(request_handler& h) {
    h.set_cookie("c", arg(h));
    h.write("set");
    co_return;
}

task<void> clear(request_handler& h) {
    h.clear_cookie("c", arg(h));
    h.write("cleared");
    co_return;
}

task<void> json(request_handler& h) {
    h.write(nlohmann::json{{"v", arg(h)}});
    co_return;
}

// A JSON API's error page (as examples/todo has): the message shows,
// JSON-encoded.
class api : public request_handler {
public:
    task<void> get() {
        throw http_error(404, "no item " + get_argument("v", ""));
        co_return;
    }
    void write_error(int status, std::string_view message) override {
        write(nlohmann::json{{"status", status}, {"error", std::string(message)}});
    }
};

std::unique_ptr<loopback_server> start() {
    app_settings s;
    s.access_log = false;
    auto app = std::make_unique<application>(std::move(s));
    app->get("/status", status_reason);
    app->get("/error", error_text);
    app->get("/error_reason", error_reason);
    app->get("/send_error", send_error_reason);
    app->get("/go", go);
    app->get("/header", header);
    app->get("/cookie", cookie);
    app->get("/clear", clear);
    app->get("/json", json);
    app->add<api>("/api");
    return std::make_unique<loopback_server>(std::move(app));
}

// GET `target`; the response, after checking that no field was injected
// and that a second request on the connection is still answered.
response get(loopback_server& srv, const std::string& target) {
    raw_client c(srv.port());
    EXPECT_TRUE(c.send("GET " + target + " HTTP/1.1\r\nHost: t\r\n\r\nGET /header?v=ok HTTP/1.1\r\nHost: t\r\n\r\n"));
    auto r = c.read_response();
    EXPECT_TRUE(r) << target;
    if (!r) return {};
    EXPECT_FALSE(r->field("x-injected")) << target;
    for (const auto& [n, v] : r->fields) EXPECT_EQ(v.find_first_of("\r\n"), std::string::npos) << n;
    auto next = c.read_response();
    EXPECT_TRUE(next) << "no second response after " << target;
    return *r;
}

constexpr std::string_view crlf_inject = "%0D%0AX-Injected:%20yes";
constexpr std::string_view script = "%3Cscript%3Ealert(1)%3C/script%3E";

}  // namespace

TEST(response_safety, invalid_reason_phrases_become_the_standard_one) {
    auto srv = start();
    EXPECT_EQ(get(*srv, "/status?v=OK" + std::string(crlf_inject)).status_line, "HTTP/1.1 200 OK");
    EXPECT_EQ(get(*srv, "/status?v=" + std::string(script)).status_line, "HTTP/1.1 200 OK");
    EXPECT_EQ(get(*srv, "/status?v=a%00b").status_line, "HTTP/1.1 200 OK");
    EXPECT_EQ(get(*srv, "/status?code=299&v=bad%01").status_line, "HTTP/1.1 299 Unknown");
    EXPECT_EQ(get(*srv, "/status?code=404&v=%3C").status_line, "HTTP/1.1 404 Not Found");
    // Valid ones pass: SP, HTAB, VCHAR, obs-text.
    EXPECT_EQ(get(*srv, "/status?v=Fine%09Thanks!").status_line, "HTTP/1.1 200 Fine\tThanks!");
    EXPECT_EQ(get(*srv, "/status?v=caf%E9").status_line, "HTTP/1.1 200 caf\xE9");
}

TEST(response_safety, http_error_text_is_logged_never_shown) {
    auto srv = start();
    response r = get(*srv, "/error?v=" + std::string(script));
    EXPECT_EQ(r.status_line, "HTTP/1.1 400 Bad Request");
    EXPECT_EQ(r.body, "<html><title>400: Bad Request</title><body>400: Bad Request</body></html>");
    // An explicit reason is the status line and the page (Tornado's reason=).
    r = get(*srv, "/error_reason?v=Bad%20Widget");
    EXPECT_EQ(r.status_line, "HTTP/1.1 400 Bad Widget");
    EXPECT_EQ(r.body, "<html><title>400: Bad Widget</title><body>400: Bad Widget</body></html>");
    r = get(*srv, "/error_reason?v=" + std::string(script));
    EXPECT_EQ(r.status_line, "HTTP/1.1 400 Bad Request");
    EXPECT_EQ(r.body.find("<script"), std::string::npos) << r.body;
}

TEST(response_safety, error_pages_escape_the_reason) {
    auto srv = start();
    response r = get(*srv, "/send_error?v=Tom%20%26%20%22Jerry%22");
    EXPECT_EQ(r.status_line, "HTTP/1.1 403 Tom & \"Jerry\"");
    EXPECT_EQ(r.body,
              "<html><title>403: Tom &amp; &quot;Jerry&quot;</title><body>403: Tom &amp; &quot;Jerry&quot;"
              "</body></html>");
}

TEST(response_safety, write_error_gets_the_message_for_json_pages) {
    auto srv = start();
    response r = get(*srv, "/api?v=" + std::string(script));
    EXPECT_EQ(r.status_line, "HTTP/1.1 404 Not Found");
    EXPECT_EQ(r.body, R"({"error":"no item <script>alert(1)<\/script>","status":404})");
}

TEST(response_safety, redirect_location_is_percent_encoded) {
    auto srv = start();
    response r = get(*srv, "/go?v=/next" + std::string(crlf_inject));
    EXPECT_EQ(r.status_line, "HTTP/1.1 302 Found");
    EXPECT_EQ(r.field("location").value_or(""), "/next%0D%0AX-Injected:%20yes");
    r = get(*srv, "/go?v=/a%20b%3C%E9%00");
    EXPECT_EQ(r.field("location").value_or(""), "/a%20b%3C%E9%00");
    r = get(*srv, "/go?v=https://example.com/x%3Fy=1%26z=%2541");
    EXPECT_EQ(r.field("location").value_or(""), "https://example.com/x?y=1&z=%41");
}

TEST(response_safety, header_values_with_controls_are_refused) {
    auto srv = start();
    for (auto bad : {"a%0D%0AX-Injected:%20yes", "a%0Ab", "a%0Db", "a%00b", "a%01b", "a%7Fb"}) {
        response r = get(*srv, "/header?v=" + std::string(bad));
        EXPECT_EQ(r.status_line, "HTTP/1.1 500 Internal Server Error") << bad;
        EXPECT_FALSE(r.field("x-echo")) << bad;
    }
    response r = get(*srv, "/header?v=a%09b%20c%E9");
    EXPECT_EQ(r.field("x-echo").value_or(""), "a\tb c\xE9");
}

TEST(response_safety, cookie_values_and_paths_cannot_add_attributes) {
    auto srv = start();
    for (auto bad : {"/cookie?v=a;%20Domain=evil", "/cookie?v=a%0D%0AX-Injected:%20yes", "/cookie?v=a%20b",
                     "/clear?v=/;%20Domain=evil"}) {
        response r = get(*srv, bad);
        EXPECT_EQ(r.status_line, "HTTP/1.1 500 Internal Server Error") << bad;
        EXPECT_FALSE(r.field("set-cookie")) << bad;
    }
    EXPECT_EQ(get(*srv, "/cookie?v=abc").field("set-cookie").value_or(""), "c=abc; Path=/");
}

TEST(response_safety, json_writer_escapes_script_ends_and_bad_utf8) {
    auto srv = start();
    response r = get(*srv, "/json?v=" + std::string(script));
    EXPECT_EQ(r.body, R"({"v":"<script>alert(1)<\/script>"})");
    r = get(*srv, "/json?v=a%FFb");
    EXPECT_EQ(r.status_line, "HTTP/1.1 200 OK");
    EXPECT_EQ(r.body,
              "{\"v\":\"a\xEF\xBF\xBD"
              "b\"}");
}
