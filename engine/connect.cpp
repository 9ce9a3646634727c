#include <squall/engine/connect.hpp>

#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <memory>

#include <squall/engine/op.hpp>
#include <squall/engine/resolver.hpp>
#include <squall/engine/sync.hpp>
#include <squall/engine/when.hpp>

namespace squall {
namespace {

// One Happy Eyeballs race (RFC 8305 §5): attempt i waits for go[i], set
// when the attempt before it fails or attempt_delay after the latest
// attempt started, whichever comes first. All run under `all`, which the
// winner fires to cancel the rest.
struct race_state {
    std::vector<address> addrs;
    std::vector<std::unique_ptr<event>> go;
    std::size_t launched = 1;  // attempts whose go[] has been set (go[0] needs none)
    clock::duration delay{};
    timer_handle next_timer;
    cancel_source* all = nullptr;
    unique_fd winner;
    std::error_code last_error;

    ~race_state() { next_timer.cancel(); }
    void launch_next() {
        next_timer.cancel();
        if (launched < go.size()) go[launched++]->set();
    }
    void started() {
        next_timer.cancel();
        if (launched < go.size()) next_timer = loop::current()->call_later(delay, [this] { launch_next(); });
    }
    void failed(std::error_code ec) {
        if (ec == make_error_code(errc::canceled)) return;  // the race is over
        last_error = ec;
        if (!winner) launch_next();
    }
};

task<void> attempt(race_state* st, std::size_t i) {
    if (i > 0) {
        auto go = co_await st->go[i]->wait();
        if (!go) co_return;  // cancelled before its turn: a winner, the deadline or the caller
    }
    st->started();
    const address& a = st->addrs[i];
    unique_fd fd(::socket(a.family(), SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) {
        st->failed(from_errno(-errno));
        co_return;
    }
    auto r = co_await squall::connect(fd.get(), a.get(), a.size());
    if (!r) {
        st->failed(r.error());
        co_return;
    }
    if (st->winner) co_return;  // another connected in the same turn: ours closes
    if (a.family() != AF_UNIX) {
        int one = 1;
        ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    st->winner = std::move(fd);
    st->next_timer.cancel();
    st->all->request_cancel();
}

task<result<unique_fd>> race(std::vector<address> addrs, clock::duration delay) {
    race_state st;
    st.addrs = std::move(addrs);
    st.delay = delay;
    for (std::size_t i = 0; i < st.addrs.size(); ++i) st.go.push_back(std::make_unique<event>());
    cancel_source all(co_await current_cancel_token());
    st.all = &all;
    std::vector<task<void>> attempts;
    for (std::size_t i = 0; i < st.addrs.size(); ++i) {
        task<void> t = attempt(&st, i);
        t.set_cancel_token(all.token());
        attempts.push_back(std::move(t));
    }
    // when_all returns once every attempt has finished: the losers'
    // connects are cancelled and their sockets closed by then.
    auto joined = when_all(std::move(attempts));
    auto done = co_await std::move(joined);
    (void)done;
    st.next_timer.cancel();
    if (st.winner) co_return std::move(st.winner);
    if (!st.last_error) co_return errc::canceled;
    co_return st.last_error;
}

}  // namespace

std::vector<address> interleave_families(std::vector<address> addrs) {
    std::vector<address> v6, other, out;
    for (auto& a : addrs) (a.family() == AF_INET6 ? v6 : other).push_back(std::move(a));
    out.reserve(v6.size() + other.size());
    for (std::size_t i = 0; i < v6.size() || i < other.size(); ++i) {
        if (i < v6.size()) out.push_back(std::move(v6[i]));
        if (i < other.size()) out.push_back(std::move(other[i]));
    }
    return out;
}

task<result<unique_fd>> connect_any(std::vector<address> addrs, clock::time_point deadline, connect_options opts) {
    if (addrs.empty()) co_return std::make_error_code(std::errc::invalid_argument);
    auto delay = std::chrono::duration_cast<clock::duration>(opts.attempt_delay);
    auto r = co_await with_deadline(deadline, race(std::move(addrs), delay));
    co_return r;
}

namespace {

// A literal address or a loopback name: the resolver answers at once.
bool answered_at_once(const std::string& host) {
    std::string h = host;
    if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
    unsigned char buf[16];
    if (::inet_pton(AF_INET, h.c_str(), buf) == 1 || ::inet_pton(AF_INET6, h.c_str(), buf) == 1) return true;
    std::string lower;
    for (unsigned char c : h) lower += static_cast<char>(std::tolower(c));
    if (!lower.empty() && lower.back() == '.') lower.pop_back();
    return lower == "localhost" || lower.ends_with(".localhost");
}

// RFC 8305 over two lookups, AAAA and A, sent at once (§3): the IPv6
// path races its addresses as soon as its answer is in; the IPv4 path,
// answered first, waits resolution_delay for the AAAA answer, then (§5)
// attempt_delay after the IPv6 race began, or until it failed, before its
// own race. The first connection wins and cancels the rest under `all`.
struct eyeballs {
    cancel_source* all = nullptr;
    event answered[2];  // [0]: AAAA, [1]: A
    event v6_over;      // the IPv6 path has nothing (more) to try
    clock::time_point v6_began{};
    bool v6_racing = false;
    unique_fd winner;
    std::error_code dns_error[2], connect_error;
    bool tried = false;  // some address was attempted
    clock::time_point start{}, first_attempt{};
};

bool cancelled(const result<void>& r) { return !r && r.error() == make_error_code(errc::canceled); }

task<void> family_path(eyeballs* st, int family, std::string host, std::uint16_t port, clock::time_point deadline,
                       connect_options opts) {
    const int i = family == AF_INET6 ? 0 : 1;
    resolve_options ro;
    ro.family = family;
    ro.timeout = std::max(deadline - clock::now(), clock::duration(1));
    auto addrs = co_await resolve(std::move(host), port, ro);
    const bool usable = addrs && !addrs->empty();
    if (!usable) st->dns_error[i] = addrs ? make_error_code(dns_errc::no_answer) : addrs.error();
    if (family == AF_INET6) {
        // Marked before the answer is announced: the IPv4 path, woken by
        // it, must see that the IPv6 race has begun.
        if (usable && !st->winner) {
            st->v6_racing = true;
            st->v6_began = clock::now();
        }
        st->answered[i].set();
        if (!st->v6_racing) {
            st->v6_over.set();
            co_return;
        }
    } else {
        st->answered[i].set();
        if (!usable || st->winner) co_return;
        if (!st->answered[0].is_set()) {
            auto w =
                co_await st->answered[0].wait_for(std::chrono::duration_cast<clock::duration>(opts.resolution_delay));
            if (cancelled(w)) co_return;
        }
        if (st->v6_racing) {
            auto w = co_await st->v6_over.wait(st->v6_began +
                                               std::chrono::duration_cast<clock::duration>(opts.attempt_delay));
            if (cancelled(w)) co_return;
        }
    }
    if (st->winner || st->all->cancel_requested()) co_return;
    if (!st->tried) st->first_attempt = clock::now();
    st->tried = true;
    auto fd = co_await race(std::move(*addrs), std::chrono::duration_cast<clock::duration>(opts.attempt_delay));
    if (family == AF_INET6) st->v6_over.set();
    if (!fd) {
        if (fd.error() != make_error_code(errc::canceled)) st->connect_error = fd.error();
        co_return;
    }
    if (st->winner) co_return;  // the other family connected in the same turn: ours closes
    st->winner = std::move(*fd);
    st->all->request_cancel();
}

task<result<unique_fd>> both_families(std::string host, std::uint16_t port, clock::time_point deadline,
                                      connect_options opts) {
    eyeballs st;
    st.start = clock::now();
    cancel_source all(co_await current_cancel_token());
    st.all = &all;
    task<void> v6 = family_path(&st, AF_INET6, host, port, deadline, opts);
    task<void> v4 = family_path(&st, AF_INET, std::move(host), port, deadline, opts);
    v6.set_cancel_token(all.token());
    v4.set_cancel_token(all.token());
    // Both paths end before this returns: the losers' sockets are closed.
    auto both = co_await when_all(std::move(v6), std::move(v4));
    (void)both;
    if (opts.timings) {
        opts.timings->dns = st.tried ? st.first_attempt - st.start : clock::now() - st.start;
        opts.timings->connect = st.tried ? clock::now() - st.first_attempt : clock::duration::zero();
    }
    if (st.winner) co_return std::move(st.winner);
    if (st.tried && st.connect_error) co_return st.connect_error;
    // No address to try: the lookups' error, a real failure before "no
    // address of this family".
    const auto no_answer = make_error_code(dns_errc::no_answer);
    for (const auto& e : st.dns_error) {
        if (e && e != no_answer) co_return e;
    }
    if (st.dns_error[0] || st.dns_error[1]) co_return no_answer;
    co_return errc::canceled;
}

}  // namespace

task<result<unique_fd>> connect_to(std::string host, std::uint16_t port, std::chrono::nanoseconds timeout,
                                   connect_options opts) {
    auto deadline = clock::now() + std::chrono::duration_cast<clock::duration>(timeout);
    if (opts.family == AF_UNSPEC && !answered_at_once(host)) {
        auto r = co_await with_deadline(deadline, both_families(std::move(host), port, deadline, opts));
        co_return r;
    }
    const auto t0 = clock::now();
    resolve_options ro;
    ro.family = opts.family;
    ro.timeout = timeout;
    auto addrs = co_await resolve(std::move(host), port, ro);
    const auto t1 = clock::now();
    if (opts.timings) opts.timings->dns = t1 - t0;
    if (!addrs) co_return addrs.error();
    auto r = co_await connect_any(interleave_families(std::move(*addrs)), deadline, opts);
    if (opts.timings) opts.timings->connect = clock::now() - t1;
    co_return r;
}

}  // namespace squall
