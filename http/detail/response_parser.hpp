// response_parser: llhttp in response mode, as strict as request_parser is
// with requests (shared/BAD_INPUT.md, "Hostile and broken servers"), for
// the HTTP client.
//
// llhttp (strict build) refuses Content-Length with Transfer-Encoding,
// duplicate or malformed Content-Length, chunk sizes that overflow, bare
// CR and control bytes in fields. The rules it leaves to the embedder are
// applied here: no bare LF and no obs-fold in the head (checked on the
// bytes before llhttp sees them), field names that are tokens, version 1.0
// or 1.1, a Transfer-Encoding that is exactly "chunked", no 101 (the
// client never asks to upgrade), the head's size and field count limits,
// and a bound on chunk extensions. Interim 1xx responses are skipped.
//
// feed() parses what it is given and stops after a complete final
// response; `consumed` says how far, so bytes left over are visible to
// the caller (a connection with leftovers is never reused). The head is
// copied into memory the parser owns; body pieces (chunks()) are views
// into the data fed and valid until the next feed(). finish() reports the
// end of the stream: it completes a body delimited by the close, and is an
// error anywhere else inside a message (a short body is never a success).
// One parser per connection, loop thread only.
// Tests: tests/http/client_framing_test.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace squall::http::detail {

struct response_limits {
    std::size_t max_head = 64 * 1024;  // status line and all fields
    std::size_t max_fields = 100;
    std::size_t max_chunk_extensions = 16 * 1024;
};

struct response_step {
    bool ok = true;            // false: error() says why
    std::size_t consumed = 0;  // bytes of the data fed that were parsed
};

class response_parser {
public:
    explicit response_parser(const response_limits& limits = {});
    ~response_parser();
    response_parser(const response_parser&) = delete;
    response_parser& operator=(const response_parser&) = delete;

    // Before each response: whether it answers a HEAD request (no body,
    // whatever its framing fields say), and the head's size limit for it
    // (zero: the limits' own).
    void start(bool head_request, std::size_t max_head = 0) noexcept;
    response_step feed(std::string_view data);
    // The peer closed the stream.
    response_step finish();

    bool started() const noexcept { return started_; }
    bool head_complete() const noexcept { return head_complete_; }
    bool message_complete() const noexcept { return message_complete_; }
    int status() const noexcept { return status_; }
    int version_minor() const noexcept { return version_minor_; }
    const std::string& reason() const noexcept { return reason_; }
    const std::vector<std::pair<std::string, std::string>>& fields() const noexcept { return fields_; }
    std::optional<std::uint64_t> content_length() const noexcept { return content_length_; }
    bool chunked() const noexcept { return chunked_; }
    // The connection may carry another exchange after this response.
    bool keep_alive() const noexcept { return keep_alive_; }
    // Body pieces parsed by the last feed()/finish().
    const std::vector<std::string_view>& chunks() const noexcept { return chunks_; }
    std::string_view error() const noexcept { return error_; }
    // The error was the head passing max_head or max_fields.
    bool head_too_large() const noexcept { return head_too_large_; }

private:
    struct callbacks;
    friend struct callbacks;
    struct llhttp_holder;

    int fail(std::string_view why) noexcept;
    int count_trailer(std::size_t n) noexcept;
    int finish_field() noexcept;
    int check_head() noexcept;
    std::size_t scan_head(std::string_view bytes) noexcept;
    void reset_head() noexcept;
    response_step run(std::string_view data);

    response_limits limits_;
    std::unique_ptr<llhttp_holder> ll_;
    bool head_request_ = false;
    bool started_ = false, head_complete_ = false, message_complete_ = false;
    int status_ = 0, version_minor_ = 1;
    std::string reason_, name_, value_;
    bool in_value_ = false;
    std::vector<std::pair<std::string, std::string>> fields_;
    std::optional<std::uint64_t> content_length_;
    bool chunked_ = false, keep_alive_ = false;
    std::size_t head_bytes_ = 0, trailer_fields_ = 0, trailer_bytes_ = 0, extension_bytes_ = 0;
    // The head's line scan across feeds: the last byte, and whether it
    // ended a line (a space or tab there is obs-fold).
    char prev_ = 0;
    bool at_line_start_ = false, head_end_seen_ = false;
    std::vector<std::string_view> chunks_;
    std::string_view error_;
    bool head_too_large_ = false;
};

}  // namespace squall::http::detail
