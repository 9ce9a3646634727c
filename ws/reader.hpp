// message_reader: the receiving half of RFC 6455 as a state machine over
// bytes (no I/O), so that it can be driven by a stream's leased buffers and
// tested byte by byte.
//
// next(in) consumes bytes from the front of `in` and returns the next
// event: a whole data message, a ping, a pong, a close frame, a failure
// (with the close code to send, 1002/1007/1009), or need_more once `in` is
// used up. Masked payloads are unmasked in place in `in`. A message that
// arrives as one unfragmented, uncompressed frame inside one buffer is
// handed out as a view into `in` (no copy); others are gathered into the
// reader's own buffer. Text is validated as it arrives and fails on the
// first bad byte, before the rest of the message is read; compressed
// messages are inflated piece by piece and checked against the size limit
// as they grow. Control frames may arrive between fragments.
//
// Views in an event stay valid until the next call to next() and, when
// they point into `in`, as long as those bytes. After a failure every call
// returns the same failure. Loop thread only. Tests: tests/ws/*_test.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include <squall/ws/deflate.hpp>
#include <squall/ws/frame.hpp>
#include <squall/ws/utf8.hpp>

namespace squall::ws {

// The largest message, also after inflating; connection_options
// (ws/connection.hpp) starts from this default too.
inline constexpr std::size_t default_max_message_size = 10 * 1024 * 1024;

struct reader_options {
    bool expect_masked = true;  // a server reads masked frames, a client unmasked ones
    std::size_t max_message_size = default_max_message_size;
};

enum class event_kind { need_more, message, ping, pong, close, fail };

struct event {
    event_kind kind = event_kind::need_more;
    bool binary = false;     // message: binary or text
    std::string_view data;   // message payload, ping/pong payload, close or fail reason
    std::uint16_t code = 0;  // close: the peer's code (1005 when none); fail: the code to send
};

class message_reader {
public:
    // `inflate` (may be null: no extension) is borrowed for the reader's life.
    explicit message_reader(reader_options opts, inflater* inflate = nullptr) noexcept
        : opts_(opts), inflate_(inflate) {}

    event next(std::span<std::byte>& in);

    bool in_message() const noexcept { return in_message_; }

private:
    event fail(std::uint16_t code, std::string_view why);
    event start_frame();
    event end_frame();
    event control_end();
    bool take_payload(std::span<std::byte>& in, event* ev);

    reader_options opts_;
    inflater* inflate_;

    std::byte hdr_[max_header_size]{};
    std::size_t hdr_len_ = 0;
    bool have_header_ = false;
    frame_header h_;
    std::uint64_t left_ = 0;    // payload bytes of this frame still to come
    std::uint64_t offset_ = 0;  // payload bytes of this frame seen (mask phase)

    bool in_message_ = false;
    bool binary_ = false;
    bool compressed_ = false;
    std::uint64_t wire_size_ = 0;  // payload bytes of this message on the wire
    std::string msg_;
    std::string control_;
    utf8_validator utf8_;

    bool failed_ = false;
    std::uint16_t fail_code_ = 0;
    std::string_view fail_why_;
};

}  // namespace squall::ws
