// TLS contexts and sessions over wolfSSL (see engine/tls.hpp and
// engine/detail/tls_session.hpp).
#include <squall/engine/tls.hpp>

#include <strings.h>
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfio.h>

#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <tuple>

#include <squall/engine/detail/tls_session.hpp>

namespace squall {
namespace {

// TLS 1.3 suites, then TLS 1.2 ECDHE with AEAD only: no CBC, RC4, 3DES,
// NULL, PSK, static RSA or finite-field DH.
constexpr const char* cipher_list =
    "TLS13-AES128-GCM-SHA256:TLS13-AES256-GCM-SHA384:TLS13-CHACHA20-POLY1305-SHA256:"
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
constexpr const char* curve_list = "X25519:P-256:P-384";

// This wolfSSL keeps a per-thread cache of ECC fixed points (FP_ECC),
// which only the thread itself can free: done when a loop thread that
// made TLS sessions (or loaded keys) ends.
struct ecc_cache_release {
    bool used = false;
    ~ecc_cache_release() {
        if (used) wc_ecc_fp_free();
    }
};
thread_local ecc_cache_release ecc_cache;

void init_wolfssl() {
    static std::once_flag once;
    std::call_once(once, [] {
        if (wolfSSL_Init() != WOLFSSL_SUCCESS) throw std::runtime_error("squall: wolfSSL_Init failed");
    });
}

std::string reason(int code) {
    char buf[WOLFSSL_MAX_ERROR_SZ];
    wolfSSL_ERR_error_string_n(static_cast<unsigned long>(code), buf, sizeof buf);
    return buf;
}

class tls_category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "squall.tls"; }
    std::string message(int code) const override {
        if (code == static_cast<int>(tls_errc::handshake_first))
            return "TLS: a client stream needs handshake(host) before reading or writing";
        return "TLS: " + reason(code);
    }
};

struct ctx_deleter {
    void operator()(WOLFSSL_CTX* c) const noexcept { wolfSSL_CTX_free(c); }
};
using ctx_ptr = std::unique_ptr<WOLFSSL_CTX, ctx_deleter>;

[[noreturn]] void config_error(const std::string& what, int code) {
    throw std::runtime_error("squall: TLS: " + what + ": " + reason(code));
}

void check(int rc, const std::string& what) {
    if (rc != WOLFSSL_SUCCESS) config_error(what, rc);
}

// The policy every context gets, server or client.
ctx_ptr make_ctx(bool server) {
    init_wolfssl();
    ctx_ptr c(wolfSSL_CTX_new(server ? wolfSSLv23_server_method() : wolfSSLv23_client_method()));
    if (!c) throw std::runtime_error("squall: TLS: wolfSSL_CTX_new failed");
    check(wolfSSL_CTX_SetMinVersion(c.get(), WOLFSSL_TLSV1_2), "minimum version TLS 1.2");
    check(wolfSSL_CTX_set_cipher_list(c.get(), cipher_list), "cipher list");
    // Restricts both TLS 1.3 key shares and TLS 1.2 ECDHE curves.
    check(wolfSSL_CTX_set1_curves_list(c.get(), curve_list), "groups");
    wolfSSL_CTX_SetIORecv(c.get(), &detail::tls_session::on_recv);
    wolfSSL_CTX_SetIOSend(c.get(), &detail::tls_session::on_send);
    return c;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("squall: TLS: cannot read " + path);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

void load_certificate(WOLFSSL_CTX* c, const tls_certificate& cert) {
    // The leaf (and any chain in the same file), then the chain file: one
    // PEM buffer, leaf first, as wolfSSL sends it.
    std::string pem = read_file(cert.cert_file);
    if (!cert.chain_file.empty()) pem += "\n" + read_file(cert.chain_file);
    int rc = wolfSSL_CTX_use_certificate_chain_buffer_format(c, reinterpret_cast<const unsigned char*>(pem.data()),
                                                             static_cast<long>(pem.size()), WOLFSSL_FILETYPE_PEM);
    if (rc != WOLFSSL_SUCCESS) config_error("certificate " + cert.cert_file, rc);
    rc = wolfSSL_CTX_use_PrivateKey_file(c, cert.key_file.c_str(), WOLFSSL_FILETYPE_PEM);
    if (rc != WOLFSSL_SUCCESS) config_error("private key " + cert.key_file, rc);
}

// wolfSSL_CTX_check_private_key does not compare ECDSA keys in this
// wolfSSL, so the pair is proven the way a client would: a handshake in
// memory, whose CertificateVerify fails if the key is not the
// certificate's.
struct mem_end {
    std::string* in;
    std::string* out;
};

int mem_recv(WOLFSSL*, char* buf, int sz, void* ctx) {
    auto* e = static_cast<mem_end*>(ctx);
    if (e->in->empty()) return WOLFSSL_CBIO_ERR_WANT_READ;
    auto n = std::min(static_cast<std::size_t>(sz), e->in->size());
    std::memcpy(buf, e->in->data(), n);
    e->in->erase(0, n);
    return static_cast<int>(n);
}

int mem_send(WOLFSSL*, char* buf, int sz, void* ctx) {
    static_cast<mem_end*>(ctx)->out->append(buf, static_cast<std::size_t>(sz));
    return sz;
}

void prove_key(WOLFSSL_CTX* server_ctx, const tls_certificate& cert) {
    ecc_cache.used = true;
    ctx_ptr client_ctx = make_ctx(false);
    wolfSSL_CTX_set_verify(client_ctx.get(), WOLFSSL_VERIFY_NONE, nullptr);
    std::unique_ptr<WOLFSSL, void (*)(WOLFSSL*)> s(wolfSSL_new(server_ctx), wolfSSL_free);
    std::unique_ptr<WOLFSSL, void (*)(WOLFSSL*)> c(wolfSSL_new(client_ctx.get()), wolfSSL_free);
    if (!s || !c) throw std::bad_alloc();
    std::string to_server, to_client;
    mem_end se{&to_server, &to_client}, ce{&to_client, &to_server};
    for (auto [ssl, end] : {std::pair{s.get(), &se}, std::pair{c.get(), &ce}}) {
        wolfSSL_SSLSetIORecv(ssl, mem_recv);
        wolfSSL_SSLSetIOSend(ssl, mem_send);
        wolfSSL_SetIOReadCtx(ssl, end);
        wolfSSL_SetIOWriteCtx(ssl, end);
    }
    bool s_done = false, c_done = false;
    for (int round = 0; round < 16 && !(s_done && c_done); ++round) {
        for (auto [ssl, done, server] : {std::tuple{c.get(), &c_done, false}, std::tuple{s.get(), &s_done, true}}) {
            if (*done) continue;
            int rc = server ? wolfSSL_accept(ssl) : wolfSSL_connect(ssl);
            if (rc == WOLFSSL_SUCCESS) {
                *done = true;
                continue;
            }
            int err = wolfSSL_get_error(ssl, rc);
            if (err != WOLFSSL_ERROR_WANT_READ && err != WOLFSSL_ERROR_WANT_WRITE)
                config_error("private key " + cert.key_file + " does not match " + cert.cert_file, err);
        }
    }
    if (!(s_done && c_done)) config_error("private key " + cert.key_file + " does not match " + cert.cert_file, 0);
}

}  // namespace

const std::error_category& tls_category() noexcept {
    static const tls_category_impl cat;
    return cat;
}

std::error_code make_error_code(tls_errc e) noexcept { return {static_cast<int>(e), tls_category()}; }

namespace detail {

struct tls_generation {
    bool server = false;
    ctx_ptr main;
    std::vector<std::pair<std::string, ctx_ptr>> sni;  // host (lower case) -> context
    std::vector<std::string> alpn;
    std::string alpn_wire;  // "http/1.1,..." as wolfSSL_UseALPN takes it
};

}  // namespace detail

namespace {

bool host_matches(std::string_view pattern, std::string_view host) {
    if (pattern.size() > 2 && pattern.substr(0, 2) == "*.") {
        auto dot = host.find('.');
        if (dot == std::string_view::npos || dot == 0) return false;
        host.remove_prefix(dot);
        pattern.remove_prefix(1);
    }
    return pattern.size() == host.size() && ::strncasecmp(pattern.data(), host.data(), host.size()) == 0;
}

// Picks the certificate for the host name the client sent; the default
// one when none matches (or no name was sent).
int on_sni(WOLFSSL* ssl, int* /*alert*/, void* arg) {
    auto* gen = static_cast<detail::tls_generation*>(arg);
    const char* name = wolfSSL_get_servername(ssl, WOLFSSL_SNI_HOST_NAME);
    if (!name) return 0;
    for (auto& [host, ctx] : gen->sni) {
        if (host_matches(host, name)) {
            wolfSSL_set_SSL_CTX(ssl, ctx.get());
            break;
        }
    }
    return 0;
}

std::string alpn_wire(const std::vector<std::string>& names) {
    std::string out;
    for (const auto& n : names) {
        if (!out.empty()) out += ',';
        out += n;
    }
    return out;
}

std::shared_ptr<detail::tls_generation> build_server(const tls_server_options& o) {
    auto gen = std::make_shared<detail::tls_generation>();
    gen->server = true;
    auto setup = [&](const tls_certificate& cert) {
        ctx_ptr c = make_ctx(true);
        load_certificate(c.get(), cert);
        prove_key(c.get(), cert);
        if (!o.session_tickets) {
            wolfSSL_CTX_NoTicketTLSv12(c.get());
            wolfSSL_CTX_no_ticket_TLSv13(c.get());
        }
        return c;
    };
    gen->main = setup(o.certificate);
    for (const auto& [host, cert] : o.sni) {
        std::string h = host;
        for (auto& ch : h) ch = static_cast<char>(::tolower(static_cast<unsigned char>(ch)));
        gen->sni.emplace_back(std::move(h), setup(cert));
    }
    if (!gen->sni.empty()) {
        wolfSSL_CTX_set_servername_callback(gen->main.get(), &on_sni);
        wolfSSL_CTX_set_servername_arg(gen->main.get(), gen.get());
    }
    gen->alpn = o.alpn;
    gen->alpn_wire = alpn_wire(o.alpn);
    return gen;
}

std::shared_ptr<detail::tls_generation> build_client(const tls_client_options& o) {
    auto gen = std::make_shared<detail::tls_generation>();
    gen->main = make_ctx(false);
    WOLFSSL_CTX* c = gen->main.get();
    if (o.verify) {
        int rc = o.ca_file.empty() ? wolfSSL_CTX_load_system_CA_certs(c)
                                   : wolfSSL_CTX_load_verify_locations(c, o.ca_file.c_str(), nullptr);
        if (rc != WOLFSSL_SUCCESS)
            config_error(o.ca_file.empty() ? std::string("system CA certificates") : "CA file " + o.ca_file, rc);
        wolfSSL_CTX_set_verify(c, WOLFSSL_VERIFY_PEER, nullptr);
    } else {
        wolfSSL_CTX_set_verify(c, WOLFSSL_VERIFY_NONE, nullptr);
    }
    gen->alpn = o.alpn;
    gen->alpn_wire = alpn_wire(o.alpn);
    return gen;
}

}  // namespace

std::shared_ptr<tls_context> tls_context::server(tls_server_options opts) {
    std::shared_ptr<tls_context> c(new tls_context());
    c->server_ = true;
    c->handshake_timeout_ = opts.handshake_timeout;
    c->current_ = build_server(opts);
    c->server_opts_ = std::move(opts);
    return c;
}

std::shared_ptr<tls_context> tls_context::client(tls_client_options opts) {
    std::shared_ptr<tls_context> c(new tls_context());
    c->handshake_timeout_ = opts.handshake_timeout;
    c->current_ = build_client(opts);
    c->client_opts_ = std::move(opts);
    return c;
}

tls_context::~tls_context() = default;

void tls_context::reload() {
    auto next = server_ ? build_server(server_opts_) : build_client(client_opts_);
    std::lock_guard lk(mu_);
    current_ = std::move(next);
    ++reloads_;
}

unsigned tls_context::generation() const {
    std::lock_guard lk(mu_);
    return reloads_;
}

std::shared_ptr<detail::tls_generation> tls_context::current() const {
    std::lock_guard lk(mu_);
    return current_;
}

}  // namespace squall

namespace squall::detail {

namespace {
// wolfSSL_read's target: one record's worth at most. Loop thread only, so
// one per thread serves every stream of that loop.
constexpr std::size_t plain_scratch_size = 16 * 1024;
thread_local std::unique_ptr<std::byte[]> plain_scratch;
thread_local std::string write_stage;

}  // namespace

tls_session::tls_session(const tls_context& ctx) : gen_(ctx.current()), server_(ctx.is_server()) {
    ecc_cache.used = true;
    ssl_ = wolfSSL_new(gen_->main.get());
    if (!ssl_) throw std::bad_alloc();
    wolfSSL_SetIOReadCtx(ssl_, this);
    wolfSSL_SetIOWriteCtx(ssl_, this);
    if (!gen_->alpn_wire.empty()) {
        wolfSSL_UseALPN(ssl_, gen_->alpn_wire.data(), static_cast<unsigned>(gen_->alpn_wire.size()),
                        WOLFSSL_ALPN_CONTINUE_ON_MISMATCH);
    }
    if (server_) {
        wolfSSL_set_accept_state(ssl_);
        state_ = state::handshaking;
        hs_deadline_ = clock::now() + ctx.handshake_timeout();
    }
}

tls_session::~tls_session() {
    if (ssl_) wolfSSL_free(ssl_);
}

void tls_session::start_client(const std::string& host, clock::duration timeout) {
    if (state_ != state::idle) return;
    wolfSSL_set_connect_state(ssl_);
    if (!host.empty()) {
        // SNI is for names, not address literals (RFC 6066, 3).
        bool literal =
            host.find_first_not_of("0123456789.") == std::string::npos || host.find(':') != std::string::npos;
        if (!literal)
            wolfSSL_UseSNI(ssl_, WOLFSSL_SNI_HOST_NAME, host.data(), static_cast<unsigned short>(host.size()));
        wolfSSL_check_domain_name(ssl_, host.c_str());
    }
    state_ = state::handshaking;
    hs_deadline_ = clock::now() + timeout;
    handshake_step();  // the ClientHello
}

int tls_session::on_recv(WOLFSSL*, char* buf, int sz, void* ctx) noexcept {
    auto* s = static_cast<tls_session*>(ctx);
    std::size_t want = static_cast<std::size_t>(sz), got = 0;
    while (got < want && !s->in_.empty()) {
        buffer_lease& front = s->in_.front();
        std::size_t n = std::min(want - got, front.size());
        std::memcpy(buf + got, front.bytes().data(), n);
        front.consume(n);
        got += n;
        if (front.empty()) s->in_.pop_front();  // the ring buffer goes back
    }
    if (got == 0) return WOLFSSL_CBIO_ERR_WANT_READ;
    return static_cast<int>(got);
}

int tls_session::on_send(WOLFSSL*, char* buf, int sz, void* ctx) noexcept {
    auto* s = static_cast<tls_session*>(ctx);
    try {
        s->out_.append(buf, static_cast<std::size_t>(sz));
    } catch (...) {
        return WOLFSSL_CBIO_ERR_GENERAL;
    }
    return sz;
}

void tls_session::fail(std::error_code ec) noexcept {
    if (state_ == state::failed) return;
    state_ = state::failed;
    error_ = ec;
    in_.clear();
}

void tls_session::handshake_step() {
    int rc = server_ ? wolfSSL_accept(ssl_) : wolfSSL_connect(ssl_);
    if (rc == WOLFSSL_SUCCESS) {
        state_ = state::open;
        // Kept now: wolfSSL frees the extensions with the handshake.
        char* name = nullptr;
        unsigned short len = 0;
        if (wolfSSL_ALPN_GetProtocol(ssl_, &name, &len) == WOLFSSL_SUCCESS && name) alpn_.assign(name, len);
        return;
    }
    int err = wolfSSL_get_error(ssl_, rc);
    if (err == WOLFSSL_ERROR_WANT_READ || err == WOLFSSL_ERROR_WANT_WRITE) return;
    if (err == WOLFSSL_ERROR_ZERO_RETURN || err == SOCKET_PEER_CLOSED_E) err = SOCKET_PEER_CLOSED_E;
    fail({err, tls_category()});
}

void tls_session::read_step() {
    if (!plain_scratch) plain_scratch = std::make_unique<std::byte[]>(plain_scratch_size);
    for (;;) {
        int rc = wolfSSL_read(ssl_, plain_scratch.get(), static_cast<int>(plain_scratch_size));
        if (rc > 0) {
            auto n = static_cast<std::size_t>(rc);
            auto mem = std::make_unique_for_overwrite<std::byte[]>(n);
            std::memcpy(mem.get(), plain_scratch.get(), n);
            plain_.emplace_back(std::move(mem), n);
            continue;
        }
        int err = wolfSSL_get_error(ssl_, rc);
        if (err == WOLFSSL_ERROR_WANT_READ || err == WOLFSSL_ERROR_WANT_WRITE) return;
        if (err == WOLFSSL_ERROR_ZERO_RETURN) {
            state_ = state::peer_closed;  // close_notify: a clean end of stream
            in_.clear();
            return;
        }
        fail({err, tls_category()});
        return;
    }
}

void tls_session::advance() {
    if (state_ == state::handshaking) handshake_step();
    if (state_ == state::open) read_step();
}

std::error_code tls_session::write_record(const std::byte* p, std::size_t n) {
    while (n > 0) {
        int chunk = static_cast<int>(std::min<std::size_t>(n, 1u << 30));
        int rc = wolfSSL_write(ssl_, p, chunk);
        if (rc <= 0) {
            std::error_code ec(wolfSSL_get_error(ssl_, rc), tls_category());
            fail(ec);
            return ec;
        }
        p += rc;
        n -= static_cast<std::size_t>(rc);
    }
    return {};
}

std::error_code tls_session::encrypt(std::span<const std::byte> bytes) {
    if (state_ == state::failed) return error_;
    return write_record(bytes.data(), bytes.size());
}

std::error_code tls_session::encrypt(const iovec* parts, std::size_t n) {
    if (state_ == state::failed) return error_;
    // Small parts (a response head, a short body) share records: gathered
    // into up to 16 KiB before wolfSSL makes records of them.
    constexpr std::size_t record = 16 * 1024;
    std::string& stage = write_stage;
    stage.clear();
    for (std::size_t i = 0; i < n; ++i) {
        const auto* p = static_cast<const std::byte*>(parts[i].iov_base);
        std::size_t len = parts[i].iov_len;
        if (stage.size() + len > record && !stage.empty()) {
            if (auto ec = write_record(reinterpret_cast<const std::byte*>(stage.data()), stage.size())) return ec;
            stage.clear();
        }
        if (len >= record) {
            if (auto ec = write_record(p, len)) return ec;
        } else {
            stage.append(reinterpret_cast<const char*>(p), len);
        }
    }
    if (!stage.empty()) return write_record(reinterpret_cast<const std::byte*>(stage.data()), stage.size());
    return {};
}

void tls_session::close_notify() {
    if (state_ == state::open || state_ == state::peer_closed) wolfSSL_shutdown(ssl_);
}

std::string tls_session::alpn() const { return alpn_; }

std::string tls_session::version() const { return wolfSSL_get_version(ssl_); }

std::string tls_session::cipher() const {
    const char* c = wolfSSL_get_cipher_name(ssl_);
    return c ? c : "";
}

bool tls_session::resumed() const { return wolfSSL_session_reused(ssl_) != 0; }

}  // namespace squall::detail
