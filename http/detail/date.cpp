#include <squall/http/detail/date.hpp>

#include <ctime>

namespace squall::http::detail {

std::string_view http_date() noexcept {
    thread_local std::time_t cached_second = -1;
    thread_local char text[40];
    thread_local std::size_t len = 0;
    timespec now;
    ::clock_gettime(CLOCK_REALTIME_COARSE, &now);
    if (now.tv_sec != cached_second) {
        cached_second = now.tv_sec;
        std::tm tm;
        ::gmtime_r(&cached_second, &tm);
        len = std::strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    }
    return {text, len};
}

}  // namespace squall::http::detail
