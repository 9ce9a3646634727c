#include <squall/http/form.hpp>

#include <algorithm>

#include <squall/http/detail/grammar.hpp>
#include <squall/http/request.hpp>

namespace squall::http {
namespace {

using detail::element_value;
using detail::next_parameter;
using detail::parameter;
using detail::quoted_pairs;
using detail::trim_ows;
using detail::unquote;

// The value of parameter `name` in a parameter list like
// `; name="a"; filename="b;c"`, unquoted. Only \\ and \" are escapes in
// a quoted value (browsers send a backslash in a file name as it is); an
// unquoted value is taken as it came, token or not, as Tornado does.
std::optional<std::string> param(std::string_view params, std::string_view name) {
    for (parameter p; next_parameter(params, p);) {
        if (!p.has_value || !iequals(p.name, name)) continue;
        if (auto v = unquote(p.value, quoted_pairs::quote_and_backslash)) return v;
        return std::string(p.value);
    }
    return std::nullopt;
}

std::error_code bad() { return std::make_error_code(std::errc::bad_message); }

struct part_head {
    std::optional<std::string> name, filename;
    std::string type = "application/unknown";
};

// A part's header lines; nullopt when one is malformed or the disposition
// is not form-data.
std::optional<part_head> parse_part_head(std::string_view headers) {
    part_head h;
    while (!headers.empty()) {
        std::size_t eol = headers.find("\r\n");
        std::string_view line = headers.substr(0, eol);
        headers = eol == std::string_view::npos ? std::string_view() : headers.substr(eol + 2);
        std::size_t colon = line.find(':');
        if (colon == std::string_view::npos) return std::nullopt;
        std::string_view key = trim_ows(line.substr(0, colon)), value = trim_ows(line.substr(colon + 1));
        if (iequals(key, "Content-Disposition")) {
            std::string_view params;
            if (!iequals(element_value(value, params), "form-data")) return std::nullopt;
            h.name = param(params, "name");
            h.filename = param(params, "filename");
        } else if (iequals(key, "Content-Type")) {
            h.type = std::string(value);
        }
    }
    return h;
}

// The length of the Python-whitespace character `s` starts with (0: none).
std::size_t leading_space(std::string_view s) noexcept {
    if (s.empty()) return 0;
    auto b = [&](std::size_t i) { return i < s.size() ? static_cast<unsigned char>(s[i]) : 0u; };
    unsigned c = b(0);
    if (c == ' ' || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f)) return 1;
    if (c == 0xc2 && (b(1) == 0x85 || b(1) == 0xa0)) return 2;
    if (c == 0xe1 && b(1) == 0x9a && b(2) == 0x80) return 3;
    if (c == 0xe2 && b(1) == 0x80 && ((b(2) >= 0x80 && b(2) <= 0x8a) || b(2) == 0xa8 || b(2) == 0xa9 || b(2) == 0xaf))
        return 3;
    if (c == 0xe2 && b(1) == 0x81 && b(2) == 0x9f) return 3;
    if (c == 0xe3 && b(1) == 0x80 && b(2) == 0x80) return 3;
    return 0;
}

// The same for the character `s` ends with.
std::size_t trailing_space(std::string_view s) noexcept {
    for (std::size_t n = 1; n <= 3 && n <= s.size(); ++n) {
        if (leading_space(s.substr(s.size() - n)) == n) return n;
    }
    return 0;
}

}  // namespace

std::string clean_argument(std::string_view value, bool strip) {
    std::string out(value);
    for (char& c : out) {
        auto u = static_cast<unsigned char>(c);
        if (u <= 0x08 || (u >= 0x0e && u <= 0x1f)) c = ' ';
    }
    if (!strip) return out;
    std::string_view v(out);
    while (std::size_t n = leading_space(v)) v.remove_prefix(n);
    while (std::size_t n = trailing_space(v)) v.remove_suffix(n);
    return std::string(v);
}

std::optional<std::string> multipart_boundary(std::string_view content_type) {
    std::string_view params;
    if (!iequals(element_value(content_type, params), "multipart/form-data")) return std::nullopt;
    auto b = param(params, "boundary");
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
        auto head = parse_part_head(body.substr(pos, head_end - pos));
        // A part needs a non-empty name (Tornado skips one without); one
        // with an empty file name (a browser's empty file input) is a
        // field, as in Tornado.
        if (!head || !head->name || head->name->empty()) return bad();
        // The CRLF that ends the headers may be the one the delimiter
        // starts with: the content is then empty.
        std::size_t content_at = std::min(head_end + 4, next);
        std::string content(body.substr(content_at, next - content_at));
        if (head->filename && !head->filename->empty()) {
            out.files.emplace_back(std::move(*head->name), uploaded_file{std::move(*head->filename),
                                                                         std::move(head->type), std::move(content)});
        } else {
            out.fields.emplace_back(std::move(*head->name), std::move(content));
        }
        pos = next + 2 + delim.size();
    }
}

}  // namespace squall::http
