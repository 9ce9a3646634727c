// buffer_ring: a provided-buffer ring registered with the loop's io_uring
// (IORING_REGISTER_PBUF_RING), and buffer_lease, the RAII loan of one
// received buffer.
//
// The kernel picks a buffer from the ring only when data arrives, so an
// idle connection holds no receive memory. A completion with
// IORING_CQE_F_BUFFER names the buffer; the stream wraps it in a lease and
// hands it to the reader; dropping the lease puts the buffer back in the
// ring. liburing 2.3 has no io_uring_setup_buf_ring, so the ring and the
// buffers are mapped and registered here.
//
// Incremental consumption (IOU_PBUF_RING_INC, Linux 6.12), when asked for
// and the kernel has it: the kernel fills one large buffer with several
// receives, each completion naming the same buffer with
// IORING_CQE_F_BUF_MORE until it is full. Each chunk is then its own lease
// (a count per buffer), and the buffer goes back to the ring once the
// kernel is done with it and every chunk's lease has been dropped. A big
// body so takes few buffers and few completions while a small request
// still uses only a few bytes of one.
//
// When the kernel finds the ring empty it ends a multishot receive with
// -ENOBUFS; that stream parks on the ring (wait_for_buffers) and is told
// once enough buffers are back: oldest first, and no more streams at a
// time than there are free buffers, so they do not all run dry again. Ownership: the ring belongs to one loop
// and must outlive every lease (streams are destroyed before their loop).
// Loop thread only. Tests: tests/engine/echo_stress_test.cpp (ENOBUFS storm),
// tests/engine/uring_features_test.cpp (incremental consumption),
// tests/engine/stream_test.cpp.
#pragma once

#include <liburing.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <utility>
#include <vector>

namespace squall {

class loop;

class buffer_ring {
public:
    // `count` is rounded up to a power of two (at most 32768). With
    // `incremental`, the ring is registered with IOU_PBUF_RING_INC where
    // the kernel takes it (incremental() says whether it did).
    buffer_ring(loop& l, unsigned count, unsigned size, std::uint16_t group, bool incremental = false);
    ~buffer_ring();
    buffer_ring(const buffer_ring&) = delete;
    buffer_ring& operator=(const buffer_ring&) = delete;

    std::uint16_t group() const noexcept { return group_; }
    unsigned buffer_size() const noexcept { return size_; }
    unsigned count() const noexcept { return count_; }
    // Buffers handed out by the kernel and not yet returned.
    unsigned in_use() const noexcept { return in_use_; }

    bool incremental() const noexcept { return incremental_; }

    // A completion with `flags` carried `len` bytes in buffer `bid`: the
    // bytes belong to the caller until give_back(bid).
    std::span<std::byte> take(std::uint16_t bid, std::size_t len, unsigned flags) noexcept;
    // Returns one take() of buffer `bid`: the buffer goes back in the ring
    // (with incremental consumption: once the kernel is done with it and
    // every take is returned).
    void give_back(std::uint16_t bid) noexcept;

    // Calls `fn` (once, from a later loop turn) when at least a quarter of
    // the ring is free again. Returns an id for cancel_wait.
    std::uint64_t wait_for_buffers(std::function<void()> fn);
    void cancel_wait(std::uint64_t id) noexcept;

private:
    void wake_waiters();
    void recycle(std::uint16_t bid) noexcept;
    // Incremental consumption: per buffer, where the kernel's next bytes
    // go, the takes not yet returned, and whether the kernel is done.
    struct slice_state {
        std::uint32_t offset = 0;
        std::uint32_t takes = 0;
        bool kernel_done = false;
    };

    loop& loop_;
    io_uring_buf_ring* ring_ = nullptr;
    std::size_t ring_bytes_ = 0;
    std::byte* memory_ = nullptr;
    std::size_t memory_bytes_ = 0;
    unsigned count_;
    unsigned size_;
    unsigned mask_;
    std::uint16_t group_;
    unsigned in_use_ = 0;
    bool incremental_ = false;
    std::vector<slice_state> slices_;
    std::vector<std::pair<std::uint64_t, std::function<void()>>> waiters_;
    std::uint64_t next_wait_id_ = 1;
    bool wake_scheduled_ = false;
};

// One received chunk. Views into it stay valid while the lease lives.
class buffer_lease {
public:
    buffer_lease() noexcept = default;
    // A chunk of a ring buffer; the buffer goes back to `ring` on drop.
    buffer_lease(buffer_ring* ring, std::uint16_t bid, std::span<std::byte> data) noexcept
        : ring_(ring), bid_(bid), data_(data) {}
    // A chunk of memory owned elsewhere (the stream's own buffer when the
    // ring is switched off): valid until the stream's next read.
    explicit buffer_lease(std::span<std::byte> borrowed) noexcept : data_(borrowed) {}
    // A chunk of heap memory the lease owns, freed on drop (a TLS stream's
    // decrypted bytes, which outlive the reads that produced them).
    buffer_lease(std::unique_ptr<std::byte[]> owned, std::size_t size) noexcept
        : data_(owned.get(), size), owned_(owned.release()) {}
    buffer_lease(buffer_lease&& o) noexcept
        : ring_(std::exchange(o.ring_, nullptr)),
          bid_(o.bid_),
          data_(std::exchange(o.data_, {})),
          owned_(std::exchange(o.owned_, nullptr)) {}
    buffer_lease& operator=(buffer_lease&& o) noexcept;
    buffer_lease(const buffer_lease&) = delete;
    buffer_lease& operator=(const buffer_lease&) = delete;
    ~buffer_lease() { reset(); }

    std::span<std::byte> bytes() const noexcept { return data_; }
    std::size_t size() const noexcept { return data_.size(); }
    bool empty() const noexcept { return data_.empty(); }
    // Drops the first n bytes from the view (the buffer stays leased).
    void consume(std::size_t n) noexcept { data_ = data_.subspan(n); }
    void reset() noexcept;

private:
    buffer_ring* ring_ = nullptr;
    std::uint16_t bid_ = 0;
    std::span<std::byte> data_;
    std::byte* owned_ = nullptr;  // heap memory to free on drop, if any
};

}  // namespace squall
