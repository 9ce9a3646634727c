// What a handler's translation unit takes in: <squall/http/handler.hpp>
// and the public verb header, without the engine's io_uring headers
// (liburing's, which define IORING_SETUP_* macros and LIB_URING_H; its
// IORING_OP_* names are enumerators, invisible to the preprocessor). The
// #error fails the build if one leaks in again.
#include <squall/http/handler.hpp>
#include <squall/http/verb.hpp>

#if defined(LIB_URING_H) || defined(IORING_SETUP_IOPOLL) || defined(IORING_FEAT_SINGLE_MMAP)
#error "<squall/http/handler.hpp> pulls <liburing.h> into handler translation units"
#endif

#include <gtest/gtest.h>

#include <memory>

using namespace squall::http;

namespace {
class hello final : public request_handler {
public:
    squall::task<void> get() {
        write("hello");
        co_return;
    }
};
}  // namespace

TEST(handler_header, a_handler_compiles_without_the_ring_headers) {
    std::unique_ptr<request_handler> h = std::make_unique<hello>();
    EXPECT_NE(dynamic_cast<hello*>(h.get()), nullptr);
}

TEST(handler_header, verbs_come_from_a_public_header) {
    EXPECT_EQ(verb_name(verb::delete_), "DELETE");
    EXPECT_EQ(parse_verb("PATCH"), verb::patch);
    EXPECT_FALSE(parse_verb("BREW"));
    EXPECT_EQ(verb_count, 7u);
}
