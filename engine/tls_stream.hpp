// tls_stream: TLS over any byte_stream (a socket stream, a plain stream
// that already spoke to an HTTP proxy, an in-memory test_stream).
//
// It owns the stream below it and speaks TLS over it: wolfSSL works on
// memory through its I/O callbacks (engine/detail/tls_session.hpp), the
// ciphertext comes from the inner stream's read_some() and goes out
// through its write_owned(). The reader's view (read_some and the rest of
// byte_stream) is the same as over a plain stream.
//
// Reading: a pump task reads the inner stream as soon as someone reads,
// writes or handshakes, and decrypts records into plaintext chunks (heap
// leases the reader owns) at most max_plain_chunks ahead of the reader.
// The inner stream's read timeout (if any) bounds each wait for
// ciphertext; a tls_stream reader's deadline comes with its read_some()
// or from read_timeout() here.
//
// Handshake: a server stream handshakes as the client's bytes arrive and
// must finish within its context's handshake timeout (else reads and
// writes fail with errc::timed_out). A client calls handshake(host) first,
// which sends SNI and checks the certificate against the host: reading
// before it, or (with a context that checks certificates, the default)
// writing before it or passing no host, fails at once with
// tls_errc::handshake_first, as without a name any trusted certificate
// would pass. TLS failures are tls_category() errors.
//
// Writing: each write is encrypted when its turn comes and handed to the
// inner stream in call order; output the reading side makes (handshake
// messages, alerts) joins the same queue. A write that fails once it had
// its turn (an error, a deadline, a cancel) may have sent part of a
// record, so it fails the session: every later write fails at once with
// that first error (write_error()), and reads fail too. shutdown_write
// sends close_notify, then the inner stream's end of stream. close()
// closes the inner stream now (waking a send blocked on a peer that reads
// nothing) and later reads give errc::closed.
//
// Ownership and threads: owns the inner stream; belongs to the loop that
// made it (its pump is a task on that loop, which may outlive the
// tls_stream by a turn to finish its read: it keeps the inner stream until
// then, already closed). Not movable. One reader at a time.
// Tests: tests/engine/tls_test.cpp, tests/engine/tls_stream_test.cpp.
#pragma once

#include <memory>
#include <string>

#include <squall/engine/byte_stream.hpp>
#include <squall/engine/tls.hpp>

namespace squall {

namespace detail {
struct tls_core;
}

class tls_stream final : public byte_stream {
public:
    // `inner` must be connected; nothing else reads or writes it from now
    // on. `ctx` is a server or a client context (engine/tls.hpp).
    tls_stream(std::unique_ptr<byte_stream> inner, std::shared_ptr<tls_context> ctx);
    ~tls_stream() override;

    // Runs the handshake to the end (a no-op once done). A client passes
    // the server's host name; see above.
    task<result<void>> handshake(std::string host = {});

    task<result<void>> write(std::span<const std::byte> bytes) override;
    using byte_stream::write;
    task<result<void>> writev(std::vector<iovec> parts) override;
    task<result<void>> write_owned(owned_bytes bytes) override;
    // close_notify, then the inner stream's shutdown_write (half-close).
    task<result<void>> shutdown_write() override;
    void close() noexcept override;
    bool closed() const noexcept override;
    std::optional<address> peer() const override;
    // Decrypted or gathered bytes no read took, or ciphertext not yet
    // decrypted, here or in the inner stream.
    bool has_unread() const noexcept override;

    // The negotiated ALPN protocol, TLS version, cipher suite, and whether
    // the session was resumed (empty / false before the handshake).
    std::string alpn() const;
    std::string version() const;
    std::string cipher() const;
    bool resumed() const;
    // The error that failed writes (see above); empty while they work.
    std::error_code write_error() const noexcept;
    // The deadline of a read_some() that gives none; zero: none.
    void read_timeout(clock::duration d) noexcept { read_timeout_ = d; }
    byte_stream& inner() noexcept;

    // Plaintext chunks decrypted ahead of the reader at most.
    static constexpr std::size_t max_plain_chunks = 16;

protected:
    bool chunk_ready() const noexcept override;
    bool park_reader(std::coroutine_handle<> h, cancel_state* token, std::optional<clock::time_point> deadline,
                     detail::waiter& w) override;
    result<buffer_lease> take_chunk() override;

private:
    task<result<void>> write_parts(const iovec* parts, std::size_t n);

    std::shared_ptr<detail::tls_core> core_;  // shared with the pump task
    clock::duration read_timeout_{};
};

}  // namespace squall
