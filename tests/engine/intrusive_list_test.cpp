// intrusive_list (engine/detail/intrusive_list.hpp): order, self-unlinking
// nodes, lists that die first, and a node on two lists through two tags.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include <squall/engine/detail/intrusive_list.hpp>

using squall::detail::intrusive_list;
using squall::detail::list_hook;

namespace {

struct a_tag;
struct b_tag;

struct item : list_hook<a_tag>, list_hook<b_tag> {
    explicit item(int v) : value(v) {}
    int value;
};

template <class Tag>
std::vector<int> values(intrusive_list<item, Tag>& l) {
    std::vector<int> out;
    for (item* i = l.front(); i; i = l.next(i)) out.push_back(i->value);
    return out;
}

}  // namespace

TEST(intrusive_list, keeps_order_at_both_ends) {
    intrusive_list<item, a_tag> l;
    EXPECT_TRUE(l.empty());
    EXPECT_EQ(l.front(), nullptr);
    EXPECT_EQ(l.pop_front(), nullptr);
    item one(1), two(2), three(3);
    l.push_back(&two);
    l.push_back(&three);
    l.push_front(&one);
    EXPECT_FALSE(l.empty());
    EXPECT_EQ(values(l), (std::vector<int>{1, 2, 3}));
    EXPECT_EQ(l.pop_front(), &one);
    EXPECT_FALSE(one.list_hook<a_tag>::linked());
    EXPECT_EQ(values(l), (std::vector<int>{2, 3}));
}

TEST(intrusive_list, a_node_unlinks_itself_from_any_position) {
    intrusive_list<item, a_tag> l;
    item one(1), three(3);
    l.push_back(&one);
    {
        item two(2);
        l.push_back(&two);
        l.push_back(&three);
        EXPECT_EQ(values(l), (std::vector<int>{1, 2, 3}));
    }  // destroyed while linked, in the middle
    EXPECT_EQ(values(l), (std::vector<int>{1, 3}));
    three.list_hook<a_tag>::unlink();
    three.list_hook<a_tag>::unlink();  // twice is nothing
    EXPECT_EQ(values(l), (std::vector<int>{1}));
    one.list_hook<a_tag>::unlink();
    EXPECT_TRUE(l.empty());
    l.push_back(&three);  // an unlinked node may be linked again
    EXPECT_EQ(values(l), (std::vector<int>{3}));
}

TEST(intrusive_list, a_list_destroyed_first_detaches_its_nodes) {
    item one(1), two(2);
    {
        intrusive_list<item, a_tag> l;
        l.push_back(&one);
        l.push_back(&two);
    }
    EXPECT_FALSE(one.list_hook<a_tag>::linked());
    EXPECT_FALSE(two.list_hook<a_tag>::linked());
    // Unlinking (and destroying) them later touches no freed list:
    // ASan would report a use after scope here.
    one.list_hook<a_tag>::unlink();
}

TEST(intrusive_list, two_tags_two_lists) {
    intrusive_list<item, a_tag> a;
    intrusive_list<item, b_tag> b;
    auto one = std::make_unique<item>(1);
    item two(2);
    a.push_back(one.get());
    a.push_back(&two);
    b.push_back(&two);
    b.push_back(one.get());
    EXPECT_EQ(values(a), (std::vector<int>{1, 2}));
    EXPECT_EQ(values(b), (std::vector<int>{2, 1}));
    one.reset();  // leaves both lists
    EXPECT_EQ(values(a), (std::vector<int>{2}));
    EXPECT_EQ(values(b), (std::vector<int>{2}));
    a.clear();
    EXPECT_TRUE(a.empty());
    EXPECT_EQ(values(b), (std::vector<int>{2}));
}
