#include <squall/http/detail/parser.hpp>

#include <squall/http/detail/grammar.hpp>
#include <squall/http/detail/llhttp_glue.hpp>
#include <squall/http/detail/llhttp_state.hpp>

#include <algorithm>
#include <cstring>

namespace squall::http::detail {
// llhttp's C callbacks, forwarding to the parser in parser->data.
struct request_parser::callbacks {
    static request_parser& self(llhttp_t* p) noexcept { return *static_cast<request_parser*>(p->data); }

    static int on_message_begin(llhttp_t* p) {
        auto& s = self(p);
        s.started_ = true;
        return 0;
    }
    static int on_method(llhttp_t* p, const char* at, std::size_t n) {
        self(p).append(self(p).method_, at, n);
        return 0;
    }
    static int on_url(llhttp_t* p, const char* at, std::size_t n) {
        auto& s = self(p);
        s.append(s.url_, at, n);
        if (s.url_.size() > s.limits_.max_target) return s.fail(414, "request target too long");
        return 0;
    }
    static int on_header_field(llhttp_t* p, const char* at, std::size_t n) {
        auto& s = self(p);
        s.append(s.name_, at, n);
        if (s.name_.size() > s.limits_.max_field) return s.fail(431, "header field too large");
        return 0;
    }
    static int on_header_value(llhttp_t* p, const char* at, std::size_t n) {
        auto& s = self(p);
        s.append(s.value_, at, n);
        if (s.name_.size() + s.value_.size() > s.limits_.max_field) return s.fail(431, "header field too large");
        return 0;
    }
    static int on_header_value_complete(llhttp_t* p) { return self(p).finish_field(); }
    static int on_headers_complete(llhttp_t* p) {
        auto& s = self(p);
        if (int rc = s.check_head()) return rc;
        s.head_complete_ = true;
        // Without a body the message ends here: llhttp goes straight on to
        // on_message_complete and the caller sees message_done.
        if (!s.head_.chunked && s.head_.content_length.value_or(0) == 0) return 0;
        s.paused_ = pause_point::head;
        return HPE_PAUSED;
    }
    static int on_chunk_header(llhttp_t* p) {
        auto& s = self(p);
        // body_size_ <= max_body here; a chunk size near 2^64 must not wrap.
        if (p->content_length > s.limits_.max_body - s.body_size_) return s.fail(413, "body too large");
        return 0;
    }
    static int on_body(llhttp_t* p, const char* at, std::size_t n) {
        auto& s = self(p);
        if (n == 0) return 0;  // llhttp closes an open span at the end of an empty read
        s.body_size_ += n;
        if (s.body_size_ > s.limits_.max_body) return s.fail(413, "body too large");
        if (s.streaming_) {
            s.chunks_.emplace_back(at, n);
        } else if (s.body_.empty() && s.body_view_.empty()) {
            s.body_view_ = std::string_view(at, n);  // the usual case: one piece, no copy
        } else {
            if (s.body_.empty()) s.start_owned_body();
            s.body_.append(at, n);
        }
        return 0;
    }
    static int on_chunk_extension(llhttp_t* p, const char*, std::size_t n) {
        auto& s = self(p);
        s.extension_bytes_ += n;
        if (s.extension_bytes_ > s.limits_.max_chunk_extensions) return s.fail(400, "chunk extensions too long");
        return 0;
    }
    static int on_message_complete(llhttp_t* p) {
        self(p).paused_ = pause_point::message;
        return HPE_PAUSED;
    }

    static const llhttp_settings_t& settings() {
        static const llhttp_settings_t st = [] {
            llhttp_settings_t x;
            llhttp_settings_init(&x);
            x.on_message_begin = on_message_begin;
            x.on_method = on_method;
            x.on_url = on_url;
            x.on_header_field = on_header_field;
            x.on_header_value = on_header_value;
            x.on_header_value_complete = on_header_value_complete;
            x.on_headers_complete = on_headers_complete;
            x.on_chunk_header = on_chunk_header;
            x.on_body = on_body;
            x.on_chunk_extension_name = on_chunk_extension;
            x.on_chunk_extension_value = on_chunk_extension;
            x.on_message_complete = on_message_complete;
            return x;
        }();
        return st;
    }
};

request_parser::request_parser(const parser_limits& limits) : limits_(limits), ll_(std::make_unique<llhttp_state>()) {
    llhttp_init(&ll_->parser, HTTP_REQUEST, &callbacks::settings());
    ll_->parser.data = this;
}

request_parser::~request_parser() = default;

int request_parser::fail(int status, std::string_view reason) noexcept {
    if (!error_status_) {
        error_status_ = status;
        error_reason_ = reason;
    }
    return -1;
}

void request_parser::append(piece& p, const char* at, std::size_t n) {
    if (p.owned) {
        p.owned->append(at, n);
    } else if (!p.ptr) {
        p.ptr = at;
        p.len = n;
    } else {
        // The element continues in a second buffer: copy it once.
        p.owned = &spill_.emplace_front(p.ptr, p.len);
        p.owned->append(at, n);
    }
}

int request_parser::finish_field() noexcept {
    std::string_view name = name_.view();
    if (!is_token(name)) return fail(400, "invalid header field name");
    if (head_complete_) {
        // A trailer field (after a chunked body): checked, then dropped.
        // It must not add to the head the handler was chosen by, as a
        // second Host or a Content-Type would (RFC 9110 6.5.1).
        if (++trailer_fields_ > limits_.max_fields) return fail(431, "too many trailer fields");
    } else {
        if (head_.headers.size() >= limits_.max_fields) return fail(431, "too many header fields");
        std::string_view value = trim_ows(value_.view());
        head_.headers.add(name, value);
        classify(name, value);
    }
    name_ = {};
    value_ = {};
    return 0;
}

void request_parser::classify(std::string_view name, std::string_view value) noexcept {
    switch (name.size()) {  // the length first: most names are none of these
        case 4:
            if (iequals(name, "host") && known_.hosts++ == 0) known_.host = value;
            break;
        case 6:
            if (!known_.expect && iequals(name, "expect")) known_.expect = value;
            break;
        case 17:
            if (!known_.transfer_encoding && iequals(name, "transfer-encoding")) known_.transfer_encoding = value;
            break;
        default: break;
    }
}

void request_parser::resume() noexcept {
    paused_ = pause_point::none;
    if (llhttp_get_errno(&ll_->parser) == HPE_PAUSED) llhttp_resume(&ll_->parser);
}

request_parser::step request_parser::feed(std::string_view data) {
    if (method_pending_) return judge_method(data);
    if (error_status_) return {parse_event::error, 0};
    if (done_pending_) {
        done_pending_ = false;
        return {parse_event::message_done, 0};
    }
    chunks_.clear();
    const auto [e, consumed] = head_complete_ ? execute(data) : execute_head(data);
    if (error_status_) return {parse_event::error, consumed};
    if (e == HPE_OK) return {chunks_.empty() ? parse_event::need_more : parse_event::body_chunks, consumed};
    if (e == HPE_INVALID_METHOD && start_.find(' ') == std::string::npos && start_.size() <= 32) {
        // llhttp stops at the first byte no method it knows has; whether
        // this is an unknown method (501) or garbage (400) shows only at
        // the end of the token. Every byte fed is in start_: all are consumed.
        method_pending_ = true;
        return {judge_method({}).event, data.size()};
    }
    if (e != HPE_PAUSED) {
        map_llhttp_error(e, start_);
        return {parse_event::error, consumed};
    }
    if (paused_ == pause_point::head) return {parse_event::head_done, consumed};
    if (!chunks_.empty()) {
        done_pending_ = true;
        return {parse_event::body_chunks, consumed};
    }
    return {parse_event::message_done, consumed};
}

// Runs llhttp over `data`: its errno and the bytes it consumed.
std::pair<int, std::size_t> request_parser::execute(std::string_view data) noexcept {
    llhttp_step r = run_llhttp(ll_->parser, data);
    if (r.err == HPE_PAUSED_UPGRADE && !started_) {
        // The request before asked for an Upgrade and got an ordinary
        // answer (RFC 9110 7.8): what follows is HTTP again, not the new
        // protocol llhttp stopped for.
        llhttp_resume_after_upgrade(&ll_->parser);
        r = run_llhttp(ll_->parser, data);
    }
    return {r.err, r.consumed};
}

// The head's bytes pass the line scan before llhttp sees them, and llhttp
// sees at most one byte past max_head: the rule broken first is the one
// reported, however the bytes were split into reads.
std::pair<int, std::size_t> request_parser::execute_head(std::string_view data) {
    keep_start(data);
    const std::size_t bad = scan_head_bytes(data);
    const std::size_t room = limits_.max_head - head_bytes_ + 1;
    const auto [e, consumed] = execute(data.substr(0, std::min(bad, room)));
    if (!error_status_) {
        head_bytes_ += consumed;
        if (head_bytes_ > limits_.max_head) fail(431, "request head too large");
        else if (e == HPE_OK && consumed == bad) fail(400, scan_error_);
    }
    return {e, consumed};
}

void request_parser::keep_start(std::string_view data) {
    // The first bytes of the request line (llhttp skips CR and LF before
    // it), to judge a method llhttp refused.
    if (start_.empty()) data.remove_prefix(std::min(data.find_first_not_of("\r\n"), data.size()));
    if (start_.size() < 40) start_.append(data.substr(0, 40 - start_.size()));
}

void request_parser::reset_message() noexcept {
    // The fields' vector keeps its capacity: no allocation per request.
    header_list fields = std::move(head_.headers);
    fields.clear();
    head_ = request_head{};
    head_.headers = std::move(fields);
    known_ = {};
    method_ = url_ = name_ = value_ = {};
    spill_.clear();
    head_bytes_ = 0;
    start_.clear();
    method_pending_ = false;
    started_ = head_complete_ = streaming_ = false;
    scan_ = line_scan{};
    scan_error_ = {};
    body_view_ = {};
    body_.clear();
    body_size_ = 0;
    trailer_fields_ = 0;
    extension_bytes_ = 0;
    chunks_.clear();
    done_pending_ = false;
    paused_ = pause_point::none;
}

request_parser::step request_parser::judge_method(std::string_view data) {
    keep_start(data);
    // A method of up to 32 bytes, then a space (method_is_token).
    bool complete = start_.find(' ') != std::string::npos || start_.size() > 32;
    bool garbage = std::any_of(start_.begin(), start_.end(),
                               [](char c) { return c != ' ' && c != '\r' && c != '\n' && !is_tchar(c); });
    if (!complete && !garbage) return {parse_event::need_more, data.size()};
    method_pending_ = false;
    map_llhttp_error(HPE_INVALID_METHOD, start_);
    return {parse_event::error, data.size()};
}

void request_parser::own_head() {
    std::size_t n = head_.method.size() + head_.target.size();
    for (const auto& f : head_.headers) n += f.name.size() + f.value.size();
    std::string& store = spill_.emplace_front();
    store.reserve(n);  // no reallocation below: the views stay put
    auto keep = [&store](std::string_view v) {
        std::size_t at = store.size();
        store.append(v);
        return std::string_view(store.data() + at, v.size());
    };
    const std::string_view old_target = head_.target;
    head_.method = keep(head_.method);
    head_.target = keep(old_target);
    auto in_target = [&](std::string_view part) {
        return part.data() >= old_target.data() && part.data() + part.size() <= old_target.data() + old_target.size();
    };
    auto rebase = [&](std::string_view part) {
        if (part.empty() || !in_target(part)) return part;  // e.g. the "/" of "http://a"
        return head_.target.substr(static_cast<std::size_t>(part.data() - old_target.data()), part.size());
    };
    head_.path = rebase(head_.path);
    head_.query = rebase(head_.query);
    const bool host_in_target = in_target(head_.host);
    head_.host = rebase(head_.host);
    std::vector<header_field> fields(head_.headers.begin(), head_.headers.end());
    head_.headers.clear();
    for (const auto& f : fields) {
        std::string_view name = keep(f.name);
        head_.headers.add(name, keep(f.value));
    }
    if (!host_in_target && !head_.host.empty()) head_.host = head_.headers.get("host").value_or("");
}

void request_parser::start_owned_body() {
    // A declared length is reserved at once: the body is gathered into one
    // allocation, which clear() keeps for the connection's next bodies.
    if (head_.content_length) body_.reserve(std::min<std::uint64_t>(*head_.content_length, limits_.max_body));
    body_.assign(body_view_);
}

void request_parser::own_pending() {
    if (body_.empty() && !body_view_.empty()) start_owned_body();
    body_view_ = {};
    for (piece* p : {&name_, &value_}) {
        if (p->ptr && !p->owned) {
            p->owned = &spill_.emplace_front(p->ptr, p->len);
            p->ptr = nullptr;
        }
    }
}

bool request_parser::owns(std::string_view v) const noexcept {
    auto inside = [v](std::string_view s) {
        auto b = reinterpret_cast<std::uintptr_t>(s.data()), p = reinterpret_cast<std::uintptr_t>(v.data());
        return p >= b && p + v.size() <= b + s.size();
    };
    if (inside(body_)) return true;
    return std::any_of(spill_.begin(), spill_.end(), [&](const std::string& s) { return inside(s); });
}

void request_parser::next_message() noexcept {
    reset_message();
    resume();
}

}  // namespace squall::http::detail
