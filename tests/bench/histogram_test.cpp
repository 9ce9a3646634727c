// Tests of squall-load's latency histogram (bench/load/histogram.hpp):
// bucket bounds, the precision promise, percentiles, merging.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include "load/histogram.hpp"

using squall::load::histogram;

TEST(histogram, buckets_tile_the_range_without_gaps) {
    for (std::size_t i = 0; i + 1 < histogram::buckets; ++i) {
        ASSERT_EQ(histogram::highest_of(i) + 1, histogram::lowest_of(i + 1)) << i;
        ASSERT_EQ(histogram::index_of(histogram::lowest_of(i)), i);
        ASSERT_EQ(histogram::index_of(histogram::highest_of(i)), i);
    }
}

TEST(histogram, every_value_lands_within_one_sixty_fourth) {
    std::mt19937_64 rng(7);
    for (int n = 0; n < 100000; ++n) {
        std::uint64_t v = rng() >> (rng() % 40 + 18);  // from 0 to ~2^46
        std::size_t i = histogram::index_of(v);
        ASSERT_LE(histogram::lowest_of(i), v);
        ASSERT_GE(histogram::highest_of(i), v);
        ASSERT_LE(histogram::highest_of(i) - histogram::lowest_of(i), std::max<std::uint64_t>(v / 64, 0) + 1) << v;
    }
    EXPECT_EQ(histogram::index_of(~std::uint64_t{0}), histogram::buckets - 1);
}

TEST(histogram, ranks_are_whole_percent_of_the_count) {
    EXPECT_EQ(histogram::rank_of(99.9, 1000), 999u);
    EXPECT_EQ(histogram::rank_of(50, 3), 2u);
    EXPECT_EQ(histogram::rank_of(99, 10), 10u);
    EXPECT_EQ(histogram::rank_of(0, 10), 0u);  // clamped to 1 by percentile()
}

TEST(histogram, small_values_are_exact) {
    histogram h;
    for (std::uint64_t v = 1; v <= 100; ++v) h.record(v);
    EXPECT_EQ(h.count(), 100u);
    EXPECT_EQ(h.percentile(50), 50u);
    EXPECT_EQ(h.percentile(90), 90u);
    EXPECT_EQ(h.percentile(99), 99u);
    EXPECT_EQ(h.percentile(100), 100u);
    EXPECT_EQ(h.min(), 1u);
    EXPECT_EQ(h.max(), 100u);
    EXPECT_DOUBLE_EQ(h.mean(), 50.5);
}

TEST(histogram, percentiles_follow_sorted_values_within_precision) {
    std::mt19937_64 rng(11);
    std::lognormal_distribution<double> dist(11.0, 1.5);  // ~60 us median, long tail
    std::vector<std::uint64_t> values;
    histogram h;
    for (int n = 0; n < 200000; ++n) {
        auto v = static_cast<std::uint64_t>(dist(rng));
        values.push_back(v);
        h.record(v);
    }
    std::sort(values.begin(), values.end());
    for (double p : {50.0, 90.0, 99.0, 99.9}) {
        auto rank = static_cast<std::size_t>(histogram::rank_of(p, values.size()));
        std::uint64_t exact = values[rank - 1];
        std::uint64_t got = h.percentile(p);
        EXPECT_GE(got, exact) << p;
        EXPECT_LE(got, exact + exact / 64 + 1) << p;
    }
    EXPECT_EQ(h.percentile(100), values.back());
    EXPECT_EQ(h.max(), values.back());
    EXPECT_EQ(h.min(), values.front());
}

TEST(histogram, one_outlier_shows_only_at_the_top) {
    histogram h;
    h.record_n(1000, 999);
    h.record(5'000'000);
    EXPECT_EQ(h.count(), 1000u);
    EXPECT_LE(h.percentile(99.9), 1000u + 1000 / 64);
    EXPECT_EQ(h.percentile(99.95), 5'000'000u);
    EXPECT_EQ(h.max(), 5'000'000u);
}

TEST(histogram, merge_adds_counts_and_extremes) {
    histogram a, b;
    for (int i = 0; i < 10; ++i) a.record(100);
    for (int i = 0; i < 30; ++i) b.record(10'000);
    a.merge(b);
    EXPECT_EQ(a.count(), 40u);
    EXPECT_EQ(a.min(), 100u);
    EXPECT_EQ(a.max(), 10'000u);
    EXPECT_EQ(a.percentile(25), 100u);
    EXPECT_GE(a.percentile(26), 10'000u - 10'000 / 64);
}

TEST(histogram, empty_reports_zeros) {
    histogram h;
    EXPECT_EQ(h.count(), 0u);
    EXPECT_EQ(h.percentile(99), 0u);
    EXPECT_EQ(h.min(), 0u);
    EXPECT_EQ(h.max(), 0u);
    EXPECT_EQ(h.mean(), 0.0);
}
