#include <squall/engine/buffer_ring.hpp>

#include <sys/mman.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <iterator>
#include <system_error>

#include <squall/engine/detail/uring_compat.hpp>
#include <squall/engine/loop.hpp>

namespace squall {

buffer_ring::buffer_ring(loop& l, unsigned count, unsigned size, std::uint16_t group, bool incremental)
    : loop_(l), count_(std::bit_ceil(std::max(count, 1u))), size_(size), mask_(0), group_(group) {
    if (count_ > 32768) throw std::invalid_argument("squall: buffer ring holds at most 32768 buffers");
    mask_ = static_cast<unsigned>(io_uring_buf_ring_mask(count_));
    ring_bytes_ = count_ * sizeof(io_uring_buf);
    void* r = ::mmap(nullptr, ring_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (r == MAP_FAILED) throw std::system_error(errno, std::system_category(), "squall: mmap buffer ring");
    ring_ = static_cast<io_uring_buf_ring*>(r);
    memory_bytes_ = std::size_t{count_} * size_;
    void* m = ::mmap(nullptr, memory_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
        ::munmap(ring_, ring_bytes_);
        throw std::system_error(errno, std::system_category(), "squall: mmap receive buffers");
    }
    memory_ = static_cast<std::byte*>(m);

    io_uring_buf_ring_init(ring_);
    io_uring_buf_reg reg{};
    reg.ring_addr = reinterpret_cast<std::uint64_t>(ring_);
    reg.ring_entries = count_;
    reg.bgid = group_;
    int rc = -EINVAL;
    if (incremental) {
        reg.pad = uring::pbuf_ring_inc;  // io_uring_buf_reg.flags (6.12)
        rc = io_uring_register_buf_ring(l.raw_ring(), &reg, 0);
        incremental_ = rc == 0;
        reg.pad = 0;
    }
    if (!incremental_) rc = io_uring_register_buf_ring(l.raw_ring(), &reg, 0);
    if (rc < 0) {
        ::munmap(memory_, memory_bytes_);
        ::munmap(ring_, ring_bytes_);
        throw std::system_error(-rc, std::system_category(), "squall: io_uring_register_buf_ring");
    }
    for (unsigned i = 0; i < count_; ++i)
        io_uring_buf_ring_add(ring_, memory_ + std::size_t{i} * size_, size_, static_cast<std::uint16_t>(i),
                              static_cast<int>(mask_), static_cast<int>(i));
    io_uring_buf_ring_advance(ring_, static_cast<int>(count_));
    if (incremental_) slices_.resize(count_);
}

buffer_ring::~buffer_ring() {
    io_uring_unregister_buf_ring(loop_.raw_ring(), group_);
    ::munmap(memory_, memory_bytes_);
    ::munmap(ring_, ring_bytes_);
}

std::span<std::byte> buffer_ring::take(std::uint16_t bid, std::size_t len, unsigned flags) noexcept {
    std::byte* base = memory_ + std::size_t{bid} * size_;
    if (!incremental_) {
        ++in_use_;
        return {base, std::min<std::size_t>(len, size_)};
    }
    slice_state& st = slices_[bid];
    std::size_t off = st.offset;
    len = std::min<std::size_t>(len, size_ - off);
    st.offset = static_cast<std::uint32_t>(off + len);
    ++st.takes;
    // Without IORING_CQE_F_BUF_MORE the kernel has moved past the buffer:
    // it is out of the ring until its last chunk comes back.
    if (!(flags & IORING_CQE_F_BUF_MORE) && !st.kernel_done) {
        st.kernel_done = true;
        ++in_use_;
    }
    return {base + off, len};
}

void buffer_ring::give_back(std::uint16_t bid) noexcept {
    if (incremental_) {
        slice_state& st = slices_[bid];
        if (st.takes) --st.takes;
        if (st.takes || !st.kernel_done) return;  // still the kernel's, or chunks still out
        st = {};
    }
    recycle(bid);
}

void buffer_ring::recycle(std::uint16_t bid) noexcept {
    io_uring_buf_ring_add(ring_, memory_ + std::size_t{bid} * size_, size_, bid, static_cast<int>(mask_), 0);
    io_uring_buf_ring_advance(ring_, 1);
    --in_use_;
    if (!waiters_.empty() && !wake_scheduled_ && in_use_ <= count_ - count_ / 4) {
        // Not inline: a lease is often dropped deep inside a reader.
        wake_scheduled_ = true;
        loop_.post([this] { wake_waiters(); });
    }
}

std::uint64_t buffer_ring::wait_for_buffers(std::function<void()> fn) {
    std::uint64_t id = next_wait_id_++;
    waiters_.emplace_back(id, std::move(fn));
    if (!wake_scheduled_ && in_use_ <= count_ - count_ / 4) {
        wake_scheduled_ = true;
        loop_.post([this] { wake_waiters(); });
    }
    return id;
}

void buffer_ring::cancel_wait(std::uint64_t id) noexcept {
    for (auto it = waiters_.begin(); it != waiters_.end(); ++it) {
        if (it->first == id) {
            waiters_.erase(it);
            return;
        }
    }
}

void buffer_ring::wake_waiters() {
    wake_scheduled_ = false;
    // Wake no more streams (oldest first) than there are free buffers: each
    // re-armed receive takes at least one when its socket has data, so
    // waking every starved stream at once sends most of them straight back
    // to -ENOBUFS, and N starved streams over B buffers cost O(N/B) rounds
    // of N receives each.
    auto n = static_cast<std::ptrdiff_t>(std::min<std::size_t>(waiters_.size(), count_ - in_use_));
    std::vector<std::pair<std::uint64_t, std::function<void()>>> ready(std::make_move_iterator(waiters_.begin()),
                                                                       std::make_move_iterator(waiters_.begin() + n));
    waiters_.erase(waiters_.begin(), waiters_.begin() + n);
    for (auto& [id, fn] : ready) fn();
    // Streams whose sockets were empty take nothing: while buffers stay
    // free, the next waiters get their turn on a later loop turn. (With
    // none woken, a buffer is in use and its give_back wakes them.)
    if (n > 0 && !waiters_.empty() && in_use_ <= count_ - count_ / 4) {
        wake_scheduled_ = true;
        loop_.post([this] { wake_waiters(); });
    }
}

buffer_lease& buffer_lease::operator=(buffer_lease&& o) noexcept {
    if (this != &o) {
        reset();
        ring_ = std::exchange(o.ring_, nullptr);
        bid_ = o.bid_;
        data_ = std::exchange(o.data_, {});
        owned_ = std::exchange(o.owned_, nullptr);
    }
    return *this;
}

void buffer_lease::reset() noexcept {
    if (ring_) std::exchange(ring_, nullptr)->give_back(bid_);
    else if (owned_) delete[] std::exchange(owned_, nullptr);
    data_ = {};
}

}  // namespace squall
