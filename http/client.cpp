// The client's fetch: the queue, redirects, retries. See client.hpp.
#include <squall/http/client.hpp>

#include <cerrno>

#include <squall/engine/tls.hpp>
#include <squall/http/detail/client_pool.hpp>
#include <squall/http/request.hpp>

namespace squall::http {
namespace {

class client_category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "squall.http.client"; }
    std::string message(int ev) const override {
        switch (static_cast<client_errc>(ev)) {
            case client_errc::bad_request: return "unusable request (URL, method or field)";
            case client_errc::dns: return "host name did not resolve";
            case client_errc::connect: return "could not connect";
            case client_errc::tls: return "TLS handshake failed";
            case client_errc::timeout: return "timed out";
            case client_errc::protocol: return "invalid HTTP response";
            case client_errc::decoding: return "invalid Content-Encoding";
            case client_errc::body_too_large: return "response body too large";
            case client_errc::header_too_large: return "response head too large";
            case client_errc::too_many_redirects: return "too many redirects";
            case client_errc::insecure_redirect: return "redirect from https to http refused";
            case client_errc::proxy: return "proxy refused the tunnel";
            case client_errc::canceled: return "canceled";
            case client_errc::aborted: return "aborted by a callback";
            case client_errc::closed: return "connection closed before the response";
        }
        return "unknown client error";
    }
};

bool idempotent(const request& r) noexcept {
    for (std::string_view m : {"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"}) {
        if (r.method == m) return !r.body_producer;
    }
    return false;
}

bool same_origin(const detail::url_parts& a, const detail::url_parts& b) noexcept {
    return a.tls == b.tls && a.port == b.port && iequals(a.host, b.host);
}

// The request for the next hop of a redirect (RFC 9110 15.4): 303 turns
// into GET (and 301/302 turn a POST into GET, as browsers and curl do);
// 307/308 keep method and body. Credentials stay with their origin.
void follow(request& req, int status, const detail::url_parts& from, const detail::url_parts& to) {
    const bool to_get =
        (status == 303 && req.method != "HEAD") || ((status == 301 || status == 302) && req.method == "POST");
    if (to_get) {
        req.method = "GET";
        req.body.clear();
        req.body_producer = nullptr;
        std::erase_if(req.headers, [](const auto& f) {
            return iequals(f.first, "content-length") || iequals(f.first, "content-type") ||
                   iequals(f.first, "transfer-encoding");
        });
    }
    if (!same_origin(from, to)) {
        std::erase_if(req.headers, [](const auto& f) {
            return iequals(f.first, "authorization") || iequals(f.first, "cookie") ||
                   iequals(f.first, "proxy-authorization") || iequals(f.first, "host");
        });
        req.auth_username.clear();
        req.auth_password.clear();
    }
}

// One hop on a pooled or new connection, retried once on a new one when
// a reused connection fails before any byte of an answer.
task<result<bool>> one_hop(detail::client_pool* pool, const detail::hop_plan* plan, const request* req, response* out,
                           fetch_timings* t, clock::time_point start) {
    for (int attempt = 0;; ++attempt) {
        std::unique_ptr<detail::client_conn> c = pool->take(plan->key);
        const bool reused = c != nullptr;
        if (!c) {
            auto opened = co_await detail::open_connection(pool, plan, req, t);
            if (!opened) co_return opened.error();
            c = std::move(*opened);
        }
        bool got = false;
        auto r = co_await detail::exchange(c.get(), plan, req, req->follow_redirects, out, &got, start);
        out->reused_connection = reused;
        if (r) {
            if (r->reusable) pool->give(std::move(c), r->keep);
            co_return true;
        }
        const std::error_code ec = r.error();
        const bool stale = reused && !got && ec != make_error_code(client_errc::canceled) &&
                           ec != make_error_code(client_errc::timeout) &&
                           ec != make_error_code(client_errc::bad_request);
        if (!stale || attempt > 0 || !idempotent(*req)) co_return ec;
        *out = response{};
    }
}

task<result<response>> fetch_all(detail::client_pool* pool, request req, clock::time_point start) {
    auto permit = co_await pool->slots().acquire();
    if (!permit) co_return client_errc::canceled;
    fetch_timings t;
    t.queue = clock::now() - start;
    std::string url = req.url;
    for (unsigned hops = 0;; ++hops) {
        auto target = detail::parse_url(url);
        if (!target) co_return client_errc::bad_request;
        auto plan = detail::make_plan(*target, req.proxy);
        if (!plan) co_return client_errc::bad_request;
        response out;
        auto r = co_await one_hop(pool, &*plan, &req, &out, &t, start);
        if (!r) co_return r.error();
        t.first_byte = out.timings.first_byte;
        const auto location = out.header("location");
        const bool redirect = req.follow_redirects && detail::is_redirect(out.status) && location &&
                              !(req.body_producer && (out.status == 307 || out.status == 308));
        if (!redirect) {
            out.effective_url = url;
            t.total = clock::now() - start;
            out.timings = t;
            co_return out;
        }
        if (hops >= req.max_redirects) co_return client_errc::too_many_redirects;
        auto next = detail::resolve_location(*target, *location);
        if (!next) co_return client_errc::protocol;
        auto to = detail::parse_url(*next);
        if (!to) co_return client_errc::protocol;
        if (target->tls && !to->tls && !req.allow_insecure_redirect) co_return client_errc::insecure_redirect;
        follow(req, out.status, *target, *to);
        url = std::move(*next);
    }
}

}  // namespace

const std::error_category& client_category() noexcept {
    static const client_category_impl c;
    return c;
}

std::error_code make_error_code(client_errc e) noexcept { return {static_cast<int>(e), client_category()}; }

std::optional<std::string_view> find_field(const field_list& fields, std::string_view name) noexcept {
    for (const auto& [n, v] : fields) {
        if (iequals(n, name)) return std::string_view(v);
    }
    return std::nullopt;
}

client_errc error_kind(std::error_code ec) noexcept {
    if (ec.category() == client_category()) return static_cast<client_errc>(ec.value());
    if (ec.category() == tls_category()) return client_errc::tls;
    return static_cast<client_errc>(detail::client_error(ec).value());
}

namespace detail {

std::error_code client_error(std::error_code ec) noexcept {
    if (ec.category() == client_category()) return ec;
    if (ec.category() == tls_category()) return ec;  // its message names the reason
    if (ec == errc::canceled) return client_errc::canceled;
    if (ec == errc::timed_out) return client_errc::timeout;
    if (ec.category() == std::system_category()) {
        switch (ec.value()) {
            case ECONNREFUSED:
            case EHOSTUNREACH:
            case ENETUNREACH:
            case ETIMEDOUT:
            case EADDRNOTAVAIL: return client_errc::connect;
            default: break;
        }
    }
    return client_errc::closed;
}

}  // namespace detail

client::client(client_options opts) : pool_(std::make_unique<detail::client_pool>(opts)) {}
client::~client() = default;

task<result<response>> client::fetch(request req) {
    const auto start = clock::now();
    const auto deadline = start + req.request_timeout;
    auto inner = fetch_all(pool_.get(), std::move(req), start);
    auto r = co_await with_deadline(deadline, std::move(inner));
    if (!r && r.error() == errc::timed_out) co_return client_errc::timeout;
    co_return r;
}

task<result<response>> client::fetch(std::string url) {
    request r;
    r.url = std::move(url);
    return fetch(std::move(r));
}

void client::close_idle() noexcept { pool_->close_idle(); }
std::size_t client::idle_connections() const noexcept { return pool_->idle(); }
std::uint64_t client::connections_opened() const noexcept { return pool_->opened(); }

}  // namespace squall::http
