// The bug zoo as a specification of the checker: every switch in impl/bugs.hpp is found
// by the campaign's own random sequences (the campaign world, THP and exec_only varied
// by seed as `rmapcheck run` varies them, checkpoints as it checks) within a bound, and
// found as the kind of finding that bug must give. The sequences of a bug that crashes
// run in children, so that it is found like the others. A new switch fails
// EverySwitchHasAnEntry until it is given its bound here.

#include <gtest/gtest.h>

#include <algorithm>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "check/finding.hpp"
#include "check/forked_run.hpp"
#include "check/random_sequence.hpp"
#include "check/runner.hpp"
#include "impl/bugs.hpp"

namespace {

struct ZooEntry {
  std::string_view bug;
  std::string_view kind;   // the kind of finding it gives; "interleave": only a group of
                           // concurrent ops shows it (interleave_discipline_test.cpp)
  uint64_t sequences;      // found within this many sequences from seed 1
};

// The bounds are what the campaign needs today, with room to spare; the kinds are what
// each bug breaks first.
const std::vector<ZooEntry>& zoo() {
  static const std::vector<ZooEntry> entries = {
      {"skip_anon_vma_clone_on_split", "rmap", 4},           // seed 2 today
      {"merge_incompatible_anon_vmas", "observation", 16},   // seed 10: the VMA layouts differ at once
      {"anon_vma_reuse_uncounted", "rmap", 8},               // seed 4
      {"reclaim_ignores_mlock", "reclaim", 4},               // seed 1
      {"buddy_merge_wrong_buddy", "rmap", 4},                // seed 1
      {"swapin_skips_swap_cache", "observation", 16},        // seed 9
      {"ksm_rmap_walk_skips_other_processes", "rmap", 40},   // seed 23
      {"pmd_unmap_forgets_entire_mapcount", "observation", 40},  // seed 25
      {"remove_rmap_dereferences_null", "crash", 4},         // seed 2
      {"remove_rmap_bugs_on_shared_anon", "crash", 4},       // seed 2
      {"mremap_skips_rmap_locks", "rmap", 16},               // seed 11
      {"reclaim_gives_up", "reclaim", 8},                    // by the progress and ENOMEM checks
      {"pmd_move_skips_rmap_locks", "interleave", 0},
      {"fork_copies_page_tables_before_anon_vma_fork", "interleave", 0},
      {"anon_vma_read_lock_skips_recheck", "interleave", 0},
      {"migration_drops_anon_vma_reference", "interleave", 0},
      {"split_skips_refcount_freeze", "interleave", 0},
  };
  return entries;
}

// The campaign world of `rmapcheck run` for `seed`, without flags.
ops::Limits campaign_world(uint64_t seed) {
  ops::Limits limits = ops::campaign_limits();
  limits.max_ops = 200;
  limits.thp_always = seed % 2 == 1;
  limits.exec_only = seed % 4 >= 2;
  return limits;
}

void PrintTo(const ZooEntry& e, std::ostream* os) { *os << e.bug << " (" << e.kind << ", " << e.sequences << ")"; }

std::string entry_name(const testing::TestParamInfo<ZooEntry>& info) { return std::string(info.param.bug); }

class BugZoo : public testing::TestWithParam<ZooEntry> {};

}  // namespace

TEST(BugZooList, EverySwitchHasAnEntry) {
  for (const auto& named : impl::bug_names()) {
    const std::string_view name = named.first;
    EXPECT_TRUE(std::ranges::any_of(zoo(), [&](const ZooEntry& e) { return e.bug == name; })) << name;
  }
  EXPECT_EQ(zoo().size(), impl::bug_names().size());
}

TEST(BugZooList, EveryKindOfFindingOfTheRunner_IsGivenBySomeBug) {
  // "result" needs answers no bug here changes first, "model-crash" a broken model and
  // "kernel" the oracle: their own tests show them (runner_test, crash_test, oracle_test).
  for (std::string_view kind : check::finding_kinds()) {
    if (kind == "model-crash" || kind == "kernel" || kind == "result") continue;
    EXPECT_TRUE(std::ranges::any_of(zoo(), [&](const ZooEntry& e) { return e.kind == kind; })) << kind;
  }
}

TEST_P(BugZoo, IsFoundByTheCampaignWithinItsBound_AsItsKindOfFinding) {
  const ZooEntry& entry = GetParam();
  if (entry.kind == "interleave") GTEST_SKIP() << entry.bug << ": a concurrency discipline, see interleave_discipline_test";
  impl::Bugs bugs;
  ASSERT_TRUE(impl::set_bug(bugs, entry.bug));
  for (uint64_t seed = 1; seed <= entry.sequences; ++seed) {
    const ops::Limits limits = campaign_world(seed);
    const auto ops = check::random_sequence(seed, limits);
    const check::RunnerOptions options{bugs, check::campaign_full_check_every};
    const auto result = entry.kind == "crash" ? check::run_sequence_forked(limits, ops, options)
                                              : check::run_sequence(limits, ops, options);
    if (!result.finding) continue;
    EXPECT_EQ(result.finding->kind, entry.kind) << "seed " << seed << "\n" << check::finding_text(*result.finding, "");
    RecordProperty("seed", int(seed));
    return;
  }
  ADD_FAILURE() << entry.bug << ": no finding in " << entry.sequences << " sequences";
}

INSTANTIATE_TEST_SUITE_P(EverySwitch, BugZoo, testing::ValuesIn(zoo()), entry_name);

TEST(BugZooClean, TheCleanImplementation_GivesNoFindingOnTheSameSequences) {
  for (uint64_t seed = 1; seed <= 8; ++seed) {
    const ops::Limits limits = campaign_world(seed);
    const auto result = check::run_sequence(limits, check::random_sequence(seed, limits),
                                            check::RunnerOptions{{}, check::campaign_full_check_every});
    EXPECT_FALSE(result.finding) << "seed " << seed;
  }
}
