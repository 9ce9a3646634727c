// libFuzzer target: ws::message_reader (the receiving half of RFC 6455
// and permessage-deflate) driven the way ws::connection drives it.
//
// Input: three control bytes, then what a peer sends. Byte 0 picks how
// the bytes arrive (bits 0-1: all at once, one byte per read, reads of
// 1-16 or of 1-512 bytes from a generator seeded by byte 2) and the
// options (bit 2: permessage-deflate negotiated, bit 3: the reader is a
// client, expecting unmasked frames, bit 4: a 256-byte message limit).
// Byte 1 mixes into the seed. Each read is copied into a buffer of its
// own, sized exactly so that ASan sees any access past it, and freed once
// the reader asked for more, as the stream's leases are. The same bytes
// are also read in one piece; both runs must yield the same events (a
// failure's code, not its wording; for inflated text that breaks both the
// size limit and UTF-8, either code).
// Every event must keep the protocol's promises: messages within the
// limit, control payloads of at most 125 bytes, close codes the RFC
// allows, failures only with 1002, 1007 or 1009, nothing after a
// failure. A broken invariant aborts (FUZZ_CHECK). Seed corpus:
// tests/fuzz/corpus/ws_reader/, replayed by ctest as
// fuzz.ws_reader_corpus; run with `make fuzz`.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "tests/fuzz/fuzz_check.hpp"
#include <squall/ws/deflate.hpp>
#include <squall/ws/frame.hpp>
#include <squall/ws/reader.hpp>

namespace {

using namespace squall::ws;

struct seen {
    event_kind kind;
    bool binary;
    std::string data;
    std::uint16_t code;
    bool operator==(const seen&) const = default;
};

struct plan {
    unsigned mode = 0;
    bool deflate = false;
    bool client = false;
    bool small = false;
    std::uint32_t seed = 1;
};

std::size_t limit_of(const plan& p) { return p.small ? 256 : 1 << 20; }

void check_event(const plan& p, const event& e) {
    switch (e.kind) {
        case event_kind::message: FUZZ_CHECK(e.data.size() <= limit_of(p)); break;
        case event_kind::ping:
        case event_kind::pong: FUZZ_CHECK(e.data.size() <= 125); break;
        case event_kind::close:
            FUZZ_CHECK(e.code == close_code::no_status || valid_close_code(e.code));
            FUZZ_CHECK(e.data.size() <= 123);
            break;
        case event_kind::fail: FUZZ_CHECK(e.code == 1002 || e.code == 1007 || e.code == 1009); break;
        case event_kind::need_more: break;
    }
}

// Reads `bytes` in the pieces the plan says; stops at the first failure.
std::vector<seen> run(const plan& p, const std::uint8_t* data, std::size_t size, bool whole) {
    std::optional<inflater> inf;
    if (p.deflate) inf.emplace(false);
    message_reader reader({!p.client, limit_of(p)}, inf ? &*inf : nullptr);
    std::vector<seen> out;
    std::uint32_t rng = p.seed;
    std::size_t pos = 0;
    while (pos < size) {
        std::size_t n = size - pos;
        if (!whole) {
            rng = rng * 1103515245u + 12345u;
            unsigned r = rng >> 16;
            if (p.mode == 1) n = 1;
            else if (p.mode == 2) n = 1 + r % 16;
            else if (p.mode == 3) n = 1 + r % 512;
            n = std::min(n, size - pos);
        }
        auto buf = std::make_unique<std::byte[]>(n);
        std::memcpy(buf.get(), data + pos, n);
        pos += n;
        std::span<std::byte> in(buf.get(), n);
        for (;;) {
            event e = reader.next(in);
            check_event(p, e);
            if (e.kind == event_kind::need_more) {
                FUZZ_CHECK(in.empty());
                break;
            }
            // A failure's wording may differ with the reads (an unfinished
            // character found at the end or in the whole), its code not.
            std::string text = e.kind == event_kind::fail ? std::string() : std::string(e.data);
            out.push_back({e.kind, e.binary, std::move(text), e.code});
            if (e.kind == event_kind::fail) {
                // A failure stays: the reader answers it again.
                event again = reader.next(in);
                FUZZ_CHECK(again.kind == event_kind::fail && again.code == e.code);
                return out;
            }
        }
    }
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 3) return 0;
    plan p;
    p.mode = data[0] & 3;
    p.deflate = data[0] & 4;
    p.client = data[0] & 8;
    p.small = data[0] & 16;
    p.seed = (std::uint32_t{data[1]} << 8 | data[2]) + 1;
    const std::uint8_t* body = data + 3;
    std::size_t n = size - 3;
    std::vector<seen> whole = run(p, body, n, true);
    if (p.mode == 0) return 0;
    std::vector<seen> split = run(p, body, n, false);
    // Inflated text can break two rules at once, the size limit and UTF-8;
    // which one shows first depends on how much was inflated per read.
    auto both_bounds = [](const seen& a, const seen& b) {
        return a.kind == event_kind::fail && b.kind == event_kind::fail &&
               ((a.code == 1007 && b.code == 1009) || (a.code == 1009 && b.code == 1007));
    };
    if (p.deflate && !whole.empty() && whole.size() == split.size() && both_bounds(whole.back(), split.back())) {
        whole.pop_back();
        split.pop_back();
    }
    FUZZ_CHECK(whole == split);
    return 0;
}
