#include <squall/http/detail/response_parser.hpp>

#include <squall/http/detail/llhttp_glue.hpp>

#include <algorithm>
#include <cstring>

#include <squall/http/detail/grammar.hpp>
#include <squall/http/request.hpp>

namespace squall::http::detail {
namespace {

// More interim responses than this before the final one is a server that
// stalls on purpose (every 1xx would reset the head's limits).
constexpr int max_interim = 8;

}  // namespace

struct response_parser::llhttp_holder {
    llhttp_t p;
    int interim = 0;
    bool in_interim = false;
};

struct response_parser::callbacks {
    static response_parser& self(llhttp_t* p) noexcept { return *static_cast<response_parser*>(p->data); }

    static int on_message_begin(llhttp_t* p) {
        self(p).started_ = true;
        return 0;
    }
    static int on_status(llhttp_t* p, const char* at, std::size_t n) {
        self(p).reason_.append(at, n);
        return 0;
    }
    static int on_header_field(llhttp_t* p, const char* at, std::size_t n) {
        if (int bad = self(p).count_trailer(n)) return bad;
        self(p).name_.append(at, n);
        return 0;
    }
    static int on_header_value(llhttp_t* p, const char* at, std::size_t n) {
        if (int bad = self(p).count_trailer(n)) return bad;
        self(p).value_.append(at, n);
        return 0;
    }
    static int on_header_value_complete(llhttp_t* p) { return self(p).finish_field(); }
    static int on_headers_complete(llhttp_t* p) { return self(p).check_head(); }
    static int on_body(llhttp_t* p, const char* at, std::size_t n) {
        if (n != 0) self(p).chunks_.emplace_back(at, n);
        return 0;
    }
    static int on_chunk_extension(llhttp_t* p, const char*, std::size_t n) {
        auto& s = self(p);
        s.extension_bytes_ += n;
        if (s.extension_bytes_ > s.limits_.max_chunk_extensions) return s.fail("chunk extensions too long");
        return 0;
    }
    static int on_message_complete(llhttp_t* p) {
        auto& s = self(p);
        if (s.ll_->in_interim) {
            // A 100 Continue or 103 Early Hints: the real answer follows.
            s.reset_head();
            if (++s.ll_->interim > max_interim) return s.fail("too many interim responses");
            return 0;
        }
        s.message_complete_ = true;
        return HPE_PAUSED;  // what follows is not this response's
    }

    static const llhttp_settings_t& settings() {
        static const llhttp_settings_t st = [] {
            llhttp_settings_t x;
            llhttp_settings_init(&x);
            x.on_message_begin = on_message_begin;
            x.on_status = on_status;
            x.on_header_field = on_header_field;
            x.on_header_value = on_header_value;
            x.on_header_value_complete = on_header_value_complete;
            x.on_headers_complete = on_headers_complete;
            x.on_body = on_body;
            x.on_chunk_extension_name = on_chunk_extension;
            x.on_chunk_extension_value = on_chunk_extension;
            x.on_message_complete = on_message_complete;
            return x;
        }();
        return st;
    }
};

response_parser::response_parser(const response_limits& limits)
    : limits_(limits), ll_(std::make_unique<llhttp_holder>()) {
    start(false);
}

response_parser::~response_parser() = default;

void response_parser::start(bool head_request, std::size_t max_head) noexcept {
    if (max_head) limits_.max_head = max_head;
    llhttp_init(&ll_->p, HTTP_RESPONSE, &callbacks::settings());
    ll_->p.data = this;
    ll_->interim = 0;
    head_request_ = head_request;
    started_ = message_complete_ = false;
    reset_head();
    chunks_.clear();
    error_ = {};
    head_too_large_ = false;
}

void response_parser::reset_head() noexcept {
    ll_->in_interim = false;
    head_complete_ = false;
    status_ = 0;
    version_minor_ = 1;
    reason_.clear();
    name_.clear();
    value_.clear();
    fields_.clear();
    content_length_.reset();
    chunked_ = keep_alive_ = false;
    head_bytes_ = trailer_fields_ = trailer_bytes_ = extension_bytes_ = 0;
    prev_ = 0;
    at_line_start_ = head_end_seen_ = false;
}

int response_parser::fail(std::string_view why) noexcept {
    if (error_.empty()) error_ = why;
    return -1;
}

// Trailer fields are bounded like the head: their bytes together may not
// pass max_head (the head's own bytes are counted as they arrive).
int response_parser::count_trailer(std::size_t n) noexcept {
    if (!head_complete_) return 0;
    trailer_bytes_ += n;
    if (trailer_bytes_ <= limits_.max_head) return 0;
    head_too_large_ = true;
    return fail("trailer fields too large");
}

int response_parser::finish_field() noexcept {
    if (!is_token(name_)) return fail("invalid header field name");
    if (!safe_field_value(value_)) return fail("control byte in a field");
    if (head_complete_) {
        // Trailer fields: checked and counted, then dropped.
        if (++trailer_fields_ > limits_.max_fields) return fail("too many trailer fields");
    } else {
        if (fields_.size() >= limits_.max_fields) {
            head_too_large_ = true;
            return fail("too many header fields");
        }
        fields_.emplace_back(std::move(name_), std::string(trim_ows(value_)));
    }
    name_.clear();
    value_.clear();
    return 0;
}

int response_parser::check_head() noexcept {
    llhttp_t& p = ll_->p;
    if (p.http_major != 1 || p.http_minor > 1) return fail("HTTP version not supported");
    status_ = p.status_code;
    version_minor_ = p.http_minor;
    if (status_ < 100 || status_ > 599) return fail("invalid status code");
    if (status_ == 101) return fail("unexpected 101 Switching Protocols");
    if (status_ < 200) {
        // An interim response has no body (RFC 9110 15.2), whatever
        // framing fields it carries: 1 tells llhttp so.
        ll_->in_interim = true;
        return 1;
    }
    std::size_t te_fields = 0;
    for (const auto& [n, v] : fields_) {
        if (!iequals(n, "transfer-encoding")) continue;
        // Only chunked: a response in another transfer coding is one this
        // client cannot decode, and a list hides smuggling.
        if (++te_fields > 1 || !iequals(trim_ows(v), "chunked")) return fail("unsupported Transfer-Encoding");
    }
    const body_framing framing = framing_of(p);
    chunked_ = framing.chunked;
    content_length_ = framing.content_length;
    keep_alive_ = llhttp_should_keep_alive(&p) != 0;
    head_complete_ = true;
    // No body after HEAD, whatever the fields say (RFC 9112 6.3); llhttp
    // itself ends 204 and 304 responses at the head.
    if (head_request_) return 1;
    return 0;
}

// Applies the line rules to the head's bytes before llhttp sees them:
// returns how many bytes belong to the head (up to and including the empty
// line that ends it, or all of them) and sets `bad` to the first byte that
// breaks a rule (npos: none).
std::size_t response_parser::scan_head(std::string_view bytes) noexcept {
    std::size_t i = 0;
    for (; i < bytes.size() && !head_end_seen_; ++i) {
        const char c = bytes[i];
        if (prev_ == '\r' && c != '\n') {
            error_ = "bare CR in the head";
            return i;
        }
        if (c == '\n') {
            if (prev_ != '\r') {
                error_ = "bare LF in the head";
                return i;
            }
            head_end_seen_ = at_line_start_;
            at_line_start_ = true;
        } else if (c != '\r') {
            if (at_line_start_ && (c == ' ' || c == '\t')) {
                error_ = "obsolete line folding";
                return i;
            }
            at_line_start_ = false;
        }
        prev_ = c;
    }
    return i;
}

response_step response_parser::run(std::string_view data) {
    const auto [e, n] = run_llhttp(ll_->p, data);
    if (e != HPE_OK && e != HPE_PAUSED && error_.empty()) {
        const char* why = llhttp_get_error_reason(&ll_->p);
        error_ = why ? std::string_view(why) : std::string_view("malformed response");
    }
    return {error_.empty(), n};
}

response_step response_parser::feed(std::string_view data) {
    chunks_.clear();
    if (!error_.empty()) return {false, 0};
    std::size_t off = 0;
    while (off < data.size() && !message_complete_) {
        std::string_view rest = data.substr(off);
        if (head_complete_) {
            auto r = run(rest);
            return {r.ok, off + r.consumed};
        }
        // The head: scanned, then parsed no further than its end, one byte
        // past the size limit, or the first bad byte.
        const std::size_t scanned = scan_head(rest);
        const bool bad = !error_.empty();
        const std::size_t room = limits_.max_head - std::min(head_bytes_, limits_.max_head) + 1;
        std::string_view part = rest.substr(0, std::min(scanned, room));
        std::string_view why = error_;
        error_ = {};
        auto r = run(part);
        off += r.consumed;
        head_bytes_ += r.consumed;
        if (!r.ok) return {false, off};
        if (head_bytes_ > limits_.max_head) {
            head_too_large_ = true;
            error_ = "response head too large";
            return {false, off};
        }
        if (bad && r.consumed == part.size()) {
            error_ = why;
            return {false, off};
        }
        if (r.consumed == 0) break;
    }
    return {true, off};
}

response_step response_parser::finish() {
    chunks_.clear();
    if (!error_.empty()) return {false, 0};
    if (message_complete_) return {true, 0};
    if (!started_) {
        error_ = "connection closed before a response";
        return {false, 0};
    }
    const llhttp_errno_t e = llhttp_finish(&ll_->p);
    if ((e == HPE_OK || e == HPE_PAUSED) && message_complete_) return {true, 0};
    error_ = "connection closed before the end of the response";
    return {false, 0};
}

}  // namespace squall::http::detail
