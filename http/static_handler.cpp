// static_file_handler's request path: resolve, choose the representation,
// evaluate the conditionals and ranges, send.
#include <atomic>
#include <charconv>

#include <squall/http/detail/compress.hpp>
#include <squall/http/detail/connection.hpp>
#include <squall/http/detail/file_rules.hpp>
#include <squall/http/detail/handler_access.hpp>
#include <squall/http/static_files.hpp>

namespace squall::http {
namespace {

using detail::file_ptr;

detail::file_cache& cache_of(const static_root& root) {
    thread_local std::unordered_map<const static_root*, std::unique_ptr<detail::file_cache>> caches;
    auto& c = caches[&root];
    if (!c) {
        const auto& o = root.options();
        c = std::make_unique<detail::file_cache>(detail::file_cache_options{o.memory_max, 4096, o.cache_valid});
    }
    return *c;
}

int status_for(std::error_code ec) noexcept {
    if (ec == std::errc::permission_denied || ec == std::errc::operation_not_permitted) return 403;
    // ENOENT, ENOTDIR, ENAMETOOLONG and the kernel's refusals to leave the
    // root (EXDEV for "..", ELOOP for magic links) all read as absent.
    return 404;
}

std::string range_field(std::uint64_t first, std::uint64_t length, std::uint64_t size) {
    return "bytes " + std::to_string(first) + "-" + std::to_string(first + length - 1) + "/" + std::to_string(size);
}

std::string multipart(const std::string& content, const std::vector<detail::byte_range>& ranges, std::string_view type,
                      const std::string& boundary) {
    std::string out;
    for (const auto& r : ranges) {
        out += "--" + boundary + "\r\nContent-Type: " + std::string(type) +
               "\r\nContent-Range: " + range_field(r.first, r.length, content.size()) + "\r\n\r\n";
        out.append(content, r.first, r.length);
        out += "\r\n";
    }
    out += "--" + boundary + "--\r\n";
    return out;
}

}  // namespace

struct static_file_handler::chosen {
    file_ptr file;          // the bytes sent (maybe a .gz sibling)
    file_ptr identity;      // the file asked for
    bool gzip_now = false;  // compress the in-memory content here
    bool varies = false;    // Vary: Accept-Encoding
};

task<void> static_file_handler::get(std::string) {
    // The raw path, decoded here once: the route's group is decoded
    // already, and a second decoding is how "%252e%252e" escapes.
    std::string_view path = request().path;
    std::string_view encoded = fixed_.empty() ? path.substr(std::min(prefix_.size(), path.size())) : fixed_;
    co_await serve(encoded);
}

task<void> static_file_handler::serve(std::string_view encoded) {
    const auto& o = root_->options();
    auto safe = detail::make_safe_path(encoded, o.allow_dotfiles);
    if (safe.refuse) co_return send_error(safe.refuse);
    auto& cache = cache_of(*root_);
    auto f = co_await cache.get(root_->dir_fd(), safe.rel);
    if (!f) co_return send_error(status_for(f.error()));
    if ((*f)->is_dir) {
        if (!safe.dir && !safe.rel.empty()) {
            std::string to = std::string(request().path) + "/";
            if (!request().query.empty()) to += "?" + std::string(request().query);
            co_return redirect(to, true);
        }
        if (o.default_filename.empty()) co_return send_error(403);
        std::string index = safe.rel.empty() ? o.default_filename : safe.rel + "/" + o.default_filename;
        f = co_await cache.get(root_->dir_fd(), index);
        if (!f) co_return send_error(status_for(f.error()));
        if ((*f)->is_dir) co_return send_error(403);
        safe.rel = std::move(index);
    } else if (safe.dir) {
        co_return send_error(404);  // "file.txt/"
    }
    if (!(*f)->is_regular) co_return send_error(403);
    chosen c{*f, *f};
    const auto& h = request().headers;
    if (o.compress && detail::compressible_type((*f)->content_type)) {
        c.varies = true;
        auto accept = h.get("accept-encoding");
        if (accept && detail::accepts_gzip(*accept) && !h.get("range")) {
            auto gz = co_await cache.get(root_->dir_fd(), safe.rel + ".gz");
            if (gz && (*gz)->is_regular) c.file = *gz;
            else c.gzip_now = (*f)->content && (*f)->content->size() >= o.compress_min;
        }
    }
    co_await respond(std::move(c));
}

task<void> static_file_handler::respond(chosen c) {
    const auto& o = root_->options();
    const detail::open_file& f = *c.file;
    const bool encoded = c.file != c.identity || c.gzip_now;
    std::string etag = c.gzip_now ? detail::weaken(f.etag) : f.etag;
    set_header("Content-Type", c.identity->content_type);
    set_header("ETag", etag);
    set_header("Last-Modified", f.last_modified);
    if (encoded) set_header("Content-Encoding", "gzip");
    else set_header("Accept-Ranges", "bytes");
    if (c.varies) set_header("Vary", "Accept-Encoding");
    const auto& h = request().headers;
    if (get_query_argument("v")) {
        set_header("Cache-Control", "public, max-age=31536000, immutable");
    } else if (!o.cache_control.empty()) {
        set_header("Cache-Control", o.cache_control);
    }
    detail::validators v{etag, f.id.mtime_ns / 1'000'000'000};
    detail::request_conditionals conds{h.get("if-match"), h.get("if-none-match"), h.get("if-modified-since"),
                                       h.get("if-unmodified-since"), true};
    auto pre = detail::evaluate(conds, v);
    if (pre == detail::precondition::failed) co_return send_error(412);
    if (pre == detail::precondition::not_modified) {
        set_status(304);
        co_return finish();
    }
    if (c.gzip_now) {
        auto gz = detail::gzip_whole(*f.content);
        if (!gz) co_return send_error(500);
        co_return finish(*gz);
    }
    co_await send_ranged(c.file, v);
}

task<void> static_file_handler::send_ranged(detail::file_ptr file, detail::validators v) {
    const detail::open_file& f = *file;
    const auto& h = request().headers;
    auto range = h.get("range");
    auto if_range = h.get("if-range");
    detail::range_request rr;
    if (range && (!if_range || detail::if_range_holds(*if_range, v))) rr = detail::parse_range(*range, f.id.size);
    if (rr.what == detail::range_request::unsatisfiable) {
        // Not send_error: it would drop Content-Range.
        set_status(416);
        clear_header("ETag");
        clear_header("Last-Modified");
        set_header("Content-Type", "text/html; charset=UTF-8");
        set_header("Content-Range", "bytes */" + std::to_string(f.id.size));
        co_return finish(detail::error_page(416, {}));
    }
    std::uint64_t first = 0, length = f.id.size;
    if (rr.what == detail::range_request::satisfiable) {
        std::uint64_t total = 0;
        for (const auto& r : rr.ranges) total += r.length;
        if (rr.ranges.size() == 1) {
            first = rr.ranges[0].first;
            length = rr.ranges[0].length;
            set_status(206);
            set_header("Content-Range", range_field(first, length, f.id.size));
        } else if (f.content && total <= f.id.size) {
            // Several ranges from memory; otherwise (or when they add up
            // to more than the file, an amplification) the whole file.
            static std::atomic<std::uint64_t> counter{0};
            std::string boundary = "squall" + std::to_string(++counter) + std::to_string(f.id.ino);
            set_status(206);
            std::string type = f.content_type;
            set_header("Content-Type", "multipart/byteranges; boundary=" + boundary);
            clear_header("Accept-Ranges");
            co_return finish(multipart(*f.content, rr.ranges, type, boundary));
        }
    }
    if (f.content) co_return finish(std::string_view(*f.content).substr(first, length));
    auto& ex = detail::handler_access::of(*this);
    detail::file_body body{file, first, length,
                           root_->options().splice ? detail::file_send_mode::splice : detail::file_send_mode::read};
    auto sent = co_await ex.conn().send_file(ex, std::move(body));
    (void)sent;  // a failed send has closed the connection already
}

}  // namespace squall::http
