// Messages to wire bytes. See writer.hpp.
#include <squall/ws/writer.hpp>

#include <algorithm>
#include <cstring>

#include <squall/engine/crypto.hpp>

namespace squall::ws {

void wire_message::clear() noexcept {
    bytes.clear();
    borrowed = {};
    heads.clear();
    frame_size = 0;
}

void wire_message::gather(std::vector<iovec>& out) const {
    if (heads.empty()) {
        if (!bytes.empty()) out.push_back({const_cast<char*>(bytes.data()), bytes.size()});
        return;
    }
    std::size_t off = 0;
    for (auto [at, hn] : heads) {
        std::size_t n = std::min(frame_size, borrowed.size() - off);
        out.push_back({const_cast<char*>(bytes.data() + at), hn});
        if (n > 0) out.push_back({const_cast<std::byte*>(borrowed.data() + off), n});
        off += n;
    }
}

mask_key message_writer::next_mask() noexcept {
    if (mask_pos_ + 4 > sizeof mask_pool_) {
        crypto::random_bytes(mask_pool_, sizeof mask_pool_);
        mask_pos_ = 0;
    }
    mask_key k;
    std::memcpy(k.data(), mask_pool_ + mask_pos_, 4);
    mask_pos_ += 4;
    return k;
}

void message_writer::frame(opcode op, std::span<const std::byte> payload, wire_message& out) {
    if (is_control(op)) {
        append_frames(op, payload.first(std::min<std::size_t>(payload.size(), 125)), false, false, out);
        return;
    }
    if (deflate_ && payload.size() >= opts_.min_deflate) {
        packed_.clear();
        deflate_->compress(payload, packed_);
        append_frames(op, std::as_bytes(std::span(packed_)), true, false, out);
        return;
    }
    bool borrow = !opts_.mask && opts_.borrow_from > 0 && payload.size() >= opts_.borrow_from && out.bytes.empty();
    append_frames(op, payload, false, borrow, out);
}

// Every header, each followed by its slice of the payload (copied, and
// masked for a client) unless `borrow`.
void message_writer::append_frames(opcode op, std::span<const std::byte> payload, bool rsv1, bool borrow,
                                   wire_message& out) {
    std::size_t frag = (opts_.max_frame_size > 0 && !is_control(op)) ? opts_.max_frame_size : payload.size();
    if (frag == 0) frag = 1;
    std::size_t frames = payload.size() / frag + 1;
    out.bytes.reserve(out.bytes.size() + max_header_size * frames + (borrow ? 0 : payload.size()));
    if (borrow) {
        out.borrowed = payload;
        out.frame_size = frag;
    }
    std::size_t pos = 0;
    bool first = true;
    do {
        std::size_t n = std::min(frag, payload.size() - pos);
        mask_key mask{};
        if (opts_.mask) mask = next_mask();
        std::byte hdr[max_header_size];
        std::size_t hn = write_header(hdr, first ? op : opcode::continuation, pos + n == payload.size(), first && rsv1,
                                      n, opts_.mask ? &mask : nullptr);
        std::size_t at = out.bytes.size();
        out.bytes.append(reinterpret_cast<const char*>(hdr), hn);
        if (borrow) {
            out.heads.emplace_back(at, hn);
        } else if (n > 0) {
            out.bytes.resize(at + hn + n);
            auto* dst = reinterpret_cast<std::byte*>(out.bytes.data() + at + hn);
            if (opts_.mask) copy_masked(dst, payload.data() + pos, n, mask);
            else std::memcpy(dst, payload.data() + pos, n);
        }
        pos += n;
        first = false;
    } while (pos < payload.size());
}

std::string message_writer::close_payload(std::uint16_t code, std::string_view reason) {
    std::string body;
    if (code == close_code::no_status) return body;
    body.push_back(static_cast<char>(code >> 8));
    body.push_back(static_cast<char>(code & 0xFF));
    // A close body is a control frame's, at most 125 bytes; cut the reason
    // on a character boundary.
    std::size_t n = std::min<std::size_t>(reason.size(), 123);
    while (n > 0 && n < reason.size() && (static_cast<unsigned char>(reason[n]) & 0xC0) == 0x80) --n;
    body.append(reason.substr(0, n));
    return body;
}

}  // namespace squall::ws
