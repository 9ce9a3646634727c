#include <squall/engine/cancel.hpp>

#include <gtest/gtest.h>

#include <memory>
#include <vector>

using namespace squall;

namespace {

struct counting : cancel_callback {
    int calls = 0;
    counting() : cancel_callback(&counting::fire) {}
    static void fire(cancel_callback* cb) noexcept { ++static_cast<counting*>(cb)->calls; }
};

}  // namespace

TEST(cancel, callbacks_run_once_and_late_ones_are_refused) {
    cancel_source src;
    counting a, b;
    EXPECT_TRUE(a.attach(src.token().state()));
    EXPECT_TRUE(b.attach(src.token().state()));
    b.detach();
    src.request_cancel();
    src.request_cancel();
    EXPECT_EQ(a.calls, 1);
    EXPECT_EQ(b.calls, 0);
    EXPECT_FALSE(a.attached());
    counting late;
    EXPECT_FALSE(late.attach(src.token().state()));
    EXPECT_TRUE(src.token().cancel_requested());
}

TEST(cancel, a_linked_source_follows_its_parent) {
    cancel_source parent;
    cancel_source child(parent.token());
    cancel_source grandchild(child.token());
    counting cb;
    ASSERT_TRUE(cb.attach(grandchild.token().state()));
    parent.request_cancel();
    EXPECT_TRUE(child.cancel_requested());
    EXPECT_TRUE(grandchild.cancel_requested());
    EXPECT_EQ(cb.calls, 1);
}

TEST(cancel, a_child_cancel_does_not_reach_the_parent) {
    cancel_source parent;
    cancel_source child(parent.token());
    child.request_cancel();
    EXPECT_FALSE(parent.cancel_requested());
}

TEST(cancel, linking_to_a_cancelled_parent_starts_cancelled) {
    cancel_source parent;
    parent.request_cancel();
    cancel_source child(parent.token());
    EXPECT_TRUE(child.cancel_requested());
}

TEST(cancel, destroying_a_source_detaches_its_callbacks) {
    counting cb;
    {
        cancel_source src;
        ASSERT_TRUE(cb.attach(src.token().state()));
    }
    EXPECT_FALSE(cb.attached());
    EXPECT_EQ(cb.calls, 0);
    // A child whose parent is destroyed first no longer points at it.
    auto parent = std::make_unique<cancel_source>();
    cancel_source child(parent->token());
    parent.reset();
    child.request_cancel();
    EXPECT_TRUE(child.cancel_requested());
}
