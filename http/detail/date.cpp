// HTTP dates. See date.hpp.
#include <squall/http/detail/date.hpp>

#include <ctime>

namespace squall::http::detail {
namespace {

constexpr std::string_view days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr std::string_view long_days[] = {"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"};
constexpr std::string_view months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

// Days since 1970-01-01 of a proleptic Gregorian date, and back (Howard
// Hinnant's days_from_civil / civil_from_days algorithms).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept {
    y -= m <= 2;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const auto yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

struct civil {
    std::int64_t y;
    unsigned m, d;
};
civil civil_from_days(std::int64_t z) noexcept {
    z += 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const auto doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    const unsigned d = doy - (153 * mp + 2) / 5 + 1;
    const unsigned m = mp < 10 ? mp + 3 : mp - 9;
    return {static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2), m, d};
}

unsigned days_in_month(std::int64_t y, unsigned m) noexcept {
    static constexpr unsigned n[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : n[m - 1];
}

void put2(char* p, unsigned v) noexcept {
    p[0] = static_cast<char>('0' + v / 10);
    p[1] = static_cast<char>('0' + v % 10);
}

// A cursor over the text: each read consumes what it matched.
struct reader {
    std::string_view s;
    bool lit(std::string_view l) noexcept {
        if (!s.starts_with(l)) return false;
        s.remove_prefix(l.size());
        return true;
    }
    // Exactly n digits (a leading space instead of a digit when `space`).
    bool num(std::size_t n, unsigned* v, bool space = false) noexcept {
        if (s.size() < n) return false;
        *v = 0;
        for (std::size_t i = 0; i < n; ++i) {
            const char c = s[i];
            if (space && i == 0 && c == ' ') continue;
            if (c < '0' || c > '9') return false;
            *v = *v * 10 + static_cast<unsigned>(c - '0');
        }
        s.remove_prefix(n);
        return true;
    }
    int pick(const std::string_view* names, int n) noexcept {
        for (int i = 0; i < n; ++i) {
            if (lit(names[i])) return i;
        }
        return -1;
    }
    // "HH:MM:SS"
    bool clock(unsigned* h, unsigned* m, unsigned* sec) noexcept {
        return num(2, h) && lit(":") && num(2, m) && lit(":") && num(2, sec);
    }
};

struct fields {
    int wday = -1, month = -1;
    std::int64_t year = 0;
    unsigned day = 0, hour = 0, minute = 0, second = 0;
};

// Which of the three forms; false if none matched the whole text.
bool read_form(std::string_view text, fields& f) {
    reader r{text};
    unsigned y = 0;
    if (text.size() > 3 && text[3] == ',') {  // IMF-fixdate
        f.wday = r.pick(days, 7);
        if (!(r.lit(", ") && r.num(2, &f.day) && r.lit(" "))) return false;
        f.month = r.pick(months, 12);
        if (!(r.lit(" ") && r.num(4, &y) && r.lit(" ") && r.clock(&f.hour, &f.minute, &f.second) && r.lit(" GMT")))
            return false;
        f.year = y;
    } else if (text.find(',') != std::string_view::npos) {  // RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT"
        f.wday = r.pick(long_days, 7);
        if (!(r.lit(", ") && r.num(2, &f.day) && r.lit("-"))) return false;
        f.month = r.pick(months, 12);
        if (!(r.lit("-") && r.num(2, &y) && r.lit(" ") && r.clock(&f.hour, &f.minute, &f.second) && r.lit(" GMT")))
            return false;
        std::time_t now = std::time(nullptr);
        std::tm tm{};
        ::gmtime_r(&now, &tm);
        const std::int64_t this_year = tm.tm_year + 1900;
        f.year = this_year / 100 * 100 + y;
        if (f.year > this_year + 50) f.year -= 100;
        else if (f.year <= this_year - 50) f.year += 100;
    } else {  // asctime: "Sun Nov  6 08:49:37 1994"
        f.wday = r.pick(days, 7);
        if (!r.lit(" ")) return false;
        f.month = r.pick(months, 12);
        if (!(r.lit(" ") && r.num(2, &f.day, true) && r.lit(" ") && r.clock(&f.hour, &f.minute, &f.second) &&
              r.lit(" ") && r.num(4, &y)))
            return false;
        f.year = y;
    }
    return r.s.empty() && f.wday >= 0 && f.month >= 0;
}

}  // namespace

void write_imf_fixdate(char* out, std::int64_t unix_seconds) noexcept {
    constexpr std::int64_t day = 86400, last = 253402300799;  // 9999-12-31T23:59:59
    if (unix_seconds > last) unix_seconds = last;
    std::int64_t days_since = unix_seconds / day, rem = unix_seconds % day;
    if (rem < 0) {
        rem += day;
        --days_since;
    }
    const civil c = civil_from_days(days_since);
    const auto wday = static_cast<unsigned>(((days_since % 7) + 11) % 7);  // 1970-01-01 was a Thursday
    const auto year = static_cast<unsigned>(c.y < 0 ? 0 : c.y);
    out[0] = days[wday][0], out[1] = days[wday][1], out[2] = days[wday][2];
    out[3] = ',', out[4] = ' ';
    put2(out + 5, c.d);
    out[7] = ' ';
    out[8] = months[c.m - 1][0], out[9] = months[c.m - 1][1], out[10] = months[c.m - 1][2];
    out[11] = ' ';
    put2(out + 12, year / 100);
    put2(out + 14, year % 100);
    out[16] = ' ';
    put2(out + 17, static_cast<unsigned>(rem / 3600));
    out[19] = ':';
    put2(out + 20, static_cast<unsigned>(rem / 60 % 60));
    out[22] = ':';
    put2(out + 23, static_cast<unsigned>(rem % 60));
    out[25] = ' ', out[26] = 'G', out[27] = 'M', out[28] = 'T';
}

std::string format_http_date(std::int64_t unix_seconds) {
    std::string s(imf_fixdate_size, '\0');
    write_imf_fixdate(s.data(), unix_seconds);
    return s;
}

std::optional<std::int64_t> parse_http_date(std::string_view text) {
    fields f;
    if (!read_form(text, f)) return std::nullopt;
    const auto month = static_cast<unsigned>(f.month + 1);
    if (f.day < 1 || f.day > days_in_month(f.year, month) || f.hour > 23 || f.minute > 59 || f.second > 60)
        return std::nullopt;
    const std::int64_t d = days_from_civil(f.year, month, f.day);
    if (((d % 7) + 11) % 7 != f.wday) return std::nullopt;
    return d * 86400 + f.hour * 3600 + f.minute * 60 + f.second;
}

std::string_view http_date() noexcept {
    thread_local std::time_t cached_second = -1;
    thread_local char text[imf_fixdate_size];
    timespec now;
    ::clock_gettime(CLOCK_REALTIME_COARSE, &now);
    if (now.tv_sec != cached_second) {
        cached_second = now.tv_sec;
        write_imf_fixdate(text, now.tv_sec);
    }
    return {text, imf_fixdate_size};
}

}  // namespace squall::http::detail
