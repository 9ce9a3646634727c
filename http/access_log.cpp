#include <squall/http/access_log.hpp>

#include <spdlog/spdlog.h>

namespace squall::http {

spdlog::level::level_enum access_level(int status) noexcept {
    if (status < 400) return spdlog::level::info;
    if (status < 500) return spdlog::level::warn;
    return spdlog::level::err;
}

void log_access(const access_entry& e) {
    if (e.note.empty()) {
        spdlog::log(access_level(e.status), "{} {} {} ({}) {:.2f}ms", e.status, e.method, e.target, e.remote_ip, e.ms);
    } else {
        spdlog::log(access_level(e.status), "{} {} {} ({}) {:.2f}ms: {}", e.status, e.method, e.target, e.remote_ip,
                    e.ms, e.note);
    }
}

}  // namespace squall::http
