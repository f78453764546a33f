// How often the runner checks what: every page against the model after every op, the
// whole implementation (rmap_walk over every folio, every invariant) at checkpoints.
// Specified here: checkpoints never move a finding, and observations written into
// reused buffers are the observations.

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include "check/finding.hpp"
#include "check/forked_run.hpp"
#include "check/random_sequence.hpp"
#include "check/runner.hpp"
#include "impl/kernel.hpp"
#include "model/system.hpp"
#include "ops/observation_writer.hpp"
#include "ops/trace.hpp"
#include "properties/op_gen.hpp"

namespace {

using ops::PageKey;

check::RunnerOptions with_checkpoints(const impl::Bugs& bugs = {}) {
  return check::RunnerOptions{bugs, check::campaign_full_check_every};
}

// A split VMA left off the anon_vma chain keeps every page and class as it was: only
// rmap_walk over the untouched class, or the invariants, can tell.
constexpr const char* split_unseen_by_the_page_tables = R"(mmap 1 0x100 4 anon private rw
write 1 0x100 1
write 1 0x103 3
mprotect 1 0x102 2 r
)";

impl::Bugs split_bug() {
  impl::Bugs bugs;
  bugs.skip_anon_vma_clone_on_split = true;
  return bugs;
}

}  // namespace

TEST(CheckpointedRunner, ABreakageOnlyTheWholeChecksSee_IsFoundByFinishAtTheOpThatCausedIt) {
  const auto ops = ops::parse_trace(split_unseen_by_the_page_tables).ops();
  check::Runner runner(ops::Limits{}, with_checkpoints(split_bug()));
  for (const ops::Op& op : ops) ASSERT_FALSE(runner.step(op)) << ops::print_op(op);
  const auto finding = runner.finish();
  ASSERT_TRUE(finding);
  EXPECT_EQ(finding->op_index, 3u);
  EXPECT_EQ(finding->kind, "rmap");
  EXPECT_FALSE(runner.finish()) << "finish() checks what ran since the last check, once";
}

TEST(CheckpointedRunner, ABreakageFoundAtFinish_IsTheFindingCheckingEveryOpGives) {
  const auto ops = ops::parse_trace(split_unseen_by_the_page_tables).ops();
  const auto every_op = check::run_sequence(ops::Limits{}, ops, check::RunnerOptions{split_bug()});
  const auto checkpointed = check::run_sequence(ops::Limits{}, ops, with_checkpoints(split_bug()));
  ASSERT_TRUE(every_op.finding);
  ASSERT_TRUE(checkpointed.finding);
  EXPECT_EQ(*checkpointed.finding, *every_op.finding);
}

TEST(CheckpointedRunner, ACleanSequence_FinishesWithoutAFinding) {
  const auto ops = ops::parse_trace(split_unseen_by_the_page_tables).ops();
  EXPECT_FALSE(check::run_sequence(ops::Limits{}, ops, with_checkpoints()).finding);
}

// Every bug of the zoo, on the campaign's sequences: wherever the checkpointed runner
// finds something it is exactly what checking everything after every op finds (the
// op, the kind and every line), and it misses none of those findings here. The bug
// that dereferences a null pointer runs in a child: it kills the process.
TEST(CheckpointedRunner, EveryZooBug_GivesTheFindingsOfCheckingEveryOp) {
  ops::Limits limits = ops::campaign_limits();
  limits.max_ops = 120;
  for (const auto& [name, field] : impl::bug_names()) {
    impl::Bugs bugs;
    bugs.*field = true;
    size_t found = 0;
    for (uint64_t seed = 1; seed <= 8; ++seed) {
      limits.thp_always = seed % 2;
      const auto ops = check::random_sequence(seed, limits);
      const auto run = bugs.remove_rmap_dereferences_null ? check::run_sequence_forked : check::run_sequence;
      const auto every_op = run(limits, ops, check::RunnerOptions{bugs}, {});
      const auto checkpointed = run(limits, ops, with_checkpoints(bugs), {});
      ASSERT_EQ(checkpointed.finding.has_value(), every_op.finding.has_value()) << name << " seed " << seed;
      if (!every_op.finding) continue;
      ++found;
      EXPECT_EQ(*checkpointed.finding, *every_op.finding) << name << " seed " << seed;
    }
    RecordProperty(std::string(name), int(found));
  }
}

// The observations the runner compares are written into buffers kept from the last
// op; what is left in them must never show through.
RC_GTEST_PROP(ObservationBuffers, ReusedAfterEveryOp_EqualAFreshObservation, ()) {
  ops::Limits limits = ops::campaign_limits();
  limits.thp_always = *rc::gen::arbitrary<bool>();
  const auto ops = *ops::gen::ops(limits);
  check::Runner runner(limits);
  ops::Observation model_buffer, impl_buffer;
  for (const ops::Op& op : ops) {
    if (!runner.supports(op)) continue;
    if (runner.step(op)) return;  // a finding is the other tests' business
    runner.model().observe(model_buffer);
    runner.kernel().observe_page_tables(impl_buffer);
    RC_ASSERT(model_buffer == runner.model().observe());
    RC_ASSERT(impl_buffer == runner.kernel().observe_page_tables());
    RC_ASSERT(ops::is_canonical(model_buffer));
  }
}

TEST(ObservationWriter, PagesWalkedOutOfOrder_ComeOutCanonical) {
  ops::Observation out;
  ops::ObservationScratch scratch;
  ops::ObservationWriter w(out, scratch);
  bool fresh = false;
  w.page(2, 0x10, {}, ops::PteState::present);
  w.map(7, {2, 0x10}, fresh).folio = w.folio_label(40);
  w.page(1, 0x10, {}, ops::PteState::present);
  w.map(9, {1, 0x10}, fresh).folio = w.folio_label(41);
  w.page(1, 0x11, {}, ops::PteState::swapped);
  w.swap(3, {1, 0x11});
  EXPECT_TRUE(w.finish());
  ASSERT_EQ(out.pages.size(), 3u);
  EXPECT_EQ((PageKey{out.pages[0].pid, out.pages[0].vpn}), (PageKey{1, 0x10}));
  ASSERT_EQ(out.frames.size(), 2u);
  EXPECT_EQ(out.frames[0].pages, (std::vector<PageKey>{{1, 0x10}}));
  EXPECT_EQ(out.frames[0].folio, 1u) << "labels follow the canonical order of the classes";
  EXPECT_EQ(out.frames[1].folio, 2u);
  EXPECT_TRUE(ops::is_canonical(out));
}

TEST(ObservationWriter, ASecondObservationIntoTheSameBuffer_KeepsNothingOfTheFirst) {
  ops::Observation out;
  ops::ObservationScratch scratch;
  {
    ops::ObservationWriter w(out, scratch);
    bool fresh = false;
    for (ops::Vpn v = 0; v < 3; ++v) {
      w.page(1, v, {}, ops::PteState::present);
      w.map(5, {1, v}, fresh).mapcount = 3;
    }
    w.page(1, 3, {}, ops::PteState::swapped);
    w.swap(8, {1, 3});
    EXPECT_FALSE(w.finish());
  }
  ops::ObservationWriter w(out, scratch);
  bool fresh = false;
  w.page(1, 0, {}, ops::PteState::present);
  ops::FrameClass& c = w.map(5, {1, 0}, fresh);
  EXPECT_TRUE(fresh);
  EXPECT_EQ(c.mapcount, 0u);
  w.finish();
  ops::Observation expected;
  expected.pages = {{1, 0, {}, ops::PteState::present}};
  expected.frames = {{.pages = {{1, 0}}}};
  EXPECT_EQ(out, expected);
}
