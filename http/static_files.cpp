#include <squall/http/static_files.hpp>

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <map>
#include <mutex>
#include <stdexcept>
#include <system_error>
#include <unordered_map>

#include <squall/engine/crypto.hpp>
#include <squall/http/application.hpp>
#include <squall/http/detail/compress.hpp>
#include <squall/http/detail/connection.hpp>
#include <squall/http/detail/file_rules.hpp>
#include <squall/http/detail/handler_access.hpp>

namespace squall::http {
namespace {

int openat2_blocking(int dir, const std::string& rel) {
    open_how how{};
    how.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    return static_cast<int>(::syscall(SYS_openat2, dir, rel.empty() ? "." : rel.c_str(), &how, sizeof how));
}

std::mutex registry_mu;
std::map<const application*, std::shared_ptr<const static_root>>& registry() {
    static std::map<const application*, std::shared_ptr<const static_root>> m;
    return m;
}

}  // namespace

static_root::static_root(static_options o) : opts_(std::move(o)) {
    dir_ = unique_fd(::open(opts_.root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!dir_) throw std::system_error(errno, std::system_category(), "squall: static root " + opts_.root);
}

std::string static_root::version(std::string_view rel_path) const {
    struct cached {
        struct stat st;
        std::string hash;
    };
    static std::mutex mu;
    static std::unordered_map<std::string, cached> hashes;
    auto safe = detail::make_safe_path(rel_path, opts_.allow_dotfiles);
    if (safe.refuse || safe.dir) return {};
    unique_fd fd(openat2_blocking(dir_.get(), safe.rel));
    struct stat st {};
    if (!fd || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return {};
    std::string key = std::to_string(dir_.get()) + '/' + safe.rel;
    std::lock_guard lk(mu);
    auto it = hashes.find(key);
    if (it != hashes.end() && it->second.st.st_ino == st.st_ino && it->second.st.st_size == st.st_size &&
        it->second.st.st_mtim.tv_sec == st.st_mtim.tv_sec && it->second.st.st_mtim.tv_nsec == st.st_mtim.tv_nsec)
        return it->second.hash;
    std::string data(static_cast<std::size_t>(st.st_size), '\0');
    std::size_t got = 0;
    while (got < data.size()) {
        ssize_t n = ::pread(fd.get(), data.data() + got, data.size() - got, static_cast<off_t>(got));
        if (n <= 0) return {};
        got += static_cast<std::size_t>(n);
    }
    std::string hash = crypto::hex(crypto::sha1(data)).substr(0, 32);
    hashes[key] = cached{st, hash};
    return hash;
}

std::shared_ptr<const static_root> mount_static(application& app, std::string prefix, static_options opts) {
    if (prefix.empty() || prefix.front() != '/' || prefix.back() != '/')
        throw std::invalid_argument("squall: a static prefix starts and ends with '/'");
    auto root = std::make_shared<const static_root>(std::move(opts));
    std::string pattern;
    for (char c : prefix) {
        if (std::string_view(".^$|?*+()[]{}\\").find(c) != std::string_view::npos) pattern += '\\';
        pattern += c;
    }
    app.add<static_file_handler>(pattern + "(.*)", root, prefix, std::string());
    return root;
}

void mount_static_path(application& app) {
    const auto& s = app.settings();
    static_options o;
    o.root = s.static_path;
    o.compress = s.compress_response;
    auto root = mount_static(app, "/static/", o);
    app.add<static_file_handler>("/favicon.ico", root, std::string("/"), std::string("favicon.ico"));
    app.add<static_file_handler>("/robots.txt", root, std::string("/"), std::string("robots.txt"));
    std::lock_guard lk(registry_mu);
    registry()[&app] = root;
}

std::string static_url(const request_handler& h, std::string_view path) {
    std::shared_ptr<const static_root> root;
    {
        std::lock_guard lk(registry_mu);
        auto it = registry().find(&h.app());
        if (it != registry().end()) root = it->second;
    }
    if (!root) throw std::logic_error("squall: static_url needs app_settings::static_path");
    std::string url = "/static/" + std::string(path);
    std::string v = root->version(path);
    if (!v.empty()) url += "?v=" + v;
    return url;
}

}  // namespace squall::http
