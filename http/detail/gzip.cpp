#include <squall/http/detail/gzip.hpp>

#include <zlib.h>

#include <algorithm>
#include <climits>
#include <cstdint>

#include <squall/http/request.hpp>

namespace squall::http::detail {
namespace {

// Output grows by at most this much per inflate() call.
constexpr std::size_t step = 64 * 1024;

// zlib's z_stream with exactly one owner.
class inflater {
public:
    inflater() noexcept {
        // 16 + MAX_WBITS: a gzip wrapper (header and CRC-32/ISIZE trailer).
        ok_ = inflateInit2(&z_, 16 + MAX_WBITS) == Z_OK;
    }
    ~inflater() {
        if (ok_) inflateEnd(&z_);
    }
    inflater(const inflater&) = delete;
    inflater& operator=(const inflater&) = delete;

    bool ok() const noexcept { return ok_; }
    z_stream& z() noexcept { return z_; }

private:
    z_stream z_{};
    bool ok_ = false;
};

}  // namespace

inflate_status gunzip(std::string_view in, std::uint64_t limit, std::string& out) {
    out.clear();
    inflater inf;
    if (!inf.ok()) return inflate_status::corrupt;
    z_stream& z = inf.z();
    // zlib's avail_in is 32 bits: request bodies are far smaller (max_body),
    // but feed it in pieces all the same.
    auto feed = [&] {
        if (z.avail_in == 0 && !in.empty()) {
            std::size_t n = std::min<std::size_t>(in.size(), UINT_MAX);
            z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
            z.avail_in = static_cast<uInt>(n);
            in.remove_prefix(n);
        }
    };
    feed();
    if (z.avail_in == 0) return inflate_status::corrupt;  // empty is not gzip
    // Never more than limit + 1 bytes: one past the limit proves it.
    const std::uint64_t cap = limit == UINT64_MAX ? limit : limit + 1;
    for (;;) {
        std::uint64_t room = cap - std::min<std::uint64_t>(out.size(), cap);
        std::size_t grow = static_cast<std::size_t>(std::min<std::uint64_t>(step, room));
        std::size_t used = out.size();
        out.resize(used + grow);
        z.next_out = reinterpret_cast<Bytef*>(out.data() + used);
        z.avail_out = static_cast<uInt>(grow);
        int rc = inflate(&z, Z_NO_FLUSH);
        out.resize(used + grow - z.avail_out);
        if (out.size() > limit) return inflate_status::too_large;
        if (rc == Z_STREAM_END) {
            feed();
            if (z.avail_in == 0) return inflate_status::ok;
            // Another member follows (gzip allows several, RFC 1952 2.2).
            if (inflateReset(&z) != Z_OK) return inflate_status::corrupt;
            continue;
        }
        if (rc == Z_BUF_ERROR) {
            // No progress possible: more input is needed, and there is none.
            feed();
            if (z.avail_in == 0 && z.avail_out != 0) return inflate_status::corrupt;
            continue;
        }
        if (rc != Z_OK) return inflate_status::corrupt;
        feed();
    }
}

bool is_gzip_coding(std::string_view content_encoding) noexcept {
    while (!content_encoding.empty() && (content_encoding.front() == ' ' || content_encoding.front() == '\t'))
        content_encoding.remove_prefix(1);
    while (!content_encoding.empty() && (content_encoding.back() == ' ' || content_encoding.back() == '\t'))
        content_encoding.remove_suffix(1);
    return iequals(content_encoding, "gzip") || iequals(content_encoding, "x-gzip");
}

}  // namespace squall::http::detail
