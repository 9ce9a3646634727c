// request_parser: llhttp (strict) glued to squall's views, plus the rules
// llhttp leaves to the embedder (shared/BAD_INPUT.md): exactly one valid
// Host in HTTP/1.1, field names that are tokens, no obs-fold, no bare LF,
// versions 1.0 and 1.1 only, Transfer-Encoding only "chunked" and never in
// HTTP/1.0, Expect only 100-continue, and the size and count limits.
//
// feed() parses as far as the next event and says how many bytes it
// consumed; the caller keeps the buffers it fed alive until the request is
// finished, because the head is made of views into them (a field split
// across two buffers is copied, once, into storage the parser owns). After
// head_done the caller decides about the body (limit, 100-continue,
// streaming) and calls resume(). Bodies are gathered here up to
// max_body, or handed out chunk by chunk when stream_body() was asked for.
// Trailer fields after a chunked body are checked (token names, max_field,
// max_fields) and dropped: head() stays as it was at head_done.
// The messages and the error status do not depend on how the bytes were
// split into reads, with one exception: a head that breaks both a syntax
// rule and the target or field size limit may get either 400 or 414/431,
// because llhttp hands a target or field over only at its end or at the
// end of a read (tests/fuzz/parser_fuzz.cpp checks this).
// One parser per connection, loop thread only. Tests: tests/http/parser_test.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <forward_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <squall/http/limits.hpp>
#include <squall/http/request.hpp>

namespace squall::http::detail {

// Whether `a` is an authority as a Host field or an absolute-form target
// may carry: host [":" port], the host a reg-name, IPv4 address or IP
// literal, no userinfo (RFC 9112 3.2, RFC 3986 3.2).
bool valid_authority(std::string_view a) noexcept;

// The limits are the server's settings (http/limits.hpp), one definition.
using parser_limits = request_limits;

enum class parse_event {
    need_more,     // everything fed was consumed; feed more
    head_done,     // head() is complete and a body follows; decide, then resume()
    body_chunks,   // (stream_body) chunks() hold the next pieces of body
    message_done,  // head() and body() are complete (a bodiless request skips head_done)
    error,         // error_status() and error_reason() say why
};

class request_parser {
public:
    explicit request_parser(const parser_limits& limits);
    ~request_parser();
    request_parser(const request_parser&) = delete;
    request_parser& operator=(const request_parser&) = delete;

    struct step {
        parse_event event;
        std::size_t consumed;
    };
    step feed(std::string_view data);
    void resume() noexcept;
    // Ready for the next request on the connection (after message_done).
    void next_message() noexcept;

    // Between head_done and resume(): deliver the body in chunks.
    void stream_body() noexcept { streaming_ = true; }
    bool in_message() const noexcept { return started_; }
    bool head_complete() const noexcept { return head_complete_; }
    bool message_complete() const noexcept { return paused_ == pause_point::message || done_pending_; }

    const request_head& head() const noexcept { return head_; }
    std::string_view body() const noexcept { return body_.empty() ? body_view_ : std::string_view(body_); }
    const std::vector<std::string_view>& chunks() const noexcept { return chunks_; }
    int error_status() const noexcept { return error_status_; }
    std::string_view error_reason() const noexcept { return error_reason_; }
    // The whole message was an HTTP/2 connection preface.
    bool saw_h2_preface() const noexcept { return h2_preface_; }
    // Copies the head's views (method, target, fields) into memory this
    // parser owns, so that the receive buffers can go back to the ring
    // while the head stays in use (a connection taken over by detach()).
    void own_head();
    // Copies what still points into the input fed so far (a body gathered
    // without a copy, a trailer field cut by the end of a read) into
    // memory this parser owns, so that the caller may give that input's
    // buffers back mid-body. The head is not copied (own_head()).
    void own_pending();
    // Whether `v` lies in memory this parser owns (a field copied across
    // buffers, a body gathered from several): for tests and fuzzers.
    bool owns(std::string_view v) const noexcept;

private:
    struct piece {
        const char* ptr = nullptr;
        std::size_t len = 0;
        std::string* owned = nullptr;
        std::size_t size() const noexcept { return owned ? owned->size() : len; }
        std::string_view view() const noexcept { return owned ? std::string_view(*owned) : std::string_view(ptr, len); }
    };
    struct callbacks;
    friend struct callbacks;

    int fail(int status, std::string_view reason) noexcept;
    void append(piece& p, const char* at, std::size_t n);
    std::size_t scan_head_bytes(std::string_view bytes) noexcept;
    void keep_start(std::string_view data);
    std::pair<int, std::size_t> execute(std::string_view data) noexcept;
    std::pair<int, std::size_t> execute_head(std::string_view data);
    int finish_field() noexcept;
    void classify(std::string_view name, std::string_view value) noexcept;
    int check_head() noexcept;
    int check_host() noexcept;
    bool split_target() noexcept;
    int check_transfer_encoding(std::string_view te) noexcept;
    int map_llhttp_error(int err, std::string_view data) noexcept;
    step judge_method(std::string_view data);
    void reset_message() noexcept;
    void start_owned_body();  // body_view_ becomes body_, reserved to Content-Length

    parser_limits limits_;
    struct llhttp_state;
    std::unique_ptr<llhttp_state> ll_;

    request_head head_;
    // The fields check_head() judges, classified once as each field ends
    // (the first of each, as header_list::get finds it).
    struct known_fields {
        std::size_t hosts = 0;
        std::string_view host;
        std::optional<std::string_view> transfer_encoding, expect;
    } known_;
    piece method_, url_, name_, value_;
    bool in_value_ = false;
    std::forward_list<std::string> spill_;  // node per copy: no block allocated up front
    std::size_t head_bytes_ = 0;
    std::string start_;            // the message's first bytes, to judge a method llhttp refused
    bool method_pending_ = false;  // llhttp refused the method before its end: read on
    bool started_ = false;
    bool head_complete_ = false;
    bool streaming_ = false;
    bool h2_preface_ = false;
    // The line rules llhttp does not check, applied to the head's bytes
    // before llhttp sees them, across buffers (parser_rules.cpp).
    struct line_scan {
        bool leading = true;         // in the CR/LF llhttp skips before a request line
        bool done = false;           // the empty line that ends the head was seen
        bool at_line_start = false;  // the last byte scanned ended a line
        char prev[2] = {0, 0};       // the last two bytes scanned
    } scan_;
    std::string_view scan_error_;

    std::string_view body_view_;
    std::string body_;
    std::uint64_t body_size_ = 0;
    std::size_t trailer_fields_ = 0;
    std::size_t extension_bytes_ = 0;
    std::vector<std::string_view> chunks_;
    bool done_pending_ = false;  // message_done to report after body_chunks
    enum class pause_point { none, head, message } paused_ = pause_point::none;
    int error_status_ = 0;
    std::string_view error_reason_;
};

}  // namespace squall::http::detail
