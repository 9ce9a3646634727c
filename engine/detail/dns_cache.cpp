#include <squall/engine/detail/dns_cache.hpp>

#include <algorithm>

namespace squall::detail {

const dns_answer* dns_cache::find(const std::string& key, clock::time_point now) {
    auto it = map_.find(key);
    if (it == map_.end()) return nullptr;
    if (it->second.expires <= now) {
        map_.erase(it);
        return nullptr;
    }
    return &it->second.answer;
}

void dns_cache::put(const std::string& key, dns_answer answer, clock::time_point expires, clock::time_point now) {
    if (expires <= now || max_ == 0) return;
    auto it = map_.find(key);
    if (it != map_.end()) {
        it->second = entry{std::move(answer), expires};
        return;
    }
    if (map_.size() >= max_) make_room(now);
    map_.emplace(key, entry{std::move(answer), expires});
}

void dns_cache::make_room(clock::time_point now) {
    std::erase_if(map_, [now](const auto& kv) { return kv.second.expires <= now; });
    while (map_.size() >= max_) {
        auto soonest = std::min_element(
            map_.begin(), map_.end(), [](const auto& a, const auto& b) { return a.second.expires < b.second.expires; });
        map_.erase(soonest);
    }
}

}  // namespace squall::detail
