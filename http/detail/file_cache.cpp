#include <squall/http/detail/file_cache.hpp>

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>

#include <charconv>
#include <cstring>

#include <squall/engine/op.hpp>
#include <squall/http/detail/file_rules.hpp>

namespace squall::http::detail {
namespace {

std::string hex(std::uint64_t v) {
    char buf[20];
    auto r = std::to_chars(buf, buf + sizeof buf, v, 16);
    return std::string(buf, r.ptr);
}

task<result<int>> openat2_once(int dir_fd, const char* path, std::uint64_t resolve) {
    // O_NONBLOCK: a FIFO planted under the root must not block the open.
    open_how how{};
    how.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
    how.resolve = resolve;
    open_how* h = &how;
    auto op = submit([dir_fd, path, h](io_uring_sqe* s) { io_uring_prep_openat2(s, dir_fd, path, h); });
    auto r = co_await std::move(op);
    co_return r;
}

// Reads the whole (small) file into memory: one version of it, checked by
// a second statx that must show the same identity.
task<result<std::string>> read_all(int fd, file_identity id) {
    std::string data(id.size, '\0');
    std::size_t got = 0;
    while (got < data.size()) {
        auto span = std::as_writable_bytes(std::span(data)).subspan(got);
        auto op = read(fd, span, got);
        auto n = co_await std::move(op);
        if (!n) co_return n.error();
        if (*n == 0) co_return std::make_error_code(std::errc::resource_unavailable_try_again);  // shrank
        got += static_cast<std::size_t>(*n);
    }
    auto again = co_await stat_fd(fd);
    if (!again) co_return again.error();
    if (!(*again == id)) co_return std::make_error_code(std::errc::resource_unavailable_try_again);
    co_return data;
}

}  // namespace

task<result<unique_fd>> open_beneath(int dir_fd, std::string rel) {
    const char* path = rel.empty() ? "." : rel.c_str();
    const std::uint64_t resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    auto r = co_await openat2_once(dir_fd, path, resolve | RESOLVE_CACHED);
    // EAGAIN: not all in the dentry cache (or RESOLVE_CACHED unknown: EINVAL).
    if (!r && (r.error() == std::errc::resource_unavailable_try_again || r.error() == std::errc::invalid_argument))
        r = co_await openat2_once(dir_fd, path, resolve);
    if (!r) co_return r.error();
    co_return unique_fd(*r);
}

task<result<file_identity>> stat_fd(int fd, bool* is_dir, bool* is_regular) {
    struct statx stx {};
    struct statx* out = &stx;
    auto op =
        submit([fd, out](io_uring_sqe* s) { io_uring_prep_statx(s, fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, out); });
    auto r = co_await std::move(op);
    if (!r) co_return r.error();
    if (is_dir) *is_dir = S_ISDIR(stx.stx_mode);
    if (is_regular) *is_regular = S_ISREG(stx.stx_mode);
    file_identity id;
    id.dev = (std::uint64_t{stx.stx_dev_major} << 32) | stx.stx_dev_minor;
    id.ino = stx.stx_ino;
    id.size = stx.stx_size;
    id.mtime_ns = stx.stx_mtime.tv_sec * 1'000'000'000LL + stx.stx_mtime.tv_nsec;
    co_return id;
}

task<result<file_ptr>> file_cache::get(int dir_fd, std::string rel) {
    std::string key = std::to_string(dir_fd) + '/' + rel;
    auto it = entries_.find(key);
    const auto now = clock::now();
    if (it != entries_.end() && now - it->second->checked < opts_.valid_for) co_return it->second;
    auto fresh = co_await load(dir_fd, rel);
    if (!fresh) {
        entries_.erase(key);
        co_return fresh.error();
    }
    // The same file as before: keep the old entry (and its content).
    it = entries_.find(key);
    if (it != entries_.end() && it->second->id == (*fresh)->id) {
        const_cast<open_file&>(*it->second).checked = now;
        co_return it->second;
    }
    if (entries_.size() >= opts_.max_entries) entries_.erase(entries_.begin());
    entries_[key] = *fresh;
    co_return *fresh;
}

task<result<file_ptr>> file_cache::load(int dir_fd, std::string rel) {
    auto f = std::make_shared<open_file>();
    for (int attempt = 0;; ++attempt) {
        auto fd = co_await open_beneath(dir_fd, rel);
        if (!fd) co_return fd.error();
        f->fd = std::move(*fd);
        auto id = co_await stat_fd(f->fd.get(), &f->is_dir, &f->is_regular);
        if (!id) co_return id.error();
        f->id = *id;
        // Reads through the ring must wait for the disk, not fail with
        // EAGAIN, so O_NONBLOCK (only there for the open) goes.
        if (f->is_regular) ::fcntl(f->fd.get(), F_SETFL, O_RDONLY);
        if (!f->is_regular || f->id.size > opts_.memory_max) break;
        auto data = co_await read_all(f->fd.get(), f->id);
        if (data) {
            f->content = std::move(*data);
            break;
        }
        // Changing while read: try again, then serve it from the descriptor.
        if (data.error() != std::errc::resource_unavailable_try_again || attempt == 2) break;
    }
    f->etag =
        '"' + hex(f->id.ino) + '-' + hex(f->id.size) + '-' + hex(static_cast<std::uint64_t>(f->id.mtime_ns)) + '"';
    f->last_modified = format_http_date(f->id.mtime_ns / 1'000'000'000);
    f->content_type = content_type_for(rel);
    f->checked = clock::now();
    co_return file_ptr(std::move(f));
}

}  // namespace squall::http::detail
