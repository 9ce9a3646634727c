// The HTTP grammar. See grammar.hpp.
#include <squall/http/detail/grammar.hpp>

#include <charconv>

namespace squall::http::detail {
namespace {

// qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text, and the byte
// after a backslash: HTAB / SP / VCHAR / obs-text (RFC 9110 5.6.4).
bool quotable(unsigned char c) noexcept { return c == '\t' || (c >= 0x20 && c != 0x7f); }

// Where the next `sep` outside a quoted string is in `s` (npos: none). An
// unterminated quoted string runs to the end.
std::size_t find_outside_quotes(std::string_view s, char sep) noexcept {
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == sep) return i;
        if (s[i] != '"') continue;
        for (++i; i < s.size() && s[i] != '"'; ++i) {
            if (s[i] == '\\') ++i;
        }
        if (i >= s.size()) return std::string_view::npos;
    }
    return std::string_view::npos;
}

}  // namespace

std::string_view trim_ows(std::string_view s) noexcept {
    while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
    return s;
}

bool safe_field_value(std::string_view v) noexcept {
    return v.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

std::size_t quoted_string_length(std::string_view s) noexcept {
    if (s.empty() || s.front() != '"') return std::string_view::npos;
    for (std::size_t i = 1; i < s.size(); ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c == '"') return i + 1;
        if (c == '\\') {
            if (++i == s.size() || !quotable(static_cast<unsigned char>(s[i]))) return std::string_view::npos;
        } else if (!quotable(c)) {
            return std::string_view::npos;
        }
    }
    return std::string_view::npos;
}

std::optional<std::string> unquote(std::string_view s, quoted_pairs mode) {
    if (quoted_string_length(s) != s.size()) return std::nullopt;
    std::string out;
    out.reserve(s.size() - 2);
    for (std::size_t i = 1; i + 1 < s.size(); ++i) {
        if (s[i] == '\\' && (mode == quoted_pairs::rfc || s[i + 1] == '"' || s[i + 1] == '\\')) ++i;
        out += s[i];
    }
    return out;
}

std::optional<std::string> quote(std::string_view s) {
    std::string out;
    out.reserve(s.size() + 2);
    out += '"';
    for (char c : s) {
        if (!quotable(static_cast<unsigned char>(c))) return std::nullopt;
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    out += '"';
    return out;
}

bool next_element(std::string_view& list, std::string_view& element) noexcept {
    while (!list.empty()) {
        const std::size_t comma = find_outside_quotes(list, ',');
        element = trim_ows(list.substr(0, comma));
        list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
        if (!element.empty()) return true;
    }
    return false;
}

std::string_view element_value(std::string_view element, std::string_view& rest) noexcept {
    const std::size_t semi = find_outside_quotes(element, ';');
    rest = semi == std::string_view::npos ? std::string_view() : element.substr(semi);
    return trim_ows(element.substr(0, semi));
}

bool next_parameter(std::string_view& rest, parameter& p) noexcept {
    rest = trim_ows(rest);
    if (rest.empty()) return false;
    if (rest.front() == ';') rest.remove_prefix(1);
    const std::size_t semi = find_outside_quotes(rest, ';');
    const std::string_view seg = rest.substr(0, semi);
    rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi);
    const std::size_t eq = seg.find('=');
    p.has_value = eq != std::string_view::npos;
    p.name = trim_ows(seg.substr(0, eq));
    p.value = p.has_value ? trim_ows(seg.substr(eq + 1)) : std::string_view();
    return true;
}

std::optional<std::string> parameter_value(std::string_view raw, quoted_pairs mode) {
    if (!raw.empty() && raw.front() == '"') return unquote(raw, mode);
    if (!is_token(raw)) return std::nullopt;
    return std::string(raw);
}

std::optional<std::uint64_t> parse_decimal(std::string_view s) noexcept {
    // from_chars reads no sign, space or "0x" into an unsigned type, and
    // reports overflow; the whole field must be digits.
    std::uint64_t n = 0;
    if (s.empty() || s.front() < '0' || s.front() > '9') return std::nullopt;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
    return n;
}

std::optional<std::uint64_t> parse_chunk_size(std::string_view line, std::size_t* consumed) noexcept {
    std::uint64_t n = 0;
    const char* b = line.data();
    const bool hex = !line.empty() && ((b[0] >= '0' && b[0] <= '9') || ((b[0] | 0x20) >= 'a' && (b[0] | 0x20) <= 'f'));
    if (!hex) return std::nullopt;
    auto [end, ec] = std::from_chars(b, b + line.size(), n, 16);
    if (ec != std::errc()) return std::nullopt;
    if (consumed) *consumed = static_cast<std::size_t>(end - b);
    return n;
}

std::size_t write_chunk_header(char* out, std::uint64_t size) noexcept {
    char* end = std::to_chars(out, out + chunk_header_max - 2, size, 16).ptr;
    *end++ = '\r';
    *end++ = '\n';
    return static_cast<std::size_t>(end - out);
}

void append_chunk_header(std::string& out, std::uint64_t size) {
    char buf[chunk_header_max];
    out.append(buf, write_chunk_header(buf, size));
}

}  // namespace squall::http::detail
