// exchange: one request and its response as the connection and the
// handler share them. The handler's methods read and write here; the
// connection serialises the response. Loop thread only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <squall/engine/result.hpp>
#include <squall/engine/task.hpp>
#include <squall/http/form.hpp>
#include <squall/http/proxy.hpp>
#include <squall/http/request.hpp>

namespace squall::http {
class application;
}

namespace squall::http::detail {

class connection;

// How a response head frames the body that follows it.
enum class framing : std::uint8_t {
    length,   // Content-Length (the handler's, or the body's size)
    chunked,  // Transfer-Encoding: chunked (a flushed HTTP/1.1 response)
    none,     // no framing field: no body (HEAD, 1xx/204/304, an Upgrade) or close-delimited
};

class exchange {
public:
    exchange(connection& conn, const application& app, const request_head& head, std::string_view body,
             std::vector<std::string> args) noexcept
        : conn_(conn), app_(app), head_(head), body_(body), args_(std::move(args)) {}

    connection& conn() noexcept { return conn_; }
    const application& app() const noexcept { return app_; }
    const request_head& head() const noexcept { return head_; }
    std::string_view body() const noexcept { return body_; }
    void replace_body(std::string decoded) { decoded_body_ = std::move(decoded), body_ = decoded_body_; }
    const std::vector<std::string>& args() const noexcept { return args_; }
    // The client as the connection's peer (or its PROXY header) and the
    // headers of trusted proxies tell it (http/proxy.hpp), on first use.
    std::string_view remote_ip() const;
    std::string_view scheme() const;

    // Arguments, parsed on first use. A multipart body that does not
    // parse throws http_error(400).
    const std::vector<std::pair<std::string, std::string>>& query_args();
    const std::vector<std::pair<std::string, std::string>>& body_args();
    const std::vector<std::pair<std::string, uploaded_file>>& files();

    // The response being built.
    int status = 200;
    std::string reason;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body_out;
    bool finished = false;
    bool headers_sent = false;  // flush() sent the head
    bool chunked = false;       // ... and the rest goes as chunks
    // ... or framed by the handler's Content-Length: the bytes still due.
    std::optional<std::uint64_t> length_left;
    bool closed = false;  // the client went away mid-response

    std::optional<std::string_view> header_out(std::string_view name) const noexcept;
    void set_header(std::string_view name, std::string_view value);
    void clear_header(std::string_view name);
    // The Content-Length the handler set (set_header checked its syntax).
    std::optional<std::uint64_t> declared_length() const noexcept;

private:
    connection& conn_;
    const application& app_;
    const request_head& head_;
    std::string_view body_;
    std::string decoded_body_;
    std::vector<std::string> args_;
    std::optional<std::vector<std::pair<std::string, std::string>>> query_args_;
    std::optional<form_data> form_;
    mutable std::optional<believed_client> client_;
    const believed_client& client() const;
};

}  // namespace squall::http::detail
