// A connection's outgoing messages. See send_queue.hpp.
#include <squall/ws/detail/send_queue.hpp>

namespace squall::ws::detail {

void send_queue::push(outgoing o) {
    if (failed_) {  // (callers check failed() first; a waiter must never hang)
        if (o.waiter) {
            o.waiter->error = failed_;
            o.waiter->done.set();
        }
        return;
    }
    bytes_ += o.size();
    q_.push_back(std::move(o));
}

std::size_t send_queue::next_batch(std::vector<iovec>& iov) const {
    std::size_t taken = 0, size = 0;
    for (const outgoing& o : q_) {
        if (taken > 0 && size + o.size() > batch_bytes) break;
        if (o.shared) iov.push_back({const_cast<char*>(o.shared->data()), o.shared->size()});
        else o.wire.gather(iov);
        size += o.size();
        ++taken;
    }
    return taken;
}

void send_queue::pop(std::size_t n) noexcept {
    for (; n > 0 && !q_.empty(); --n) {
        outgoing& o = q_.front();
        bytes_ -= o.size();
        if (o.waiter) o.waiter->done.set();
        q_.pop_front();
    }
}

void send_queue::fail_all(std::error_code ec) noexcept {
    if (!failed_) failed_ = ec;
    for (outgoing& o : q_) {
        if (!o.waiter) continue;
        o.waiter->error = ec;
        o.waiter->done.set();
    }
    q_.clear();
    bytes_ = 0;
}

}  // namespace squall::ws::detail
