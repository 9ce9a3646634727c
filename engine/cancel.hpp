// Cancellation: cancel_source / cancel_token, in the spirit of
// std::stop_source and Seastar's abort_source, but loop-local.
//
// A task runs under at most one token, inherited by every task it awaits.
// Awaitables that can wait (kernel operations, sleep, queue::get, ...)
// register a cancel_callback on the current token; request_cancel() runs
// those callbacks synchronously on the loop thread, and each awaitable then
// finishes with errc::canceled (kernel operations through
// IORING_OP_ASYNC_CANCEL, so nothing is left in flight).
//
// Ownership: a cancel_source owns its state; tokens borrow it, so the
// source must outlive every task running under it (with_timeout and
// when_any guarantee that for the sources they create). Destroying a source
// detaches any callbacks still registered. Not thread-safe: use it on the
// loop that runs the tasks. Tests: tests/engine/cancel_test.cpp.
#pragma once

#include <memory>

#include <squall/engine/detail/intrusive_list.hpp>

namespace squall {

class cancel_state;

// An intrusive callback node, embedded in the awaitable that waits.
class cancel_callback : private detail::list_hook<cancel_callback> {
public:
    using fn_type = void (*)(cancel_callback*) noexcept;

    explicit cancel_callback(fn_type fn) noexcept : fn_(fn) {}
    cancel_callback(const cancel_callback&) = delete;
    cancel_callback& operator=(const cancel_callback&) = delete;
    // Destruction detaches (the hook unlinks itself).

    // Registers on `state` (may be null). Returns false when cancellation
    // was already requested; the callback is then not registered.
    bool attach(cancel_state* state) noexcept;
    void detach() noexcept { unlink(); }
    bool attached() const noexcept { return linked(); }

private:
    friend class cancel_state;
    template <class, class>
    friend class detail::intrusive_list;
    fn_type fn_;
};

class cancel_state {
public:
    // A child state is cancelled when its parent is.
    explicit cancel_state(cancel_state* parent = nullptr) noexcept;
    cancel_state(const cancel_state&) = delete;
    cancel_state& operator=(const cancel_state&) = delete;
    ~cancel_state();

    bool requested() const noexcept { return requested_; }
    void request() noexcept;

private:
    friend class cancel_callback;
    static void on_parent(cancel_callback* cb) noexcept;

    struct parent_link : cancel_callback {
        explicit parent_link(cancel_state* s) noexcept : cancel_callback(&cancel_state::on_parent), self(s) {}
        cancel_state* self;
    };

    bool requested_ = false;
    // Newest first: request() runs the latest registration first.
    detail::intrusive_list<cancel_callback, cancel_callback> callbacks_;
    parent_link parent_link_{this};
};

// A borrowed view of a cancel_state; null means "cannot be cancelled".
class cancel_token {
public:
    cancel_token() noexcept = default;
    explicit cancel_token(cancel_state* s) noexcept : state_(s) {}
    bool cancel_requested() const noexcept { return state_ && state_->requested(); }
    bool can_be_cancelled() const noexcept { return state_ != nullptr; }
    cancel_state* state() const noexcept { return state_; }

private:
    cancel_state* state_ = nullptr;
};

class cancel_source {
public:
    cancel_source() : state_(std::make_unique<cancel_state>()) {}
    // A source linked to `parent`: cancelling the parent cancels this one.
    explicit cancel_source(cancel_token parent) : state_(std::make_unique<cancel_state>(parent.state())) {}

    void request_cancel() noexcept { state_->request(); }
    bool cancel_requested() const noexcept { return state_->requested(); }
    cancel_token token() const noexcept { return cancel_token(state_.get()); }

private:
    std::unique_ptr<cancel_state> state_;
};

}  // namespace squall
