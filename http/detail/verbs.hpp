// The compile-time detection of which verbs (http/verb.hpp) a handler
// class has (used by application::add<H>). Private to http/.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <squall/engine/task.hpp>
#include <squall/http/verb.hpp>

namespace squall::http {

class request_handler;

namespace detail {

using verb_call = std::function<task<void>(request_handler&, const std::vector<std::string>&)>;

// The i-th path argument. The vector is the request's own (it lives until
// the request is finished), so a verb declared with `const std::string&`
// or `std::string_view` parameters gets references into it that stay
// valid across its co_awaits; a missing group is a static empty string.
inline const std::string& arg(const std::vector<std::string>& a, std::size_t i) {
    static const std::string none;
    return i < a.size() ? a[i] : none;
}

template <class>
inline constexpr bool always_false = false;

// For each verb: a call when H declares it with 0 to 4 parameters that
// take a path argument (std::string, const std::string&, std::string_view).
// A verb of another shape (an int or std::string& parameter, a result
// other than task<void>) is a compile error naming it, never a silent 405.
// Not formatted: clang-format 14 reads `H& h` in a requires-expression
// as a binary `&` and would print `H & h`.
// clang-format off
#define SQUALL_VERB_CALL(name)                                                                          \
    template <class H>                                                                                  \
    verb_call call_##name() {                                                                           \
        using S = const std::string&;                                                                   \
        if constexpr (requires(H& h) { h.name(); }) {                                                   \
            static_assert(std::is_same_v<decltype(std::declval<H&>().name()), task<void>>,              \
                          "squall: verb " #name "() must return task<void> (a coroutine)");             \
            return [](request_handler& b, const std::vector<std::string>&) { return static_cast<H&>(b).name(); }; \
        } else if constexpr (requires(H& h, S s) { h.name(s); }) {                                     \
            static_assert(std::is_same_v<decltype(std::declval<H&>().name(arg({}, 0))), task<void>>,    \
                          "squall: verb " #name "() must return task<void> (a coroutine)");             \
            return [](request_handler& b, const std::vector<std::string>& a) { return static_cast<H&>(b).name(arg(a, 0)); }; \
        } else if constexpr (requires(H& h, S s) { h.name(s, s); }) {                                  \
            return [](request_handler& b, const std::vector<std::string>& a) {                          \
                return static_cast<H&>(b).name(arg(a, 0), arg(a, 1));                                   \
            };                                                                                          \
        } else if constexpr (requires(H& h, S s) { h.name(s, s, s); }) {                               \
            return [](request_handler& b, const std::vector<std::string>& a) {                          \
                return static_cast<H&>(b).name(arg(a, 0), arg(a, 1), arg(a, 2));                        \
            };                                                                                          \
        } else if constexpr (requires(H& h, S s) { h.name(s, s, s, s); }) {                            \
            return [](request_handler& b, const std::vector<std::string>& a) {                          \
                return static_cast<H&>(b).name(arg(a, 0), arg(a, 1), arg(a, 2), arg(a, 3));             \
            };                                                                                          \
        } else if constexpr (requires { requires std::is_member_function_pointer_v<decltype(&H::name)>; }) { \
            static_assert(always_false<H>,                                                              \
                          "squall: verb " #name "() has parameters a route cannot pass: it takes 0 to 4 " \
                          "std::string, const std::string& or std::string_view, one per capture group"); \
            return {};                                                                                  \
        } else {                                                                                        \
            return {};                                                                                  \
        }                                                                                               \
    }
// clang-format on
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
    return {call_get<H>(),     call_head<H>(),  call_post<H>(),   call_put<H>(),
            call_delete_<H>(), call_patch<H>(), call_options<H>()};
}

}  // namespace detail
}  // namespace squall::http
