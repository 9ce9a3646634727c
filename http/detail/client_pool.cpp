// The pool and opening connections. See client_pool.hpp.
#include <squall/http/detail/client_pool.hpp>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <stdexcept>

#include <squall/engine/connect.hpp>
#include <squall/engine/crypto.hpp>
#include <squall/engine/op.hpp>
#include <squall/engine/resolver.hpp>
#include <squall/engine/socket.hpp>
#include <squall/engine/time.hpp>
#include <squall/engine/tls_stream.hpp>
#include <squall/http/url.hpp>

namespace squall::http::detail {

std::optional<hop_plan> make_plan(url_parts target, const std::string& proxy) {
    hop_plan p;
    p.key = target.origin();
    if (!proxy.empty()) {
        auto px = parse_url(proxy);
        if (!px || px->tls) return std::nullopt;  // only http:// proxies
        p.key += " via " + px->origin();
        p.proxy = std::move(*px);
    }
    p.target = std::move(target);
    return p;
}

client_pool::client_pool(client_options opts) : opts_(opts), slots_(std::max<std::size_t>(opts.max_clients, 1)) {}

client_pool::~client_pool() { sweep_timer_.cancel(); }

std::unique_ptr<client_conn> client_pool::take(const std::string& key) {
    auto it = idle_.find(key);
    if (it == idle_.end()) return nullptr;
    auto& list = it->second;
    const auto now = clock::now();
    while (!list.empty()) {
        std::unique_ptr<client_conn> c = std::move(list.back());  // the most recent: least likely closed
        list.pop_back();
        // Bytes that arrived while idle are no answer to anything: the
        // connection is out of step with the server and is closed.
        if (c->idle_until > now && !c->s->has_unread() && !c->s->closed()) return c;
    }
    return nullptr;
}

void client_pool::give(std::unique_ptr<client_conn> c, clock::duration keep) {
    keep = std::min(keep, opts_.idle_timeout);
    if (keep <= clock::duration::zero()) return;
    auto& list = idle_[c->key];
    if (list.size() >= opts_.max_idle_per_origin) return;
    c->idle_until = clock::now() + keep;
    list.push_back(std::move(c));
    arm_sweep();
}

void client_pool::arm_sweep() {
    if (sweep_armed_) return;
    sweep_armed_ = true;
    // Every second at most: an idle connection lives past its time by less
    // than that, and its keep already leaves a second before the server's.
    auto period = std::min<clock::duration>(opts_.idle_timeout, std::chrono::seconds(1));
    sweep_timer_ = loop::current()->call_later(period, [this] {
        sweep_armed_ = false;
        sweep();
    });
}

void client_pool::sweep() noexcept {
    const auto now = clock::now();
    bool left = false;
    for (auto it = idle_.begin(); it != idle_.end();) {
        auto& list = it->second;
        std::erase_if(list, [now](const auto& c) { return c->idle_until <= now || c->s->has_unread(); });
        left = left || !list.empty();
        it = list.empty() ? idle_.erase(it) : std::next(it);
    }
    if (left) arm_sweep();
}

void client_pool::close_idle() noexcept {
    idle_.clear();
    sweep_timer_.cancel();
    sweep_armed_ = false;
}

std::size_t client_pool::idle() const noexcept {
    std::size_t n = 0;
    for (const auto& [k, list] : idle_) n += list.size();
    return n;
}

std::shared_ptr<tls_context> client_pool::tls_for(bool verify, const std::string& ca_file) {
    auto& ctx = tls_[{verify, ca_file}];
    if (!ctx) {
        tls_client_options o;
        o.verify = verify;
        o.ca_file = ca_file;
        o.alpn = {"http/1.1"};
        ctx = tls_context::client(o);
    }
    return ctx;
}

std::string proxy_authorization(const url_parts& proxy) {
    if (proxy.userinfo.empty()) return {};
    return "Proxy-Authorization: Basic " + crypto::base64_encode(url_decode(proxy.userinfo)) + "\r\n";
}

namespace {

using namespace std::chrono;

// The resolver's and the connect's errors as the client's kinds.
std::error_code connect_error(std::error_code ec) noexcept {
    if (ec.category() == dns_category()) return client_errc::dns;
    if (ec == errc::timed_out) return client_errc::timeout;
    return client_error(ec);
}

// CONNECT host:port through the proxy, over the plain stream TLS then
// runs over: the proxy's answer is read up to its empty line; a proxy
// sends nothing more until the client's TLS hello, so anything more is
// refused.
task<result<void>> open_tunnel(byte_stream* s, const hop_plan* plan) {
    const std::string& host = plan->target.host;
    const std::string authority =
        (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(plan->target.port);
    std::string req = "CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority + "\r\n" +
                      proxy_authorization(*plan->proxy) + "\r\n";
    auto sent = co_await s->write(std::string_view(req));
    if (!sent) co_return sent.error();
    response_parser p;
    p.start(true);  // a 2xx to CONNECT has no body
    for (;;) {
        auto got = co_await s->read_some();
        if (!got) co_return got.error() == errc::eof ? make_error_code(client_errc::proxy) : got.error();
        auto raw = got->bytes();
        std::string_view bytes(reinterpret_cast<const char*>(raw.data()), raw.size());
        auto step = p.feed(bytes);
        if (!step.ok) co_return client_errc::proxy;
        if (p.message_complete()) {
            if (step.consumed != bytes.size() || p.status() / 100 != 2) co_return client_errc::proxy;
            co_return result<void>{};
        }
    }
}

void set_no_delay(int fd) noexcept {
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

// The TLS handshake (certificate, SNI, host name) of an https target.
task<result<void>> secure(tls_stream* s, const hop_plan* plan, fetch_timings* t) {
    const auto t2 = clock::now();
    auto hs = co_await s->handshake(plan->target.host);
    t->tls = duration_cast<nanoseconds>(clock::now() - t2);
    if (!hs) co_return connect_error(hs.error());
    co_return result<void>{};
}

}  // namespace

task<result<std::unique_ptr<client_conn>>> open_connection(client_pool* pool, const hop_plan* plan, const request* req,
                                                           fetch_timings* t) {
    const url_parts& peer = plan->proxy ? *plan->proxy : plan->target;
    // The lookups and the connect share connect_timeout: Happy Eyeballs
    // (RFC 8305, engine/connect.hpp), IPv6 tried as soon as its answer is in.
    connect_timings ct;
    connect_options co;
    co.timings = &ct;
    auto fd = co_await connect_to(peer.host, peer.port, req->connect_timeout, co);
    t->dns = duration_cast<nanoseconds>(ct.dns);
    const auto t1 = clock::now();
    if (!fd) co_return connect_error(fd.error());
    set_no_delay(fd->get());
    std::unique_ptr<byte_stream> s = std::make_unique<stream>(std::move(*fd));
    if (plan->tunnel()) {
        auto tunnel = with_timeout(req->connect_timeout, open_tunnel(s.get(), plan));
        auto tr = co_await std::move(tunnel);
        if (!tr) co_return connect_error(tr.error());
    }
    t->connect = duration_cast<nanoseconds>(ct.connect + (clock::now() - t1));
    pool->count_open();
    if (plan->target.tls) {
        std::shared_ptr<tls_context> ctx;
        try {
            ctx = pool->tls_for(req->validate_cert, req->ca_file);
        } catch (const std::exception&) {
            co_return client_errc::tls;
        }
        auto secured = std::make_unique<tls_stream>(std::move(s), std::move(ctx));
        auto hs = co_await secure(secured.get(), plan, t);
        if (!hs) co_return hs.error();
        s = std::move(secured);
    }
    auto c = std::make_unique<client_conn>();
    c->key = plan->key;
    c->s = std::move(s);
    co_return c;
}

}  // namespace squall::http::detail
