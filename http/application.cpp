// GCC 12 with sanitizers at -O1 warns that std::function members of
// <regex>'s compiled states "may be used uninitialized" (a false positive
// inside libstdc++), which -Werror turns into a failed ASan build.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <squall/http/application.hpp>

#include <algorithm>
#include <stdexcept>

#include <squall/http/static_files.hpp>
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

// Python's named groups, (?P<name>...), which std::regex does not know,
// become plain groups (their names kept in `names`, in order); the
// arguments are passed by position. A named backreference is refused.
std::string translate_named_groups(const std::string& pattern, std::vector<std::string>& names) {
    std::string out;
    bool in_class = false;
    for (std::size_t i = 0; i < pattern.size(); ++i) {
        char c = pattern[i];
        if (c == '\\' && i + 1 < pattern.size()) {
            out += c;
            out += pattern[++i];
            continue;
        }
        if (in_class || c != '(' || pattern.compare(i, 3, "(?P") != 0) {
            in_class = c == '[' ? true : c == ']' ? false : in_class;
            out += c;
            continue;
        }
        std::size_t close = pattern.find('>', i);
        if (pattern.compare(i, 4, "(?P<") != 0 || close == std::string::npos)
            throw std::invalid_argument("squall: route '" + pattern +
                                        "': only (?P<name>...) of Python's (?P syntax is supported");
        names.push_back(pattern.substr(i + 4, close - i - 4));
        out += '(';
        i = close;
    }
    return out;
}

// Handler for routes given as plain functions: one per verb. It holds
// nothing of its own and is made per request, so it comes from the
// thread's recycled blocks (engine/frame_alloc.cpp) rather than the heap.
class function_handler final : public request_handler {
public:
    static void* operator new(std::size_t n) { return squall::detail::frame_alloc(n); }
    static void operator delete(void* p, std::size_t n) noexcept { squall::detail::frame_free(p, n); }
};

task<void> not_found_verb(request_handler& h) {
    h.send_error(404);
    co_return;
}

// Serves 404 for paths no route matches.
class not_found_handler final : public request_handler {};

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
        bool has = verbs[i] || (i == static_cast<std::size_t>(verb::head) && verbs[0] && head_from_get);
        if (!has) continue;
        if (!allow.empty()) allow += ", ";
        allow += verb_names[i];
    }
    return allow;
}

bool handler_target::knows(std::string_view method) const noexcept {
    for (std::string_view m : extra_methods) {
        if (m == method) return true;
    }
    return false;
}

void application::restrict_methods(handler_target& t, const std::vector<std::string_view>& names) {
    auto listed = [&](std::string_view m) { return std::find(names.begin(), names.end(), m) != names.end(); };
    for (std::size_t i = 0; i < verb_count; ++i) {
        if (!listed(verb_names[i])) t.verbs[i] = {};
    }
    t.head_from_get = listed("HEAD");
    for (std::string_view m : names) {
        if (!parse_verb(m)) t.extra_methods.push_back(m);
    }
}

void application::answer_404_for_every_verb(handler_target& t) {
    for (auto& v : t.verbs) {
        if (!v) v = [](request_handler& h, const std::vector<std::string>&) { return not_found_verb(h); };
    }
}

struct application::route {
    std::string pattern;
    std::string name;
    std::optional<std::regex> re;          // none: a literal path
    std::vector<std::string> group_names;  // of (?P<name>...) groups, in order
    handler_target target;
    bool from_functions = false;
};

application::application(app_settings settings) : settings_(std::move(settings)) {
    not_found_ = target_for<not_found_handler>();
    // Every verb of an unknown path is a 404, not a 405.
    answer_404_for_every_verb(not_found_);
    if (!settings_.static_path.empty()) mount_static_path(*this);
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
        try {
            r->re.emplace(translate_named_groups(r->pattern, r->group_names),
                          std::regex::ECMAScript | std::regex::optimize);
        } catch (const std::regex_error& e) {
            throw std::invalid_argument("squall: route '" + r->pattern + "' is not a valid regex: " + e.what());
        }
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
        t.has_prepare = false;
        add_route(std::move(pattern), {}, std::move(t));
        r = routes_.back().get();
        r->from_functions = true;
    }
    r->target.verbs[static_cast<std::size_t>(v)] =
        [fn = std::move(fn)](request_handler& h, const std::vector<std::string>&) { return fn(h); };
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
