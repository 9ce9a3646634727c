// histogram: latencies in nanoseconds in log-linear buckets, in the manner
// of HdrHistogram: 128 exact buckets below 128 ns, then 64 buckets per
// power of two, so any recorded value is reported within 1/64 (1.6%) of
// what was measured, from nanoseconds to hours, in a fixed 21 KiB table.
// record() is a shift, a count-leading-zeros and an increment: no
// allocation, no branch on the value's size beyond the first bucket range.
//
// Threads: one histogram per load thread; merge() adds them up at the end.
// Tests: tests/bench/histogram_test.cpp.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

namespace squall::load {

class histogram {
public:
    static constexpr unsigned sub_bits = 6;                 // 64 buckets per power of two
    static constexpr std::uint64_t sub = 1ull << sub_bits;  // 64
    static constexpr unsigned max_shift = 40;               // values up to ~2^47 ns (39 h)
    static constexpr std::size_t buckets = 2 * sub + max_shift * sub;

    // The bucket a value falls in.
    static constexpr std::size_t index_of(std::uint64_t v) noexcept {
        if (v < 2 * sub) return static_cast<std::size_t>(v);
        unsigned shift = static_cast<unsigned>(std::bit_width(v)) - (sub_bits + 1);  // >= 1
        if (shift > max_shift) return buckets - 1;
        return static_cast<std::size_t>(2 * sub + (shift - 1) * sub + ((v >> shift) - sub));
    }
    // The smallest and largest value that land in bucket i.
    static constexpr std::uint64_t lowest_of(std::size_t i) noexcept {
        if (i < 2 * sub) return i;
        std::size_t k = i - 2 * sub;
        unsigned shift = static_cast<unsigned>(k / sub) + 1;
        return (sub + k % sub) << shift;
    }
    static constexpr std::uint64_t highest_of(std::size_t i) noexcept {
        if (i < 2 * sub) return i;
        std::size_t k = i - 2 * sub;
        unsigned shift = static_cast<unsigned>(k / sub) + 1;
        return lowest_of(i) + (std::uint64_t{1} << shift) - 1;
    }

    void record(std::uint64_t ns) noexcept {
        ++counts_[index_of(ns)];
        ++count_;
        sum_ += ns;
        min_ = std::min(min_, ns);
        max_ = std::max(max_, ns);
    }
    // n values of `ns` (a batch that completed together).
    void record_n(std::uint64_t ns, std::uint64_t n) noexcept {
        if (n == 0) return;
        counts_[index_of(ns)] += n;
        count_ += n;
        sum_ += ns * n;
        min_ = std::min(min_, ns);
        max_ = std::max(max_, ns);
    }

    void merge(const histogram& o) noexcept {
        for (std::size_t i = 0; i < buckets; ++i) counts_[i] += o.counts_[i];
        count_ += o.count_;
        sum_ += o.sum_;
        min_ = std::min(min_, o.min_);
        max_ = std::max(max_, o.max_);
    }

    std::uint64_t count() const noexcept { return count_; }
    std::uint64_t min() const noexcept { return count_ ? min_ : 0; }
    std::uint64_t max() const noexcept { return max_; }
    double mean() const noexcept { return count_ ? static_cast<double>(sum_) / static_cast<double>(count_) : 0; }

    // The rank (1-based) of percentile p among n values: ceil(p% of n),
    // where p% of n within a millionth of a whole number counts as it
    // (99.9% of 1000 is 999, not 999.0000000000001 rounded up).
    static std::uint64_t rank_of(double p, std::uint64_t n) noexcept {
        double want = p / 100.0 * static_cast<double>(n);
        double whole = std::round(want);
        if (std::fabs(want - whole) < 1e-6) return static_cast<std::uint64_t>(whole);
        return static_cast<std::uint64_t>(std::ceil(want));
    }

    // The value at percentile p (0..100): the highest value of the bucket
    // holding the ceil(p% of count)-th smallest value, capped at max() (so
    // p100 is exact and no percentile reads above what was seen).
    std::uint64_t percentile(double p) const noexcept {
        if (count_ == 0) return 0;
        std::uint64_t rank = rank_of(p, count_);
        rank = std::clamp<std::uint64_t>(rank, 1, count_);
        std::uint64_t seen = 0;
        for (std::size_t i = 0; i < buckets; ++i) {
            seen += counts_[i];
            if (seen >= rank) return std::max(min(), std::min(highest_of(i), max_));
        }
        return max_;
    }

private:
    std::array<std::uint64_t, buckets> counts_{};
    std::uint64_t count_ = 0;
    std::uint64_t sum_ = 0;
    std::uint64_t min_ = std::numeric_limits<std::uint64_t>::max();
    std::uint64_t max_ = 0;
};

}  // namespace squall::load
