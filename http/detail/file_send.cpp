#include <squall/http/detail/file_send.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include <squall/engine/op.hpp>
#include <squall/http/application.hpp>
#include <squall/http/detail/connection.hpp>
#include <squall/http/detail/exchange.hpp>

namespace squall::http::detail {
namespace {

using ms = std::chrono::milliseconds;

clock::time_point deadline_after(ms t) { return t.count() > 0 ? clock::now() + t : clock::time_point::max(); }

std::error_code changed() { return std::make_error_code(std::errc::resource_unavailable_try_again); }

// Whether the file is still the one whose length the head announced.
task<result<void>> unchanged(const open_file& f) {
    auto now = co_await stat_fd(f.fd.get());
    if (!now) co_return now.error();
    if (!(*now == f.id)) co_return changed();
    co_return result<void>{};
}

struct pipe_pair {
    unique_fd r, w;
    std::size_t capacity = 0;
};

// Pipes for splice, per loop thread. One goes back only when empty.
std::vector<pipe_pair>& pipe_pool() {
    thread_local std::vector<pipe_pair> pool;
    return pool;
}

result<pipe_pair> take_pipe() {
    auto& pool = pipe_pool();
    if (!pool.empty()) {
        pipe_pair p = std::move(pool.back());
        pool.pop_back();
        return p;
    }
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return from_errno(-errno);
    pipe_pair p{unique_fd(fds[0]), unique_fd(fds[1]), 0};
    // A larger pipe moves more per splice; the default (64 KiB) when the
    // per-user pipe budget says no.
    (void)::fcntl(p.w.get(), F_SETPIPE_SZ, 1 << 20);
    int cap = ::fcntl(p.w.get(), F_GETPIPE_SZ);
    p.capacity = cap > 0 ? static_cast<std::size_t>(cap) : 64 * 1024;
    return p;
}

task<result<int>> splice_op(int in, std::int64_t off_in, int out, std::size_t n, unsigned flags,
                            clock::time_point until) {
    auto op =
        submit([=](io_uring_sqe* s) { io_uring_prep_splice(s, in, off_in, out, -1, static_cast<unsigned>(n), flags); });
    auto r = co_await std::move(op).until(until);
    co_return r;
}

task<result<void>> splice_body(stream& s, file_body b, ms timeout) {
    auto taken = take_pipe();
    if (!taken) co_return taken.error();
    pipe_pair p = std::move(*taken);
    const int file = b.file->fd.get();
    std::uint64_t off = b.offset, left = b.length;
    while (left > 0) {
        std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(left, p.capacity));
        std::size_t in_pipe = 0;
        while (in_pipe < want) {
            auto n = co_await splice_op(file, static_cast<std::int64_t>(off + in_pipe), p.w.get(), want - in_pipe,
                                        SPLICE_F_MOVE, deadline_after(timeout));
            if (!n) co_return n.error();       // the pipe is dropped, not pooled
            if (*n == 0) co_return changed();  // the file ended early: it shrank
            in_pipe += static_cast<std::size_t>(*n);
        }
        if (want == left) {
            auto same = co_await unchanged(*b.file);
            if (!same) co_return same;
        }
        for (std::size_t sent = 0; sent < want;) {
            unsigned more = want < left ? SPLICE_F_MORE : 0;
            auto n =
                co_await splice_op(p.r.get(), -1, s.fd(), want - sent, SPLICE_F_MOVE | more, deadline_after(timeout));
            if (!n) co_return n.error();
            if (*n == 0) co_return std::make_error_code(std::errc::broken_pipe);
            sent += static_cast<std::size_t>(*n);
        }
        off += want;
        left -= want;
    }
    pipe_pool().push_back(std::move(p));
    co_return result<void>{};
}

task<result<void>> read_body(byte_stream& s, file_body b, ms timeout) {
    constexpr std::uint64_t piece = 256 * 1024;
    std::vector<std::byte> buf(static_cast<std::size_t>(std::min(b.length, piece)));
    const int file = b.file->fd.get();
    std::uint64_t off = b.offset, left = b.length;
    while (left > 0) {
        std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(left, buf.size()));
        std::size_t got = 0;
        while (got < want) {
            auto op = read(file, std::span(buf).subspan(got, want - got), off + got);
            auto n = co_await std::move(op);
            if (!n) co_return n.error();
            if (*n == 0) co_return changed();
            got += static_cast<std::size_t>(*n);
        }
        if (want == left) {
            auto same = co_await unchanged(*b.file);
            if (!same) co_return same;
        }
        auto w = co_await s.write(std::span<const std::byte>(buf).first(want));
        if (!w) co_return w;
        off += want;
        left -= want;
    }
    (void)timeout;  // the stream applies its own write timeout
    co_return result<void>{};
}

}  // namespace

task<result<void>> send_file_bytes(byte_stream& s, file_body body, ms write_timeout) {
    if (body.length == 0) co_return result<void>{};
    // Splicing needs the socket itself: a plain socket stream, not TLS
    // over one and not an in-memory test stream.
    auto* socket = dynamic_cast<stream*>(&s);
    if (body.mode == file_send_mode::splice && socket) {
        auto r = co_await splice_body(*socket, std::move(body), write_timeout);
        co_return r;
    }
    auto r = co_await read_body(s, std::move(body), write_timeout);
    co_return r;
}

task<result<void>> connection::send_file(exchange& ex, file_body body) {
    if (ex.headers_sent || ex.finished) throw std::logic_error("squall: send_file after flush() or finish()");
    write_head(ex, framing::length, body.length);
    ex.headers_sent = true;
    ex.finished = true;
    result<void> w = co_await flush_output();
    const bool head_only = p_.head().method == "HEAD" || ex.status == 304 || ex.status == 204;
    if (w && !head_only) w = co_await send_file_bytes(*s_, std::move(body), app_.settings().write_timeout);
    if (!w) {
        ex.closed = true;
        close_ = broken_ = true;
    }
    co_return w;
}

}  // namespace squall::http::detail
