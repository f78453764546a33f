// Op-level mutation (the fuzzers' custom mutator): every mutation keeps a sequence
// within the limits and at most max_ops long, changes what it says it changes, and is
// a pure function of the random seed.

#include "ops/mutate.hpp"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <vector>

#include "ops/decode.hpp"
#include "ops/trace.hpp"
#include "properties/op_gen.hpp"

namespace {

using namespace ops;

std::vector<Op> ops_of(std::string_view text) { return parse_trace(text).ops(); }

const std::vector<Op> sample = ops_of(
    "mmap 1 0x10 8 anon private rw\n"
    "write 1 0x10 5\n"
    "fork 1\n"
    "pin 2 0x11 ro\n"
    "readpin 1\n"
    "mremap 1 0x10 8 16\n"
    "ksm\n");

void expect_valid(const std::vector<Op>& ops, const Limits& limits) {
  ASSERT_LE(ops.size(), limits.max_ops);
  for (const Op& op : ops) ASSERT_TRUE(within_limits(op, limits)) << print_op(op);
  EXPECT_EQ(decode(encode(ops, limits), limits), ops);
}

TEST(Mutate, InsertAddsOneOpAndKeepsTheOthersInOrder) {
  for (uint64_t seed = 0; seed < 50; ++seed) {
    MutationRng rng(seed);
    std::vector<Op> ops = sample;
    mutate(Mutation::insert, ops, campaign_limits(), rng);
    ASSERT_EQ(ops.size(), sample.size() + 1);
    size_t kept = 0;  // sample must be a subsequence of ops
    for (const Op& op : ops) kept += kept < sample.size() && op == sample[kept];
    EXPECT_EQ(kept, sample.size());
  }
}

TEST(Mutate, InsertIntoAFullSequenceReplacesAnOp) {
  Limits limits = campaign_limits();
  limits.max_ops = unsigned(sample.size());
  MutationRng rng(1);
  std::vector<Op> ops = sample;
  mutate(Mutation::insert, ops, limits, rng);
  EXPECT_EQ(ops.size(), sample.size());
}

TEST(Mutate, InsertedOpsLeanOnWhatTheSequenceCreated) {
  // After "mmap 1 0x40 4", most inserted page ops should name pid 1 inside [0x40, 0x44).
  const std::vector<Op> base = ops_of("mmap 1 0x40 4 anon private rw\n");
  int page_ops = 0, on_range = 0;
  for (uint64_t seed = 0; seed < 400; ++seed) {
    MutationRng rng(seed);
    std::vector<Op> ops = base;
    mutate(Mutation::insert, ops, campaign_limits(), rng);
    if (ops.size() != 2 || ops[0] != base[0]) continue;
    const Op& op = ops[1];
    if (const auto* r = std::get_if<Read>(&op)) ++page_ops, on_range += r->pid == 1 && r->vpn >= 0x40 && r->vpn < 0x44;
    if (const auto* w = std::get_if<Write>(&op)) ++page_ops, on_range += w->pid == 1 && w->vpn >= 0x40 && w->vpn < 0x44;
  }
  ASSERT_GT(page_ops, 20);
  EXPECT_GT(on_range * 10, page_ops * 7);
}

TEST(Mutate, EraseRemovesOneToFourAdjacentOps) {
  for (uint64_t seed = 0; seed < 50; ++seed) {
    MutationRng rng(seed);
    std::vector<Op> ops = sample;
    mutate(Mutation::erase, ops, campaign_limits(), rng);
    ASSERT_GE(ops.size() + 4, sample.size());
    ASSERT_LT(ops.size(), sample.size());
  }
}

TEST(Mutate, SwapAndDuplicateKeepTheMultisetOrGrowIt) {
  MutationRng rng(7);
  std::vector<Op> swapped = sample;
  mutate(Mutation::swap, swapped, campaign_limits(), rng);
  EXPECT_TRUE(std::is_permutation(swapped.begin(), swapped.end(), sample.begin(), sample.end()));
  std::vector<Op> dup = sample;
  mutate(Mutation::duplicate, dup, campaign_limits(), rng);
  EXPECT_GT(dup.size(), sample.size());
  EXPECT_LE(dup.size(), sample.size() + 4);
}

TEST(Mutate, TweakChangesAtMostOneOp) {
  int changed = 0;
  for (uint64_t seed = 0; seed < 200; ++seed) {
    MutationRng rng(seed);
    std::vector<Op> ops = sample;
    mutate(Mutation::tweak, ops, campaign_limits(), rng);
    ASSERT_EQ(ops.size(), sample.size());
    int differ = 0;
    for (size_t i = 0; i < ops.size(); ++i) {
      differ += ops[i] != sample[i];
      EXPECT_EQ(ops[i].index(), sample[i].index());  // a tweak never changes the kind
    }
    EXPECT_LE(differ, 1);
    changed += differ;
  }
  EXPECT_GT(changed, 120);  // ksm has no operand and some tweaks land on the same value
}

TEST(Mutate, NothingToWorkOnLeavesTheSequenceAlone) {
  MutationRng rng(3);
  for (Mutation m : {Mutation::erase, Mutation::duplicate, Mutation::swap, Mutation::tweak}) {
    std::vector<Op> none;
    mutate(m, none, campaign_limits(), rng);
    EXPECT_TRUE(none.empty()) << mutation_name(m);
  }
}

TEST(Mutate, SpliceIsAPrefixOfOneAndASuffixOfTheOther) {
  const std::vector<Op> other = ops_of("fork 1\nexit 2\nreclaim 3\n");
  for (uint64_t seed = 0; seed < 30; ++seed) {
    MutationRng rng(seed);
    std::vector<Op> out = splice(sample, other, campaign_limits(), rng);
    size_t prefix = 0;
    while (prefix < out.size() && prefix < sample.size() && out[prefix] == sample[prefix]) ++prefix;
    const size_t suffix = out.size() - prefix;
    ASSERT_LE(suffix, other.size());
    EXPECT_TRUE(std::equal(out.begin() + long(prefix), out.end(), other.end() - long(suffix)));
  }
}

RC_GTEST_PROP(MutateProperty, EveryMutationStaysWithinTheLimitsAndEncodes, ()) {
  const Limits limits = *gen::limits();
  std::vector<Op> ops = *gen::ops(limits);
  MutationRng rng(*rc::gen::arbitrary<uint64_t>());
  for (int i = 0; i < 20; ++i) {
    const Mutation m = mutate(ops, limits, rng);
    RC_ASSERT(ops.size() <= limits.max_ops);
    for (const Op& op : ops) RC_ASSERT(within_limits(op, limits));
    RC_TAG(mutation_name(m));
  }
  RC_ASSERT(decode(encode(ops, limits), limits) == ops);
}

RC_GTEST_PROP(MutateProperty, TheSameSeedGivesTheSameMutation, ()) {
  const Limits limits = *gen::limits();
  const std::vector<Op> ops = *gen::ops(limits);
  const uint64_t seed = *rc::gen::arbitrary<uint64_t>();
  std::vector<Op> a = ops, b = ops;
  MutationRng ra(seed), rb(seed);
  RC_ASSERT(mutate(a, limits, ra) == mutate(b, limits, rb));
  RC_ASSERT(a == b);
}

TEST(Mutate, SampleStaysValidUnderManyMutations) {
  MutationRng rng(11);
  std::vector<Op> ops = sample;
  for (int i = 0; i < 2000; ++i) mutate(ops, campaign_limits(), rng);
  expect_valid(ops, campaign_limits());
}

}  // namespace
