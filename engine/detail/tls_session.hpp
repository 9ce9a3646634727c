// tls_session: one connection's wolfSSL state, run on memory.
//
// The tls_stream feeds it received ciphertext (leases of the inner
// stream's buffers, held until wolfSSL has read them) and calls advance(): the handshake, then
// decryption into plaintext leases (heap chunks the reader owns), until
// wolfSSL wants more input. Whatever wolfSSL sends (handshake messages,
// records, alerts) collects in an output buffer the stream sends. No I/O
// and no waiting happen here; wolfSSL's headers stay in tls.cpp.
// Loop thread only. Tests: tests/engine/tls_test.cpp.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <system_error>

#include <squall/engine/buffer_ring.hpp>
#include <squall/engine/time.hpp>

struct WOLFSSL;

namespace squall {
class tls_context;
}

namespace squall::detail {

struct tls_generation;

class tls_session {
public:
    enum class state { idle, handshaking, open, peer_closed, failed };

    explicit tls_session(const tls_context& ctx);
    ~tls_session();
    tls_session(const tls_session&) = delete;
    tls_session& operator=(const tls_session&) = delete;

    bool is_server() const noexcept { return server_; }
    state status() const noexcept { return state_; }
    bool established() const noexcept { return state_ == state::open || state_ == state::peer_closed; }
    bool failed() const noexcept { return state_ == state::failed; }
    std::error_code error() const noexcept { return error_; }
    clock::time_point handshake_deadline() const noexcept { return hs_deadline_; }

    // A client: SNI and the host name to check, then the ClientHello.
    void start_client(const std::string& host, clock::duration timeout);

    void feed(buffer_lease cipher) { in_.push_back(std::move(cipher)); }
    bool input_empty() const noexcept { return in_.empty(); }
    // Handshake and decrypt as far as the fed ciphertext allows.
    void advance();

    bool has_plain() const noexcept { return !plain_.empty(); }
    std::size_t plain_chunks() const noexcept { return plain_.size(); }
    buffer_lease take_plain() {
        buffer_lease l = std::move(plain_.front());
        plain_.pop_front();
        return l;
    }

    // Encrypts into the output buffer (after the handshake).
    std::error_code encrypt(std::span<const std::byte> bytes);
    std::error_code encrypt(const iovec* parts, std::size_t n);
    // Queues a close_notify alert.
    void close_notify();
    bool has_output() const noexcept { return !out_.empty(); }
    std::string take_output() noexcept { return std::move(out_); }
    // The same into `into` (emptied first), keeping allocations in use.
    void take_output(std::string& into) noexcept {
        into.clear();
        into.swap(out_);
    }
    // Gives a sent buffer's capacity back for the next output.
    void recycle(std::string&& spent) noexcept {
        if (out_.empty() && spent.capacity() > out_.capacity() && spent.capacity() <= 64 * 1024) {
            spent.clear();
            out_.swap(spent);
        }
    }

    void fail(std::error_code ec) noexcept;
    // The negotiated protocol name (ALPN), empty if none.
    std::string alpn() const;
    // "TLSv1.3", "TLSv1.2"
    std::string version() const;
    std::string cipher() const;
    bool resumed() const;

    // wolfSSL's I/O callbacks.
    static int on_recv(WOLFSSL*, char* buf, int sz, void* ctx) noexcept;
    static int on_send(WOLFSSL*, char* buf, int sz, void* ctx) noexcept;

private:
    void handshake_step();
    void read_step();
    std::error_code write_record(const std::byte* p, std::size_t n);

    std::shared_ptr<tls_generation> gen_;
    WOLFSSL* ssl_ = nullptr;
    bool server_ = false;
    state state_ = state::idle;
    std::error_code error_;
    clock::time_point hs_deadline_ = clock::time_point::max();
    std::deque<buffer_lease> in_;
    std::deque<buffer_lease> plain_;
    std::string out_;
    std::string alpn_;
};

}  // namespace squall::detail
