// What every byte_stream shares: gathering reads. See byte_stream.hpp.
#include <squall/engine/byte_stream.hpp>

namespace squall {

buffer_lease byte_stream::take_spill() noexcept {
    auto rest = std::as_writable_bytes(std::span(spill_)).subspan(spill_pos_);
    spill_pos_ = spill_.size();
    return buffer_lease(rest);
}

task<result<std::string_view>> byte_stream::read_until(std::string delim, std::size_t max) {
    spill_.erase(0, spill_pos_);
    spill_pos_ = 0;
    std::size_t scanned = 0;
    for (;;) {
        std::size_t pos = delim.empty() ? std::string::npos : spill_.find(delim, scanned);
        if (pos != std::string::npos) {
            if (pos + delim.size() > max) co_return errc::too_long;
            spill_pos_ = pos + delim.size();
            co_return std::string_view(spill_).substr(0, spill_pos_);
        }
        if (spill_.size() >= max) co_return errc::too_long;
        scanned = spill_.size() >= delim.size() ? spill_.size() - delim.size() + 1 : 0;
        auto got = co_await read_awaitable(this, true);
        if (!got) co_return got.error();
        auto bytes = got->bytes();
        spill_.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    }
}

task<result<std::span<const std::byte>>> byte_stream::read_exactly(std::size_t n) {
    spill_.erase(0, spill_pos_);
    spill_pos_ = 0;
    while (spill_.size() < n) {
        auto got = co_await read_awaitable(this, true);
        if (!got) co_return got.error();
        auto bytes = got->bytes();
        spill_.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    }
    spill_pos_ = n;
    co_return std::as_bytes(std::span(spill_)).first(n);
}

}  // namespace squall
