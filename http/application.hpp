// application: routes and settings (Tornado's Application).
//
// Routes are tried in the order added, first match wins, against the whole
// path (regex_match, like Tornado's implicit $); capture groups, URL-
// decoded, become the handler's path arguments (Python's named groups,
// (?P<name>...), are accepted and passed by position; a pattern std::regex
// refuses throws std::invalid_argument naming it). Patterns without regex
// syntax are looked up in a hash map first (the fast path), unless a regex
// route added earlier could also match. add<H>(pattern, args...) builds a
// new H(args...) per request (Tornado's initialize kwargs); get()/post()/...
// take a plain function `task<void>(request_handler&)` for small routes,
// and several verbs may share one pattern. Named routes give reverse_url().
// Tornado's SUPPORTED_METHODS: a class that declares
// `static constexpr std::string_view supported_methods[] = {"GET", "PROPFIND"};`
// is reached only by those (HEAD too only when listed); others get 405
// with Allow, and so do listed methods beyond the seven verbs (not 501).
// An application is set up before serving and only read afterwards, so
// one instance serves every loop thread. Tests: tests/http/router_test.cpp.
#pragma once

#include <array>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include <squall/http/access_log.hpp>
#include <squall/http/detail/verbs.hpp>
#include <squall/http/handler.hpp>
#include <squall/http/limits.hpp>
#include <squall/http/proxy.hpp>

namespace squall::http {

// The request limits (max_target, max_field, max_head, max_fields,
// max_body, max_chunk_extensions) come from request_limits (http/limits.hpp).
struct app_settings : request_limits {
    std::string cookie_secret;  // enables signed cookies
    // Key rotation (Tornado's dict cookie_secret + key_version): when not
    // empty, values are signed with cookie_secrets[*key_version] and
    // checked with the key their version field names.
    std::map<int, std::string> cookie_secrets;
    std::optional<int> key_version;
    bool access_log = true;  // one entry per response (http/access_log.hpp)
    // Takes the access log entries instead of spdlog (Tornado's log_function).
    std::function<void(const access_entry&)> log_function;
    std::string server_name = "squall";                               // the Server field; empty: none
    std::chrono::milliseconds header_timeout{30'000};                 // the whole head
    std::chrono::milliseconds body_timeout{30'000};                   // between body reads
    std::chrono::milliseconds keepalive_timeout{60'000};              // idle between requests
    std::chrono::milliseconds write_timeout = default_write_timeout;  // one write
    std::uint64_t max_drain = 64 * 1024;                              // unread body drained after an early answer
    bool decompress_request = false;                                  // gzip request bodies, under max_body
    // Tornado's static_path: serves the folder at /static/ (with
    // /favicon.ico and /robots.txt) and enables static_url(); see
    // http/static_files.hpp.
    std::string static_path;
    // Tornado's compress_response: gzip for compressible responses of
    // compress_min bytes or more (http/detail/compress.hpp).
    bool compress_response = false;
    std::size_t compress_min = 1024;
    // Tornado's template_path: the folder render() reads (http/template.hpp).
    std::string template_path;
    // Tornado's automatic ETag (request_handler::compute_etag) and 304.
    // Off by default, unlike Tornado: it costs about 1100 instructions
    // (12%) per GET / of examples/hello (bench/instructions.sh).
    bool etag = false;
    proxy_settings proxy;  // trusted proxies, PROXY protocol (http/proxy.hpp)
};

using handler_fn = std::function<task<void>(request_handler&)>;

// What a route serves: how to build its handler and which verbs it has.
struct handler_target {
    std::function<std::unique_ptr<request_handler>()> make;
    std::array<detail::verb_call, verb_count> verbs{};
    bool stream_body = false;   // H::stream_request_body: see request_handler::data_received
    bool head_from_get = true;  // HEAD is answered by get() (unless supported_methods leaves it out)
    bool has_prepare = true;    // H overrides prepare(): else its empty coroutine is not run
    // Methods beyond the seven verbs that H::supported_methods names: they
    // get 405 with Allow on this route (squall has no verb for them), not 501.
    std::vector<std::string_view> extra_methods;
    bool allows(verb v) const noexcept { return static_cast<bool>(verbs[static_cast<std::size_t>(v)]); }
    bool knows(std::string_view method) const noexcept;
    std::string allow_header() const;
};

class application {
public:
    explicit application(app_settings settings = {});
    ~application();
    application(const application&) = delete;
    application& operator=(const application&) = delete;

    template <class H, class... Args>
    application& add(std::string pattern, Args... args) {
        return add_route(std::move(pattern), {}, target_for<H>(std::move(args)...));
    }
    template <class H, class... Args>
    application& add_named(std::string name, std::string pattern, Args... args) {
        return add_route(std::move(pattern), std::move(name), target_for<H>(std::move(args)...));
    }
    application& get(std::string pattern, handler_fn fn) {
        return add_fn(std::move(pattern), verb::get, std::move(fn));
    }
    application& post(std::string pattern, handler_fn fn) {
        return add_fn(std::move(pattern), verb::post, std::move(fn));
    }
    application& put(std::string pattern, handler_fn fn) {
        return add_fn(std::move(pattern), verb::put, std::move(fn));
    }
    application& patch(std::string pattern, handler_fn fn) {
        return add_fn(std::move(pattern), verb::patch, std::move(fn));
    }
    application& del(std::string pattern, handler_fn fn) {
        return add_fn(std::move(pattern), verb::delete_, std::move(fn));
    }
    application& options(std::string pattern, handler_fn fn) {
        return add_fn(std::move(pattern), verb::options, std::move(fn));
    }

    // The handler for paths no route matches (Tornado's default_handler_class).
    // Every verb reaches it (a verb H lacks answers 404 through H's
    // write_error; Tornado's idiom, a prepare() that throws 404, works too).
    template <class H, class... Args>
    application& set_not_found(Args... args) {
        not_found_ = target_for<H>(std::move(args)...);
        answer_404_for_every_verb(not_found_);
        return *this;
    }

    // The path of a named route with its groups filled in, in order, each
    // percent-escaped except '/' (Tornado's reverse_url).
    std::string reverse_url(std::string_view name, const std::vector<std::string>& args = {}) const;

    struct match {
        const handler_target* target;
        std::vector<std::string> args;
    };
    // nullopt: no route (the not-found target then serves the request).
    std::optional<match> find(std::string_view path) const;
    const handler_target& not_found() const noexcept { return not_found_; }
    const app_settings& settings() const noexcept { return settings_; }
    // All route patterns, in order (GET /api/v1 in the to-do example).
    std::vector<std::string> patterns() const;

private:
    struct route;

    template <class H, class... Args>
    static handler_target target_for(Args... args) {
        handler_target t;
        t.make = [args...]() -> std::unique_ptr<request_handler> { return std::make_unique<H>(args...); };
        t.verbs = detail::verbs_of<H>();
        // (A prepare() H keeps out of reach counts as an override.)
        if constexpr (requires { &H::prepare; })
            t.has_prepare = !std::is_same_v<decltype(&H::prepare), task<void> (request_handler::*)()>;
        if constexpr (requires { H::stream_request_body; }) t.stream_body = H::stream_request_body;
        if constexpr (requires { std::begin(H::supported_methods); }) {
            std::vector<std::string_view> names(std::begin(H::supported_methods), std::end(H::supported_methods));
            restrict_methods(t, names);
        }
        return t;
    }
    static void restrict_methods(handler_target& t, const std::vector<std::string_view>& names);
    static void answer_404_for_every_verb(handler_target& t);
    application& add_route(std::string pattern, std::string name, handler_target target);
    application& add_fn(std::string pattern, verb v, handler_fn fn);

    app_settings settings_;
    std::vector<std::unique_ptr<route>> routes_;
    struct string_hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
    };
    std::unordered_map<std::string, std::size_t, string_hash, std::equal_to<>> literal_;
    std::size_t first_regex_ = SIZE_MAX;
    handler_target not_found_;
};

}  // namespace squall::http
