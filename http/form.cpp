#include "http/form.hpp"

#include "http/request.hpp"

namespace squall::http {
namespace {

std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// The value of parameter `name` in a header value like
// `form-data; name="a"; filename="b"`, unquoted.
std::optional<std::string> param(std::string_view value, std::string_view name) {
    while (!value.empty()) {
        std::size_t semi = value.find(';');
        std::string_view part = trim(value.substr(0, semi));
        value = semi == std::string_view::npos ? std::string_view() : value.substr(semi + 1);
        std::size_t eq = part.find('=');
        if (eq == std::string_view::npos || !iequals(trim(part.substr(0, eq)), name)) continue;
        std::string_view v = trim(part.substr(eq + 1));
        if (v.size() >= 2 && v.front() == '"' && v.back() == '"') {
            std::string out;
            for (std::size_t i = 1; i + 1 < v.size(); ++i) {
                if (v[i] == '\\' && i + 2 < v.size()) ++i;
                out += v[i];
            }
            return out;
        }
        return std::string(v);
    }
    return std::nullopt;
}

std::error_code bad() { return std::make_error_code(std::errc::bad_message); }

}  // namespace

std::optional<std::string> multipart_boundary(std::string_view content_type) {
    std::size_t semi = content_type.find(';');
    if (!iequals(trim(content_type.substr(0, semi)), "multipart/form-data")) return std::nullopt;
    if (semi == std::string_view::npos) return std::nullopt;
    auto b = param(content_type.substr(semi + 1), "boundary");
    if (!b || b->empty() || b->size() > 70) return std::nullopt;
    return b;
}

result<form_data> parse_multipart(std::string_view body, std::string_view boundary) {
    form_data out;
    const std::string delim = "--" + std::string(boundary);
    std::size_t pos = body.find(delim);
    if (pos == std::string_view::npos) return bad();
    pos += delim.size();
    for (;;) {
        if (body.substr(pos, 2) == "--") return out;  // the closing delimiter
        if (body.substr(pos, 2) != "\r\n") return bad();
        pos += 2;
        std::size_t head_end = body.find("\r\n\r\n", pos);
        std::size_t next = body.find("\r\n" + delim, pos);
        if (head_end == std::string_view::npos || next == std::string_view::npos || head_end > next) return bad();
        std::string_view headers = body.substr(pos, head_end - pos);
        std::string_view content = body.substr(head_end + 4, next - head_end - 4);
        std::optional<std::string> name, filename;
        std::string type = "application/unknown";
        while (!headers.empty()) {
            std::size_t eol = headers.find("\r\n");
            std::string_view line = headers.substr(0, eol);
            headers = eol == std::string_view::npos ? std::string_view() : headers.substr(eol + 2);
            std::size_t colon = line.find(':');
            if (colon == std::string_view::npos) return bad();
            std::string_view key = trim(line.substr(0, colon)), value = trim(line.substr(colon + 1));
            if (iequals(key, "Content-Disposition")) {
                if (!iequals(trim(value.substr(0, value.find(';'))), "form-data")) return bad();
                name = param(value, "name");
                filename = param(value, "filename");
            } else if (iequals(key, "Content-Type")) {
                type = std::string(value);
            }
        }
        if (!name) return bad();
        if (filename) out.files.emplace_back(*name, uploaded_file{*filename, type, std::string(content)});
        else out.fields.emplace_back(*name, std::string(content));
        pos = next + 2 + delim.size();
    }
}

}  // namespace squall::http
