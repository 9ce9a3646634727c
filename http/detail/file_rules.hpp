// The pure rules of static file serving: which URL paths may name a file
// under the root, the file's media type, and the RFC 9110 section 13/14
// validators, conditionals and byte ranges.
//
// All functions are pure (borrowed inputs, owned results) and
// thread-safe; mime_type() reads /etc/mime.types once, on first use.
// Tests: tests/http/file_rules_test.cpp.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <squall/http/detail/date.hpp>  // the validators' dates

namespace squall::http::detail {

// A URL path (still percent-encoded, as sent) made into a path relative to
// the root. Percent-decoding happens here, exactly once. Refused (status
// 404, or 400 for a malformed escape) are: NUL and other control bytes,
// backslashes, invalid or overlong UTF-8, empty, "." and ".." segments,
// and segments starting with '.' unless allow_dotfiles. `dir` is true when
// the path ended in '/'. An empty rel names the root itself.
struct safe_path {
    int refuse = 0;
    std::string rel;
    bool dir = false;
};
safe_path make_safe_path(std::string_view encoded, bool allow_dotfiles);

// The Content-Type for a file name: /etc/mime.types, else a built-in
// table, else application/octet-stream; text types get "; charset=utf-8".
std::string content_type_for(std::string_view filename);
// Whether a media type is worth compressing (text, JSON, JS, SVG, XML...).
bool compressible_type(std::string_view content_type);

// If-Match / If-None-Match lists: "*" or comma-separated entity tags.
// Strong comparison (If-Match, If-Range) needs both tags strong.
bool etag_list_matches(std::string_view list, std::string_view etag, bool strong);

struct byte_range {
    std::uint64_t first = 0;
    std::uint64_t length = 0;
};
// The Range field against a representation of `size` bytes.
struct range_request {
    enum kind { none, satisfiable, unsatisfiable } what = none;
    std::vector<byte_range> ranges;  // clipped to the size, in request order
};
// `none` for a malformed field or another unit (the field is ignored, RFC
// 9110 14.2); more than max_ranges ranges are treated as malformed too.
range_request parse_range(std::string_view field, std::uint64_t size, std::size_t max_ranges = 16);

// What the RFC 9110 13.2.2 evaluation of the conditionals decides.
enum class precondition { proceed, not_modified, failed };
struct validators {
    std::string_view etag;   // strong, quoted
    std::int64_t mtime = 0;  // Last-Modified, in seconds
};
struct request_conditionals {
    std::optional<std::string_view> if_match, if_none_match, if_modified_since, if_unmodified_since;
    bool get_or_head = true;
};
precondition evaluate(const request_conditionals& c, const validators& v);
// Whether an If-Range field still names this representation (an entity
// tag compared strongly, or the exact Last-Modified date).
bool if_range_holds(std::string_view if_range, const validators& v);

}  // namespace squall::http::detail
