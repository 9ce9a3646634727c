// tls_stream's writes: encrypted in call order and handed to the inner
// stream. See tls_stream.hpp.
#include <squall/engine/tls_stream.hpp>

#include <squall/engine/detail/tls_core.hpp>

namespace squall {

namespace {
// One trip through the loop's ready queue.
struct yield_turn {
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) const { loop::current()->schedule(h); }
    void await_resume() const noexcept {}
};
}  // namespace

// `parts` lives in the calling write's frame, which awaits this.
task<result<void>> tls_stream::write_parts(const iovec* parts, std::size_t n) {
    auto& c = *core_;
    if (auto ec = c.write_failure()) co_return ec;
    // Writers that waited for the handshake wake in call order; one that
    // comes after them waits behind them, so records keep call order.
    while (c.hs_writers > 0 && c.session.established()) co_await yield_turn{};
    if (!c.session.established()) {
        // A client that checks certificates needs the host name first;
        // one that does not handshakes now, without a name.
        ++c.hs_writers;
        result<void> hs = co_await handshake();
        --c.hs_writers;
        if (!hs) co_return hs;
    }
    if (auto ec = c.write_failure()) co_return ec;
    if (auto ec = c.session.encrypt(parts, n)) {
        c.fail(ec);
        co_return ec;
    }
    co_return co_await c.send_output();
}

task<result<void>> tls_stream::write(std::span<const std::byte> bytes) {
    iovec one{const_cast<std::byte*>(bytes.data()), bytes.size()};
    co_return co_await write_parts(&one, 1);
}

task<result<void>> tls_stream::writev(std::vector<iovec> parts) {
    co_return co_await write_parts(parts.data(), parts.size());
}

task<result<void>> tls_stream::write_owned(owned_bytes bytes) {
    std::span<const std::byte> view = bytes_of(bytes);
    iovec one{const_cast<std::byte*>(view.data()), view.size()};
    co_return co_await write_parts(&one, 1);
}

task<result<void>> tls_stream::shutdown_write() {
    auto& c = *core_;
    if (auto ec = c.write_failure()) co_return ec;
    c.session.close_notify();  // after the records queued before it
    result<void> sent = co_await c.send_output();
    if (!sent) co_return sent;
    result<void> shut = co_await c.inner->shutdown_write();
    if (!shut) {
        c.fail(shut.error());
        co_return c.write_error;
    }
    co_return result<void>{};
}

}  // namespace squall
