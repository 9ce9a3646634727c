// One open WebSocket over a stream. See connection.hpp.
#include <squall/ws/connection.hpp>

#include <spdlog/spdlog.h>
#include <sys/uio.h>

#include <algorithm>
#include <cstring>

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
            case errc::queue_full: return "WebSocket send queue full";
        }
        return "unknown WebSocket error";
    }
};

// Small messages are copied behind their header (one send); larger ones
// on the server go out as a gather of header and the caller's bytes.
constexpr std::size_t copy_limit = 8 * 1024;

writer_options writer_options_for(role r, const connection_options& o) {
    writer_options w;
    w.mask = r == role::client;
    w.max_frame_size = o.max_frame_size;
    w.min_deflate = o.deflate.min_size;
    w.borrow_from = r == role::server ? copy_limit : 0;
    return w;
}

// One read, as a task so that it can run under a cancel source of its own.
task<result<buffer_lease>> read_once(byte_stream* s, std::optional<clock::time_point> deadline) {
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

connection::connection(std::unique_ptr<byte_stream> s, std::string buffered, role r, const connection_options& opts,
                       std::optional<deflate_params> deflate, std::string subprotocol)
    : s_(std::move(s)),
      role_(r),
      opts_(opts),
      subprotocol_(std::move(subprotocol)),
      reader_({r == role::server, opts.max_message_size}),
      writer_(writer_options_for(r, opts)),
      queue_(opts.max_queued_bytes),
      buffered_(std::move(buffered)) {
    if (deflate) {
        bool server = r == role::server;
        int bits = server ? deflate->server_max_window_bits : deflate->client_max_window_bits;
        bool ours = server ? deflate->server_no_context_takeover : deflate->client_no_context_takeover;
        bool theirs = server ? deflate->client_no_context_takeover : deflate->server_no_context_takeover;
        deflater_ = std::make_unique<deflater>(opts.deflate.level, opts.deflate.mem_level, std::max(bits, 9), ours);
        inflater_ = std::make_unique<inflater>(theirs);
        reader_ = message_reader({server, opts.max_message_size}, inflater_.get());
        writer_ = message_writer(writer_options_for(r, opts), deflater_.get());
    }
    in_ = std::span<std::byte>(reinterpret_cast<std::byte*>(buffered_.data()), buffered_.size());
    if (opts_.ping_interval > clock::duration::zero()) {
        if (opts_.ping_timeout <= clock::duration::zero())
            opts_.ping_timeout = std::max<clock::duration>(3 * opts_.ping_interval, std::chrono::seconds(30));
        next_ping_ = clock::now() + opts_.ping_interval;
    }
    writes_idle_.set();
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
    auto t = read_once(s_.get(), deadline);
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

}  // namespace squall::ws
