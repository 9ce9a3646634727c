#include <squall/http/detail/exchange.hpp>

#include <charconv>
#include <stdexcept>

#include <squall/http/application.hpp>
#include <squall/http/detail/connection.hpp>
#include <squall/http/detail/grammar.hpp>
#include <squall/http/handler.hpp>
#include <squall/http/url.hpp>

namespace squall::http::detail {

const std::vector<std::pair<std::string, std::string>>& exchange::query_args() {
    if (!query_args_) query_args_ = parse_query(head_.query);
    return *query_args_;
}

const std::vector<std::pair<std::string, std::string>>& exchange::body_args() {
    if (form_) return form_->fields;
    form_.emplace();
    auto type = head_.headers.get("content-type").value_or("");
    // Media types are case-insensitive, with optional whitespace before
    // the parameters (RFC 9110 8.3.1).
    std::string_view media = type.substr(0, type.find(';'));
    while (!media.empty() && (media.back() == ' ' || media.back() == '\t')) media.remove_suffix(1);
    while (!media.empty() && (media.front() == ' ' || media.front() == '\t')) media.remove_prefix(1);
    if (iequals(media, "application/x-www-form-urlencoded")) {
        form_->fields = parse_query(body_);
    } else if (auto boundary = multipart_boundary(type)) {
        auto parsed = parse_multipart(body_, *boundary);
        if (!parsed) throw http_error(400, "invalid multipart body");
        form_ = std::move(*parsed);
    }
    return form_->fields;
}

const std::vector<std::pair<std::string, uploaded_file>>& exchange::files() {
    body_args();
    return form_->files;
}

const believed_client& exchange::client() const {
    if (!client_) client_ = believe(app_.settings().proxy, conn_.remote_ip(), conn_.peer_scheme(), head_.headers);
    return *client_;
}

std::string_view exchange::remote_ip() const {
    if (app_.settings().proxy.trusted.empty()) return conn_.remote_ip();  // no copy on the common path
    return client().ip;
}

std::string_view exchange::scheme() const {
    if (app_.settings().proxy.trusted.empty()) return conn_.peer_scheme();
    return client().scheme;
}

std::optional<std::string_view> exchange::header_out(std::string_view name) const noexcept {
    for (const auto& [n, v] : headers) {
        if (iequals(n, name)) return std::string_view(v);
    }
    return std::nullopt;
}

void exchange::set_header(std::string_view name, std::string_view value) {
    clear_header(name);
    headers.emplace_back(name, value);
}

std::optional<std::uint64_t> exchange::declared_length() const noexcept {
    auto v = header_out("Content-Length");
    if (!v) return std::nullopt;
    return parse_decimal(*v);
}

void exchange::clear_header(std::string_view name) {
    std::erase_if(headers, [&](const auto& h) { return iequals(h.first, name); });
}

}  // namespace squall::http::detail
