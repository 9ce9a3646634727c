// Templates: render(h, name, values) with mustache (Debian's
// libkainjow-mustache-dev, header-only and spec-conformant; kept out of
// this header).
//
// Templates are files under app_settings::template_path, named by a path
// relative to it (opened beneath it: no ".." or symlink leaves it). Each
// loop thread compiles a template once and keeps it; the file is checked
// again (and recompiled when it changed) at most once a second. Values
// come as JSON: objects become mustache sections, arrays lists, strings
// and numbers text, booleans truth. {{name}} is HTML-escaped, {{{name}}}
// and {{& name}} are not. Partials ({{> other}}) are looked up under the
// same folder.
//
// render() sets Content-Type text/html and finishes the response;
// render_string() returns the text. Errors (no template_path, a missing
// file, a template that does not parse) throw std::runtime_error, which a
// handler turns into a logged 500. Loop thread (or any thread for
// render_string; each thread has its own cache).
// Tests: tests/http/template_test.cpp.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>

namespace squall::http {

class application;
class request_handler;

std::string render_string(const application& app, std::string_view name, const nlohmann::json& values);
// The same with the folder given (no application needed).
std::string render_file(const std::string& dir, std::string_view name, const nlohmann::json& values);
void render(request_handler& h, std::string_view name, const nlohmann::json& values);

}  // namespace squall::http
