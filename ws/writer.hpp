// message_writer: the sending half of RFC 6455 (and RFC 7692) as a
// function from messages to wire bytes, no I/O: the mirror of
// message_reader (ws/reader.hpp), so that framing, fragmenting, masking
// and compressing can be tested byte by byte and the bytes written by
// whatever carries them.
//
// frame() appends one message, or one control frame, to a wire_message:
// every frame header, and the payload copied in (masked for a client,
// compressed when a deflater is set and the data message is at least
// min_deflate bytes). An unmasked, uncompressed payload of at least
// borrow_from bytes is not copied: the wire_message then refers to the
// caller's bytes, which must stay alive and unchanged until it is
// written. Control payloads are cut to 125 bytes. Masks come from the
// system's random source.
//
// Ownership: `deflate` (may be null) is borrowed for the writer's life.
// Not thread-safe; one writer per connection (its deflate context and
// mask pool are per connection). Errors: none (the deflater's allocation
// failure throws). Tests: tests/ws/writer_test.cpp.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <squall/ws/deflate.hpp>
#include <squall/ws/frame.hpp>

namespace squall::ws {

struct writer_options {
    bool mask = false;                   // a client masks every frame
    std::size_t max_frame_size = 0;      // data fragments; zero: one frame per message
    std::size_t min_deflate = 0;         // smaller data messages go uncompressed
    std::size_t borrow_from = 8 * 1024;  // refer to (not copy) payloads this large; zero: always copy
};

// One message's bytes on the wire, in order: `bytes`, except where the
// payload is borrowed: then `heads` places each frame header in `bytes`
// and the payload follows each header in slices of `borrowed`.
struct wire_message {
    std::string bytes;
    std::span<const std::byte> borrowed;
    std::vector<std::pair<std::size_t, std::size_t>> heads;  // (offset in bytes, size)
    std::size_t frame_size = 0;                              // payload bytes per fragment, with `borrowed`

    std::size_t size() const noexcept { return bytes.size() + borrowed.size(); }
    void clear() noexcept;
    // Appends the pieces to write, in order.
    void gather(std::vector<iovec>& out) const;
};

class message_writer {
public:
    explicit message_writer(writer_options opts, deflater* deflate = nullptr) noexcept
        : opts_(opts), deflate_(deflate) {}

    // Appends `payload` as one message (text/binary, maybe fragmented) or
    // one control frame. `out` must be empty or hold only copied bytes.
    void frame(opcode op, std::span<const std::byte> payload, wire_message& out);
    void frame(opcode op, std::string_view payload, wire_message& out) {
        frame(op, std::as_bytes(std::span(payload)), out);
    }

    // A close frame's payload: the code and the reason cut (on a UTF-8
    // boundary) to fit 125 bytes; empty for close_code::no_status.
    static std::string close_payload(std::uint16_t code, std::string_view reason);

    const writer_options& options() const noexcept { return opts_; }

private:
    void append_frames(opcode op, std::span<const std::byte> payload, bool rsv1, bool borrow, wire_message& out);
    mask_key next_mask() noexcept;

    writer_options opts_;
    deflater* deflate_;
    std::string packed_;  // deflate output, reused
    std::uint8_t mask_pool_[256]{};
    std::size_t mask_pos_ = sizeof mask_pool_;
};

}  // namespace squall::ws
