#include <squall/http/template.hpp>

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <kainjow/mustache.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <unordered_map>

#include <squall/engine/socket.hpp>
#include <squall/http/application.hpp>
#include <squall/http/handler.hpp>

namespace squall::http {
namespace {

namespace mst = kainjow::mustache;
using steady = std::chrono::steady_clock;

struct file_text {
    std::string text;
    struct stat st {};
};

// The file `name` beneath `dir` (RESOLVE_BENEATH): nothing outside it.
file_text read_beneath(const std::string& dir, std::string_view name) {
    unique_fd root(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root) throw std::runtime_error("squall: template_path " + dir + ": " + std::strerror(errno));
    open_how how{};
    how.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    std::string path(name);
    unique_fd fd(static_cast<int>(::syscall(SYS_openat2, root.get(), path.c_str(), &how, sizeof how)));
    file_text out;
    if (!fd || ::fstat(fd.get(), &out.st) != 0 || !S_ISREG(out.st.st_mode))
        throw std::runtime_error("squall: no template " + path + " under " + dir);
    out.text.resize(static_cast<std::size_t>(out.st.st_size));
    std::size_t got = 0;
    while (got < out.text.size()) {
        ssize_t n = ::pread(fd.get(), out.text.data() + got, out.text.size() - got, static_cast<off_t>(got));
        if (n <= 0) break;
        got += static_cast<std::size_t>(n);
    }
    out.text.resize(got);
    return out;
}

bool same_file(const struct stat& a, const struct stat& b) noexcept {
    return a.st_ino == b.st_ino && a.st_size == b.st_size && a.st_mtim.tv_sec == b.st_mtim.tv_sec &&
           a.st_mtim.tv_nsec == b.st_mtim.tv_nsec;
}

struct compiled {
    std::unique_ptr<mst::mustache> tmpl;
    struct stat st {};
    steady::time_point checked;
};

// This thread's compiled template for dir/name, checked once a second.
mst::mustache& template_for(const std::string& dir, std::string_view name) {
    thread_local std::unordered_map<std::string, compiled> cache;
    std::string key = dir + '\0' + std::string(name);
    auto now = steady::now();
    auto it = cache.find(key);
    if (it != cache.end() && now - it->second.checked < std::chrono::seconds(1)) return *it->second.tmpl;
    file_text f = read_beneath(dir, name);
    if (it != cache.end() && same_file(it->second.st, f.st)) {
        it->second.checked = now;
        return *it->second.tmpl;
    }
    auto t = std::make_unique<mst::mustache>(f.text);
    if (!t->is_valid()) throw std::runtime_error("squall: template " + std::string(name) + ": " + t->error_message());
    auto& slot = cache[key];
    slot = compiled{std::move(t), f.st, now};
    return *slot.tmpl;
}

mst::data to_data(const nlohmann::json& v) {
    switch (v.type()) {
        case nlohmann::json::value_t::object: {
            mst::data d{mst::data::type::object};
            for (const auto& [k, item] : v.items()) d.set(k, to_data(item));
            return d;
        }
        case nlohmann::json::value_t::array: {
            mst::data d{mst::data::type::list};
            for (const auto& item : v) d.push_back(to_data(item));
            return d;
        }
        case nlohmann::json::value_t::string: return mst::data(v.get<std::string>());
        case nlohmann::json::value_t::boolean: return mst::data(v.get<bool>());
        case nlohmann::json::value_t::null: return mst::data(false);
        default: return mst::data(v.dump());
    }
}

// Values first, then partials: files of the template folder, read when a
// template first names them (a missing one renders empty, as the spec says).
class folder_context : public mst::context<std::string> {
public:
    folder_context(const mst::data* d, std::string dir) : mst::context<std::string>(d), dir_(std::move(dir)) {}
    const mst::data* get_partial(const std::string& name) const override {
        if (const mst::data* v = mst::context<std::string>::get_partial(name)) return v;
        auto& slot = partials_[name];
        if (!slot) {
            std::string text;
            try {
                text = read_beneath(dir_, name).text;
            } catch (const std::runtime_error&) {}
            slot = std::make_unique<mst::data>(mst::partial([text] { return text; }));
        }
        return slot.get();
    }

private:
    std::string dir_;
    mutable std::unordered_map<std::string, std::unique_ptr<mst::data>> partials_;
};

}  // namespace

std::string render_string(const application& app, std::string_view name, const nlohmann::json& values) {
    const std::string& dir = app.settings().template_path;
    if (dir.empty()) throw std::runtime_error("squall: render needs app_settings::template_path");
    return render_file(dir, name, values);
}

std::string render_file(const std::string& dir, std::string_view name, const nlohmann::json& values) {
    mst::mustache& t = template_for(dir, name);
    mst::data d = to_data(values);
    folder_context ctx(&d, dir);
    std::string out = t.render(ctx);
    if (!t.is_valid()) throw std::runtime_error("squall: template " + std::string(name) + ": " + t.error_message());
    return out;
}

void render(request_handler& h, std::string_view name, const nlohmann::json& values) {
    std::string page = render_string(h.app(), name, values);
    h.set_header("Content-Type", "text/html; charset=UTF-8");
    h.finish(page);
}

}  // namespace squall::http
