// The differential runner as a specification: on random op sequences, and on every
// regression trace, the implementation agrees with the model and keeps its invariants.

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "check/finding.hpp"
#include "check/random_sequence.hpp"
#include "check/runner.hpp"
#include "impl/kernel.hpp"
#include "impl/pgtable.hpp"
#include "op_gen.hpp"
#include "ops/limits_text.hpp"
#include "ops/trace.hpp"

namespace {

// A small world, so that random ops land on mapped pages, live pids and real pins.
ops::Limits small_world() {
  ops::Limits l;
  l.address_space = 0x40;
  l.max_pages = 0x40;
  l.max_vmas = 0x40;
  l.max_processes = 4;
  l.frames = 96;
  l.files = 2;
  l.initial_file_pages = 8;
  l.max_file_pages = 16;
  l.max_pins = 4;
  return l;
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The property: random sequences find nothing. A failure's message is the finding as a
// trace, so what RapidCheck reports (for its shrunk counterexample) replays as it is.
void impl_agrees_with_model(const impl::Bugs& bugs, const ops::Limits& limits = small_world()) {
  const auto ops = *ops::gen::ops(limits);
  auto result = check::run_sequence(limits, ops, check::RunnerOptions{bugs});
  if (result.finding) RC_FAIL("\n" + check::finding_trace(*result.finding, limits));
}

}  // namespace

RC_GTEST_PROP(RunnerProperty, RandomSequences_ImplAgreesWithModel, ()) { impl_agrees_with_model({}); }

// The same under memory pressure: 12 frames and 8 swap slots, so that reclaim, swap-in,
// direct reclaim and its facts, and ENOMEM are on most sequences' path.
RC_GTEST_PROP(RunnerProperty, RandomSequencesUnderMemoryPressure_ImplAgreesWithModel, ()) {
  ops::Limits limits = small_world();
  limits.frames = 12;
  limits.swap_slots = 8;
  impl_agrees_with_model({}, limits);
}

// With THP "always": huge zero pages and PMD-mapped large folios wherever an aligned
// range fits a VMA, and with them PMD splits, COW of PMDs, collapse, split and the
// reclaim and migration of large folios.
RC_GTEST_PROP(RunnerProperty, RandomSequencesWithThpAlways_ImplAgreesWithModel, ()) {
  ops::Limits limits = small_world();
  limits.thp_always = true;
  impl_agrees_with_model({}, limits);
}

// The same with little memory: huge pages fall back to small ones, are compacted for,
// and are split by reclaim.
RC_GTEST_PROP(RunnerProperty, RandomSequencesWithThpAlwaysUnderMemoryPressure_ImplAgreesWithModel, ()) {
  ops::Limits limits = small_world();
  limits.thp_always = true;
  limits.frames = 24;
  limits.swap_slots = 8;
  impl_agrees_with_model({}, limits);
}

TEST(RunnerProperty, AFailureIsReportedAsItsShrunkCounterexampleTrace) {
  impl::Bugs bugs;
  bugs.skip_anon_vma_clone_on_split = true;
  rc::detail::TestParams params;
  params.seed = 20261122;
  params.maxSuccess = 2000;
  const rc::detail::TestResult result =
      rc::detail::checkProperty(rc::detail::toProperty([&] { impl_agrees_with_model(bugs); }),
                                rc::detail::TestMetadata{}, params);
  rc::detail::FailureResult failure;
  ASSERT_TRUE(result.match(failure)) << "the planted bug was not found";
  // RapidCheck puts "FILE:LINE:" and the RC_FAIL expression before our message.
  const size_t from = failure.description.find("\n#");
  ASSERT_NE(from, std::string::npos) << failure.description;
  const ops::Trace trace = ops::parse_trace(failure.description.substr(from + 1));
  EXPECT_LE(trace.ops().size(), 8u) << failure.description;  // shrunk, not the raw sequence
  ASSERT_NE(failure.description.find("# <- "), std::string::npos) << failure.description;
  const auto replay = check::run_sequence(ops::limits_from_trace(trace, ops::Limits{}), trace.ops(),
                                          check::RunnerOptions{bugs});
  EXPECT_TRUE(replay.finding) << failure.description;
}

TEST(RunnerCorpus, EveryRegressionTrace_ReplaysCleanOnBothSides) {
  const std::filesystem::path dir = std::filesystem::path(RMAPCHECK_SOURCE_DIR) / "corpus/regressions";
  size_t traces = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".trace") continue;
    ++traces;
    ops::Trace trace = ops::parse_trace(read_file(entry.path()));
    ops::Limits limits = ops::limits_from_trace(trace, ops::Limits{});
    auto result = check::run_sequence(limits, trace.ops());
    EXPECT_FALSE(result.finding) << entry.path().filename() << "\n"
                                 << (result.finding ? check::finding_trace(*result.finding, limits) : "");
  }
  EXPECT_GT(traces, 10u);
}

TEST(RunnerFinding, ACleanRun_KeepsTheOpsItWasGivenAsItsTrace) {
  ops::Limits limits;
  check::Runner runner(limits);
  auto trace = ops::parse_trace("mmap 1 0x100 4 anon private rw\nwrite 1 0x101 7\nfork 1\nread 2 0x101\n");
  for (const ops::Op& op : trace.ops()) ASSERT_FALSE(runner.step(op));
  EXPECT_EQ(runner.trace(), trace.ops());
  EXPECT_EQ(runner.last_result(), ops::Result::of(7));
}

TEST(RunnerFinding, ABrokenImplIsReportedWithTheTraceUpToTheOpThatBrokeIt) {
  // The split forgets the anon_vma chain: the page mapped in the new VMA is lost to
  // rmap_walk at the mprotect, and the finding's trace ends there.
  impl::Bugs bugs;
  bugs.skip_anon_vma_clone_on_split = true;
  check::Runner runner(ops::Limits{}, check::RunnerOptions{bugs});
  const auto ops =
      ops::parse_trace("mmap 1 0x100 4 anon private rw\nwrite 1 0x103 7\nmprotect 1 0x102 2 r\nread 1 0x100\n").ops();
  std::optional<check::Finding> finding;
  for (const ops::Op& op : ops)
    if ((finding = runner.step(op))) break;
  ASSERT_TRUE(finding);
  EXPECT_EQ(finding->op_index, 2u);
  EXPECT_EQ(finding->kind, "rmap");
  EXPECT_EQ(finding->trace, std::vector<ops::Op>(ops.begin(), ops.begin() + 3));
  EXPECT_FALSE(finding->details.empty());
}

TEST(RunnerFinding, AnswersThatDiffer_AreAResultFinding) {
  check::Runner runner(ops::Limits{});
  for (const char* op : {"mmap 1 0x100 1 anon private rw", "write 1 0x100 7"})
    ASSERT_FALSE(runner.step(ops::parse_op(op))) << op;
  // The implementation's page changes behind the model's back.
  impl::Kernel& k = runner.kernel();
  const impl::Pte* pte = impl::pte_offset(k.tasks.at(1), 0x100);
  ASSERT_TRUE(pte && pte->kind == impl::Pte::Kind::present);
  k.page(pte->pfn).value = 8;
  const auto finding = runner.step(ops::parse_op("read 1 0x100"));
  ASSERT_TRUE(finding);
  EXPECT_EQ(finding->kind, "result");
  EXPECT_EQ(finding->details, std::vector<std::string>{"result: model 7  impl 8"});
}

namespace {

// The first seed (from 1) whose random sequence makes the runner report a finding.
std::optional<uint64_t> first_failing_seed(const impl::Bugs& bugs, uint64_t tries) {
  ops::Limits limits;
  for (uint64_t seed = 1; seed <= tries; ++seed) {
    auto ops = check::random_sequence(seed, limits);
    if (check::run_sequence(limits, ops, check::RunnerOptions{bugs}).finding) return seed;
  }
  return std::nullopt;
}

}  // namespace

TEST(RunnerBugZoo, ACleanImplementation_GivesNoFindingOnTheSameSeeds) {
  EXPECT_EQ(first_failing_seed(impl::Bugs{}, 12), std::nullopt);
}

TEST(RunnerBugZoo, AnAnonVmaReuseLeftUncounted_IsFoundWithinAFewSequences) {
  impl::Bugs bugs;
  bugs.anon_vma_reuse_uncounted = true;
  EXPECT_NE(first_failing_seed(bugs, 12), std::nullopt);
}

TEST(RunnerBugZoo, ASplitThatForgetsTheAnonVmaChain_IsFoundWithinAFewSequences) {
  impl::Bugs bugs;
  bugs.skip_anon_vma_clone_on_split = true;
  EXPECT_NE(first_failing_seed(bugs, 12), std::nullopt);
}

namespace {

TEST(RunnerReclaimBounds, ReclaimNTakesAtMostN) {
  EXPECT_EQ(check::facts_out_of_bounds(ops::Reclaim{2}, 2), std::nullopt);
  EXPECT_NE(check::facts_out_of_bounds(ops::Reclaim{2}, 3), std::nullopt);
}

TEST(RunnerReclaimBounds, AnOpThatAllocatesNothingReclaimsNothing) {
  EXPECT_NE(check::facts_out_of_bounds(ops::Munmap{1, 0x10, 1}, 1), std::nullopt);
  EXPECT_NE(check::facts_out_of_bounds(ops::Exit{2}, 1), std::nullopt);
  EXPECT_EQ(check::facts_out_of_bounds(ops::Write{1, 0x10, 1}, 4), std::nullopt);
}

TEST(RunnerReclaimBounds, AReclaimThatTakesNothingWhereSomethingIsReclaimable_IsAFinding) {
  impl::Bugs bugs;
  bugs.reclaim_gives_up = true;
  const auto ops = ops::parse_trace("mmap 1 0x10 4 anon private rw populate\nreclaim 2\n").ops();
  const auto result = check::run_sequence(ops::campaign_limits(), ops, check::RunnerOptions{bugs});
  ASSERT_TRUE(result.finding);
  EXPECT_EQ(result.finding->kind, "reclaim");
  EXPECT_EQ(result.finding->op_index, 1u);
}

}  // namespace

namespace {

// Direct reclaim runs wherever an op allocates a frame; with it switched off (the zoo's
// reclaim_gives_up), an op that runs out while a frame it has not used could go is a
// finding. `limits.frames` is set so that the op finds memory full.
std::optional<check::Finding> finding_when_reclaim_gives_up(uint64_t frames, const std::string& trace) {
  ops::Limits limits = small_world();
  limits.frames = frames;
  impl::Bugs bugs;
  bugs.reclaim_gives_up = true;
  return check::run_sequence(limits, ops::parse_trace(trace).ops(), check::RunnerOptions{bugs}).finding;
}

const char* const memory_full_of_file_pages = "mmap 1 0x20 2 file:0@0 shared r populate\n";

TEST(RunnerDirectReclaim, ForkThatCannotCopyAPinnedPage_MustReclaimFirst) {
  const std::string trace = std::string("mmap 1 0x10 1 anon private rw populate\npin 1 0x10 rw\n") +
                            memory_full_of_file_pages + "fork 1\n";
  ops::Limits limits = small_world();
  limits.frames = 3;
  const auto clean = check::run_sequence(limits, ops::parse_trace(trace).ops(), {});
  EXPECT_FALSE(clean.finding) << check::finding_trace(*clean.finding, limits);
  const auto f = finding_when_reclaim_gives_up(3, trace);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->kind, "reclaim");
  EXPECT_EQ(f->op_index, 3u);
}

TEST(RunnerDirectReclaim, MigrationTarget_IsAllocatedWithDirectReclaim) {
  const std::string trace = std::string("mmap 1 0x10 1 anon private rw populate\n") + memory_full_of_file_pages +
                            "migrate 1 0x10\n";
  const auto f = finding_when_reclaim_gives_up(3, trace);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->kind, "reclaim");
  EXPECT_EQ(f->op_index, 2u);
}

TEST(RunnerDirectReclaim, MlockFaultsWithDirectReclaim) {
  const std::string trace = std::string(memory_full_of_file_pages) + "mmap 1 0x10 1 anon private rw\nmlock 1 0x10 1\n";
  const auto f = finding_when_reclaim_gives_up(2, trace);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->kind, "reclaim");
  EXPECT_EQ(f->op_index, 2u);
}

// The pages an op has just faulted in are the most recently used there are: direct
// reclaim later in the same op passes them over, so a populate larger than memory
// stops short without a finding.
TEST(RunnerDirectReclaim, PagesTheOpFaultedIn_AreNotReclaimedByTheSameOp) {
  ops::Limits limits = small_world();
  limits.frames = 2;
  const auto ops = ops::parse_trace("mmap 1 0x10 4 anon private rw populate\nwrite 1 0x13 5\n").ops();
  const auto result = check::run_sequence(limits, ops, {});
  EXPECT_FALSE(result.finding) << check::finding_trace(*result.finding, limits);
}

}  // namespace
