// The interval tree behind i_mmap and anon_vma trees: every insert/remove sequence keeps
// the red-black and subtree_last invariants and lists, iterates and answers overlap
// queries exactly like a brute-force sorted vector; verify() reports each kind of
// corruption; misuse aborts in debug builds; 10^4 elements stay balanced.

#include "impl/interval_tree.hpp"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace {

using impl::IntervalNode;
using impl::IntervalTree;
namespace rb = impl::rb;

constexpr std::uint64_t max_key = std::numeric_limits<std::uint64_t>::max();

// Fields before the hooks, so neither hook sits at offset 0.
struct Item {
  std::uint64_t start = 0;
  std::uint64_t last = 0;
  int id = 0;
  IntervalNode rb{};
  IntervalNode other_rb{};  // a second tree the same element can sit in
};

struct ItemRange {
  static std::uint64_t start(const Item& x) { return x.start; }
  static std::uint64_t last(const Item& x) { return x.last; }
};

using Tree = IntervalTree<Item, &Item::rb, ItemRange>;
using OtherTree = IntervalTree<Item, &Item::other_rb, ItemRange>;
using Query = std::pair<std::uint64_t, std::uint64_t>;

static_assert(std::forward_iterator<Tree::iterator>);
static_assert(std::forward_iterator<Tree::const_iterator>);

std::string describe(const Item& x) {
  return impl::interval_tree_detail::describe(x.start, x.last);
}

std::string ids(const std::vector<const Item*>& items) {
  std::string out = "{";
  for (const Item* x : items) out += " " + std::to_string(x->id) + describe(*x);
  return out + " }";
}

std::vector<const Item*> in_order(const Tree& t) {
  std::vector<const Item*> out;
  for (const Item& x : t) out.push_back(&x);
  return out;
}

std::vector<const Item*> overlaps_by_callback(const Tree& t, Query q) {
  std::vector<const Item*> out;
  t.for_each_overlap(q.first, q.second, [&](const Item& x) { out.push_back(&x); });
  return out;
}

std::vector<const Item*> overlaps_by_cursor(const Tree& t, Query q) {
  std::vector<const Item*> out;
  for (const Item* x = t.iter_first(q.first, q.second); x;
       x = Tree::iter_next(*x, q.first, q.second))
    out.push_back(x);
  return out;
}

std::vector<const Item*> brute_overlaps(const std::vector<const Item*>& order, Query q) {
  std::vector<const Item*> out;
  for (const Item* x : order)
    if (x->start <= q.second && q.first <= x->last) out.push_back(x);
  return out;
}

// Empty when `tree` agrees with the brute-force truth (`order`: its elements by ascending
// start, equal starts in insertion order) in every way looked at; else the first
// difference.
std::string mismatch(const Tree& tree, const std::vector<const Item*>& order,
                     const std::vector<Query>& queries) {
  if (auto problem = tree.verify()) return "verify: " + *problem;
  if (tree.size() != order.size() || tree.empty() != order.empty())
    return "size " + std::to_string(tree.size()) + ", expected " + std::to_string(order.size());
  if (in_order(tree) != order)
    return "iteration " + ids(in_order(tree)) + ", expected " + ids(order);
  std::vector<const Item*> stepped, backwards;
  for (const Item* x = tree.first(); x; x = Tree::next(*x)) stepped.push_back(x);
  for (const Item* x = tree.last(); x; x = Tree::prev(*x)) backwards.push_back(x);
  std::reverse(backwards.begin(), backwards.end());
  if (stepped != order) return "first/next " + ids(stepped) + ", expected " + ids(order);
  if (backwards != order) return "last/prev " + ids(backwards) + ", expected " + ids(order);
  for (const Item* x : order)
    if (!tree.contains(*x)) return "contains() misses " + describe(*x);
  for (Query q : queries) {
    const auto want = brute_overlaps(order, q);
    const std::string range = "[" + std::to_string(q.first) + ", " + std::to_string(q.second) + "]";
    if (auto got = overlaps_by_callback(tree, q); got != want)
      return "for_each_overlap" + range + " " + ids(got) + ", expected " + ids(want);
    if (auto got = overlaps_by_cursor(tree, q); got != want)
      return "iter_first/next" + range + " " + ids(got) + ", expected " + ids(want);
  }
  return "";
}

// A tree together with the brute-force truth about it.
struct Checked {
  Tree tree;
  std::vector<const Item*> order;  // ascending start; equal starts in insertion order

  void insert(Item& x) {
    tree.insert(x);
    auto after_equal =
        std::upper_bound(order.begin(), order.end(), x.start,
                         [](std::uint64_t s, const Item* y) { return s < y->start; });
    order.insert(after_equal, &x);
  }
  void remove(Item& x) {
    tree.remove(x);
    order.erase(std::find(order.begin(), order.end(), &x));
  }
  std::string mismatch(const std::vector<Query>& queries) const {
    return ::mismatch(tree, order, queries);
  }
};

// Queries that are always worth asking, plus the stabbing and range queries given.
std::vector<Query> with_standard_queries(std::vector<Query> qs) {
  qs.insert(qs.end(), {{0, max_key}, {0, 0}, {max_key, max_key}, {5, 5}, {3, 12}});
  return qs;
}

Query ordered(std::uint64_t a, std::uint64_t b) { return {std::min(a, b), std::max(a, b)}; }

bool balanced(const Tree& t) {
  return t.height() <= 2 * std::log2(static_cast<double>(t.size()) + 1);
}

// ---- Basics ----

TEST(IntervalTree, EmptyTreeHasNoElementsAndAnswersNoQueries) {
  Checked c;
  EXPECT_TRUE(c.tree.empty());
  EXPECT_EQ(c.tree.size(), 0u);
  EXPECT_EQ(c.tree.first(), nullptr);
  EXPECT_EQ(c.tree.last(), nullptr);
  EXPECT_EQ(c.tree.begin(), c.tree.end());
  EXPECT_EQ(c.tree.height(), 0);
  EXPECT_EQ(c.tree.iter_first(0, max_key), nullptr);
  EXPECT_EQ(c.mismatch(with_standard_queries({})), "");
}

TEST(IntervalTree, SingleElementIsFoundByExactlyTheQueriesThatTouchIt) {
  Checked c;
  Item x{.start = 10, .last = 19, .id = 1};
  c.insert(x);
  EXPECT_EQ(c.mismatch(with_standard_queries({})), "");
  struct Case {
    std::uint64_t a, b;
    bool hit;
  };
  for (Case q : {Case{0, 9, false}, Case{0, 10, true}, Case{19, 30, true}, Case{20, 30, false},
                 Case{12, 13, true}, Case{5, 25, true}})
    EXPECT_EQ(c.tree.iter_first(q.a, q.b) == &x, q.hit) << "[" << q.a << ", " << q.b << "]";
}

TEST(IntervalTree, EqualStartsIterateInInsertionOrder) {
  Checked c;
  std::vector<Item> items(5);
  for (int i = 0; i < 5; ++i) {
    items[i] = Item{.start = 7, .last = 7u + i, .id = i};
    c.insert(items[i]);
  }
  EXPECT_EQ(c.mismatch(with_standard_queries({{7, 7}, {9, 100}})), "");
  // Taking one out and putting it back moves it behind its equals.
  c.remove(items[2]);
  c.insert(items[2]);
  std::vector<int> got;
  for (const Item& x : c.tree) got.push_back(x.id);
  EXPECT_EQ(got, (std::vector<int>{0, 1, 3, 4, 2}));
  EXPECT_EQ(c.mismatch(with_standard_queries({{7, 7}, {9, 100}})), "");
}

TEST(IntervalTree, RemoveLeavesTheNodeUnlinkedAndNotPoisoned) {
  Tree t;
  Item x{.start = 1, .last = 2};
  EXPECT_FALSE(x.rb.linked());
  t.insert(x);
  EXPECT_TRUE(x.rb.linked());
  EXPECT_TRUE(t.contains(x));
  t.remove(x);
  EXPECT_FALSE(x.rb.linked());
  EXPECT_FALSE(x.rb.poisoned());
  EXPECT_FALSE(t.contains(x));
  t.insert(x);  // an unlinked node can go back in
  EXPECT_TRUE(t.contains(x));
}

TEST(IntervalTree, PoisonIsRecognisableAndClearUndoesIt) {
  Item x;
  x.rb.poison();
  EXPECT_TRUE(x.rb.poisoned());
  EXPECT_FALSE(x.rb.linked());
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(x.rb.parent), rb::poison_value);
  Tree t;
  EXPECT_FALSE(t.contains(x));
  x.rb.clear();
  EXPECT_FALSE(x.rb.poisoned());
  EXPECT_FALSE(x.rb.linked());
}

TEST(IntervalTree, ContainsTellsWhichTreeHoldsAnElement) {
  Tree a, b;
  std::vector<Item> items(20);
  for (int i = 0; i < 20; ++i) {
    items[i] = Item{.start = std::uint64_t(i), .last = std::uint64_t(i) + 3, .id = i};
    (i % 2 ? a : b).insert(items[i]);
  }
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(a.contains(items[i]), i % 2 == 1) << i;
    EXPECT_EQ(b.contains(items[i]), i % 2 == 0) << i;
  }
}

TEST(IntervalTree, OneElementSitsInTwoTreesThroughTwoNodes) {
  Tree by_rb;
  OtherTree by_other;
  std::vector<Item> items(10);
  for (int i = 0; i < 10; ++i) {
    items[i] = Item{.start = std::uint64_t(10 - i), .last = std::uint64_t(20 - i), .id = i};
    by_rb.insert(items[i]);
    by_other.insert(items[i]);
  }
  by_rb.remove(items[3]);
  EXPECT_FALSE(by_rb.contains(items[3]));
  EXPECT_TRUE(by_other.contains(items[3]));
  EXPECT_EQ(by_rb.verify(), std::nullopt);
  EXPECT_EQ(by_other.verify(), std::nullopt);
  int seen = 0;
  by_other.for_each_overlap(0, 100, [&](Item& x) { EXPECT_EQ(&x, &items[9 - seen++]); });
  EXPECT_EQ(seen, 10);
}

TEST(IntervalTree, CopyingAnElementDoesNotCopyItsPlaceInTheTree) {
  Tree t;
  Item x{.start = 4, .last = 8};
  t.insert(x);
  Item copy = x;
  EXPECT_FALSE(copy.rb.linked());
  EXPECT_FALSE(t.contains(copy));
  Item other{.start = 1, .last = 1};
  x = other;  // the key changed; its links did not
  EXPECT_TRUE(t.contains(x));
}

TEST(IntervalTree, IterFirstAndIterNextLetTheCallerWorkBetweenSteps) {
  Tree t;
  std::vector<Item> items(8);
  for (int i = 0; i < 8; ++i) {
    items[i] = Item{.start = std::uint64_t(i) * 10, .last = std::uint64_t(i) * 10 + 4, .id = 0};
    t.insert(items[i]);
  }
  // [14, 44] meets the elements starting at 10, 20, 30 and 40; the walk may change
  // anything that is not a key.
  int visits = 0;
  for (Item* x = t.iter_first(14, 44); x; x = Tree::iter_next(*x, 14, 44)) x->id = ++visits;
  std::vector<int> marks;
  for (const Item& x : t) marks.push_back(x.id);
  EXPECT_EQ(marks, (std::vector<int>{0, 1, 2, 3, 4, 0, 0, 0}));
}

TEST(IntervalTree, ForEachOverlapStopsWhenTheCallbackReturnsFalse) {
  Tree t;
  std::vector<Item> items(10);
  for (int i = 0; i < 10; ++i) {
    items[i] = Item{.start = std::uint64_t(i), .last = 100, .id = i};
    t.insert(items[i]);
  }
  std::vector<int> seen;
  EXPECT_FALSE(t.for_each_overlap(50, 60, [&](Item& x) {
    seen.push_back(x.id);
    return x.id < 3;
  }));
  EXPECT_EQ(seen, (std::vector<int>{0, 1, 2, 3}));
  EXPECT_TRUE(t.for_each_overlap(50, 60, [](Item&) { return true; }));
}

TEST(IntervalTree, ExtremeKeysAreOrderedAndFound) {
  Checked c;
  std::vector<Item> items = {{.start = max_key, .last = max_key, .id = 0},
                             {.start = 0, .last = max_key, .id = 1},
                             {.start = 0, .last = 0, .id = 2},
                             {.start = max_key - 1, .last = max_key, .id = 3}};
  for (Item& x : items) c.insert(x);
  EXPECT_EQ(c.mismatch(with_standard_queries({{max_key - 1, max_key - 1}, {1, max_key - 2}})), "");
}

TEST(IntervalTree, ClearUnlinksEveryElement) {
  Tree t;
  std::vector<Item> items(100);
  for (int i = 0; i < 100; ++i) {
    items[i] = Item{.start = std::uint64_t(i % 7), .last = std::uint64_t(i % 7) + 1, .id = i};
    t.insert(items[i]);
  }
  t.clear();
  EXPECT_TRUE(t.empty());
  EXPECT_EQ(t.verify(), std::nullopt);
  for (const Item& x : items) EXPECT_FALSE(x.rb.linked());
}

TEST(IntervalTree, AMovedTreeKeepsItsElements) {
  Tree t;
  std::vector<Item> items(30);
  for (int i = 0; i < 30; ++i) {
    items[i] = Item{.start = std::uint64_t(i), .last = std::uint64_t(i), .id = i};
    t.insert(items[i]);
  }
  Tree moved = std::move(t);
  EXPECT_EQ(moved.size(), 30u);
  EXPECT_TRUE(moved.contains(items[17]));
  moved.remove(items[17]);
  EXPECT_EQ(moved.verify(), std::nullopt);
  Tree assigned;
  assigned = std::move(moved);
  EXPECT_EQ(assigned.size(), 29u);
  EXPECT_EQ(assigned.verify(), std::nullopt);
}

// ---- Against brute force ----

// Keys either crowd a small range (many equal starts, many overlaps) or spread over the
// whole 64-bit range.
struct RandomKeys {
  std::mt19937_64 rng;
  std::uint64_t below(std::uint64_t n) { return rng() % n; }
  std::pair<std::uint64_t, std::uint64_t> interval() {
    if (below(8) == 0) {
      std::uint64_t a = rng(), b = rng();
      return ordered(a, b);
    }
    const std::uint64_t start = below(64);
    return {start, start + below(below(4) == 0 ? 40 : 6)};
  }
};

TEST(IntervalTree, RandomInsertsAndRemovesMatchBruteForceAfterEveryStep) {
  for (unsigned seed = 1; seed <= 6; ++seed) {
    RandomKeys keys{std::mt19937_64(seed)};
    std::vector<Item> pool(300);
    std::vector<Item*> outside;
    for (int i = 0; i < 300; ++i) {
      pool[i].id = i;
      outside.push_back(&pool[i]);
    }
    Checked c;
    for (int step = 0; step < 600; ++step) {
      // Grow in the first half, shrink in the second.
      const bool grow = keys.below(100) < (step < 300 ? 70u : 30u);
      if ((grow && !outside.empty()) || c.order.empty()) {
        const std::size_t k = keys.below(outside.size());
        Item* x = outside[k];
        outside.erase(outside.begin() + k);
        std::tie(x->start, x->last) = keys.interval();
        c.insert(*x);
      } else {
        Item* x = const_cast<Item*>(c.order[keys.below(c.order.size())]);
        c.remove(*x);
        outside.push_back(x);
      }
      std::vector<Query> queries;
      for (int q = 0; q < 4; ++q) queries.push_back(keys.interval());
      const std::uint64_t stab = keys.below(70);
      queries.push_back({stab, stab});
      ASSERT_EQ(c.mismatch(with_standard_queries(queries)), "")
          << "seed " << seed << " step " << step;
    }
  }
}

// A step: insert when `insert` (or when the tree is empty), else remove the element at
// position `pick` of the current order. Inserted keys crowd [0, 24] so that equal starts
// and overlaps are common; (a, b) also make one query.
using Step = std::tuple<bool, std::uint8_t, std::uint8_t, std::uint8_t>;

RC_GTEST_PROP(IntervalTreeProperty, AnyInsertRemoveSequenceMatchesBruteForce,
              (const std::vector<Step>& steps)) {
  std::vector<Item> pool(steps.size());
  std::size_t used = 0;
  Checked c;
  for (const auto& [insert, a, b, pick] : steps) {
    if (insert || c.order.empty()) {
      Item& x = pool[used];
      x = Item{.start = a % 16u, .last = a % 16u + b % 9u, .id = int(used)};
      ++used;
      c.insert(x);
    } else {
      c.remove(*const_cast<Item*>(c.order[pick % c.order.size()]));
    }
    const std::string problem =
        c.mismatch(with_standard_queries({ordered(a % 25u, b % 25u), {pick % 25u, pick % 25u}}));
    if (!problem.empty()) RC_FAIL(problem);
  }
}

RC_GTEST_PROP(IntervalTreeProperty, OverlapQueriesMatchBruteForceForAnyKeys,
              (const std::vector<Query>& intervals, const std::vector<Query>& queries)) {
  std::vector<Item> pool(intervals.size());
  Checked c;
  for (std::size_t i = 0; i < intervals.size(); ++i) {
    std::tie(pool[i].start, pool[i].last) = ordered(intervals[i].first, intervals[i].second);
    pool[i].id = int(i);
    c.insert(pool[i]);
  }
  std::vector<Query> qs;
  for (Query q : queries) qs.push_back(ordered(q.first, q.second));
  for (const Item& x : pool) qs.push_back({x.start, x.start});
  const std::string problem = c.mismatch(with_standard_queries(qs));
  if (!problem.empty()) RC_FAIL(problem);
}

// ---- Balance ----

TEST(IntervalTree, TenThousandElementsStayBalancedWhateverTheInsertOrder) {
  constexpr int n = 10'000;
  std::mt19937_64 rng(7);
  std::vector<std::uint64_t> shuffled(n);
  for (int i = 0; i < n; ++i) shuffled[i] = std::uint64_t(i);
  std::shuffle(shuffled.begin(), shuffled.end(), rng);
  const std::vector<std::pair<const char*, std::function<std::uint64_t(int)>>> orders = {
      {"ascending", [](int i) { return std::uint64_t(i); }},
      {"descending", [](int i) { return std::uint64_t(n - i); }},
      {"all equal", [](int) { return std::uint64_t(42); }},
      {"random", [&](int i) { return shuffled[i]; }}};
  const std::vector<Query> queries = {{0, 0}, {42, 42}, {100, 200}, {5000, 5000}, {9990, max_key}};
  for (const auto& [label, start_of] : orders) {
    SCOPED_TRACE(label);
    std::vector<Item> items(n);
    Tree tree;
    for (int i = 0; i < n; ++i) {
      items[i] = Item{.start = start_of(i), .last = start_of(i) + std::uint64_t(i % 50), .id = i};
      tree.insert(items[i]);
    }
    // The truth: by start, equal starts in insertion (= index) order.
    std::vector<const Item*> order;
    for (const Item& x : items) order.push_back(&x);
    std::stable_sort(order.begin(), order.end(),
                     [](const Item* x, const Item* y) { return x->start < y->start; });
    ASSERT_EQ(mismatch(tree, order, queries), "");
    EXPECT_TRUE(balanced(tree)) << "height " << tree.height();

    // Every other element out, in index order.
    for (int i = 0; i < n; i += 2) tree.remove(items[i]);
    std::erase_if(order, [](const Item* x) { return x->id % 2 == 0; });
    ASSERT_EQ(mismatch(tree, order, queries), "");
    EXPECT_TRUE(balanced(tree)) << "height " << tree.height();
  }
}

// ---- verify() catches corruption ----

// 64 elements with distinct starts and a common `last`, so that a corruption of the
// ordering or of a link leaves subtree_last values right and is reported as what it is.
struct Corruptible {
  std::vector<Item> items = std::vector<Item>(64);
  Tree tree;
  Corruptible() {
    std::mt19937 rng(3);
    std::vector<int> order(items.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = int(i);
    std::shuffle(order.begin(), order.end(), rng);
    for (int i : order) {
      items[i] = Item{.start = std::uint64_t(i) * 4, .last = 1000, .id = i};
      tree.insert(items[i]);
    }
    EXPECT_EQ(tree.verify(), std::nullopt);
  }
  Item& owner(const rb::Node* n) {
    for (Item& x : items)
      if (&x.rb == n) return x;
    ADD_FAILURE() << "node not in the test tree";
    return items[0];
  }
  Item& root() {
    for (Item& x : items)
      if (x.rb.parent == nullptr) return x;
    ADD_FAILURE() << "no root";
    return items[0];
  }
  // The first element (in start order) whose node satisfies `want`.
  template <class Pred>
  Item& find(Pred want) {
    for (Item& x : items)
      if (want(x.rb)) return x;
    ADD_FAILURE() << "no node of the wanted shape";
    return items[0];
  }
  std::string report() { return tree.verify().value_or("(verify found nothing)"); }
};

bool is_leaf(const rb::Node& n) { return !n.left && !n.right; }

TEST(IntervalTreeVerify, ReportsARedRoot) {
  Corruptible t;
  Item& root = t.root();
  root.rb.color = rb::Color::red;
  EXPECT_EQ(t.report(), "root " + describe(root) + " is red");
}

TEST(IntervalTreeVerify, ReportsARedNodeWithARedChild) {
  Corruptible t;
  Item& red = t.find([](const rb::Node& n) { return rb::is_red(&n) && n.left; });
  Item& child = t.owner(red.rb.left);
  child.rb.color = rb::Color::red;
  EXPECT_EQ(t.report(), "red node " + describe(red) + " has a red child " + describe(child));
}

TEST(IntervalTreeVerify, ReportsUnequalBlackHeights) {
  Corruptible t;
  Item& red_leaf = t.find([](const rb::Node& n) { return rb::is_red(&n) && is_leaf(n); });
  red_leaf.rb.color = rb::Color::black;
  const std::string report = t.report();
  EXPECT_NE(report.find("black height differs below " + describe(t.owner(red_leaf.rb.parent))),
            std::string::npos)
      << report;
}

TEST(IntervalTreeVerify, ReportsAWrongSubtreeLast) {
  Corruptible t;
  Item& x = t.items[20];
  x.rb.subtree_last = 999;
  EXPECT_EQ(t.report(), "subtree_last of " + describe(x) + " is 0x3e7, expected 0x3e8");
}

TEST(IntervalTreeVerify, ReportsAStartThatChangedWhileLinked) {
  Corruptible t;
  Item& x = t.items[30];  // between starts 116 and 124 in order
  x.start = 126;
  EXPECT_EQ(t.report(),
            "in-order starts decrease: " + describe(x) + " comes before " + describe(t.items[31]));
}

TEST(IntervalTreeVerify, ReportsAStartAboveLast) {
  Corruptible t;
  Item& x = t.items[10];
  x.last = x.start - 1;
  EXPECT_EQ(t.report(), "node " + describe(x) + " has start above last");
}

TEST(IntervalTreeVerify, ReportsABrokenParentLink) {
  Corruptible t;
  Item& root = t.root();
  Item& x = t.find([](const rb::Node& n) { return n.parent && n.parent->parent; });
  Item& parent = t.owner(x.rb.parent);
  x.rb.parent = &root.rb;
  EXPECT_EQ(t.report(), "node " + describe(x) + " is a child of " + describe(parent) +
                            " but its parent link points elsewhere");
}

TEST(IntervalTreeVerify, ReportsALinkBackUpTheTreeWithoutLooping) {
  Corruptible t;
  Item& root = t.root();
  Item& leaf = t.find([](const rb::Node& n) { return is_leaf(n); });
  leaf.rb.left = &root.rb;
  EXPECT_EQ(t.report(), "node " + describe(root) + " is a child of " + describe(leaf) +
                            " but its parent link points elsewhere");
}

TEST(IntervalTreeVerify, ReportsAPoisonedNodeThatIsStillLinked) {
  Corruptible t;
  Item& leaf = t.find([](const rb::Node& n) { return is_leaf(n); });
  leaf.rb.poison();
  EXPECT_EQ(t.report(), "node " + describe(leaf) + " is poisoned but still linked");
}

TEST(IntervalTreeVerify, ReportsAnElementLostFromTheTree) {
  Corruptible t;
  Item& red_leaf = t.find([](const rb::Node& n) { return rb::is_red(&n) && is_leaf(n); });
  rb::Node* parent = red_leaf.rb.parent;
  (parent->left == &red_leaf.rb ? parent->left : parent->right) = nullptr;
  EXPECT_EQ(t.report(), "the tree holds 63 elements but size() is 64");
}

// ---- Misuse aborts in debug builds ----

#ifdef NDEBUG
#define SKIP_WITHOUT_DEBUG_CHECKS() GTEST_SKIP() << "misuse checks are compiled out (NDEBUG)"
#else
#define SKIP_WITHOUT_DEBUG_CHECKS() (void)0
#endif

TEST(IntervalTreeDeathTest, InsertingALinkedNodeAborts) {
  SKIP_WITHOUT_DEBUG_CHECKS();
  Tree t;
  Item x{.start = 0x10, .last = 0x1f};
  t.insert(x);
  EXPECT_DEATH(t.insert(x), "already linked \\(double insert\\?\\): element \\[0x10, 0x1f\\]");
}

TEST(IntervalTreeDeathTest, InsertingANodeLinkedInAnotherTreeAborts) {
  SKIP_WITHOUT_DEBUG_CHECKS();
  Tree a, b;
  Item x{.start = 1, .last = 2};
  a.insert(x);
  EXPECT_DEATH(b.insert(x), "already linked");
}

TEST(IntervalTreeDeathTest, RemovingAnUnlinkedNodeAborts) {
  SKIP_WITHOUT_DEBUG_CHECKS();
  Tree t;
  Item x{.start = 3, .last = 4}, y{.start = 5, .last = 6};
  t.insert(y);
  EXPECT_DEATH(t.remove(x), "not linked \\(double remove\\?\\): element \\[0x3, 0x4\\]");
  t.remove(y);
  EXPECT_DEATH(t.remove(y), "not linked");
}

TEST(IntervalTreeDeathTest, RemovingANodeOfAnotherTreeAborts) {
  SKIP_WITHOUT_DEBUG_CHECKS();
  Tree a, b;
  Item x{.start = 1, .last = 2}, y{.start = 3, .last = 4};
  a.insert(x);
  b.insert(y);
  EXPECT_DEATH(b.remove(x), "linked in another tree");
}

TEST(IntervalTreeDeathTest, InsertingOrRemovingAPoisonedNodeAborts) {
  SKIP_WITHOUT_DEBUG_CHECKS();
  Tree t;
  Item x{.start = 1, .last = 2};
  x.rb.poison();
  EXPECT_DEATH(t.insert(x), "insert of a poisoned node");
  EXPECT_DEATH(t.remove(x), "remove of a poisoned node");
}

TEST(IntervalTreeDeathTest, InsertingAnIntervalThatEndsBeforeItStartsAborts) {
  SKIP_WITHOUT_DEBUG_CHECKS();
  Tree t;
  Item x{.start = 9, .last = 8};
  EXPECT_DEATH(t.insert(x), "start is above its last");
}

TEST(IntervalTreeDeathTest, AQueryWhoseEndIsBelowItsStartAborts) {
  SKIP_WITHOUT_DEBUG_CHECKS();
  Tree t;
  EXPECT_DEATH(t.iter_first(5, 4), "overlap query with a above b");
}

}  // namespace
