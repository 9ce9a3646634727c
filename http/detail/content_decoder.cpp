#include <squall/http/detail/content_decoder.hpp>

#include <zlib.h>

#include <algorithm>
#include <climits>

#include <squall/http/detail/grammar.hpp>
#include <squall/http/request.hpp>

namespace squall::http::detail {
namespace {

constexpr std::size_t step = 16 * 1024;

}  // namespace

// One zlib inflate stream: gzip (members may follow each other) or zlib.
struct content_decoder::layer {
    z_stream z{};
    bool ok = false, gzip = true, ended = false;
    explicit layer(bool is_gzip) : gzip(is_gzip) {
        ok = inflateInit2(&z, is_gzip ? 16 + MAX_WBITS : MAX_WBITS) == Z_OK;
    }
    ~layer() {
        if (ok) inflateEnd(&z);
    }
    layer(const layer&) = delete;
    layer& operator=(const layer&) = delete;
};

content_decoder::content_decoder() = default;
content_decoder::~content_decoder() = default;

bool content_decoder::setup(std::string_view field) {
    layers_.clear();
    std::vector<bool> codings;  // true: gzip, false: deflate (zlib)
    std::size_t count = 0;
    bool known = true;
    for (std::string_view c; next_element(field, c);) {
        if (iequals(c, "identity")) continue;
        if (++count > max_codings) return false;
        if (iequals(c, "gzip") || iequals(c, "x-gzip")) codings.push_back(true);
        else if (iequals(c, "deflate")) codings.push_back(false);
        else known = false;
    }
    if (!known) return true;  // passed through as it came
    // The last coding applied is the first undone.
    for (auto it = codings.rbegin(); it != codings.rend(); ++it) layers_.push_back(std::make_unique<layer>(*it));
    scratch_.assign(layers_.size(), std::string());
    return true;
}

decode_status content_decoder::push(std::string_view in, std::string& out, std::uint64_t limit) {
    if (in.empty()) return decode_status::ok;
    any_input_ = true;
    return run(0, in, out, limit);
}

// Inflates `in` through layer i into the next layer, or `out` for the last.
decode_status content_decoder::run(std::size_t i, std::string_view in, std::string& out, std::uint64_t limit) {
    layer& l = *layers_[i];
    const bool last = i + 1 == layers_.size();
    std::string& dst = last ? out : scratch_[i];
    if (!l.ok) return decode_status::corrupt;
    while (!in.empty()) {
        if (l.ended) {
            // Bytes after the end: another gzip member, or garbage.
            if (!l.gzip || inflateReset(&l.z) != Z_OK) return decode_status::corrupt;
            l.ended = false;
        }
        const std::size_t n = std::min<std::size_t>(in.size(), UINT_MAX);
        l.z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
        l.z.avail_in = static_cast<uInt>(n);
        do {
            const std::size_t used = dst.size();
            dst.resize(used + step);
            l.z.next_out = reinterpret_cast<Bytef*>(dst.data() + used);
            l.z.avail_out = step;
            const int rc = inflate(&l.z, Z_NO_FLUSH);
            dst.resize(used + step - l.z.avail_out);
            if (last && dst.size() > limit) return decode_status::too_large;
            if (!last && dst.size() >= 4 * step) {
                // A middle layer hands on what it made before it grows: a
                // stacked bomb meets the limit at the last layer, piece by
                // piece, instead of inflating whole into scratch first.
                decode_status st = forward(i, out, limit);
                if (st != decode_status::ok) return st;
            }
            if (rc == Z_STREAM_END) l.ended = true;
            else if (rc != Z_OK && rc != Z_BUF_ERROR) return decode_status::corrupt;
        } while (!l.ended && l.z.avail_out == 0);
        in.remove_prefix(n - l.z.avail_in);
        if (!l.ended) break;
    }
    if (last) return decode_status::ok;
    return forward(i, out, limit);
}

// Runs what layer i made through the layers after it.
decode_status content_decoder::forward(std::size_t i, std::string& out, std::uint64_t limit) {
    std::string next;
    next.swap(scratch_[i]);
    decode_status st = run(i + 1, next, out, limit);
    next.clear();
    scratch_[i].swap(next);  // keeps the capacity for the next piece
    return st;
}

decode_status content_decoder::finish() {
    if (!any_input_) return decode_status::ok;
    for (const auto& l : layers_) {
        if (!l->ended) return decode_status::corrupt;
    }
    return decode_status::ok;
}

}  // namespace squall::http::detail
