#include <squall/engine/resolver.hpp>

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <coroutine>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include <squall/engine/detail/dns_cache.hpp>
#include <squall/engine/detail/dns_channel.hpp>
#include <squall/engine/detail/waiter.hpp>

namespace squall {
namespace {

class dns_category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "squall.dns"; }

    std::string message(int c) const override {
        switch (static_cast<dns_errc>(c)) {
            case dns_errc::not_found: return "host not found (NXDOMAIN)";
            case dns_errc::no_answer: return "host has no address of the family asked";
            case dns_errc::timed_out: return "no DNS server answered in time";
            case dns_errc::server_failure: return "DNS server failure (SERVFAIL)";
            case dns_errc::refused: return "DNS server refused the query";
            case dns_errc::bad_response: return "malformed DNS answer";
            case dns_errc::bad_name: return "not a valid host name";
            case dns_errc::unreachable: return "no DNS server could be reached or gave an answer";
            case dns_errc::failed: return "DNS lookup failed";
        }
        return "unknown DNS error " + std::to_string(c);
    }

    bool equivalent(int c, const std::error_condition& cond) const noexcept override {
        if (static_cast<dns_errc>(c) == dns_errc::timed_out) return cond == std::errc::timed_out;
        return default_error_condition(c) == cond;
    }
};

std::error_code from_ares(int status) noexcept {
    switch (status) {
        case ARES_ENOTFOUND: return dns_errc::not_found;
        case ARES_ENODATA: return dns_errc::no_answer;
        case ARES_ETIMEOUT: return dns_errc::timed_out;
        case ARES_ESERVFAIL: return dns_errc::server_failure;
        case ARES_EREFUSED: return dns_errc::refused;
        case ARES_EFORMERR:
        case ARES_EBADRESP: return dns_errc::bad_response;
        case ARES_EBADNAME:
        case ARES_ENONAME: return dns_errc::bad_name;
        case ARES_ECONNREFUSED: return dns_errc::unreachable;
        case ARES_EDESTRUCTION:
        case ARES_ECANCELLED: return errc::canceled;
        default: return dns_errc::failed;
    }
}

address with_port(const address& a, std::uint16_t port) {
    sockaddr_storage ss{};
    std::memcpy(&ss, a.get(), a.size());
    if (ss.ss_family == AF_INET) reinterpret_cast<sockaddr_in*>(&ss)->sin_port = htons(port);
    else reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port = htons(port);
    return address::from(reinterpret_cast<const sockaddr*>(&ss), a.size());
}

result<std::vector<address>> with_port(const detail::dns_answer& a, std::uint16_t port) {
    if (a.error) return a.error;
    std::vector<address> out;
    out.reserve(a.addrs.size());
    for (const address& x : a.addrs) out.push_back(with_port(x, port));
    return out;
}

bool family_wanted(int family, int wanted) noexcept { return wanted == AF_UNSPEC || wanted == family; }

// A numeric host, "localhost" or a malformed name: answered without asking.
std::optional<result<std::vector<address>>> answer_directly(const std::string& host, std::uint16_t port, int family);

}  // namespace

const std::error_category& dns_category() noexcept {
    static const dns_category_impl cat;
    return cat;
}

namespace detail {

// One lookup in flight, shared by every resolve() of the same key meanwhile.
struct pending_lookup {
    resolver_state* owner = nullptr;
    std::string key;
    bool done = false;
    dns_answer answer;
    waiter_list waiters;
};

class resolver_state {
public:
    explicit resolver_state(loop& l) : cache_(opts_.max_cache_entries), loop_(l) {}
    ~resolver_state() { channel_.reset(); }  // completes what is pending first

    void configure(resolver_options o);
    std::shared_ptr<pending_lookup> lookup(const std::string& key, const std::string& name, int family);

    resolver_options opts_;
    dns_cache cache_;
    resolver_stats stats_;

private:
    static void on_answer(void* arg, int status, int timeouts, ares_addrinfo* ai);
    void finish(pending_lookup& p, int status, ares_addrinfo* ai);
    dns_channel& channel();

    loop& loop_;
    std::unique_ptr<dns_channel> channel_;
    std::unordered_map<std::string, std::shared_ptr<pending_lookup>> pending_;
};

void resolver_state::configure(resolver_options o) {
    channel_.reset();  // lookups in flight end with errc::canceled
    opts_ = std::move(o);
    cache_.clear();
    cache_.set_max_entries(opts_.max_cache_entries);
}

// c-ares 1.18 takes the hosts file's path from the environment
// (CARES_HOSTS) and reads it with getenv inside ares_getaddrinfo: setting
// it and the lookups that read it share this lock, so loops on other
// threads never read the environment while it changes.
std::recursive_mutex hosts_env_mu;  // recursive: an answer from the file may start the next lookup

dns_channel& resolver_state::channel() {
    if (!channel_) {
        if (!opts_.hosts_file.empty()) {
            std::lock_guard lk(hosts_env_mu);
            ::setenv("CARES_HOSTS", opts_.hosts_file.c_str(), 1);
        }
        dns_channel_options o;
        o.servers = opts_.servers;
        o.try_timeout_ms = static_cast<int>(opts_.try_timeout.count());
        o.tries = opts_.tries;
        o.tcp = opts_.tcp;
        channel_ = std::make_unique<dns_channel>(loop_, o);
    }
    return *channel_;
}

std::shared_ptr<pending_lookup> resolver_state::lookup(const std::string& key, const std::string& name, int family) {
    auto it = pending_.find(key);
    if (it != pending_.end()) return it->second;
    dns_channel& ch = channel();
    auto p = std::make_shared<pending_lookup>();
    p->owner = this;
    p->key = key;
    pending_.emplace(key, p);
    ++stats_.queries;
    ares_addrinfo_hints hints{};
    hints.ai_family = family;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = opts_.hosts_file.empty() ? 0 : ARES_AI_ENVHOSTS;
    std::unique_lock lk(hosts_env_mu, std::defer_lock);
    if (!opts_.hosts_file.empty()) lk.lock();  // CARES_HOSTS is read now
    ch.getaddrinfo(name.c_str(), hints, &resolver_state::on_answer, p.get());
    return p;
}

void resolver_state::on_answer(void* arg, int status, int, ares_addrinfo* ai) {
    auto* p = static_cast<pending_lookup*>(arg);
    p->owner->finish(*p, status, ai);
}

void resolver_state::finish(pending_lookup& p, int status, ares_addrinfo* ai) {
    auto keep = pending_.extract(p.key);  // `p` lives until this returns
    clock::time_point now = clock::now();
    std::chrono::seconds ttl{0};
    if (status == ARES_SUCCESS && ai) {
        int min_ttl = static_cast<int>(opts_.max_ttl.count());
        for (ares_addrinfo_node* n = ai->nodes; n; n = n->ai_next) {
            if ((n->ai_family != AF_INET && n->ai_family != AF_INET6) || !n->ai_addr) continue;
            p.answer.addrs.push_back(address::from(n->ai_addr, n->ai_addrlen));
            min_ttl = std::min(min_ttl, std::max(n->ai_ttl, 0));
        }
        for (ares_addrinfo_cname* c = ai->cnames; c; c = c->next) min_ttl = std::min(min_ttl, std::max(c->ttl, 0));
        ttl = std::chrono::seconds(min_ttl);
        if (p.answer.addrs.empty()) p.answer.error = dns_errc::no_answer;
    } else {
        p.answer.error = from_ares(status);
        if (status == ARES_ENOTFOUND || status == ARES_ENODATA) ttl = opts_.negative_ttl;
    }
    if (ai) ares_freeaddrinfo(ai);
    if (p.answer.error != make_error_code(errc::canceled)) cache_.put(p.key, p.answer, now + ttl, now);
    p.done = true;
    p.waiters.wake_all();
}

}  // namespace detail

detail::resolver_state& loop::resolver() {
    if (!resolver_) {
        resolver_ = {new detail::resolver_state(*this), [](detail::resolver_state* s) { delete s; }};
    }
    return *resolver_;
}

namespace {

bool valid_host_name(const std::string& h) {
    std::size_t n = h.size();
    if (n > 0 && h.back() == '.') --n;  // absolute
    if (n == 0 || n > 253) return false;
    std::size_t label = 0;
    for (std::size_t i = 0; i < n; ++i) {
        auto c = static_cast<unsigned char>(h[i]);
        if (c == '.') {
            if (label == 0) return false;
            label = 0;
            continue;
        }
        if (!std::isalnum(c) && c != '-' && c != '_') return false;
        if (++label > 63) return false;
    }
    return label > 0;
}

// `lower` is `special` or a name under it ("localhost", "a.localhost.").
bool is_under(const std::string& lower, std::string_view special) {
    std::string_view h = lower;
    if (!h.empty() && h.back() == '.') h.remove_suffix(1);
    if (h == special) return true;
    return h.size() > special.size() && h.ends_with(special) && h[h.size() - special.size() - 1] == '.';
}

std::optional<result<std::vector<address>>> answer_directly(const std::string& host, std::uint16_t port, int family) {
    std::string h = host;
    if (h.size() > 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
    in6_addr a6{};
    in_addr a4{};
    bool v4 = ::inet_pton(AF_INET, h.c_str(), &a4) == 1;
    bool v6 = !v4 && ::inet_pton(AF_INET6, h.c_str(), &a6) == 1;
    if (v4 || v6) {
        if (!family_wanted(v4 ? AF_INET : AF_INET6, family)) return result<std::vector<address>>(dns_errc::no_answer);
        return result<std::vector<address>>(std::vector<address>{address::ip(h, port)});
    }
    if (!valid_host_name(host)) return result<std::vector<address>>(dns_errc::bad_name);
    std::string lower = host;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    // RFC 6761 §6.4: "invalid" names get an immediate negative answer.
    if (is_under(lower, "invalid")) return result<std::vector<address>>(dns_errc::not_found);
    if (!is_under(lower, "localhost")) return std::nullopt;
    std::vector<address> out;
    if (family_wanted(AF_INET6, family)) out.push_back(address::ip("::1", port));
    if (family_wanted(AF_INET, family)) out.push_back(address::ip("127.0.0.1", port));
    return result<std::vector<address>>(std::move(out));
}

std::string cache_key(const std::string& host, int family) {
    std::string key = std::to_string(family);
    key += '/';
    for (unsigned char c : host) key += static_cast<char>(std::tolower(c));
    if (key.back() == '.') key.pop_back();
    return key;
}

// Parks the resolving task on a pending lookup, under its deadline and token.
class answer_wait {
public:
    answer_wait(detail::pending_lookup* p, clock::time_point deadline) noexcept : p_(p), deadline_(deadline) {}
    answer_wait(const answer_wait&) = delete;
    bool await_ready() const noexcept { return p_->done; }
    template <class P>
    bool await_suspend(std::coroutine_handle<P> h) {
        return w_.park(h, token_of(h), deadline_, &p_->waiters);
    }
    result<void> await_resume() const noexcept {
        if (p_->done && w_.state() != detail::waiter::outcome::canceled &&
            w_.state() != detail::waiter::outcome::timed_out)
            return {};
        return w_.status();
    }

private:
    detail::pending_lookup* p_;
    clock::time_point deadline_;
    detail::waiter w_;
};

}  // namespace

void configure_resolver(resolver_options opts) { loop::current()->resolver().configure(std::move(opts)); }

void flush_resolver_cache() { loop::current()->resolver().cache_.clear(); }

resolver_stats resolver_statistics() { return loop::current()->resolver().stats_; }

task<result<std::vector<address>>> resolve(std::string host, std::uint16_t port, resolve_options opts) {
    auto direct = answer_directly(host, port, opts.family);
    if (direct) co_return std::move(*direct);
    detail::resolver_state& rs = loop::current()->resolver();
    std::string key = cache_key(host, opts.family);
    ++rs.stats_.lookups;
    if (opts.use_cache) {
        const detail::dns_answer* hit = rs.cache_.find(key, clock::now());
        if (hit) {
            ++rs.stats_.cache_hits;
            co_return with_port(*hit, port);
        }
    }
    auto deadline = clock::now() + std::chrono::duration_cast<clock::duration>(opts.timeout);
    std::shared_ptr<detail::pending_lookup> p = rs.lookup(key, host, opts.family);
    answer_wait wait(p.get(), deadline);
    result<void> r = co_await wait;
    if (!r) co_return r.error();
    co_return with_port(p->answer, port);
}

}  // namespace squall
