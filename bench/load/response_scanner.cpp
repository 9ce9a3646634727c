// response_scanner: see response_scanner.hpp.
#include "load/response_scanner.hpp"

#include <algorithm>

namespace squall::load {

namespace {

char lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (lower(a[i]) != b[i]) return false;
    return true;
}

// Whether the comma-separated list `value` holds `token` (lower case).
bool has_token(std::string_view value, std::string_view token) noexcept {
    while (!value.empty()) {
        std::size_t comma = value.find(',');
        std::string_view item = value.substr(0, comma);
        while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
        while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
        if (iequals(item, token)) return true;
        if (comma == std::string_view::npos) break;
        value.remove_prefix(comma + 1);
    }
    return false;
}

int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    c = lower(c);
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

}  // namespace

bool response_scanner::fail(const char* why) {
    error_ = why;
    return false;
}

void response_scanner::reset_message() noexcept {
    state_ = state::head;
    info_ = {};
    done_ = false;
    chunked_ = false;
    has_length_ = false;
    length_ = 0;
    remaining_ = 0;
    size_digits_ = 0;
    trailer_empty_ = true;
}

bool response_scanner::step(std::string_view data, std::size_t& used) {
    switch (state_) {
        case state::head: return scan_head(data, used);
        case state::body_length:
        case state::body_until_close: return scan_body(data, used);
        default: return scan_chunked(data, used);
    }
}

bool response_scanner::scan_head(std::string_view data, std::size_t& used) {
    static constexpr std::string_view end = "\r\n\r\n";
    std::size_t old = head_.size();
    std::size_t pos;
    if (old == 0) {
        pos = data.find(end);
        if (pos == std::string_view::npos) {
            if (data.size() > max_head) return fail("response head too long");
            head_.assign(data);
            used = data.size();
            return true;
        }
        used = pos + end.size();
        if (!parse_head(data.substr(0, used))) return false;
    } else {
        head_.append(data.substr(0, std::min(data.size(), max_head + end.size())));
        pos = head_.find(end, old >= 3 ? old - 3 : 0);
        if (pos == std::string::npos) {
            if (head_.size() > max_head) return fail("response head too long");
            used = data.size();
            return true;
        }
        used = pos + end.size() - old;
        if (!parse_head(std::string_view(head_).substr(0, pos + end.size()))) return false;
        head_.clear();
    }
    info_.wire_bytes = pos + end.size();
    begin_body();
    return true;
}

bool response_scanner::parse_head(std::string_view head) {
    // "HTTP/1.x SSS[ reason]\r\n"
    if (head.size() < 14 || head.substr(0, 7) != "HTTP/1." || (head[7] != '0' && head[7] != '1') || head[8] != ' ')
        return fail("malformed status line");
    int status = 0;
    for (std::size_t i = 9; i < 12; ++i) {
        if (head[i] < '0' || head[i] > '9') return fail("malformed status code");
        status = status * 10 + (head[i] - '0');
    }
    if (head[12] != ' ' && head[12] != '\r') return fail("malformed status line");
    info_.status = status;
    info_.close = head[7] == '0';  // HTTP/1.0 closes unless it says keep-alive
    std::size_t line_end = head.find("\r\n");
    std::string_view rest = head.substr(line_end + 2);
    while (rest.size() > 2) {  // the final "\r\n" ends the head
        std::size_t eol = rest.find("\r\n");
        std::string_view line = rest.substr(0, eol);
        rest.remove_prefix(eol + 2);
        if (line.empty() || line.front() == ' ' || line.front() == '\t') return fail("malformed header line");
        std::size_t colon = line.find(':');
        if (colon == std::string_view::npos || colon == 0) return fail("malformed header line");
        std::string_view value = line.substr(colon + 1);
        while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
        while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
        if (!parse_header(line.substr(0, colon), value)) return false;
    }
    if (chunked_ && has_length_) return fail("both Content-Length and chunked");
    return true;
}

bool response_scanner::parse_header(std::string_view name, std::string_view value) {
    switch (lower(name.front())) {
        case 'c':
            if (iequals(name, "content-length")) {
                if (value.empty() || value.size() > 18) return fail("bad Content-Length");
                std::uint64_t n = 0;
                for (char c : value) {
                    if (c < '0' || c > '9') return fail("bad Content-Length");
                    n = n * 10 + static_cast<std::uint64_t>(c - '0');
                }
                if (has_length_ && n != length_) return fail("conflicting Content-Length headers");
                has_length_ = true;
                length_ = n;
            } else if (iequals(name, "connection")) {
                if (has_token(value, "close")) info_.close = true;
                else if (has_token(value, "keep-alive")) info_.close = false;
            }
            return true;
        case 't':
            if (iequals(name, "transfer-encoding")) {
                if (!has_token(value, "chunked")) return fail("unsupported Transfer-Encoding");
                chunked_ = true;
            }
            return true;
        default: return true;
    }
}

void response_scanner::begin_body() {
    int s = info_.status;
    if (s >= 100 && s < 200 && s != 101) {  // interim (100 Continue): the real response follows
        reset_message();
        return;
    }
    if (head_request_ || s == 101 || s == 204 || s == 304) {
        done_ = true;
    } else if (chunked_) {
        state_ = state::chunk_size;
    } else if (has_length_) {
        remaining_ = length_;
        state_ = state::body_length;
        done_ = remaining_ == 0;
    } else {
        state_ = state::body_until_close;
        info_.close = true;
    }
}

bool response_scanner::scan_body(std::string_view data, std::size_t& used) {
    std::uint64_t n = data.size();
    if (state_ == state::body_length) n = std::min<std::uint64_t>(n, remaining_);
    used = static_cast<std::size_t>(n);
    info_.body_bytes += n;
    info_.wire_bytes += n;
    if (state_ == state::body_length) {
        remaining_ -= n;
        done_ = remaining_ == 0;
    }
    return true;
}

bool response_scanner::scan_chunked(std::string_view data, std::size_t& used) {
    std::size_t i = 0;
    while (i < data.size() && !done_) {
        char c = data[i];
        switch (state_) {
            case state::chunk_size: {
                int v = hex_value(c);
                if (v >= 0) {
                    if (++size_digits_ > 15) return fail("chunk size too large");
                    remaining_ = remaining_ * 16 + static_cast<unsigned>(v);
                } else if (size_digits_ == 0) {
                    return fail("malformed chunk size");
                } else if (c == ';' || c == ' ' || c == '\t') {
                    state_ = state::chunk_ext;
                } else if (c == '\r') {
                    state_ = state::chunk_size_lf;
                } else {
                    return fail("malformed chunk size");
                }
                ++i;
                break;
            }
            case state::chunk_ext:
                if (c == '\r') state_ = state::chunk_size_lf;
                ++i;
                break;
            case state::chunk_size_lf:
                if (c != '\n') return fail("malformed chunk size line");
                state_ = remaining_ == 0 ? state::trailer_line : state::chunk_data;
                trailer_empty_ = true;
                ++i;
                break;
            case state::chunk_data: {
                std::uint64_t n = std::min<std::uint64_t>(remaining_, data.size() - i);
                remaining_ -= n;
                info_.body_bytes += n;
                i += static_cast<std::size_t>(n);
                if (remaining_ == 0) state_ = state::chunk_data_cr;
                break;
            }
            case state::chunk_data_cr:
                if (c != '\r') return fail("chunk data longer than its size");
                state_ = state::chunk_data_lf;
                ++i;
                break;
            case state::chunk_data_lf:
                if (c != '\n') return fail("chunk data longer than its size");
                state_ = state::chunk_size;
                size_digits_ = 0;
                remaining_ = 0;
                ++i;
                break;
            case state::trailer_line:
                if (c == '\r') state_ = state::trailer_lf;
                else trailer_empty_ = false;
                ++i;
                break;
            case state::trailer_lf:
                if (c != '\n') return fail("malformed trailer");
                if (trailer_empty_) done_ = true;
                state_ = state::trailer_line;
                trailer_empty_ = true;
                ++i;
                break;
            default: return fail("scanner state");
        }
    }
    used = i;
    info_.wire_bytes += i;
    return true;
}

}  // namespace squall::load
