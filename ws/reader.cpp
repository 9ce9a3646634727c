// The receiving state machine of RFC 6455 (+ RFC 7692). See reader.hpp.
#include <squall/ws/reader.hpp>

#include <algorithm>
#include <cstring>

namespace squall::ws {

event message_reader::fail(std::uint16_t code, std::string_view why) {
    failed_ = true;
    fail_code_ = code;
    fail_why_ = why;
    return {event_kind::fail, false, why, code};
}

event message_reader::next(std::span<std::byte>& in) {
    if (failed_) return {event_kind::fail, false, fail_why_, fail_code_};
    for (;;) {
        if (!have_header_) {
            if (in.empty()) return {};
            std::size_t n = std::min(in.size(), max_header_size - hdr_len_);
            parse_status st;
            if (hdr_len_ == 0) {
                st = parse_header(in, h_);
            } else {
                std::memcpy(hdr_ + hdr_len_, in.data(), n);
                st = parse_header(std::span<const std::byte>(hdr_, hdr_len_ + n), h_);
            }
            if (st == parse_status::bad_length) return fail(close_code::protocol_error, "frame length over 2^63");
            if (st == parse_status::need_more) {
                // Fewer bytes than a whole header: keep them for the next call.
                if (hdr_len_ == 0) std::memcpy(hdr_, in.data(), in.size());
                hdr_len_ += in.size();
                in = {};
                return {};
            }
            in = in.subspan(h_.header_size - hdr_len_);
            hdr_len_ = 0;
            have_header_ = true;
            event ev = start_frame();
            if (ev.kind != event_kind::need_more) return ev;
            // One whole unfragmented message in this buffer: hand it out in place.
            opcode op = h_.op();
            bool whole = (op == opcode::text || op == opcode::binary) && h_.fin && !compressed_ && in.size() >= left_;
            if (whole) {
                auto payload = in.first(static_cast<std::size_t>(left_));
                if (h_.masked) apply_mask(payload, h_.mask);
                in = in.subspan(payload.size());
                have_header_ = false;
                in_message_ = false;
                std::string_view text(reinterpret_cast<const char*>(payload.data()), payload.size());
                if (!binary_ && !valid_utf8(text))
                    return fail(close_code::invalid_payload, "invalid UTF-8 in a text message");
                return {event_kind::message, binary_, text, 0};
            }
        }
        if (left_ > 0) {
            if (in.empty()) return {};
            event ev;
            if (!take_payload(in, &ev)) return ev;
        }
        if (left_ == 0) {
            event ev = end_frame();
            if (ev.kind != event_kind::need_more) return ev;
        }
    }
}

event message_reader::start_frame() {
    if (h_.rsv2 || h_.rsv3) return fail(close_code::protocol_error, "reserved bit set");
    if (h_.masked != opts_.expect_masked)
        return fail(close_code::protocol_error, opts_.expect_masked ? "unmasked client frame" : "masked server frame");
    opcode op = h_.op();
    left_ = h_.length;
    offset_ = 0;
    if (is_control(op)) {
        if (op != opcode::close && op != opcode::ping && op != opcode::pong)
            return fail(close_code::protocol_error, "reserved opcode");
        if (!h_.fin) return fail(close_code::protocol_error, "fragmented control frame");
        if (h_.length > 125) return fail(close_code::protocol_error, "control frame over 125 bytes");
        if (h_.rsv1) return fail(close_code::protocol_error, "reserved bit set");
        control_.clear();
        return {};
    }
    if (op == opcode::continuation) {
        if (!in_message_) return fail(close_code::protocol_error, "continuation without a message");
        if (h_.rsv1) return fail(close_code::protocol_error, "RSV1 on a continuation frame");
    } else if (op == opcode::text || op == opcode::binary) {
        if (in_message_) return fail(close_code::protocol_error, "new message inside a fragmented one");
        if (h_.rsv1 && !inflate_) return fail(close_code::protocol_error, "reserved bit set");
        in_message_ = true;
        binary_ = op == opcode::binary;
        compressed_ = h_.rsv1;
        // A buffer grown for a large message is not kept for small ones.
        if (msg_.capacity() > 256 * 1024) msg_ = std::string();
        msg_.clear();
        utf8_.reset();
        wire_size_ = 0;
    } else {
        return fail(close_code::protocol_error, "reserved opcode");
    }
    wire_size_ += h_.length;
    if (wire_size_ > opts_.max_message_size) return fail(close_code::message_too_big, "message too big");
    return {};
}

bool message_reader::take_payload(std::span<std::byte>& in, event* ev) {
    auto n = static_cast<std::size_t>(std::min<std::uint64_t>(left_, in.size()));
    auto piece = in.first(n);
    if (is_control(h_.op())) {
        std::size_t at = control_.size();
        control_.resize(at + n);
        copy_masked(reinterpret_cast<std::byte*>(control_.data() + at), piece.data(), n,
                    h_.masked ? h_.mask : mask_key{}, offset_);
    } else if (!compressed_) {
        std::size_t at = msg_.size();
        msg_.resize(at + n);
        auto* dst = reinterpret_cast<std::byte*>(msg_.data() + at);
        if (h_.masked) {
            copy_masked(dst, piece.data(), n, h_.mask, offset_);
        } else {
            std::memcpy(dst, piece.data(), n);
        }
        if (!binary_ && !utf8_.feed(std::string_view(msg_).substr(at))) {
            *ev = fail(close_code::invalid_payload, "invalid UTF-8 in a text message");
            return false;
        }
    } else {
        if (h_.masked) apply_mask(piece, h_.mask, offset_);
        std::size_t at = msg_.size();
        auto st = inflate_->feed(piece, false, msg_, opts_.max_message_size);
        if (st == inflater::status::too_big) {
            *ev = fail(close_code::message_too_big, "message too big after inflating");
            return false;
        }
        if (st == inflater::status::bad_data) {
            *ev = fail(close_code::invalid_payload, "bad deflate data");
            return false;
        }
        if (!binary_ && !utf8_.feed(std::string_view(msg_).substr(at))) {
            *ev = fail(close_code::invalid_payload, "invalid UTF-8 in a text message");
            return false;
        }
    }
    offset_ += n;
    left_ -= n;
    in = in.subspan(n);
    return true;
}

event message_reader::end_frame() {
    have_header_ = false;
    if (is_control(h_.op())) return control_end();
    if (!h_.fin) return {};
    if (compressed_) {
        std::size_t at = msg_.size();
        auto st = inflate_->feed({}, true, msg_, opts_.max_message_size);
        if (st == inflater::status::too_big)
            return fail(close_code::message_too_big, "message too big after inflating");
        if (st == inflater::status::bad_data) return fail(close_code::invalid_payload, "bad deflate data");
        if (!binary_ && !utf8_.feed(std::string_view(msg_).substr(at)))
            return fail(close_code::invalid_payload, "invalid UTF-8 in a text message");
    }
    if (!binary_ && !utf8_.complete()) return fail(close_code::invalid_payload, "text message ends inside a character");
    in_message_ = false;
    return {event_kind::message, binary_, msg_, 0};
}

event message_reader::control_end() {
    switch (h_.op()) {
        case opcode::ping: return {event_kind::ping, false, control_, 0};
        case opcode::pong: return {event_kind::pong, false, control_, 0};
        default: break;
    }
    if (control_.empty()) return {event_kind::close, false, {}, close_code::no_status};
    if (control_.size() == 1) return fail(close_code::protocol_error, "close frame with a one-byte body");
    auto code = static_cast<std::uint16_t>((static_cast<unsigned char>(control_[0]) << 8) |
                                           static_cast<unsigned char>(control_[1]));
    if (!valid_close_code(code)) return fail(close_code::protocol_error, "invalid close code");
    std::string_view reason = std::string_view(control_).substr(2);
    if (!valid_utf8(reason)) return fail(close_code::invalid_payload, "invalid UTF-8 in a close reason");
    return {event_kind::close, false, reason, code};
}

}  // namespace squall::ws
