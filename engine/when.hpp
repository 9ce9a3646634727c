// when_all / when_any: run several tasks concurrently on this loop and
// wait for them (Tornado's gen.multi and asyncio.wait(FIRST_COMPLETED)).
//
// Both are structured: they return only once every child has finished, so
// children never outlive the awaiting task. The children run under a
// cancel source linked to the awaiter's token.
// - when_all yields every child's value (std::monostate for task<void>) in
//   argument order. When a child throws, the others are cancelled, and
//   once all have finished the first exception (in argument order) is
//   rethrown.
// - when_any yields the index and value of the first child to finish
//   (std::variant for the variadic form); the others are cancelled and
//   awaited. If the first to finish threw, that exception is rethrown.
// Tasks are taken by value (moved in). Loop thread only.
// Tests: tests/engine/when_test.cpp.
#pragma once

#include <array>
#include <coroutine>
#include <cstddef>
#include <exception>
#include <optional>
#include <stdexcept>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <squall/engine/cancel.hpp>
#include <squall/engine/task.hpp>

namespace squall {

template <class T>
using value_or_monostate = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

namespace detail {

struct join_state {
    static constexpr std::size_t none = static_cast<std::size_t>(-1);
    std::size_t remaining = 0;  // children still running, plus one for the starter
    std::coroutine_handle<> parent;
    cancel_source* siblings = nullptr;
    bool cancel_on_first = false;  // when_any
    std::size_t first = none;

    void child_done(std::size_t index, bool failed) noexcept {
        if (first == none) {
            first = index;
            if (cancel_on_first) siblings->request_cancel();
        }
        if (failed) siblings->request_cancel();
    }
};

struct join_promise;

struct join_task {
    using promise_type = join_promise;
    std::coroutine_handle<join_promise> h;
    explicit join_task(std::coroutine_handle<join_promise> handle) noexcept : h(handle) {}
    join_task(join_task&& o) noexcept : h(std::exchange(o.h, {})) {}
    join_task(const join_task&) = delete;
    ~join_task() {
        if (h) h.destroy();
    }
};

struct join_promise : promise_base {
    join_state* state = nullptr;

    struct final_awaiter {
        bool await_ready() const noexcept { return false; }
        std::coroutine_handle<> await_suspend(std::coroutine_handle<join_promise> h) noexcept {
            join_state* st = h.promise().state;
            if (--st->remaining == 0) return st->parent;
            return std::noop_coroutine();
        }
        void await_resume() const noexcept {}
    };

    join_task get_return_object() noexcept {
        return join_task(std::coroutine_handle<join_promise>::from_promise(*this));
    }
    final_awaiter final_suspend() const noexcept { return {}; }
    void return_void() const noexcept {}
};

template <class T>
join_task join_one(task<T> t, std::optional<value_or_monostate<T>>* out, std::exception_ptr* err, join_state* st,
                   std::size_t index) {
    bool failed = false;
    try {
        if constexpr (std::is_void_v<T>) {
            co_await std::move(t);
            out->emplace();
        } else {
            out->emplace(co_await std::move(t));
        }
    } catch (...) {
        *err = std::current_exception();
        failed = true;
    }
    st->child_done(index, failed);
}

// Starts every child, then suspends the awaiter until the last finishes.
template <class Joins>
struct start_joins {
    Joins* joins;
    join_state* st;
    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> parent) noexcept {
        st->parent = parent;
        for (join_task& j : *joins) {
            j.h.promise().state = st;
            j.h.promise().cancel_ = st->siblings->token().state();
            j.h.resume();
        }
        return --st->remaining != 0;
    }
    void await_resume() const noexcept {}
};

template <class Joins>
task<void> run_joins(Joins* joins, join_state* st, bool cancel_on_first) {
    cancel_source siblings(co_await current_cancel_token());
    st->siblings = &siblings;
    st->cancel_on_first = cancel_on_first;
    st->remaining = joins->size() + 1;
    co_await start_joins<Joins>{joins, st};
}

}  // namespace detail

template <class... Ts>
task<std::tuple<value_or_monostate<Ts>...>> when_all(task<Ts>... ts) {
    std::tuple<std::optional<value_or_monostate<Ts>>...> outs;
    std::array<std::exception_ptr, sizeof...(Ts)> errs;
    detail::join_state st;
    auto joins = [&]<std::size_t... I>(std::index_sequence<I...>) {
        return std::array<detail::join_task, sizeof...(Ts)>{
            detail::join_one(std::move(ts), &std::get<I>(outs), &errs[I], &st, I)...};
    }
    (std::index_sequence_for<Ts...>{});
    co_await detail::run_joins(&joins, &st, false);
    for (auto& e : errs) {
        if (e) std::rethrow_exception(e);
    }
    co_return std::apply([](auto&... o) { return std::tuple<value_or_monostate<Ts>...>(std::move(*o)...); }, outs);
}

template <class T>
task<std::vector<value_or_monostate<T>>> when_all(std::vector<task<T>> ts) {
    std::vector<std::optional<value_or_monostate<T>>> outs(ts.size());
    std::vector<std::exception_ptr> errs(ts.size());
    detail::join_state st;
    std::vector<detail::join_task> joins;
    joins.reserve(ts.size());
    for (std::size_t i = 0; i < ts.size(); ++i)
        joins.push_back(detail::join_one(std::move(ts[i]), &outs[i], &errs[i], &st, i));
    co_await detail::run_joins(&joins, &st, false);
    for (auto& e : errs) {
        if (e) std::rethrow_exception(e);
    }
    std::vector<value_or_monostate<T>> values;
    values.reserve(outs.size());
    for (auto& o : outs) values.push_back(std::move(*o));
    co_return values;
}

template <class... Ts>
task<std::variant<value_or_monostate<Ts>...>> when_any(task<Ts>... ts) {
    static_assert(sizeof...(Ts) > 0, "when_any needs at least one task");
    std::tuple<std::optional<value_or_monostate<Ts>>...> outs;
    std::array<std::exception_ptr, sizeof...(Ts)> errs;
    detail::join_state st;
    auto joins = [&]<std::size_t... I>(std::index_sequence<I...>) {
        return std::array<detail::join_task, sizeof...(Ts)>{
            detail::join_one(std::move(ts), &std::get<I>(outs), &errs[I], &st, I)...};
    }
    (std::index_sequence_for<Ts...>{});
    co_await detail::run_joins(&joins, &st, true);
    if (errs[st.first]) std::rethrow_exception(errs[st.first]);
    using variant_t = std::variant<value_or_monostate<Ts>...>;
    co_return [&]<std::size_t... I>(std::index_sequence<I...>) {
        std::optional<variant_t> v;
        ((st.first == I ? (void)v.emplace(std::in_place_index<I>, std::move(*std::get<I>(outs))) : void()), ...);
        return std::move(*v);
    }
    (std::index_sequence_for<Ts...>{});
}

template <class T>
task<std::pair<std::size_t, value_or_monostate<T>>> when_any(std::vector<task<T>> ts) {
    if (ts.empty()) throw std::invalid_argument("squall: when_any of no tasks");
    std::vector<std::optional<value_or_monostate<T>>> outs(ts.size());
    std::vector<std::exception_ptr> errs(ts.size());
    detail::join_state st;
    std::vector<detail::join_task> joins;
    joins.reserve(ts.size());
    for (std::size_t i = 0; i < ts.size(); ++i)
        joins.push_back(detail::join_one(std::move(ts[i]), &outs[i], &errs[i], &st, i));
    co_await detail::run_joins(&joins, &st, true);
    if (errs[st.first]) std::rethrow_exception(errs[st.first]);
    co_return std::pair<std::size_t, value_or_monostate<T>>(st.first, std::move(*outs[st.first]));
}

}  // namespace squall
