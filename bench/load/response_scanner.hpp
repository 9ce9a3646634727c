// response_scanner: the load generator's HTTP/1.1 response reader. It
// finds where each response ends and what it said (status, body length,
// Connection: close), and nothing more: the status line and the three
// headers that decide framing (Content-Length, Transfer-Encoding: chunked,
// Connection) are read, the body is counted, not kept. Bytes arrive in
// chunks split anywhere; a head that spans chunks is gathered in a buffer
// that keeps its capacity, so steady-state scanning allocates nothing.
//
// feed() reports each complete response through its callback and returns
// false at the first framing error (the reason is in error()); the
// connection is then unusable. finish() is called at end of stream: a body
// delimited by the close completes there, anything else cut short is an
// error. Threads: one scanner per connection. Tests:
// tests/bench/response_scanner_test.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace squall::load {

struct response_info {
    int status = 0;
    std::uint64_t body_bytes = 0;  // body length as received (chunked: decoded)
    std::uint64_t wire_bytes = 0;  // head + body as framed on the wire
    bool close = false;            // Connection: close, or HTTP/1.0 without keep-alive
};

class response_scanner {
public:
    static constexpr std::size_t max_head = 64 * 1024;

    // The next response answers a HEAD request (it has no body).
    void expect_head_response(bool yes) noexcept { head_request_ = yes; }

    // Scans `data`; calls on_response(const response_info&) for each
    // response completed in it. False on a framing error.
    template <class F>
    bool feed(std::string_view data, F&& on_response) {
        while (!data.empty()) {
            std::size_t used = 0;
            if (!step(data, used)) return false;
            data.remove_prefix(used);
            if (done_) {
                on_response(static_cast<const response_info&>(info_));
                reset_message();
            }
        }
        return true;
    }
    // End of stream: completes a close-delimited body (reported through
    // on_response); false when a response was cut short.
    template <class F>
    bool finish(F&& on_response) {
        if (state_ == state::body_until_close) {
            on_response(static_cast<const response_info&>(info_));
            reset_message();
            return true;
        }
        if (state_ == state::head && head_.empty()) return true;
        error_ = "connection closed in the middle of a response";
        return false;
    }

    // True between responses (no byte of the next one seen yet).
    bool idle() const noexcept { return state_ == state::head && head_.empty(); }
    const std::string& error() const noexcept { return error_; }

private:
    enum class state {
        head,
        body_length,
        body_until_close,
        chunk_size,
        chunk_ext,
        chunk_size_lf,
        chunk_data,
        chunk_data_cr,
        chunk_data_lf,
        trailer_line,
        trailer_lf
    };

    bool step(std::string_view data, std::size_t& used);
    bool scan_head(std::string_view data, std::size_t& used);
    bool parse_head(std::string_view head);
    bool parse_header(std::string_view name, std::string_view value);
    bool scan_body(std::string_view data, std::size_t& used);
    bool scan_chunked(std::string_view data, std::size_t& used);
    bool fail(const char* why);
    void begin_body();
    void reset_message() noexcept;

    state state_ = state::head;
    std::string head_;  // a head that spans chunks
    response_info info_;
    bool done_ = false;
    bool head_request_ = false;
    bool chunked_ = false;
    bool has_length_ = false;
    std::uint64_t length_ = 0;     // Content-Length
    std::uint64_t remaining_ = 0;  // of the body or of the current chunk
    unsigned size_digits_ = 0;
    bool trailer_empty_ = true;
    std::string error_;
};

}  // namespace squall::load
