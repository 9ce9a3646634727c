// file_cache: files under a root opened through the ring, and kept open.
//
// open_beneath() opens with IORING_OP_OPENAT2 and RESOLVE_BENEATH |
// RESOLVE_NO_MAGICLINKS (first with RESOLVE_CACHED, which the kernel
// answers inline when the path is in its dentry cache, then without): the
// kernel, not a string check, refuses any path that would leave the root,
// through "..", an absolute symlink or one that points outside (EXDEV,
// ELOOP). A statx on the descriptor, also through the ring, gives size,
// times and identity.
//
// file_cache keeps what it opened, per loop thread, keyed by relative
// path: the descriptor, the statx data, the validators, and the whole
// content for files up to memory_max bytes. An entry is trusted for
// `valid_for`; after that the path is opened again and the entry replaced
// when (dev, ino, size, mtime) differ. Entries are shared_ptr: a response
// in progress keeps the descriptor it started with, so a file replaced by
// rename() serves the old inode to the end. In-memory content is read and
// then checked against a second statx, so it is one consistent version.
//
// Errors: the kernel's errno (ENOENT, EXDEV, ELOOP, EACCES...). Loop
// thread only; the root descriptor is shared read-only between threads.
// Tests: tests/http/static_files_test.cpp.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include <squall/engine/result.hpp>
#include <squall/engine/socket.hpp>
#include <squall/engine/task.hpp>
#include <squall/engine/time.hpp>

namespace squall::http::detail {

struct file_cache_options {
    std::size_t memory_max = 64 * 1024;  // files up to this are held in memory
    std::size_t max_entries = 4096;
    std::chrono::milliseconds valid_for{1000};  // nginx's open_file_cache_valid
};

struct file_identity {
    std::uint64_t dev = 0, ino = 0, size = 0;
    std::int64_t mtime_ns = 0;
    bool operator==(const file_identity&) const = default;
};

struct open_file {
    unique_fd fd;
    file_identity id;
    bool is_dir = false;
    bool is_regular = false;
    std::string etag;           // strong: "<ino>-<size>-<mtime ns>" in hex
    std::string last_modified;  // IMF-fixdate
    std::string content_type;
    std::optional<std::string> content;  // the whole file, when small
    clock::time_point checked{};
};
using file_ptr = std::shared_ptr<const open_file>;

// The descriptor of `rel` beneath `dir_fd` ("" names the root itself).
task<result<unique_fd>> open_beneath(int dir_fd, std::string rel);
// statx of an open descriptor.
task<result<file_identity>> stat_fd(int fd, bool* is_dir = nullptr, bool* is_regular = nullptr);

class file_cache {
public:
    explicit file_cache(file_cache_options o = {}) : opts_(o) {}
    // The open file for `rel` beneath `dir_fd`, from the cache when fresh.
    task<result<file_ptr>> get(int dir_fd, std::string rel);
    std::size_t size() const noexcept { return entries_.size(); }

private:
    task<result<file_ptr>> load(int dir_fd, std::string rel);

    file_cache_options opts_;
    std::unordered_map<std::string, file_ptr> entries_;
};

}  // namespace squall::http::detail
