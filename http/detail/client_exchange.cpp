// One request/response exchange on a client connection. See client_pool.hpp.
#include <sys/uio.h>

#include <algorithm>
#include <cctype>
#include <charconv>

#include <squall/engine/crypto.hpp>
#include <squall/http/detail/client_pool.hpp>
#include <squall/http/detail/content_decoder.hpp>
#include <squall/http/detail/grammar.hpp>
#include <squall/http/request.hpp>
#include <squall/http/url.hpp>

namespace squall::http::detail {
namespace {

bool has_field(const field_list& f, std::string_view name) noexcept { return find_field(f, name).has_value(); }

// The Content-Length the user gave a produced body; nullopt when absent
// or not a plain decimal.
std::optional<std::uint64_t> declared_length(const request& req) {
    auto v = find_field(req.headers, "content-length");
    if (!v) return std::nullopt;
    return parse_decimal(*v);
}

void add_field(std::string& h, std::string_view name, std::string_view value) {
    h.append(name).append(": ").append(value).append("\r\n");
}

// The body's framing fields are the client's to write: a user's
// Content-Length over a string body could disagree with it.
bool framing_field(std::string_view name) noexcept {
    return iequals(name, "content-length") || iequals(name, "transfer-encoding");
}

void add_auth(std::string& h, const hop_plan& plan, const request& req) {
    if (has_field(req.headers, "authorization")) return;
    std::string creds;
    if (!req.auth_username.empty()) creds = req.auth_username + ":" + req.auth_password;
    else if (!plan.target.userinfo.empty()) creds = url_decode(plan.target.userinfo);
    if (!creds.empty()) add_field(h, "Authorization", "Basic " + crypto::base64_encode(creds));
}

result<std::string> build_head(const hop_plan& plan, const request& req, bool* chunked) {
    if (!is_token(req.method)) return client_errc::bad_request;
    std::string h;
    h.reserve(256);
    h.append(req.method).append(" ");
    h.append(plan.absolute_form() ? plan.target.str() : plan.target.target).append(" HTTP/1.1\r\n");
    if (!has_field(req.headers, "host")) add_field(h, "Host", plan.target.host_field());
    if (!safe_field_value(req.user_agent)) return client_errc::bad_request;
    if (!req.user_agent.empty() && !has_field(req.headers, "user-agent")) add_field(h, "User-Agent", req.user_agent);
    if (req.decompress_response && !has_field(req.headers, "accept-encoding")) add_field(h, "Accept-Encoding", "gzip");
    add_auth(h, plan, req);
    if (plan.absolute_form()) h += proxy_authorization(*plan.proxy);
    for (const auto& [n, v] : req.headers) {
        if (!is_token(n) || !safe_field_value(v)) return client_errc::bad_request;
        // A produced body is framed here: chunked, or by the user's
        // Content-Length (a plain decimal, held to by send_produced).
        if (framing_field(n) && (!req.body_producer || iequals(n, "transfer-encoding"))) continue;
        if (iequals(n, "content-length") && !declared_length(req)) return client_errc::bad_request;
        add_field(h, n, v);
    }
    *chunked = false;
    if (req.body_producer) {
        *chunked = !has_field(req.headers, "content-length");
        if (*chunked) add_field(h, "Transfer-Encoding", "chunked");
    } else if (!req.body.empty() || req.method == "POST" || req.method == "PUT" || req.method == "PATCH") {
        add_field(h, "Content-Length", std::to_string(req.body.size()));
    }
    h += "\r\n";
    return h;
}

// A produced body with a declared Content-Length must have exactly that
// many bytes: more would reach the server as the start of another request,
// fewer would leave it waiting. Either fails the request (the connection
// is not reused).
task<result<void>> send_produced(byte_stream* s, const request* req, bool chunked) {
    const std::optional<std::uint64_t> declared = chunked ? std::nullopt : declared_length(*req);
    std::uint64_t sent = 0;
    for (;;) {
        auto job = req->body_producer();
        auto piece = co_await std::move(job);
        if (!piece) co_return client_errc::aborted;
        if (piece->empty()) break;
        sent += piece->size();
        if (declared && sent > *declared) co_return client_errc::aborted;
        if (chunked) {
            std::string framed;
            framed.reserve(chunk_header_max + piece->size() + 2);
            append_chunk_header(framed, piece->size());
            *piece = std::move(framed.append(*piece).append("\r\n"));
        }
        auto w = co_await s->write_owned(std::move(*piece));
        if (!w) co_return w;
    }
    if (declared && sent != *declared) co_return client_errc::aborted;
    if (!chunked) co_return result<void>{};
    auto w = co_await s->write(last_chunk);
    co_return w;
}

task<result<void>> send_request(byte_stream* s, const hop_plan* plan, const request* req) {
    bool chunked = false;
    auto head = build_head(*plan, *req, &chunked);
    if (!head) co_return head.error();
    if (req->body_producer) {
        auto w = co_await s->write(*head);
        if (!w) co_return w;
        auto b = co_await send_produced(s, req, chunked);
        co_return b;
    }
    if (req->body.empty()) {
        auto w = co_await s->write(*head);
        co_return w;
    }
    std::vector<iovec> parts{{head->data(), head->size()}, {const_cast<char*>(req->body.data()), req->body.size()}};
    auto w = co_await s->writev(std::move(parts));
    co_return w;
}

// The body as it is read: where it goes, and how much came.
struct reader {
    content_decoder dec;
    bool head_seen = false, redirect = false, decoding = false, streaming = false;
    std::uint64_t raw = 0, decoded = 0;
    std::string piece;
};

result<void> on_head(const response_parser& p, const request& req, bool may_redirect, response* out, reader* r) {
    out->status = p.status();
    out->reason = p.reason();
    out->headers = p.fields();
    const bool keeps_body = out->status == 307 || out->status == 308;
    r->redirect =
        may_redirect && is_redirect(out->status) && out->header("location") && !(keeps_body && req.body_producer);
    // A HEAD answer, a 204 or a 304 states a length it carries no body of.
    const bool bodiless = req.method == "HEAD" || out->status == 204 || out->status == 304;
    if (!bodiless && p.content_length() && *p.content_length() > req.max_body_size) return client_errc::body_too_large;
    if (r->redirect) return {};
    if (req.decompress_response) {
        if (auto ce = out->header("content-encoding")) {
            if (!r->dec.setup(*ce)) return client_errc::decoding;
            r->decoding = r->dec.active();
        }
    }
    if (req.header_callback) req.header_callback(*out);
    r->streaming = static_cast<bool>(req.streaming_callback);
    // The body's size is known: one allocation, no copies as it grows.
    // Room for the declared body, up to 1 MiB before any of it arrived: a
    // server that declares 100 MiB and sends 60 bytes costs no more.
    if (!bodiless && !r->streaming && !r->decoding && p.content_length())
        out->body.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(*p.content_length(), 1u << 20)));
    return {};
}

// Takes one piece of body; yields what to hand to the streaming callback.
result<std::string_view> on_body(std::string_view piece, const request& req, response* out, reader* r) {
    r->raw += piece.size();
    if (r->raw > req.max_body_size) return client_errc::body_too_large;
    if (r->redirect) return std::string_view();
    if (!r->decoding) {
        if (r->streaming) return piece;
        out->body.append(piece);
        return std::string_view();
    }
    std::string& dst = r->streaming ? r->piece : out->body;
    if (r->streaming) dst.clear();
    const std::uint64_t limit = r->streaming ? req.max_body_size - r->decoded : req.max_body_size;
    const auto st = r->dec.push(piece, dst, limit);
    if (st == decode_status::too_large) return client_errc::body_too_large;
    if (st == decode_status::corrupt) return client_errc::decoding;
    if (!r->streaming) return std::string_view();
    r->decoded += dst.size();
    return std::string_view(dst);
}

// How long the server lets the connection idle (Keep-Alive: timeout=N),
// less a second so that the client gives it up first.
clock::duration keep_for(const response& r) {
    auto ka = r.header("keep-alive");
    if (!ka) return clock::duration::max();
    std::string lower(*ka);
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    auto at = lower.find("timeout=");
    if (at == std::string::npos) return clock::duration::max();
    long n = 0;
    const char* b = lower.data() + at + 8;
    auto [ptr, ec] = std::from_chars(b, lower.data() + lower.size(), n);
    if (ec != std::errc() || ptr == b) return clock::duration::max();
    n = std::min(n, 86'400L);  // a day at most: seconds(n) must not overflow
    return n > 1 ? clock::duration(std::chrono::seconds(n - 1)) : clock::duration::zero();
}

std::string_view as_text(const buffer_lease& l) noexcept {
    return {reinterpret_cast<const char*>(l.bytes().data()), l.size()};
}

// Hands what the last feed parsed on: the head once, then body pieces
// (to the streaming callback, whose task the next read waits for).
task<result<void>> deliver(const response_parser* p, const request* req, bool may_redirect, response* out, reader* r) {
    if (p->head_complete() && !r->head_seen) {
        r->head_seen = true;
        auto h = on_head(*p, *req, may_redirect, out, r);
        if (!h) co_return h.error();
    }
    for (std::string_view piece : p->chunks()) {
        auto v = on_body(piece, *req, out, r);
        if (!v) co_return v.error();
        if (!r->streaming || v->empty()) continue;
        auto job = req->streaming_callback(*v);
        auto ok = co_await std::move(job);
        if (!ok) co_return client_errc::aborted;
    }
    co_return result<void>{};
}

}  // namespace

bool is_redirect(int status) noexcept {
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

task<result<exchange_outcome>> exchange(client_conn* c, const hop_plan* plan, const request* req, bool may_redirect,
                                        response* out, bool* got_bytes, clock::time_point start) {
    auto sent = co_await send_request(c->s.get(), plan, req);
    if (!sent) co_return client_error(sent.error());
    response_parser& p = c->parser;
    p.start(req->method == "HEAD", std::max<std::size_t>(req->max_header_size, 64));
    reader r;
    bool eof = false, leftover = false;
    for (;;) {
        auto chunk = co_await c->s->read_some();
        response_step step;
        std::string_view bytes;
        if (!chunk) {
            if (chunk.error() != errc::eof) co_return client_error(chunk.error());
            eof = true;
            step = p.finish();
        } else {
            bytes = as_text(*chunk);
            if (!*got_bytes) out->timings.first_byte = clock::now() - start;
            *got_bytes = true;
            step = p.feed(bytes);
        }
        if (!step.ok) {
            if (p.head_too_large()) co_return client_errc::header_too_large;
            co_return eof && !p.started() ? client_errc::closed : client_errc::protocol;
        }
        auto d = co_await deliver(&p, req, may_redirect, out, &r);
        if (!d) co_return d.error();
        if (p.message_complete()) {
            leftover = !eof && step.consumed < bytes.size();
            break;
        }
    }
    if (r.decoding && r.dec.finish() != decode_status::ok) co_return client_errc::decoding;
    exchange_outcome o;
    o.reusable = !eof && !leftover && p.keep_alive() && !c->s->has_unread();
    o.keep = keep_for(*out);
    co_return o;
}

}  // namespace squall::http::detail
