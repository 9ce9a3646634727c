// GCC 12 with sanitizers at -O1 warns that std::function members of
// <regex>'s compiled states "may be used uninitialized" (a false positive
// inside libstdc++), which -Werror turns into a failed ASan build.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <squall/http/application.hpp>

#include <stdexcept>

#include <squall/http/url.hpp>

namespace squall::http {
namespace {

constexpr std::string_view verb_names[verb_count] = {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"};

bool is_literal(std::string_view pattern) noexcept {
    return pattern.find_first_of(".^$|?*+()[]{}\\") == std::string_view::npos;
}

// A reverse_url argument as Tornado escapes it (urllib's quote): '/'
// stays, so that "/static/(.*)" reverses "css/site.css" to a path.
std::string path_escape(std::string_view arg) {
    std::string out;
    for (std::size_t start = 0;;) {
        std::size_t slash = arg.find('/', start);
        out += url_encode(arg.substr(start, slash - start));
        if (slash == std::string_view::npos) return out;
        out += '/';
        start = slash + 1;
    }
}

// Handler for routes given as plain functions: one per verb.
class function_handler final : public request_handler {};

// Serves 404 for paths no route matches.
class not_found_handler final : public request_handler {
public:
    task<void> get() {
        send_error(404);
        co_return;
    }
};

}  // namespace

std::optional<verb> parse_verb(std::string_view method) noexcept {
    for (std::size_t i = 0; i < verb_count; ++i) {
        if (verb_names[i] == method) return static_cast<verb>(i);
    }
    return std::nullopt;
}

std::string_view verb_name(verb v) noexcept { return verb_names[static_cast<std::size_t>(v)]; }

std::string handler_target::allow_header() const {
    std::string allow;
    for (std::size_t i = 0; i < verb_count; ++i) {
        bool has = verbs[i] || (i == static_cast<std::size_t>(verb::head) && verbs[0]);
        if (!has) continue;
        if (!allow.empty()) allow += ", ";
        allow += verb_names[i];
    }
    return allow;
}

struct application::route {
    std::string pattern;
    std::string name;
    std::optional<std::regex> re;  // none: a literal path
    handler_target target;
    bool from_functions = false;
};

application::application(app_settings settings) : settings_(std::move(settings)) {
    not_found_ = target_for<not_found_handler>();
    // Every verb of an unknown path is a 404, not a 405.
    for (auto& v : not_found_.verbs) v = not_found_.verbs[0];
}

application::~application() = default;

application& application::add_route(std::string pattern, std::string name, handler_target target) {
    auto r = std::make_unique<route>();
    r->pattern = std::move(pattern);
    r->name = std::move(name);
    r->target = std::move(target);
    if (is_literal(r->pattern)) {
        literal_.emplace(r->pattern, routes_.size());
    } else {
        r->re.emplace(r->pattern, std::regex::ECMAScript | std::regex::optimize);
        first_regex_ = std::min(first_regex_, routes_.size());
    }
    routes_.push_back(std::move(r));
    return *this;
}

application& application::add_fn(std::string pattern, verb v, handler_fn fn) {
    route* r = nullptr;
    for (auto& existing : routes_) {
        if (existing->from_functions && existing->pattern == pattern) r = existing.get();
    }
    if (!r) {
        handler_target t;
        t.make = [] { return std::make_unique<function_handler>(); };
        add_route(std::move(pattern), {}, std::move(t));
        r = routes_.back().get();
        r->from_functions = true;
    }
    r->target.verbs[static_cast<std::size_t>(v)] = [fn = std::move(fn)](request_handler& h,
                                                                      const std::vector<std::string>&) {
        return fn(h);
    };
    return *this;
}

std::optional<application::match> application::find(std::string_view path) const {
    if (auto it = literal_.find(path); it != literal_.end() && it->second < first_regex_)
        return match{&routes_[it->second]->target, {}};
    std::cmatch m;
    for (const auto& r : routes_) {
        if (!r->re) {
            if (r->pattern == path) return match{&r->target, {}};
            continue;
        }
        if (!std::regex_match(path.data(), path.data() + path.size(), m, *r->re)) continue;
        std::vector<std::string> args;
        for (std::size_t i = 1; i < m.size(); ++i) args.push_back(url_decode(m[i].str()));
        return match{&r->target, std::move(args)};
    }
    return std::nullopt;
}

std::string application::reverse_url(std::string_view name, const std::vector<std::string>& args) const {
    for (const auto& r : routes_) {
        if (r->name != name) continue;
        // Replace each top-level group of the pattern by the next argument.
        std::string out;
        std::size_t next = 0;
        int depth = 0;
        for (std::size_t i = 0; i < r->pattern.size(); ++i) {
            char c = r->pattern[i];
            if (c == '\\' && i + 1 < r->pattern.size()) {
                if (depth == 0) out += r->pattern[i + 1];
                ++i;
            } else if (c == '(') {
                if (depth++ == 0) out += path_escape(next < args.size() ? args[next++] : std::string());
            } else if (c == ')') {
                --depth;
            } else if (depth == 0 && c != '^' && c != '$') {
                out += c;
            }
        }
        return out;
    }
    throw std::invalid_argument("squall: no route named '" + std::string(name) + "'");
}

std::vector<std::string> application::patterns() const {
    std::vector<std::string> out;
    for (const auto& r : routes_) out.push_back(r->pattern);
    return out;
}

}  // namespace squall::http
