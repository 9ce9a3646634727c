// The HTTP verbs a handler may implement, and the compile-time detection
// of which ones a handler class has (used by application::add<H>).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <squall/engine/task.hpp>

namespace squall::http {

class request_handler;

enum class verb : std::uint8_t { get, head, post, put, delete_, patch, options };
inline constexpr std::size_t verb_count = 7;

std::optional<verb> parse_verb(std::string_view method) noexcept;
std::string_view verb_name(verb v) noexcept;

namespace detail {

using verb_call = std::function<task<void>(request_handler&, const std::vector<std::string>&)>;

inline std::string arg(const std::vector<std::string>& a, std::size_t i) { return i < a.size() ? a[i] : std::string(); }

// For each verb: a call when H declares it with 0 to 4 string parameters.
#define SQUALL_VERB_CALL(name)                                                                         \
    template <class H>                                                                                 \
    verb_call call_##name() {                                                                          \
        using S = std::string;                                                                         \
        if constexpr (requires(H& h) { h.name(); }) {                                                  \
            return [](request_handler& b, const std::vector<S>&) { return static_cast<H&>(b).name(); }; \
        } else if constexpr (requires(H& h, S s) { h.name(s); }) {                                    \
            return [](request_handler& b, const std::vector<S>& a) { return static_cast<H&>(b).name(arg(a, 0)); }; \
        } else if constexpr (requires(H& h, S s) { h.name(s, s); }) {                                 \
            return [](request_handler& b, const std::vector<S>& a) {                                   \
                return static_cast<H&>(b).name(arg(a, 0), arg(a, 1));                                  \
            };                                                                                         \
        } else if constexpr (requires(H& h, S s) { h.name(s, s, s); }) {                              \
            return [](request_handler& b, const std::vector<S>& a) {                                   \
                return static_cast<H&>(b).name(arg(a, 0), arg(a, 1), arg(a, 2));                       \
            };                                                                                         \
        } else if constexpr (requires(H& h, S s) { h.name(s, s, s, s); }) {                           \
            return [](request_handler& b, const std::vector<S>& a) {                                   \
                return static_cast<H&>(b).name(arg(a, 0), arg(a, 1), arg(a, 2), arg(a, 3));            \
            };                                                                                         \
        } else {                                                                                       \
            return {};                                                                                 \
        }                                                                                              \
    }
SQUALL_VERB_CALL(get)
SQUALL_VERB_CALL(head)
SQUALL_VERB_CALL(post)
SQUALL_VERB_CALL(put)
SQUALL_VERB_CALL(delete_)
SQUALL_VERB_CALL(patch)
SQUALL_VERB_CALL(options)
#undef SQUALL_VERB_CALL

template <class H>
std::array<verb_call, verb_count> verbs_of() {
    return {call_get<H>(), call_head<H>(), call_post<H>(), call_put<H>(), call_delete_<H>(), call_patch<H>(),
            call_options<H>()};
}

}  // namespace detail
}  // namespace squall::http
