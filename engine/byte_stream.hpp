// byte_stream: the seam between the engine's transports and the protocols
// above them (http/, ws/). Three implementations: stream (a socket on the
// ring, engine/stream.hpp), tls_stream (TLS over any byte_stream,
// engine/tls_stream.hpp) and test_stream (in memory, scripted, failing the
// N-th operation on demand, engine/test_stream.hpp).
//
// A virtual class, not a concept: HTTP picks plain or TLS per listener at
// run time and an Upgrade hands the stream to ws/ by unique_ptr, both of
// which a template parameter cannot carry across. The cost of the virtual
// calls on the hot path is measured with bench/instructions.sh.
//
// Reading: read_some() gives the next chunk as a buffer_lease (the caller
// owns it; views into it live as long as it does); errc::eof once the peer
// has closed, errc::closed after close(). It takes a deadline
// (errc::timed_out) and honours the task's cancel token (errc::canceled).
// read_until/read_exactly gather into the stream's own buffer and return a
// view valid until the next read; what they read past the delimiter comes
// back from the next read_some. One reader at a time.
//
// Writing: write/writev borrow the bytes until they return, which they do
// once the transport took all of them; write_owned takes ownership. Writes
// are serialised in call order and never interleave. shutdown_write sends
// the end of stream after them. A write that fails part-way leaves the
// stream unusable for writing.
//
// Ownership and threads: a byte_stream belongs to the loop that made it and
// is destroyed on that loop; it is not movable (the loop's completions point
// at it), so it travels by unique_ptr. Tests: tests/engine/stream_test.cpp,
// tests/engine/test_stream_test.cpp, tests/engine/tls_test.cpp.
#pragma once

#include <sys/uio.h>

#include <coroutine>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <squall/engine/buffer_ring.hpp>
#include <squall/engine/cancel.hpp>
#include <squall/engine/detail/waiter.hpp>
#include <squall/engine/result.hpp>
#include <squall/engine/socket.hpp>
#include <squall/engine/task.hpp>
#include <squall/engine/time.hpp>

namespace squall {

// Bytes a write may own: moved in, released after the transport is done.
using owned_bytes = std::variant<std::string, std::vector<std::byte>, buffer_lease>;

// The bytes `b` holds, whichever kind it is.
inline std::span<const std::byte> bytes_of(const owned_bytes& b) noexcept {
    if (const auto* l = std::get_if<buffer_lease>(&b)) return l->bytes();
    if (const auto* s = std::get_if<std::string>(&b)) return std::as_bytes(std::span(*s));
    return std::span<const std::byte>(*std::get_if<std::vector<std::byte>>(&b));
}

class byte_stream {
public:
    byte_stream() = default;
    virtual ~byte_stream() = default;
    byte_stream(const byte_stream&) = delete;
    byte_stream& operator=(const byte_stream&) = delete;

    class read_awaitable;
    // The next chunk; the first form uses the stream's read timeout.
    read_awaitable read_some() noexcept;
    read_awaitable read_some(clock::time_point deadline) noexcept;
    // The same under `token` instead of the task's own token: a wait that
    // something else ends (a server's graceful stop ends an idle
    // keep-alive wait), without a task of its own to carry the token.
    read_awaitable read_some(clock::time_point deadline, cancel_token token) noexcept;
    // Bytes up to and including `delim`; errc::too_long past `max` bytes.
    task<result<std::string_view>> read_until(std::string delim, std::size_t max);
    task<result<std::span<const std::byte>>> read_exactly(std::size_t n);

    virtual task<result<void>> write(std::span<const std::byte> bytes) = 0;
    task<result<void>> write(std::string_view text) { return write(std::as_bytes(std::span(text))); }
    virtual task<result<void>> writev(std::vector<iovec> parts) = 0;
    virtual task<result<void>> write_owned(owned_bytes bytes) = 0;
    virtual task<result<void>> shutdown_write() = 0;

    // Stops reading and writing now; later reads give errc::closed.
    virtual void close() noexcept = 0;
    virtual bool closed() const noexcept = 0;
    // The peer's address, when the transport has one.
    virtual std::optional<address> peer() const { return std::nullopt; }
    // Whether bytes arrived that no read has taken yet (received chunks,
    // decrypted records, what read_until gathered past its delimiter). A
    // connection pool must not reuse a stream that has some.
    virtual bool has_unread() const noexcept { return has_spill(); }

protected:
    // For read_some: whether a read would complete now (data, an end or an
    // error); else park `w` for `h` until one comes. park_reader returns
    // false when the task must not suspend (its token already fired).
    virtual bool chunk_ready() const noexcept = 0;
    virtual bool park_reader(std::coroutine_handle<> h, cancel_state* token, std::optional<clock::time_point> deadline,
                             detail::waiter& w) = 0;
    virtual result<buffer_lease> take_chunk() = 0;

    // The gathered bytes read_until/read_exactly have not returned yet.
    bool has_spill() const noexcept { return spill_pos_ < spill_.size(); }
    buffer_lease take_spill() noexcept;

private:
    std::string spill_;          // read_until/read_exactly gather here
    std::size_t spill_pos_ = 0;  // bytes of spill_ already returned
};

// Waits for a chunk. `raw` reads skip the spill (used while gathering).
class byte_stream::read_awaitable {
public:
    read_awaitable(byte_stream* s, bool raw, std::optional<clock::time_point> deadline = std::nullopt,
                   cancel_state* token = nullptr) noexcept
        : s_(s), raw_(raw), deadline_(deadline), token_(token) {}
    bool await_ready() const noexcept { return (!raw_ && s_->has_spill()) || s_->chunk_ready(); }
    template <class P>
    bool await_suspend(std::coroutine_handle<P> h) {
        return s_->park_reader(h, token_ ? token_ : token_of(h), deadline_, w_);
    }
    result<buffer_lease> await_resume() {
        if (auto st = w_.status(); !st) return st.error();  // timed out or cancelled
        if (!raw_ && s_->has_spill()) return s_->take_spill();
        return s_->take_chunk();
    }

private:
    byte_stream* s_;
    bool raw_;
    std::optional<clock::time_point> deadline_;
    cancel_state* token_;  // null: the awaiting task's
    detail::waiter w_;
};

inline byte_stream::read_awaitable byte_stream::read_some() noexcept { return read_awaitable(this, false); }
inline byte_stream::read_awaitable byte_stream::read_some(clock::time_point deadline) noexcept {
    return read_awaitable(this, false, deadline);
}
inline byte_stream::read_awaitable byte_stream::read_some(clock::time_point deadline, cancel_token token) noexcept {
    return read_awaitable(this, false, deadline, token.state());
}

}  // namespace squall
