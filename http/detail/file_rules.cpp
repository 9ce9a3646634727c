#include <squall/http/detail/file_rules.hpp>

#include <squall/http/detail/grammar.hpp>

#include <cstring>
#include <fstream>
#include <sstream>
#include <unordered_map>

namespace squall::http::detail {
namespace {

int hex_digit(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, <= U+10FFFF.
bool valid_utf8(std::string_view s) noexcept {
    for (std::size_t i = 0; i < s.size();) {
        auto c = static_cast<unsigned char>(s[i]);
        std::size_t n = c < 0x80 ? 0 : c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : 1;
        if (c >= 0x80 && (c < 0xC2 || c > 0xF4)) return false;  // stray continuation, overlong lead, > U+10FFFF
        if (i + n >= s.size() && n > 0) return false;
        std::uint32_t cp = n == 0 ? c : c & (0x3Fu >> n);
        for (std::size_t k = 1; k <= n; ++k) {
            auto t = static_cast<unsigned char>(s[i + k]);
            if ((t & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (t & 0x3F);
        }
        bool overlong = (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000);
        if (overlong || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        i += n + 1;
    }
    return true;
}

bool segment_ok(std::string_view seg, bool allow_dotfiles) noexcept {
    if (seg.empty() || seg == "." || seg == "..") return false;
    return allow_dotfiles || seg.front() != '.';
}

}  // namespace

safe_path make_safe_path(std::string_view encoded, bool allow_dotfiles) {
    safe_path out;
    std::string decoded;
    decoded.reserve(encoded.size());
    for (std::size_t i = 0; i < encoded.size(); ++i) {
        char c = encoded[i];
        if (c == '%') {
            int hi = i + 2 < encoded.size() ? hex_digit(encoded[i + 1]) : -1;
            int lo = hi >= 0 ? hex_digit(encoded[i + 2]) : -1;
            if (hi < 0 || lo < 0) return {400, {}, false};
            c = static_cast<char>(hi * 16 + lo);
            i += 2;
        }
        decoded.push_back(c);
    }
    for (unsigned char c : decoded) {
        if (c < 0x20 || c == 0x7F || c == '\\') return {404, {}, false};
    }
    if (!valid_utf8(decoded)) return {404, {}, false};
    std::string_view rest = decoded;
    if (!rest.empty() && rest.back() == '/') {
        out.dir = true;
        rest.remove_suffix(1);
    }
    for (std::size_t start = 0; !rest.empty();) {
        std::size_t slash = rest.find('/', start);
        if (!segment_ok(rest.substr(start, slash - start), allow_dotfiles)) return {404, {}, false};
        if (slash == std::string_view::npos) break;
        start = slash + 1;
    }
    out.rel = std::string(rest);
    return out;
}

namespace {

using mime_map = std::unordered_map<std::string, std::string>;

// Used when /etc/mime.types is missing (minimal containers).
const char* const builtin_types[][2] = {
    {"html", "text/html"},        {"htm", "text/html"},       {"css", "text/css"},
    {"js", "text/javascript"},    {"mjs", "text/javascript"}, {"json", "application/json"},
    {"txt", "text/plain"},        {"xml", "application/xml"}, {"svg", "image/svg+xml"},
    {"png", "image/png"},         {"jpg", "image/jpeg"},      {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},         {"webp", "image/webp"},     {"ico", "image/vnd.microsoft.icon"},
    {"wasm", "application/wasm"}, {"pdf", "application/pdf"}, {"woff", "font/woff"},
    {"woff2", "font/woff2"},      {"mp4", "video/mp4"},       {"gz", "application/gzip"},
    {"zip", "application/zip"},   {"md", "text/markdown"},    {"csv", "text/csv"},
};

mime_map load_types() {
    mime_map m;
    for (const auto& t : builtin_types) m.emplace(t[0], t[1]);
    std::ifstream in("/etc/mime.types");
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        std::istringstream words(line);
        std::string type, ext;
        words >> type;
        while (words >> ext) m[ext] = type;
    }
    // Debian's list says application/javascript; RFC 9239 made it text/.
    m["js"] = "text/javascript";
    m["mjs"] = "text/javascript";
    return m;
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
    return out;
}

bool textual(std::string_view type) noexcept {
    return type.starts_with("text/") || type == "application/json" || type == "application/xml" ||
           type == "image/svg+xml" || type.ends_with("+json") || type.ends_with("+xml");
}

}  // namespace

std::string content_type_for(std::string_view filename) {
    static const mime_map types = load_types();
    std::size_t slash = filename.rfind('/');
    std::string_view base = slash == std::string_view::npos ? filename : filename.substr(slash + 1);
    std::size_t dot = base.rfind('.');
    std::string type = "application/octet-stream";
    if (dot != std::string_view::npos && dot > 0) {
        auto it = types.find(lower(base.substr(dot + 1)));
        if (it != types.end()) type = it->second;
    }
    if (type.starts_with("text/") || type == "application/json" || type == "image/svg+xml") type += "; charset=utf-8";
    return type;
}

bool compressible_type(std::string_view content_type) {
    std::string_view media = content_type.substr(0, content_type.find(';'));
    return textual(media) || media == "application/javascript" || media == "application/wasm";
}

bool etag_list_matches(std::string_view list, std::string_view etag, bool strong) {
    const bool ours_weak = etag.starts_with("W/");
    std::string_view ours = ours_weak ? etag.substr(2) : etag;
    std::size_t i = 0;
    auto skip = [&] {
        while (i < list.size() && (list[i] == ' ' || list[i] == '\t' || list[i] == ',')) ++i;
    };
    skip();
    if (list.substr(i, 1) == "*") return true;
    // A quoted tag may hold commas, so the list is scanned, not split.
    for (skip(); i < list.size(); skip()) {
        const bool weak = list.substr(i, 2) == "W/";
        if (weak) i += 2;
        if (i >= list.size() || list[i] != '"') return false;
        std::size_t close = list.find('"', i + 1);
        if (close == std::string_view::npos) return false;
        std::string_view tag = list.substr(i, close + 1 - i);
        i = close + 1;
        if (tag == ours && (!strong || (!weak && !ours_weak))) return true;
    }
    return false;
}

namespace {

// One range-spec; false when malformed. `r` stays empty when it is valid
// but unsatisfiable.
bool one_range(std::string_view spec, std::uint64_t size, std::optional<byte_range>& r) {
    std::size_t dash = spec.find('-');
    if (dash == std::string_view::npos) return false;
    auto first = parse_decimal(spec.substr(0, dash));
    auto last = parse_decimal(spec.substr(dash + 1));
    if (!first) {
        if (dash != 0 || !last) return false;      // "-": neither end
        if (*last == 0 || size == 0) return true;  // a zero-length suffix is unsatisfiable
        std::uint64_t n = std::min(*last, size);
        r = byte_range{size - n, n};
        return true;
    }
    if (dash + 1 != spec.size() && !last) return false;
    if (last && *last < *first) return false;
    if (*first >= size) return true;
    std::uint64_t end = last ? std::min(*last, size - 1) : size - 1;
    r = byte_range{*first, end - *first + 1};
    return true;
}

}  // namespace

range_request parse_range(std::string_view field, std::uint64_t size, std::size_t max_ranges) {
    range_request out;
    field = trim_ows(field);
    if (field.size() < 6 || (field.substr(0, 6) != "bytes=" && field.substr(0, 6) != "Bytes=")) return out;
    field.remove_prefix(6);
    std::size_t specs = 0;
    for (std::string_view spec; next_element(field, spec);) {
        std::optional<byte_range> r;
        if (!one_range(spec, size, r) || ++specs > max_ranges) return {};
        if (r) out.ranges.push_back(*r);
    }
    if (specs == 0) return {};
    out.what = out.ranges.empty() ? range_request::unsatisfiable : range_request::satisfiable;
    return out;
}

precondition evaluate(const request_conditionals& c, const validators& v) {
    // RFC 9110 13.2.2: If-Match, else If-Unmodified-Since; then
    // If-None-Match, else If-Modified-Since (GET and HEAD only).
    if (c.if_match) {
        if (!etag_list_matches(*c.if_match, v.etag, true)) return precondition::failed;
    } else if (c.if_unmodified_since) {
        auto when = parse_http_date(*c.if_unmodified_since);
        if (when && v.mtime > *when) return precondition::failed;
    }
    if (c.if_none_match) {
        if (etag_list_matches(*c.if_none_match, v.etag, false))
            return c.get_or_head ? precondition::not_modified : precondition::failed;
    } else if (c.if_modified_since && c.get_or_head) {
        auto when = parse_http_date(*c.if_modified_since);
        if (when && v.mtime <= *when) return precondition::not_modified;
    }
    return precondition::proceed;
}

bool if_range_holds(std::string_view if_range, const validators& v) {
    if_range = trim_ows(if_range);
    if (if_range.starts_with("\"") || if_range.starts_with("W/")) {
        return !if_range.starts_with("W/") && if_range == v.etag;
    }
    auto when = parse_http_date(if_range);
    return when && *when == v.mtime;
}

}  // namespace squall::http::detail
