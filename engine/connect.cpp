#include "engine/connect.hpp"

#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>
#include <memory>

#include "engine/op.hpp"
#include "engine/resolver.hpp"
#include "engine/sync.hpp"
#include "engine/when.hpp"

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

task<result<unique_fd>> connect_to(std::string host, std::uint16_t port, std::chrono::nanoseconds timeout,
                                   connect_options opts) {
    auto deadline = clock::now() + std::chrono::duration_cast<clock::duration>(timeout);
    resolve_options ro;
    ro.family = opts.family;
    ro.timeout = timeout;
    auto addrs = co_await resolve(std::move(host), port, ro);
    if (!addrs) co_return addrs.error();
    auto r = co_await connect_any(interleave_families(std::move(*addrs)), deadline, opts);
    co_return r;
}

}  // namespace squall
