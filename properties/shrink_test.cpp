// The shrinker on real findings: the implementation's bug zoo (impl/bugs.hpp) makes
// split_vma() forget the new VMA's anon_vma chain, a long noisy trace runs into it, and
// the shrinker must hand back a handful of ops that still fail the same way.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "check/finding.hpp"
#include "check/runner.hpp"
#include "check/shrink.hpp"
#include "ops/limits_text.hpp"
#include "ops/trace.hpp"

namespace {

// 40 ops of noise around one split of an anon VMA that has pages (the mprotect below);
// with the bug on, the runner reports rmap losing those pages there.
const char* const noisy_trace = R"(mmap 1 0x200 16 file:1@2 private r
read 1 0x203
fwrite 1 5 77
mmap 1 0x300 8 anon shared rw populate
write 1 0x302 11
fork 1
read 2 0x205
mmap 2 0x400 4 file:2@0 shared rw
write 2 0x401 900
pin 2 0x401 rw
writepin 1 1234
read 1 0x302
mmap 1 0x500 8 anon private rw locked
write 1 0x503 5
fwrite 0 3 42
fork 2
read 3 0x401
exit 3
mmap 1 0x600 24 anon private rwx populate
write 1 0x608 4242
write 1 0x610 31337
read 1 0x600
fwrite 2 1 8
read 2 0x401
mmap 2 0x700 2 anon private r
ftruncate 3 20
read 1 0x20a
unpin 1
write 2 0x302 6
mprotect 1 0x60a 4 r
read 1 0x60b
write 2 0x700 3
munmap 1 0x200 4
fork 1
write 3 0x503 19
read 2 0x302
mmap 1 0x800 8 file:0@0 private rw
write 1 0x801 2
fwrite 3 0 1
read 1 0x608
)";

std::vector<ops::Op> noisy_ops() { return ops::parse_trace(noisy_trace).ops(); }

check::ShrinkOptions with_split_bug() {
  check::ShrinkOptions o;
  o.bugs.skip_anon_vma_clone_on_split = true;
  return o;
}

check::RunnerOptions runner_with_split_bug() {
  check::RunnerOptions o;
  o.bugs.skip_anon_vma_clone_on_split = true;
  return o;
}

std::string text_of(const std::vector<ops::Op>& ops) {
  return ops::print_trace(ops::Trace::from_ops(ops));
}

}  // namespace

TEST(ShrinkBugZoo, SplitBugOff_TheNoisyTraceRunsClean) {
  EXPECT_EQ(noisy_ops().size(), 40u);
  const auto result = check::run_sequence(ops::Limits{}, noisy_ops());
  EXPECT_FALSE(result.finding) << check::finding_trace(*result.finding, ops::Limits{});
}

TEST(ShrinkBugZoo, SplitBugOn_TheNoisyTraceDivergesAtTheSplit) {
  const auto result = check::run_sequence(ops::Limits{}, noisy_ops(), runner_with_split_bug());
  ASSERT_TRUE(result.finding);
  EXPECT_TRUE(std::holds_alternative<ops::Mprotect>(result.finding->op))
      << check::finding_text(*result.finding, "");
}

TEST(ShrinkRealFinding, NoisyTraceOf40Ops_ShrinksToAtMostSixOpsThatFailTheSameWay) {
  const auto original = check::run_sequence(ops::Limits{}, noisy_ops(), runner_with_split_bug());
  ASSERT_TRUE(original.finding);
  const check::ShrinkResult shrunk = check::shrink(ops::Limits{}, noisy_ops(), with_split_bug());
  ASSERT_FALSE(shrunk.error) << *shrunk.error;
  EXPECT_EQ(shrunk.before, 40u);
  EXPECT_EQ(shrunk.after, shrunk.ops.size());
  EXPECT_LE(shrunk.after, 6u) << text_of(shrunk.ops);
  EXPECT_FALSE(shrunk.budget_exhausted);
  EXPECT_GT(shrunk.runs, 1u);

  // The finding belongs to the shrunk ops, and replaying them reproduces it.
  EXPECT_EQ(shrunk.finding.trace, shrunk.ops);
  EXPECT_EQ(shrunk.finding.op_index, shrunk.ops.size() - 1);
  const auto again = check::run_sequence(ops::Limits{}, shrunk.ops, runner_with_split_bug());
  ASSERT_TRUE(again.finding) << text_of(shrunk.ops);
  EXPECT_EQ(again.finding->kind, original.finding->kind);
  EXPECT_EQ(again.finding->op.index(), original.finding->op.index());
  EXPECT_EQ(*again.finding, shrunk.finding);

  // And it is the bug that fails them: the clean implementation runs them fine.
  EXPECT_FALSE(check::run_sequence(ops::Limits{}, shrunk.ops).finding) << text_of(shrunk.ops);
}

TEST(ShrinkRealFinding, ShrinkingTwice_GivesTheSameOpsAndFinding) {
  const check::ShrinkResult first = check::shrink(ops::Limits{}, noisy_ops(), with_split_bug());
  const check::ShrinkResult second = check::shrink(ops::Limits{}, noisy_ops(), with_split_bug());
  ASSERT_FALSE(first.error);
  EXPECT_EQ(first.ops, second.ops) << text_of(first.ops) << "---\n" << text_of(second.ops);
  EXPECT_EQ(first.finding, second.finding);
  EXPECT_EQ(first.runs, second.runs);
}

TEST(ShrinkRealFinding, ShrinkingAShrunkTrace_ChangesNothing) {
  const check::ShrinkResult first = check::shrink(ops::Limits{}, noisy_ops(), with_split_bug());
  const check::ShrinkResult second = check::shrink(ops::Limits{}, first.ops, with_split_bug());
  ASSERT_FALSE(second.error);
  EXPECT_EQ(second.ops, first.ops);
}

TEST(ShrinkNoFinding, TraceWithoutFinding_ReportsAnErrorAndKeepsTheOps) {
  const check::ShrinkResult result = check::shrink(ops::Limits{}, noisy_ops());
  ASSERT_TRUE(result.error);
  EXPECT_NE(result.error->find("no finding"), std::string::npos) << *result.error;
  EXPECT_EQ(result.ops, noisy_ops());
  EXPECT_EQ(result.before, 40u);
  EXPECT_EQ(result.after, 40u);
  EXPECT_EQ(result.runs, 1u);
}

TEST(ShrinkLimits, NonDefaultLimits_AreWrittenIntoTheShrunkTrace) {
  ops::Limits limits;
  limits.hpage_order = 2;
  limits.frames = 200;
  limits.max_processes = 4;
  const check::ShrinkResult shrunk = check::shrink(limits, noisy_ops(), with_split_bug());
  ASSERT_FALSE(shrunk.error) << *shrunk.error;
  EXPECT_LE(shrunk.after, 6u) << text_of(shrunk.ops);

  const std::string text = check::finding_trace(shrunk.finding, limits);
  EXPECT_NE(text.find("# limits: hpage_order=2 max_processes=4 frames=200"), std::string::npos) << text;
  const ops::Trace trace = ops::parse_trace(text);
  EXPECT_EQ(ops::limits_from_trace(trace, ops::Limits{}), limits);
  EXPECT_EQ(trace.ops(), shrunk.ops);
  const auto replayed = check::run_sequence(limits, trace.ops(), runner_with_split_bug());
  ASSERT_TRUE(replayed.finding) << text;
  EXPECT_EQ(replayed.finding->kind, shrunk.finding.kind);
}

TEST(ShrinkBudget, RunBudget_StopsEarlyWithAStillFailingTrace) {
  check::ShrinkOptions options = with_split_bug();
  options.max_runs = 4;
  const check::ShrinkResult shrunk = check::shrink(ops::Limits{}, noisy_ops(), options);
  ASSERT_FALSE(shrunk.error);
  EXPECT_TRUE(shrunk.budget_exhausted);
  EXPECT_LE(shrunk.runs, 4u);
  EXPECT_LT(shrunk.after, shrunk.before);  // at least cut after the failing op
  EXPECT_TRUE(check::run_sequence(ops::Limits{}, shrunk.ops, runner_with_split_bug()).finding);
}
