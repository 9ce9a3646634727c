#include "engine/detail/dns_channel.hpp"

#include <poll.h>
#include <sys/time.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <stdexcept>

namespace squall::detail {
namespace {

// ares_library_init/cleanup are not thread-safe in c-ares 1.18, and loops
// on several threads may make channels at once: count them under a lock.
std::mutex library_mu;
int library_users = 0;

void library_acquire() {
    std::lock_guard lk(library_mu);
    if (library_users == 0) {
        int rc = ares_library_init(ARES_LIB_INIT_ALL);
        if (rc != ARES_SUCCESS)
            throw std::runtime_error(std::string("squall: ares_library_init: ") + ares_strerror(rc));
    }
    ++library_users;
}

void library_release() noexcept {
    std::lock_guard lk(library_mu);
    if (--library_users == 0) ares_library_cleanup();
}

}  // namespace

dns_channel::dns_channel(loop& l, const dns_channel_options& opts) : loop_(l) {
    library_acquire();
    int flags = opts.tcp ? ARES_FLAG_USEVC : 0;
    int rc = open(opts, flags);
    // c-ares drops a SERVFAIL or REFUSED answer to try the next server, and
    // with none left reports ECONNREFUSED. With a single server there is no
    // next one: let such answers through, to be reported as what they are.
    if (rc == ARES_SUCCESS && server_count() == 1) {
        ares_destroy(channel_);
        channel_ = nullptr;
        rc = open(opts, flags | ARES_FLAG_NOCHECKRESP);
    }
    if (rc != ARES_SUCCESS) {
        if (channel_) ares_destroy(channel_);
        library_release();
        std::string why = std::string(ares_strerror(rc));
        if (rc == ARES_EBADSTR || rc == ARES_ENODATA)
            throw std::invalid_argument("squall: DNS servers '" + opts.servers + "': " + why);
        throw std::runtime_error("squall: ares_init_options: " + why);
    }
}

int dns_channel::open(const dns_channel_options& opts, int flags) {
    ares_options o{};
    int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_LOOKUPS | ARES_OPT_FLAGS;
    o.sock_state_cb = &dns_channel::on_socket_state;
    o.sock_state_cb_data = this;
    o.timeout = opts.try_timeout_ms;
    o.tries = opts.tries;
    o.flags = flags;
    char lookups[] = "fb";  // the hosts file, then DNS
    o.lookups = lookups;
    int rc = ares_init_options(&channel_, &o, mask);
    if (rc == ARES_SUCCESS && !opts.servers.empty()) {
        rc = ares_set_servers_ports_csv(channel_, opts.servers.c_str());
        if (rc == ARES_SUCCESS && server_count() == 0) rc = ARES_ENODATA;
    }
    return rc;
}

int dns_channel::server_count() const {
    ares_addr_port_node* list = nullptr;
    if (ares_get_servers_ports(channel_, &list) != ARES_SUCCESS) return -1;
    int n = 0;
    for (ares_addr_port_node* p = list; p; p = p->next) ++n;
    ares_free_data(list);
    return n;
}

dns_channel::~dns_channel() {
    // Completes pending queries (ARES_EDESTRUCTION) and closes the sockets,
    // telling on_socket_state, which orphans their polls.
    ares_destroy(channel_);
    timer_.cancel();
    for (auto& w : watches_) {
        if (w->op) loop_.orphan_op(w->op);
    }
    library_release();
}

void dns_channel::getaddrinfo(const char* name, const ares_addrinfo_hints& hints, ares_addrinfo_callback cb,
                              void* arg) {
    ares_getaddrinfo(channel_, name, nullptr, &hints, cb, arg);
    sync();
}

void dns_channel::on_socket_state(void* data, ares_socket_t fd, int readable, int writable) {
    static_cast<dns_channel*>(data)->set_interest(fd, readable != 0, writable != 0);
}

void dns_channel::set_interest(int fd, bool read, bool write) {
    auto it = std::find_if(watches_.begin(), watches_.end(), [fd](const auto& w) { return w->fd == fd; });
    if (!read && !write) {
        // c-ares closes the socket right after telling us.
        if (it == watches_.end()) return;
        if ((*it)->op) loop_.orphan_op((*it)->op);
        watches_.erase(it);
        return;
    }
    if (it == watches_.end()) {
        watches_.push_back(std::make_unique<watch>(watch{this, fd}));
        it = watches_.end() - 1;
    }
    (*it)->want_read = read;
    (*it)->want_write = write;
}

void dns_channel::sync() {
    for (auto& w : watches_) {
        unsigned mask = (w->want_read ? POLLIN : 0u) | (w->want_write ? POLLOUT : 0u);
        if (w->op && w->armed_mask != mask) {
            loop_.orphan_op(w->op);
            w->op = 0;
        }
        if (!w->op && mask && !loop_.closing()) arm(*w, mask);
    }
    schedule_timeout();
}

void dns_channel::arm(watch& w, unsigned mask) {
    io_uring_sqe* s = loop_.sqe();
    io_uring_prep_poll_add(s, w.fd, mask);
    w.op = loop_.start_op(&w, &dns_channel::on_poll);
    io_uring_sqe_set_data64(s, w.op);
    w.armed_mask = mask;
}

void dns_channel::on_poll(void* ctx, int res, unsigned) noexcept {
    auto* w = static_cast<watch*>(ctx);
    w->op = 0;
    dns_channel* self = w->owner;
    if (self->loop_.closing()) return;
    bool read = w->want_read;
    bool write = w->want_write;
    if (res >= 0) {
        // Errors and hang-ups go to c-ares both ways: its read or write
        // then sees the failure and moves to the next server.
        auto ev = static_cast<unsigned>(res);
        read = read && (ev & (POLLIN | POLLERR | POLLHUP));
        write = write && (ev & (POLLOUT | POLLERR | POLLHUP));
    }
    // `w` may be destroyed inside ares_process_fd (the socket closed).
    int fd = w->fd;
    ares_process_fd(self->channel_, read ? fd : ARES_SOCKET_BAD, write ? fd : ARES_SOCKET_BAD);
    self->sync();
}

void dns_channel::schedule_timeout() {
    timeval tv{};
    // With no bound given, ares_timeout answers null when no query waits.
    if (!ares_timeout(channel_, nullptr, &tv) || loop_.closing()) {
        timer_.cancel();
        timer_at_ = clock::time_point::max();
        return;
    }
    auto at = clock::now() + std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec);
    // A pending timer that fires sooner is kept: it re-reads the timeout.
    if (timer_.pending() && timer_at_ <= at) return;
    timer_.cancel();
    timer_at_ = at;
    timer_ = loop_.call_at(at, [this] { on_timeout(); });
}

void dns_channel::on_timeout() {
    timer_at_ = clock::time_point::max();
    ares_process_fd(channel_, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    sync();
}

}  // namespace squall::detail
