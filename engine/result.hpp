// result<T> and squall's engine error codes.
//
// Hot paths return result<T>: a value or a std::error_code. Kernel errors
// (-errno from a CQE) become system_category codes in one place,
// from_cqe_res(); squall's own conditions (timeouts, cancellation, closed
// primitives) use errc below. Exceptions are kept for start-up and
// configuration errors. Not thread-affine; a plain value type.
// Tests: tests/engine/result_test.cpp.
#pragma once

#include <cassert>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

namespace squall {

enum class errc {
    timed_out = 1,  // a deadline passed before the operation finished
    canceled,       // a cancel_source asked the operation to stop
    closed,         // the primitive or stream was closed
    full,           // a bounded container had no room (put_nowait)
    empty,          // nothing to take (get_nowait)
    not_acquired,   // release/unlock without a matching acquire/lock
    eof,            // the peer closed its side of the stream
    too_long,       // a delimited read passed its size limit
};

const std::error_category& engine_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), engine_category()}; }

// Turns a negative cqe->res (or any -errno) into an error_code.
inline std::error_code from_errno(int negative_errno) noexcept { return {-negative_errno, std::system_category()}; }

// The error enums that make an error_code (errc, dns_errc, client_errc...).
template <class E>
concept error_code_enum = std::is_error_code_enum_v<E>;

template <class T>
class [[nodiscard]] result {
public:
    using value_type = T;

    result(const T& v) : v_(std::in_place_index<0>, v) {}
    result(T&& v) : v_(std::in_place_index<0>, std::move(v)) {}
    result(std::error_code ec) : v_(std::in_place_index<1>, ec) { assert(ec); }
    template <error_code_enum E>
    result(E e) : result(std::error_code(make_error_code(e))) {}

    bool has_value() const noexcept { return v_.index() == 0; }
    explicit operator bool() const noexcept { return has_value(); }

    // value() throws std::system_error on an error, like std::expected's
    // bad_expected_access but carrying the code.
    T& value() & {
        check();
        return std::get<0>(v_);
    }
    const T& value() const& {
        check();
        return std::get<0>(v_);
    }
    T&& value() && {
        check();
        return std::get<0>(std::move(v_));
    }
    T& operator*() & noexcept { return *std::get_if<0>(&v_); }
    T&& operator*() && noexcept { return std::move(*std::get_if<0>(&v_)); }
    T* operator->() noexcept { return std::get_if<0>(&v_); }
    const T* operator->() const noexcept { return std::get_if<0>(&v_); }

    std::error_code error() const noexcept {
        auto* ec = std::get_if<1>(&v_);
        return ec ? *ec : std::error_code{};
    }

private:
    void check() const {
        if (!has_value()) throw std::system_error(std::get<1>(v_));
    }
    std::variant<T, std::error_code> v_;
};

// result<void> carries only an error code. It is not [[nodiscard]] at
// class level so that `co_await sleep(d);` reads naturally; functions
// whose failure must be looked at mark themselves [[nodiscard]].
template <>
class result<void> {
public:
    using value_type = void;

    result() noexcept = default;
    result(std::error_code ec) noexcept : ec_(ec) {}
    template <error_code_enum E>
    result(E e) noexcept : ec_(make_error_code(e)) {}

    bool has_value() const noexcept { return !ec_; }
    explicit operator bool() const noexcept { return has_value(); }
    void value() const {
        if (ec_) throw std::system_error(ec_);
    }
    std::error_code error() const noexcept { return ec_; }

private:
    std::error_code ec_;
};

template <class T>
struct is_result : std::false_type {};
template <class T>
struct is_result<result<T>> : std::true_type {};

}  // namespace squall

template <>
struct std::is_error_code_enum<squall::errc> : std::true_type {};
