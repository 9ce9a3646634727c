// render()/render_string(): mustache spec cases (interpolation and
// escaping, sections, inverted sections, comments, delimiters, partials,
// standalone lines), the template folder rules, caching and reloading,
// and a handler rendering a page over loopback.
#include <squall/http/template.hpp>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "loopback_server.hpp"
#include <squall/http/application.hpp>

using namespace squall;
using namespace squall::http;
using namespace squall::http::testing;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

class Templates : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/squall-tmpl-XXXXXX";
        dir_ = fs::path(::mkdtemp(tmpl));
        fs::create_directories(dir_ / "t");
        std::ofstream(dir_ / "secret.txt") << "SECRET";
    }
    void TearDown() override { fs::remove_all(dir_); }
    // Renders `text` as a template file of its own.
    std::string spec(const std::string& text, const json& values) {
        std::string name = "case" + std::to_string(++n_) + ".mustache";
        std::ofstream(dir_ / "t" / name) << text;
        return render_file((dir_ / "t").string(), name, values);
    }
    fs::path dir_;
    int n_ = 0;
};

TEST_F(Templates, InterpolationEscapesHtmlByDefault) {
    json v = {{"forbidden", "& \" < >"}, {"n", 85}, {"pi", 3.5}, {"yes", true}};
    EXPECT_EQ(spec("These characters should be HTML escaped: {{forbidden}}", v),
              "These characters should be HTML escaped: &amp; &quot; &lt; &gt;");
    EXPECT_EQ(spec("not escaped: {{{forbidden}}}", v), "not escaped: & \" < >");
    EXPECT_EQ(spec("not escaped: {{&forbidden}}", v), "not escaped: & \" < >");
    EXPECT_EQ(spec("{{n}} miles, {{pi}}", v), "85 miles, 3.5");
    EXPECT_EQ(spec("I ({{cannot}}) be seen!", v), "I () be seen!");
    EXPECT_EQ(spec("{{ n }}", v), "85");
}

TEST_F(Templates, DottedNamesSectionsAndLists) {
    json v = {{"person", {{"name", "Joe"}}},
              {"list", {{{"item", 1}}, {{"item", 2}}, {{"item", 3}}}},
              {"strings", {"a", "b", "c"}},
              {"t", true},
              {"f", false},
              {"empty", json::array()}};
    EXPECT_EQ(spec("\"{{person.name}}\" == \"{{#person}}{{name}}{{/person}}\"", v), "\"Joe\" == \"Joe\"");
    EXPECT_EQ(spec("\"{{#list}}{{item}}{{/list}}\"", v), "\"123\"");
    EXPECT_EQ(spec("\"{{#strings}}({{.}}){{/strings}}\"", v), "\"(a)(b)(c)\"");
    EXPECT_EQ(spec("\"{{#t}}This should be rendered.{{/t}}{{#f}}Not this.{{/f}}\"", v), "\"This should be rendered.\"");
    EXPECT_EQ(spec("\"{{^f}}This should be rendered.{{/f}}{{^t}}Not this.{{/t}}\"", v), "\"This should be rendered.\"");
    EXPECT_EQ(spec("\"{{^empty}}Yay lists!{{/empty}}\"", v), "\"Yay lists!\"");
}

TEST_F(Templates, CommentsDelimitersAndStandaloneLines) {
    json v = {{"text", "Hey!"}, {"boolean", true}};
    EXPECT_EQ(spec("12345{{! Comment Block! }}67890", v), "1234567890");
    EXPECT_EQ(spec("{{=<% %>=}}(<%text%>)", v), "(Hey!)");
    // Spec "Standalone Lines": a section tag alone on its line leaves no line.
    EXPECT_EQ(spec("| This Is\n{{#boolean}}\n|\n{{/boolean}}\n| A Line\n", v), "| This Is\n|\n| A Line\n");
}

TEST_F(Templates, PartialsComeFromTheSameFolder) {
    std::ofstream(dir_ / "t" / "item.html") << "<li>{{name}}</li>";
    json v = {{"items", {{{"name", "a<b"}}, {{"name", "c"}}}}};
    EXPECT_EQ(spec("<ul>{{#items}}{{> item.html}}{{/items}}</ul>", v), "<ul><li>a&lt;b</li><li>c</li></ul>");
    EXPECT_EQ(spec("[{{> missing.html}}]", v), "[]");
    EXPECT_EQ(spec("[{{> ../secret.txt}}]", v), "[]");  // partials stay in the folder too
}

TEST_F(Templates, TheFolderIsTheLimitAndErrorsThrow) {
    std::string t = (dir_ / "t").string();
    EXPECT_THROW(render_file(t, "../secret.txt", json::object()), std::runtime_error);
    EXPECT_THROW(render_file(t, "nope.html", json::object()), std::runtime_error);
    std::ofstream(dir_ / "t" / "bad.html") << "{{#open}} never closed";
    EXPECT_THROW(render_file(t, "bad.html", json::object()), std::runtime_error);
}

TEST_F(Templates, CompiledOnceAndReloadedWhenTheFileChanges) {
    std::string t = (dir_ / "t").string();
    std::ofstream(dir_ / "t" / "page.html") << "v1 {{x}}";
    EXPECT_EQ(render_file(t, "page.html", {{"x", 1}}), "v1 1");
    std::ofstream(dir_ / "t" / "page.html", std::ios::trunc) << "version two {{x}}";
    EXPECT_EQ(render_file(t, "page.html", {{"x", 2}}), "v1 2");  // cached within the second
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));
    EXPECT_EQ(render_file(t, "page.html", {{"x", 3}}), "version two 3");
}

class page : public request_handler {
public:
    task<void> get() {
        render(*this, "page.html", {{"who", get_argument("who", "world")}});
        co_return;
    }
};

TEST_F(Templates, AHandlerRendersAPage) {
    std::ofstream(dir_ / "t" / "page.html") << "<p>Hello, {{who}}!</p>";
    app_settings s;
    s.template_path = (dir_ / "t").string();
    auto app = std::make_unique<application>(s);
    app->add<page>("/");
    loopback_server server(std::move(app));
    raw_client c(server.port());
    ASSERT_TRUE(c.send("GET /?who=%3Cscript%3E HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "<p>Hello, &lt;script&gt;!</p>");
    EXPECT_EQ(r->field("content-type"), "text/html; charset=UTF-8");
}

}  // namespace
