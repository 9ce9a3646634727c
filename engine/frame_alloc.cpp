// Per-thread recycling of coroutine frames by 64-byte size class. Freed
// frames go on the freeing thread's list (a frame freed on another thread
// simply migrates), and each list is capped so that a burst does not pin
// memory for ever.
#include <cstdint>
#include <cstdlib>
#include <new>
#include <utility>

#include <squall/engine/task.hpp>

namespace squall::detail {
namespace {

constexpr std::size_t class_size = 64;
constexpr std::size_t classes = 16;  // frames up to 1 KiB are recycled
constexpr std::size_t max_cached = 1024;

struct free_node {
    free_node* next;
};

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
// Sanitizers must see every frame's real lifetime to catch use after free.
constexpr bool recycle = false;
#else
constexpr bool recycle = true;
#endif

// The lists are plain thread-local data (no constructor, no destructor),
// so that each use is a direct access, not a call through the
// thread_local initialisation guard: a frame is allocated and freed
// several times per request. A separate guard object, set up with the
// thread's first cached frame, frees the lists when the thread ends.
struct frame_cache {
    free_node* heads[classes];
    std::uint32_t counts[classes];
    bool gone;     // the thread is ending: allocate and free directly
    bool guarded;  // the guard below is set up
};

constinit thread_local frame_cache cache{};

struct cache_guard {
    ~cache_guard() {
        for (auto*& head : cache.heads) {
            while (head) std::free(std::exchange(head, head->next));
        }
        cache.gone = true;
    }
};

void guard_cache() {
    thread_local cache_guard guard;
    cache.guarded = true;
}

constexpr std::size_t class_of(std::size_t n) noexcept { return (n - 1) / class_size; }

}  // namespace

void* frame_alloc(std::size_t n) {
    std::size_t c = class_of(n);
    if (recycle && c < classes && !cache.gone) {
        if (free_node* f = cache.heads[c]) [[likely]] {
            cache.heads[c] = f->next;
            --cache.counts[c];
            return f;
        }
        n = (c + 1) * class_size;
        if (!cache.guarded) guard_cache();
    }
    if (void* p = std::malloc(n)) return p;
    throw std::bad_alloc();
}

void frame_free(void* p, std::size_t n) noexcept {
    std::size_t c = class_of(n);
    if (recycle && c < classes && !cache.gone && cache.counts[c] < max_cached) [[likely]] {
        if (!cache.guarded) [[unlikely]]
            guard_cache();
        auto* f = static_cast<free_node*>(p);
        f->next = cache.heads[c];
        cache.heads[c] = f;
        ++cache.counts[c];
        return;
    }
    std::free(p);
}

}  // namespace squall::detail
