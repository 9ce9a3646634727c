// handoff: the FIFO of tasks parked on a primitive that hands something
// over directly (mutex: the lock, semaphore: a permit, queue: an item).
//
// waiter_list only wakes "the oldest"; a hand-off primitive must know which
// task it woke, so that it can give that task the lock or the item before
// anyone else runs (no barging, no item lost to a get_nowait that runs
// first). A handoff_node embeds a waiter parked without a waiter_list, so
// the deadline and the cancel token still work, and stays linked to its
// handoff_list from park() until the task resumes (unlink()) or its frame
// is destroyed: on the waiting chain at first, on the granted chain once
// the primitive picked it. A node whose deadline or token fired first is
// dropped from the waiting chain the next time the primitive looks.
//
// Ownership: nodes live in awaitables inside coroutine frames and the list
// only borrows them. Either may be destroyed first: the list detaches its
// nodes, a node unlinks itself. holds_grant() tells an awaitable whose
// frame is destroyed after a grant but before it ran that the primitive is
// still there and the grant must be given back. Loop thread only.
// Tests: tests/engine/sync_test.cpp, tests/engine/queue_test.cpp.
#pragma once

#include <coroutine>
#include <optional>

#include <squall/engine/cancel.hpp>
#include <squall/engine/detail/intrusive_list.hpp>
#include <squall/engine/detail/waiter.hpp>
#include <squall/engine/loop.hpp>
#include <squall/engine/result.hpp>
#include <squall/engine/task.hpp>

namespace squall::detail {

class handoff_list;

class handoff_node : private list_hook<handoff_node> {
public:
    handoff_node() noexcept = default;
    handoff_node(const handoff_node&) = delete;
    handoff_node& operator=(const handoff_node&) = delete;
    ~handoff_node() { unlink(); }

    // Parks the task on `list`. Returns false, without parking, when the
    // token is already cancelled (status() is then errc::canceled).
    bool park(std::coroutine_handle<> h, cancel_state* token, std::optional<clock::time_point> deadline,
              handoff_list& list);
    // Leaves the list; the resumed task calls it before looking at granted().
    void unlink() noexcept;

    // The primitive chose this node: it owns the lock, permit or item.
    bool granted() const noexcept { return w_.state() == waiter::outcome::woken; }
    // Granted, not yet claimed by the task, and the primitive still exists.
    bool holds_grant() const noexcept { return list_ != nullptr && granted(); }
    // ok when granted; errc::timed_out or errc::canceled otherwise.
    result<void> status() const noexcept { return w_.status(); }

private:
    friend class handoff_list;
    template <class, class>
    friend class intrusive_list;
    waiter w_;
    handoff_list* list_ = nullptr;  // while on either of its chains
};

class handoff_list {
public:
    handoff_list() noexcept = default;
    handoff_list(const handoff_list&) = delete;
    handoff_list& operator=(const handoff_list&) = delete;
    ~handoff_list();

    // The oldest node still waiting, or null when there is none.
    handoff_node* front() noexcept;
    // Moves `n`, a node front() returned, to the granted chain and
    // schedules its task; the task resumes in a later turn.
    void grant(handoff_node* n) noexcept;

private:
    friend class handoff_node;
    using chain = intrusive_list<handoff_node, handoff_node>;
    static void detach_all(chain& c) noexcept;
    chain waiting_;
    chain granted_;
};

// The one awaitable of a primitive that grants a task something it then
// holds through a guard: mutex (the lock, mutex_guard) and semaphore (a
// permit, semaphore_guard). It takes what is free at once when it can,
// else parks and waits for the grant; yields result<Guard>. A frame
// destroyed after the grant but before it ran gives the grant back rather
// than lose it. `Prim` (borrowed, must outlive the awaitable) befriends
// this class and provides:
//   bool take() noexcept        take what is free now, false if nothing is
//   void give_back() noexcept   return one grant (hand it on or free it)
//   handoff_list waiters_       where tasks wait
// and Guard has a constructor from Prim* that this class may call.
template <class Prim, class Guard>
class grant_awaitable : private handoff_node {
public:
    grant_awaitable(Prim* p, std::optional<clock::time_point> deadline) noexcept : p_(p), deadline_(deadline) {}
    grant_awaitable(grant_awaitable&& o) noexcept : grant_awaitable(o.p_, o.deadline_) {}
    ~grant_awaitable() {
        if (holds_grant()) {
            unlink();
            p_->give_back();
        }
    }
    bool await_ready() noexcept {
        now_ = p_->take();
        return now_;
    }
    template <class P>
    bool await_suspend(std::coroutine_handle<P> h) {
        return park(h, token_of(h), deadline_, p_->waiters_);
    }
    result<Guard> await_resume() noexcept {
        unlink();
        if (now_ || granted()) return Guard(p_);
        return status().error();
    }

private:
    Prim* p_;
    std::optional<clock::time_point> deadline_;
    bool now_ = false;
};

}  // namespace squall::detail
