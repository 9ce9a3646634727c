#include <squall/engine/result.hpp>

#include <gtest/gtest.h>

#include <string>

using namespace squall;

TEST(result, holds_value_or_error) {
    result<int> ok = 7;
    ASSERT_TRUE(ok);
    EXPECT_EQ(*ok, 7);
    EXPECT_FALSE(ok.error());

    result<int> bad = errc::timed_out;
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error(), errc::timed_out);
    EXPECT_THROW((void)bad.value(), std::system_error);
}

TEST(result, errno_and_portable_conditions) {
    result<int> r = from_errno(-ECONNRESET);
    EXPECT_EQ(r.error(), std::errc::connection_reset);
    EXPECT_EQ(make_error_code(errc::timed_out), std::errc::timed_out);
    EXPECT_EQ(make_error_code(errc::canceled), std::errc::operation_canceled);
    EXPECT_NE(make_error_code(errc::closed), std::errc::timed_out);
    EXPECT_EQ(make_error_code(errc::canceled).message(), "operation canceled");
}

TEST(result, void_result) {
    result<void> ok;
    EXPECT_TRUE(ok);
    result<void> bad = errc::canceled;
    EXPECT_FALSE(bad);
    EXPECT_THROW(bad.value(), std::system_error);
}

TEST(result, move_only_value) {
    result<std::unique_ptr<std::string>> r = std::make_unique<std::string>("x");
    ASSERT_TRUE(r);
    std::unique_ptr<std::string> p = std::move(r).value();
    EXPECT_EQ(*p, "x");
}
