// model/flat_map.hpp: the sorted-vector map and set behind the model's address spaces,
// frames and swap slots behave as std::map and std::set do.

#include "model/flat_map.hpp"

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <map>
#include <set>
#include <vector>

namespace {

using model::FlatMap;
using model::FlatSet;

template <class K, class V>
std::vector<std::pair<K, V>> items(const FlatMap<K, V>& m) {
  return {m.begin(), m.end()};
}

template <class K, class V>
std::vector<std::pair<K, V>> items(const std::map<K, V>& m) {
  return {m.begin(), m.end()};
}

}  // namespace

TEST(FlatMap, AssigningToTheLastKeyAgain_KeepsOneEntry) {
  FlatMap<int, int> m;
  m[1] = 10;
  m[2] = 20;
  m[2] = 21;  // a fresh swap slot is inserted, then written: the same key twice
  EXPECT_EQ(m.size(), 2u);
  EXPECT_EQ(m.at(2), 21);
}

TEST(FlatMap, KeysInAnyOrder_AreKeptSortedAndUnique) {
  FlatMap<int, char> m;
  for (int k : {5, 1, 9, 5, 3, 9, 0}) m[k] = 'x';
  EXPECT_EQ(items(m), (std::vector<std::pair<int, char>>{{0, 'x'}, {1, 'x'}, {3, 'x'}, {5, 'x'}, {9, 'x'}}));
  EXPECT_EQ(m.erase(5), 1u);
  EXPECT_EQ(m.erase(5), 0u);
  EXPECT_EQ(m.count(3), 1u);
  EXPECT_EQ(m.find(4), m.end());
  EXPECT_THROW(m.at(4), std::out_of_range);
}

TEST(FlatMap, KeepOnly_KeepsTheMarkedPositionsInOrder) {
  FlatMap<int, int> m;
  for (int k = 0; k < 5; ++k) m[k] = k * 10;
  m.keep_only({true, false, true, false, true});
  EXPECT_EQ(items(m), (std::vector<std::pair<int, int>>{{0, 0}, {2, 20}, {4, 40}}));
}

TEST(FlatSet, InsertingInAnyOrder_KeepsItSortedAndUnique) {
  FlatSet<int> s;
  for (int k : {4, 2, 4, 8, 2, 6}) s.insert(k);
  EXPECT_EQ(std::vector<int>(s.begin(), s.end()), (std::vector<int>{2, 4, 6, 8}));
  EXPECT_FALSE(s.insert(6));
  EXPECT_EQ(s.erase(4), 1u);
  EXPECT_EQ(s.count(4), 0u);
}

// Random inserts, assignments, erases and range erases, beside std::map.
RC_GTEST_PROP(FlatMap, AnySequenceOfEdits_LeavesWhatStdMapHolds, ()) {
  FlatMap<unsigned, unsigned> flat;
  std::map<unsigned, unsigned> tree;
  const auto edits = *rc::gen::container<std::vector<std::tuple<unsigned, unsigned, unsigned>>>(
      rc::gen::tuple(rc::gen::inRange(0u, 4u), rc::gen::inRange(0u, 32u), rc::gen::inRange(0u, 32u)));
  for (auto [kind, a, b] : edits) {
    switch (kind) {
      case 0: flat[a] = b; tree[a] = b; break;
      case 1: flat.try_emplace(a, b); tree.try_emplace(a, b); break;
      case 2: RC_ASSERT(flat.erase(a) == tree.erase(a)); break;
      case 3:
        flat.erase(flat.lower_bound(std::min(a, b)), flat.lower_bound(std::max(a, b)));
        tree.erase(tree.lower_bound(std::min(a, b)), tree.lower_bound(std::max(a, b)));
        break;
    }
    RC_ASSERT(items(flat) == items(tree));
  }
}

// The same for the set.
RC_GTEST_PROP(FlatSet, AnySequenceOfInsertsAndErases_LeavesWhatStdSetHolds, ()) {
  FlatSet<unsigned> flat;
  std::set<unsigned> tree;
  for (auto [insert, k] : *rc::gen::container<std::vector<std::pair<bool, unsigned>>>(
           rc::gen::pair(rc::gen::arbitrary<bool>(), rc::gen::inRange(0u, 32u)))) {
    if (insert) RC_ASSERT(flat.insert(k) == tree.insert(k).second);
    else RC_ASSERT(flat.erase(k) == tree.erase(k));
    RC_ASSERT(std::vector<unsigned>(flat.begin(), flat.end()) == std::vector<unsigned>(tree.begin(), tree.end()));
  }
}
