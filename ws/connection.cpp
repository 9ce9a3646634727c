// One open WebSocket over a stream. See connection.hpp.
#include <squall/ws/connection.hpp>

#include <spdlog/spdlog.h>
#include <sys/uio.h>

#include <algorithm>
#include <cstring>

#include <squall/engine/crypto.hpp>

namespace squall::ws {

namespace {

class ws_category_impl : public std::error_category {
public:
    const char* name() const noexcept override { return "squall.ws"; }
    std::string message(int c) const override {
        switch (static_cast<errc>(c)) {
            case errc::closed: return "WebSocket closed";
            case errc::handshake_failed: return "WebSocket handshake failed";
            case errc::bad_url: return "not a ws:// URL";
        }
        return "unknown WebSocket error";
    }
};

// Small messages are copied behind their header (one send); larger ones
// on the server go out as a gather of header and the caller's bytes.
constexpr std::size_t copy_limit = 8 * 1024;

// One read, as a task so that it can run under a cancel source of its own.
task<result<buffer_lease>> read_once(stream* s, std::optional<clock::time_point> deadline) {
    if (deadline) {
        auto r = co_await s->read_some(*deadline);
        co_return r;
    }
    auto r = co_await s->read_some();
    co_return r;
}

}  // namespace

const std::error_category& ws_category() noexcept {
    static const ws_category_impl c;
    return c;
}

connection::connection(stream* s, std::string buffered, role r, const connection_options& opts,
                       std::optional<deflate_params> deflate, std::string subprotocol)
    : s_(s),
      role_(r),
      opts_(opts),
      subprotocol_(std::move(subprotocol)),
      reader_({r == role::server, opts.max_message_size}),
      buffered_(std::move(buffered)) {
    if (deflate) {
        bool server = r == role::server;
        int bits = server ? deflate->server_max_window_bits : deflate->client_max_window_bits;
        bool ours = server ? deflate->server_no_context_takeover : deflate->client_no_context_takeover;
        bool theirs = server ? deflate->client_no_context_takeover : deflate->server_no_context_takeover;
        deflater_ = std::make_unique<deflater>(opts.deflate.level, opts.deflate.mem_level, std::max(bits, 9), ours);
        inflater_ = std::make_unique<inflater>(theirs);
        reader_ = message_reader({server, opts.max_message_size}, inflater_.get());
    }
    in_ = std::span<std::byte>(reinterpret_cast<std::byte*>(buffered_.data()), buffered_.size());
    if (opts_.ping_interval > clock::duration::zero()) {
        if (opts_.ping_timeout <= clock::duration::zero())
            opts_.ping_timeout = std::max<clock::duration>(3 * opts_.ping_interval, std::chrono::seconds(30));
        next_ping_ = clock::now() + opts_.ping_interval;
    }
    writes_idle_.set();
}

connection::connection(std::unique_ptr<stream> owned, std::string buffered, role r, const connection_options& opts,
                       std::optional<deflate_params> deflate, std::string subprotocol)
    : connection(owned.get(), std::move(buffered), r, opts, deflate, std::move(subprotocol)) {
    owned_ = std::move(owned);
}

connection::~connection() = default;

std::optional<clock::time_point> connection::next_deadline() const noexcept {
    if (close_sent_) return close_deadline_;
    if (opts_.ping_interval <= clock::duration::zero()) return std::nullopt;
    return awaiting_pong_ ? std::min(next_ping_, pong_deadline_) : next_ping_;
}

// One received chunk, under a cancel source that close() can fire to make
// the reader take up its new deadline.
task<result<buffer_lease>> connection::read_chunk() {
    // One source serves every read until it fires (no allocation per read).
    cancel_token parent = co_await current_cancel_token();
    if (!read_src_ || read_src_->cancel_requested() || read_parent_ != parent.state()) {
        read_src_.emplace(parent);
        read_parent_ = parent.state();
    }
    reading_ = &*read_src_;
    auto deadline = next_deadline();
    auto t = read_once(s_, deadline);
    t.set_cancel_token(read_src_->token());
    result<buffer_lease> r = co_await std::move(t);
    reading_ = nullptr;
    co_return r;
}

// Answers a control event or failure; true when the connection ended.
task<bool> connection::on_event(event ev) {
    switch (ev.kind) {
        case event_kind::ping:
            if (!close_sent_) {
                result<void> w = co_await pong(ev.data);
                (void)w;  // a failed write shows up as the next read's end
            }
            co_return false;
        case event_kind::pong:
            awaiting_pong_ = false;
            last_pong.assign(ev.data);
            co_return false;
        case event_kind::close: {
            close_code_ = ev.code;
            close_reason_.assign(ev.data);
            // Echo the peer's code (RFC 6455 5.5.1); none when it sent none.
            result<void> w = co_await close(ev.code);
            (void)w;
            co_return true;
        }
        default: {  // fail: send the code the reader chose, then end
            spdlog::debug("ws: failing the connection: {} ({})", ev.data, ev.code);
            result<void> w = co_await close(ev.code, std::string(ev.data));
            (void)w;
            close_code_ = ev.code;
            co_return true;
        }
    }
}

// After a read deadline or wake-up: a ping when one is due; false when
// the session must end (pong or close answer overdue).
task<bool> connection::on_wake() {
    result<void> go_on = on_timeout();
    if (!go_on) co_return false;
    if (!close_sent_ && opts_.ping_interval > clock::duration::zero() && clock::now() >= next_ping_) {
        next_ping_ = clock::now() + opts_.ping_interval;
        if (!awaiting_pong_) {
            awaiting_pong_ = true;
            pong_deadline_ = clock::now() + opts_.ping_timeout;
        }
        result<void> p = co_await ping();
        (void)p;
    }
    co_return true;
}

task<result<message>> connection::read_message() {
    for (;;) {
        if (closed_) co_return errc::closed;
        event ev = reader_.next(in_);
        if (ev.kind == event_kind::message) co_return message{ev.data, ev.binary};
        if (ev.kind != event_kind::need_more) {
            bool ended = co_await on_event(ev);
            if (!ended) continue;
            co_await close_stream();
            co_return errc::closed;
        }
        lease_.reset();
        in_ = {};
        auto chunk = co_await read_chunk();
        if (chunk) {
            wake_ = false;  // a wake-up that came too late to cut this read
            lease_ = std::move(*chunk);
            in_ = lease_.bytes();
            continue;
        }
        if (chunk.error() == squall::errc::timed_out || (chunk.error() == squall::errc::canceled && wake_)) {
            wake_ = false;
            bool go_on = co_await on_wake();
            if (go_on) continue;
        }
        // The stream ended, failed, or a deadline passed for good.
        co_await close_stream();
        co_return errc::closed;
    }
}

// After a read deadline: whether the session goes on.
result<void> connection::on_timeout() {
    auto now = clock::now();
    if (close_sent_) {
        if (now >= close_deadline_) return errc::closed;  // the peer never answered our close
        return {};
    }
    if (awaiting_pong_ && now >= pong_deadline_) {
        spdlog::debug("ws: no pong within the ping timeout");
        return errc::closed;
    }
    return {};
}

// Ends our side: the server closes the TCP connection first, as RFC 6455
// 7.1.1 asks (a FIN now; its owner closes the socket when the handler
// returns); the client waits (up to close_timeout) for that FIN.
task<void> connection::close_stream() {
    closed_ = true;
    lease_.reset();
    in_ = {};
    if (role_ == role::server && !broken_ && !s_->closed()) {
        result<void> shut = co_await s_->shutdown_write();
        (void)shut;
    }
    if (role_ == role::client && !broken_ && !s_->closed()) {
        auto until = clock::now() + opts_.close_timeout;
        for (;;) {
            auto r = co_await s_->read_some(until);
            if (!r) break;
        }
        s_->close();
    }
}

mask_key connection::next_mask() noexcept {
    if (mask_pos_ + 4 > sizeof mask_pool_) {
        crypto::random_bytes(mask_pool_, sizeof mask_pool_);
        mask_pos_ = 0;
    }
    mask_key k;
    std::memcpy(k.data(), mask_pool_ + mask_pos_, 4);
    mask_pos_ += 4;
    return k;
}

std::string connection::take_buffer() {
    if (spare_.empty()) return {};
    std::string b = std::move(spare_.back());
    spare_.pop_back();
    b.clear();
    return b;
}

void connection::give_buffer(std::string b) {
    if (spare_.size() < 8 && b.capacity() <= 256 * 1024) spare_.push_back(std::move(b));
}

task<result<void>> connection::write_message(std::string_view data, bool binary) {
    if (closed_ || close_sent_ || broken_) co_return errc::closed;
    auto bytes = std::as_bytes(std::span(data));
    opcode op = binary ? opcode::binary : opcode::text;
    if (!deflater_ || data.size() < opts_.deflate.min_size) {
        result<void> r = co_await send_frame(op, bytes, false);
        co_return r;
    }
    std::string packed = take_buffer();
    deflater_->compress(bytes, packed);
    result<void> r = co_await send_frame(op, std::as_bytes(std::span(packed)), true);
    give_buffer(std::move(packed));
    co_return r;
}

task<result<void>> connection::ping(std::string_view data) {
    if (closed_ || close_sent_ || broken_) co_return errc::closed;
    if (data.size() > 125) data = data.substr(0, 125);
    result<void> r = co_await send_frame(opcode::ping, std::as_bytes(std::span(data)), false);
    co_return r;
}

task<result<void>> connection::pong(std::string_view data) {
    if (closed_ || close_sent_ || broken_) co_return errc::closed;
    if (data.size() > 125) data = data.substr(0, 125);
    result<void> r = co_await send_frame(opcode::pong, std::as_bytes(std::span(data)), false);
    co_return r;
}

task<result<void>> connection::close(std::uint16_t code, std::string reason) {
    if (closed_ || close_sent_ || broken_) co_return errc::closed;
    close_sent_ = true;
    close_deadline_ = clock::now() + opts_.close_timeout;
    if (reading_) {  // let the reader take up the close deadline
        wake_ = true;
        reading_->request_cancel();
    }
    std::string body;
    if (code != close_code::no_status) {
        body.push_back(static_cast<char>(code >> 8));
        body.push_back(static_cast<char>(code & 0xFF));
        // A close body is a control frame's, at most 125 bytes; cut the
        // reason on a character boundary.
        std::size_t n = std::min<std::size_t>(reason.size(), 123);
        while (n > 0 && n < reason.size() && (static_cast<unsigned char>(reason[n]) & 0xC0) == 0x80) --n;
        body.append(reason, 0, n);
    }
    result<void> r = co_await send_frame(opcode::close, std::as_bytes(std::span(body)), false);
    co_return r;
}

// Frames a message into `buf`: every header, and the payload too when
// `copy` (masked on the way for a client). Without `copy`, `heads` gets
// each header's place in buf, to gather with the payload.
void connection::build_frames(opcode op, std::span<const std::byte> payload, bool rsv1, std::size_t frag, bool copy,
                              std::string& buf, std::vector<std::pair<std::size_t, std::size_t>>& heads) {
    const bool client = role_ == role::client;
    std::size_t frames = payload.size() / frag + 1;
    buf.reserve(max_header_size * frames + (copy ? payload.size() : 0));
    std::size_t pos = 0;
    bool first = true;
    do {
        std::size_t n = std::min(frag, payload.size() - pos);
        mask_key mask{};
        if (client) mask = next_mask();
        std::byte hdr[max_header_size];
        std::size_t hn = write_header(hdr, first ? op : opcode::continuation, pos + n == payload.size(),
                                      first && rsv1, n, client ? &mask : nullptr);
        std::size_t at = buf.size();
        buf.append(reinterpret_cast<const char*>(hdr), hn);
        if (!copy) {
            heads.emplace_back(at, hn);
        } else if (n > 0) {
            buf.resize(at + hn + n);
            auto* dst = reinterpret_cast<std::byte*>(buf.data() + at + hn);
            if (client) {
                copy_masked(dst, payload.data() + pos, n, mask);
            } else {
                std::memcpy(dst, payload.data() + pos, n);
            }
        }
        pos += n;
        first = false;
    } while (pos < payload.size());
}

task<result<void>> connection::send_frame(opcode op, std::span<const std::byte> payload, bool rsv1) {
    if (broken_ || closed_) co_return errc::closed;
    std::size_t frag = (opts_.max_frame_size > 0 && !is_control(op)) ? opts_.max_frame_size : payload.size();
    if (frag == 0) frag = 1;
    const bool copy = role_ == role::client || payload.size() <= copy_limit;
    std::string buf = take_buffer();
    std::vector<std::pair<std::size_t, std::size_t>> heads;  // (offset in buf, size)
    build_frames(op, payload, rsv1, frag, copy, buf, heads);
    // The whole message is one write, so that concurrent writers never
    // interleave fragments; it runs under writes_stop_ (see finish()).
    ++writes_in_flight_;
    writes_idle_.clear();
    result<void> r = errc::closed;
    if (copy) {
        auto t = s_->write(std::as_bytes(std::span(buf)));
        t.set_cancel_token(writes_stop_.token());
        r = co_await std::move(t);
    } else {
        std::vector<iovec> parts;
        parts.reserve(heads.size() * 2);
        std::size_t off = 0;
        for (auto [at, hn] : heads) {
            std::size_t n = std::min(frag, payload.size() - off);
            parts.push_back({buf.data() + at, hn});
            parts.push_back({const_cast<std::byte*>(payload.data() + off), n});
            off += n;
        }
        auto t = s_->writev(std::move(parts));
        t.set_cancel_token(writes_stop_.token());
        r = co_await std::move(t);
    }
    if (--writes_in_flight_ == 0) writes_idle_.set();
    give_buffer(std::move(buf));
    if (!r) broken_ = true;
    co_return r;
}

task<void> connection::finish() {
    closed_ = true;
    if (writes_in_flight_ > 0) {
        writes_stop_.request_cancel();
        while (writes_in_flight_ > 0) {
            result<void> w = co_await writes_idle_.wait();
            (void)w;
        }
    }
    lease_.reset();
    in_ = {};
}

}  // namespace squall::ws
