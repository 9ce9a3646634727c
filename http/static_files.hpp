// Static files: Tornado's StaticFileHandler with nginx's care.
//
// mount_static(app, "/static/", {.root = dir}) serves `dir` under the
// prefix (app_settings::static_path does this for /static/, plus
// /favicon.ico and /robots.txt, as Tornado does). GET and HEAD only (405
// with Allow otherwise). A folder redirects (301) to its path with a
// trailing slash, then serves default_filename (index.html), else 403; no
// listings. Dotfiles are 404 unless allow_dotfiles. Paths are decoded
// once and checked (detail/file_rules.hpp), then opened by the kernel
// beneath the root (RESOLVE_BENEATH, detail/file_cache.hpp): no spelling
// of a path and no symlink leaves the root.
//
// Responses carry Content-Type (from /etc/mime.types, charset for text),
// ETag, Last-Modified and Accept-Ranges; If-Match, If-Unmodified-Since
// (412), If-None-Match, If-Modified-Since (304), If-Range and Range (206,
// multipart/byteranges for several ranges, 416 with Content-Range
// bytes */size) follow RFC 9110 sections 13 and 14. static_url(h, path)
// appends ?v=<content hash>; such versioned requests get a one-year
// Cache-Control ("immutable"). With `compress`, a sibling path.gz is
// served to clients that accept gzip (nginx's gzip_static) and small
// compressible files are gzipped (weak ETag); Vary: Accept-Encoding.
//
// Files up to memory_max are sent from memory; larger ones from the
// descriptor (splice or read, detail/file_send.hpp), never under a stale
// length. Ownership: options are copied; one static_root is shared by
// every loop thread (read-only), each thread keeps its own open-file
// cache. Errors at mount (a root that is not a folder) throw.
// Tests: tests/http/static_files_test.cpp, tests/http/static_peers_test.py.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include <squall/engine/socket.hpp>
#include <squall/engine/task.hpp>
#include <squall/http/detail/file_rules.hpp>
#include <squall/http/handler.hpp>

namespace squall::http {

class application;
namespace detail {
struct open_file;
}

struct static_options {
    std::string root;
    std::string default_filename = "index.html";  // empty: folders are 403
    bool allow_dotfiles = false;
    bool compress = false;           // .gz siblings and gzip of small text files
    std::size_t compress_min = 256;  // bytes
    bool splice = true;              // large bodies by splice, else read + send
    std::size_t memory_max = 64 * 1024;
    std::chrono::milliseconds cache_valid{1000};
    std::string cache_control;  // for unversioned responses; empty: none
};

// The mounted root: its descriptor and options, shared by all threads.
class static_root {
public:
    explicit static_root(static_options o);
    int dir_fd() const noexcept { return dir_.get(); }
    const static_options& options() const noexcept { return opts_; }
    // The content hash of `rel` for ?v= (cached, checked once a second);
    // empty when the file cannot be read.
    std::string version(std::string_view rel) const;

private:
    static_options opts_;
    unique_fd dir_;
};

class static_file_handler : public request_handler {
public:
    // `fixed`: a route for one file (favicon.ico) rather than a prefix.
    explicit static_file_handler(std::shared_ptr<const static_root> root, std::string prefix, std::string fixed = {})
        : root_(std::move(root)), prefix_(std::move(prefix)), fixed_(std::move(fixed)) {}
    task<void> get(std::string path);

private:
    struct chosen;
    task<void> serve(std::string_view encoded);
    task<void> respond(chosen c);
    task<void> send_ranged(std::shared_ptr<const detail::open_file> file, detail::validators v);
    std::shared_ptr<const static_root> root_;
    std::string prefix_;
    std::string fixed_;
};

// Routes prefix + "(.*)" to `opts.root`; the root it mounted.
std::shared_ptr<const static_root> mount_static(application& app, std::string prefix, static_options opts);
// The application's static_path mount: /static/, /favicon.ico, /robots.txt.
void mount_static_path(application& app);

// Tornado's static_url: "/static/" + path + "?v=" + hash, for the
// application's static_path (std::logic_error when it has none).
std::string static_url(const request_handler& h, std::string_view path);

}  // namespace squall::http
