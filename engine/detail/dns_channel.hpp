// dns_channel: one c-ares channel driven by a loop's ring (private to
// engine/resolver.cpp).
//
// c-ares tells us through its socket-state callback which of its sockets
// want reading or writing; each such socket has one one-shot ring poll
// armed for exactly that interest, re-armed after every ares_process_fd.
// A socket c-ares closes (or whose interest changes) has its poll orphaned
// (cancelled, completions dropped), so a reused descriptor number never
// reaches the old watch. c-ares' own retry timeouts (ares_timeout) drive one
// loop timer while queries are pending. Query callbacks run inside c-ares
// calls; they must not call back into the channel.
//
// Ownership: the channel owns the ares_channel, its watches and its timer;
// destroying it destroys the ares_channel, which completes every query
// still pending with ARES_EDESTRUCTION. It must die before its loop's
// timers and ring (the loop destroys its resolver right after its tasks).
// Errors: construction throws std::runtime_error naming c-ares' reason.
// Thread: the loop's. Tests: tests/engine/resolver_test.cpp.
#pragma once

#include <ares.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/loop.hpp"

namespace squall::detail {

struct dns_channel_options {
    std::string servers;  // ares_set_servers_ports_csv; empty: resolv.conf
    int try_timeout_ms = 2000;
    int tries = 2;
    bool tcp = false;
};

class dns_channel {
public:
    dns_channel(loop& l, const dns_channel_options& opts);
    ~dns_channel();
    dns_channel(const dns_channel&) = delete;
    dns_channel& operator=(const dns_channel&) = delete;

    // ares_getaddrinfo; `cb` may run before this returns (hosts file,
    // errors) or later from the loop.
    void getaddrinfo(const char* name, const ares_addrinfo_hints& hints, ares_addrinfo_callback cb, void* arg);

    std::size_t sockets_watched() const noexcept { return watches_.size(); }

private:
    struct watch {
        dns_channel* owner;
        int fd;
        bool want_read = false;
        bool want_write = false;
        unsigned armed_mask = 0;
        std::uint64_t op = 0;  // the armed poll's user_data, 0 when none
    };

    int open(const dns_channel_options& opts, int flags);
    int server_count() const;
    static void on_socket_state(void* data, ares_socket_t fd, int readable, int writable);
    static void on_poll(void* ctx, int res, unsigned flags) noexcept;
    void set_interest(int fd, bool read, bool write);
    // After every call into c-ares: polls armed for what is wanted, the
    // timer at c-ares' next timeout.
    void sync();
    void arm(watch& w, unsigned mask);
    void schedule_timeout();
    void on_timeout();

    loop& loop_;
    ares_channel channel_ = nullptr;
    std::vector<std::unique_ptr<watch>> watches_;
    timer_handle timer_;
    clock::time_point timer_at_ = clock::time_point::max();
};

}  // namespace squall::detail
