// libFuzzer target: http::detail::request_parser driven the way
// detail::connection drives it.
//
// Input: four control bytes, then what a client sends. Control byte 0
// picks how those bytes arrive (all at once, one byte per read, or reads
// of pseudo-random sizes seeded by bytes 2-3), byte 1 whether bodies are
// streamed (bit 0) and whether small limits apply (bit 1). Each read is
// copied into a buffer of its own, sized exactly so that ASan sees any
// access past it; buffers stay alive until the message that used them is
// finished, then all but the newest are freed, as connection::release_input
// does. The same bytes are also parsed in one piece, and both runs must
// yield the same messages and the same error status (but see
// size_or_syntax). A broken invariant
// aborts (FUZZ_CHECK). Seed corpus: tests/fuzz/corpus/parser/, replayed by
// ctest as fuzz.parser_corpus; run with `make fuzz`.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tests/fuzz/fuzz_check.hpp"
#include <squall/http/detail/parser.hpp>

namespace {

using namespace squall::http;
using namespace squall::http::detail;

struct message {
    std::string method, target;
    int major = 0, minor = 0;
    std::vector<std::pair<std::string, std::string>> fields;
    std::string body;
    bool keep_alive = false, chunked = false, upgrade = false, expect = false;
    std::optional<std::uint64_t> content_length;
    bool operator==(const message&) const = default;
};

struct outcome {
    std::vector<message> messages;
    int status = 0;  // 0: no error
};

struct plan {
    unsigned mode = 0;  // 0 whole, 1 bytewise, 2 reads of 1-16, 3 reads of 1-512
    bool stream = false;
    bool small = false;
    std::uint32_t seed = 1;
};

parser_limits limits_for(bool small) {
    if (!small) return {};
    return {.max_target = 64, .max_field = 64, .max_head = 256, .max_fields = 4, .max_body = 64};
}

// The reads of one connection, each in its own exactly sized allocation.
class reads {
public:
    std::string_view add(std::string_view bytes) {
        auto& b = live_.emplace_back(std::make_unique<char[]>(bytes.size()), bytes.size());
        std::memcpy(b.first.get(), bytes.data(), bytes.size());
        return {b.first.get(), b.second};
    }
    bool hold(std::string_view v) const {
        auto p = reinterpret_cast<std::uintptr_t>(v.data());
        return std::any_of(live_.begin(), live_.end(), [&](const auto& b) {
            auto s = reinterpret_cast<std::uintptr_t>(b.first.get());
            return p >= s && p + v.size() <= s + b.second;
        });
    }
    void release_all_but_newest() { live_.erase(live_.begin(), live_.end() - 1); }

private:
    std::deque<std::pair<std::unique_ptr<char[]>, std::size_t>> live_;
};

bool is_tchar(unsigned char c) {
    return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') ||
           (c != 0 && std::strchr("!#$%&'*+-.^_`|~", c) != nullptr);
}

bool is_token(std::string_view s) {
    return !s.empty() &&
           std::all_of(s.begin(), s.end(), [](char c) { return is_tchar(static_cast<unsigned char>(c)); });
}

// A view the parser hands out lies in a live read or in the parser's own
// storage; copying it reads every byte, which ASan checks.
std::string take(const request_parser& p, const reads& r, std::string_view v) {
    if (!v.empty()) FUZZ_CHECK(r.hold(v) || p.owns(v));
    return std::string(v);
}

void check_field(const parser_limits& lim, std::string_view name, std::string_view value) {
    FUZZ_CHECK(is_token(name));
    FUZZ_CHECK(name.size() + value.size() <= lim.max_field);
    FUZZ_CHECK(value.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos);
    FUZZ_CHECK(value.empty() || (value.front() != ' ' && value.front() != '\t'));
    FUZZ_CHECK(value.empty() || (value.back() != ' ' && value.back() != '\t'));
}

// The head as it must be whenever the parser reports head_done or
// message_done.
message read_head(const request_parser& p, const reads& r, const parser_limits& lim) {
    const request_head& h = p.head();
    FUZZ_CHECK(p.head_complete() && p.in_message());
    message m;
    m.method = take(p, r, h.method);
    m.target = take(p, r, h.target);
    FUZZ_CHECK(is_token(h.method));
    FUZZ_CHECK(h.target.size() <= lim.max_target);
    FUZZ_CHECK(h.path.data() == h.target.data() && h.path.size() <= h.target.size());
    FUZZ_CHECK(h.query.empty() || h.query.data() == h.target.data() + h.path.size() + 1);
    FUZZ_CHECK(h.version_major == 1 && (h.version_minor == 0 || h.version_minor == 1));
    FUZZ_CHECK(h.headers.size() <= lim.max_fields);
    std::size_t head_bytes = h.method.size() + h.target.size();
    for (const auto& f : h.headers) {
        check_field(lim, f.name, f.value);
        m.fields.emplace_back(take(p, r, f.name), take(p, r, f.value));
        head_bytes += f.name.size() + f.value.size();
    }
    FUZZ_CHECK(head_bytes <= lim.max_head);
    if (h.version_minor == 1) FUZZ_CHECK(h.headers.count("host") == 1);
    FUZZ_CHECK(!(h.chunked && h.content_length));
    if (h.chunked) FUZZ_CHECK(h.version_minor == 1);
    if (h.content_length) FUZZ_CHECK(*h.content_length <= lim.max_body);
    if (h.expect_continue) FUZZ_CHECK(h.version_minor == 1);
    m.major = h.version_major;
    m.minor = h.version_minor;
    m.keep_alive = h.keep_alive;
    m.chunked = h.chunked;
    m.upgrade = h.upgrade;
    m.expect = h.expect_continue;
    m.content_length = h.content_length;
    return m;
}

// llhttp checks syntax byte by byte but hands a target or a field over
// at its end or at the end of a read, where its size is checked: when a
// head breaks both kinds of rule, either error may be the one reported,
// depending on the reads (parser.hpp).
bool size_or_syntax(int a, int b) {
    auto size = [](int s) { return s == 414 || s == 431; };
    return (size(a) && b == 400) || (a == 400 && size(b));
}

bool allowed_status(int s) { return s == 400 || s == 413 || s == 414 || s == 417 || s == 431 || s == 501 || s == 505; }

class driver {
public:
    driver(const plan& pl, const parser_limits& lim) : plan_(pl), lim_(lim), p_(lim), rng_(pl.seed | 1) {}

    outcome run(std::string_view data) {
        std::size_t pos = 0;
        while (pos < data.size() && !stopped_) {
            std::size_t n = std::min(next_read(data.size() - pos), data.size() - pos);
            std::string_view rest = reads_.add(data.substr(pos, n));
            pos += n;
            fed_ += n;
            deliver(rest);
        }
        return std::move(out_);
    }

private:
    std::size_t next_read(std::size_t left) {
        rng_ ^= rng_ << 13;
        rng_ ^= rng_ >> 17;
        rng_ ^= rng_ << 5;
        switch (plan_.mode) {
            case 0: return left;
            case 1: return 1;
            case 2: return 1 + rng_ % 16;
            default: return 1 + rng_ % 512;
        }
    }

    // Feeds one read until the parser asks for more, as connection::pump.
    void deliver(std::string_view rest) {
        for (;;) {
            const std::size_t before = rest.size();
            auto st = p_.feed(rest);
            FUZZ_CHECK(st.consumed <= before);
            rest.remove_prefix(st.consumed);
            consumed_ += st.consumed;
            FUZZ_CHECK(consumed_ <= fed_);
            switch (st.event) {
                case parse_event::need_more:
                    FUZZ_CHECK(rest.empty());  // "everything fed was consumed"
                    return;
                case parse_event::error: return on_error(rest);
                case parse_event::head_done: on_head(); break;
                case parse_event::body_chunks: on_chunks(); break;
                case parse_event::message_done: on_message(); break;
            }
        }
    }

    void on_error(std::string_view rest) {
        FUZZ_CHECK(allowed_status(p_.error_status()));
        FUZZ_CHECK(!p_.error_reason().empty());
        auto again = p_.feed(rest);  // an error is final
        FUZZ_CHECK(again.event == parse_event::error && again.consumed == 0);
        out_.status = p_.error_status();
        stopped_ = true;
    }

    void on_head() {
        message m = read_head(p_, reads_, lim_);
        FUZZ_CHECK(!p_.message_complete());
        FUZZ_CHECK(m.chunked || m.content_length.value_or(0) > 0);
        if (plan_.stream) p_.stream_body();
        streamed_.clear();
        p_.resume();
    }

    void on_chunks() {
        FUZZ_CHECK(plan_.stream && !p_.chunks().empty());
        for (auto c : p_.chunks()) {
            FUZZ_CHECK(!c.empty());
            streamed_ += take(p_, reads_, c);
        }
        FUZZ_CHECK(streamed_.size() <= lim_.max_body);
    }

    void on_message() {
        FUZZ_CHECK(p_.message_complete());
        message m = read_head(p_, reads_, lim_);
        const bool has_body = m.chunked || m.content_length.value_or(0) > 0;
        m.body = has_body && plan_.stream ? streamed_ : take(p_, reads_, p_.body());
        if (!has_body || plan_.stream) FUZZ_CHECK(p_.body().empty());
        FUZZ_CHECK(m.body.size() <= lim_.max_body);
        if (m.content_length) FUZZ_CHECK(m.body.size() == *m.content_length);
        out_.messages.push_back(std::move(m));
        streamed_.clear();
        p_.next_message();
        FUZZ_CHECK(!p_.in_message() && !p_.head_complete());
        reads_.release_all_but_newest();
    }

    plan plan_;
    parser_limits lim_;
    request_parser p_;
    reads reads_;
    std::uint32_t rng_;
    std::size_t fed_ = 0, consumed_ = 0;
    std::string streamed_;
    bool stopped_ = false;
    outcome out_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::uint8_t ctl[4] = {0, 0, 0, 0};
    std::memcpy(ctl, data, std::min<std::size_t>(size, 4));
    std::string_view bytes(reinterpret_cast<const char*>(data), size);
    bytes.remove_prefix(std::min<std::size_t>(size, 4));
    plan pl{.mode = ctl[0] % 4u,
            .stream = (ctl[1] & 1) != 0,
            .small = (ctl[1] & 2) != 0,
            .seed = static_cast<std::uint32_t>(ctl[2] << 8 | ctl[3])};
    const parser_limits lim = limits_for(pl.small);
    outcome got = driver(pl, lim).run(bytes);
    if (pl.mode != 0 || pl.stream) {
        outcome whole = driver(plan{.small = pl.small}, lim).run(bytes);
        FUZZ_CHECK(got.messages == whole.messages);
        FUZZ_CHECK(got.status == whole.status || size_or_syntax(got.status, whole.status));
    }
    return 0;
}
