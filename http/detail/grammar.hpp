// The HTTP grammar of RFC 9110/9112, once: token characters, optional
// whitespace, comma-separated lists, quoted strings, parameters, chunk
// framing and Content-Length. Every parser and writer in http/ and ws/
// that reads or writes these uses this file (HTTP dates: date.hpp).
//
// All functions are pure: arguments are borrowed for the call, results
// are views into them (or owned strings where unescaping must copy).
// Thread-safe; no errors beyond the nullopt/false results documented
// below, no exceptions except std::bad_alloc.
// Tests: tests/http/grammar_test.cpp.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace squall::http::detail {

namespace grammar_tables {
// tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." /
//         "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA (RFC 9110 5.6.2).
constexpr std::array<bool, 256> make_tchar() noexcept {
    std::array<bool, 256> t{};
    for (int c = '0'; c <= '9'; ++c) t[static_cast<std::size_t>(c)] = true;
    for (int c = 'a'; c <= 'z'; ++c) t[static_cast<std::size_t>(c)] = t[static_cast<std::size_t>(c - 32)] = true;
    for (char c : std::string_view("!#$%&'*+-.^_`|~")) t[static_cast<unsigned char>(c)] = true;
    return t;
}
inline constexpr std::array<bool, 256> tchar = make_tchar();
}  // namespace grammar_tables

constexpr bool is_tchar(char c) noexcept { return grammar_tables::tchar[static_cast<unsigned char>(c)]; }
// token = 1*tchar (inline: the request parser checks every field name)
inline bool is_token(std::string_view s) noexcept {
    if (s.empty()) return false;
    for (char c : s) {
        if (!is_tchar(c)) return false;
    }
    return true;
}

// OWS = *( SP / HTAB ) (RFC 9110 5.6.3).
constexpr bool is_ows(char c) noexcept { return c == ' ' || c == '\t'; }
std::string_view trim_ows(std::string_view s) noexcept;

// A field value holds no CR, LF or NUL (RFC 9110 5.5): what a writer must
// check before it puts a caller's value on the wire.
bool safe_field_value(std::string_view v) noexcept;

// The length of the quoted-string (RFC 9110 5.6.4) that `s` starts with,
// quotes included; npos when `s` does not start with '"', the closing
// quote is missing, or a byte that is neither qdtext nor a quoted-pair
// (a control byte other than HTAB) comes before it.
std::size_t quoted_string_length(std::string_view s) noexcept;

// How backslashes inside a quoted string are read. `rfc`: every "\x" is
// the quoted-pair for x. `quote_and_backslash`: only \" and \\ are
// escapes, any other backslash is kept, as browsers send file names in
// multipart/form-data (HTML's form-data encoding, Tornado's _parseparam).
enum class quoted_pairs { rfc, quote_and_backslash };

// The content of a quoted-string that is the whole of `s`, unescaped;
// nullopt when `s` is not exactly one valid quoted-string.
std::optional<std::string> unquote(std::string_view s, quoted_pairs mode = quoted_pairs::rfc);
// `s` as a quoted-string: in quotes, with '"' and '\' escaped. Bytes that
// no quoted-string may hold (controls other than HTAB, DEL) make it
// nullopt rather than be sent.
std::optional<std::string> quote(std::string_view s);

// The next element of a comma-separated list (RFC 9110 5.6.1): pops it
// from `list` and stores it, OWS-trimmed, in `element`. Empty elements
// ("a, , b", a leading or trailing comma) are skipped, as a recipient
// must; commas inside a quoted string do not separate. False when no
// element is left. Use: for (std::string_view e; next_element(v, e);) ...
bool next_element(std::string_view& list, std::string_view& element) noexcept;

// One parameter of an element: `name` and `value` OWS-trimmed; `value`
// as written (a token, or a quoted-string still in its quotes: see
// parameter_value()); `has_value` false when there was no '='.
struct parameter {
    std::string_view name, value;
    bool has_value = false;
};

// Splits an element "value *( OWS ';' OWS parameter )" at its first ';'
// outside quotes: returns the OWS-trimmed value and leaves `rest` at that
// ';' (empty: no parameters).
std::string_view element_value(std::string_view element, std::string_view& rest) noexcept;
// Pops the next ';'-separated parameter from `rest` (as left by
// element_value, or a list of pairs such as a Forwarded element; a leading
// ';' is skipped). An empty segment ("a;;b", "a;") comes back with an
// empty name, for strict callers to refuse and others to skip. False when
// nothing is left.
bool next_parameter(std::string_view& rest, parameter& p) noexcept;
// A parameter's value: a token as is, a quoted-string unescaped; nullopt
// when it is neither.
std::optional<std::string> parameter_value(std::string_view raw, quoted_pairs mode = quoted_pairs::rfc);

// A plain decimal (1*DIGIT), as Content-Length (RFC 9110 8.6) and every
// other count in a field must be: no sign, no space, no hex, not empty,
// no overflow of 64 bits. nullopt otherwise. This is the Content-Length
// parse of every field squall reads or is given to write; on the wire,
// llhttp parses it (llhttp_glue.hpp) with the same rules and refuses a
// repeated field.
std::optional<std::uint64_t> parse_decimal(std::string_view s) noexcept;

// chunk-size = 1*HEXDIG (RFC 9112 7.1), as it starts a chunk line: the
// size, and in `consumed` how many bytes it took. Refuses an empty size,
// a sign or "0x" (not hex digits), and a size that overflows 64 bits.
std::optional<std::uint64_t> parse_chunk_size(std::string_view line, std::size_t* consumed = nullptr) noexcept;
// The chunk header for `size` bytes of data: hex size, CRLF. `out` gets
// at most chunk_header_max bytes; returns how many were written.
inline constexpr std::size_t chunk_header_max = 18;
std::size_t write_chunk_header(char* out, std::uint64_t size) noexcept;
void append_chunk_header(std::string& out, std::uint64_t size);
// The last chunk with no trailer fields: "0" CRLF CRLF.
inline constexpr std::string_view last_chunk = "0\r\n\r\n";

}  // namespace squall::http::detail
