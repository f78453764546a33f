// The implementation's concurrency disciplines, each where a group of ops races on it:
// the group runs on one impl::Kernel under the deterministic scheduler, every lock and
// named point a scheduling point. On the implementation every explored schedule ends
// clean (check_quiescent() empty: invariants, no lock held, no migration entry left, no
// freed object used or reachable; no deadlock, no exception); with the bug-zoo switch
// that removes the discipline, some schedule does not.

#include <gtest/gtest.h>

#include <exception>
#include <optional>

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "impl/kernel.hpp"
#include "interleave/explore.hpp"
#include "interleave/lock_hook.hpp"
#include "ops/trace.hpp"

namespace {

using namespace interleave;

// A prefix run sequentially, then a group of ops, one thread of control each.
struct Group {
  const char* prefix;
  std::vector<const char*> ops;
  impl::Bugs bugs = {};
  ops::Limits limits = {};
};

std::vector<ops::Op> parse(const char* text) { return ops::parse_trace(text).ops(); }

// The functions of every event seen by any test here: the named points reached.
std::set<std::string>& functions_seen() {
  static std::set<std::string> seen;
  return seen;
}

// What went wrong in one execution, or nothing.
std::optional<std::string> problems_of(impl::Kernel& k, const Execution& e) {
  switch (e.end) {
    case Execution::End::deadlock: return "deadlock: " + e.detail;
    case Execution::End::exception:
      try {
        std::rethrow_exception(e.exception);
      } catch (const std::exception& ex) {
        return std::string("exception: ") + ex.what();
      } catch (...) {
        return std::string("exception of an unknown type");
      }
    case Execution::End::finished: break;
  }
  if (!k.locks.idle()) return "locks held after the group: " + k.locks.held_report().front();
  k.locks.set_hook(nullptr);  // the checks walk the rmap too: not as a thread of the group
  std::vector<std::string> found = k.check_quiescent();
  if (found.empty()) return std::nullopt;
  std::string text;
  for (const std::string& f : found) text += f + "\n";
  return text;
}

// One execution of the group under `strategy`, on a kernel built afresh from the prefix.
Outcome run_group(const Group& g, Strategy& strategy) {
  Scheduler sched;
  SchedulerLockHook hook(sched);
  impl::Kernel k(g.limits, g.bugs);  // destroyed before the hook and the scheduler
  for (const ops::Op& op : parse(g.prefix)) k.apply(op);
  k.locks.set_hook(&hook);
  std::vector<ops::Op> group;
  for (const char* text : g.ops) group.push_back(parse(text).front());
  std::vector<Scheduler::Body> bodies;
  for (const ops::Op& op : group) bodies.push_back([&k, op] { k.apply(op); });
  Execution e = sched.run(std::move(bodies), strategy);
  for (const Event& ev : e.events) functions_seen().emplace(ev.function);
  std::optional<std::string> finding = problems_of(k, e);
  return Outcome{std::move(e), std::move(finding)};
}

ExploreStats explore_group(const Group& g, const char* how, size_t budget) {
  return explore(*parse_explorer(how), 1, budget, [&](Strategy& s) { return run_group(g, s); });
}

// Every schedule within the bound ends clean on the implementation.
void expect_clean(Group g, const char* how, size_t budget) {
  g.bugs = {};
  const ExploreStats stats = explore_group(g, how, budget);
  if (stats.first_finding) {
    std::string events;
    for (const Event& e : stats.first_finding->execution.events) events += event_text(e) + "\n";
    ADD_FAILURE() << "after " << stats.schedules_to_finding << " schedules:\n"
                  << *stats.first_finding->finding << "events:\n" << events;
  }
  EXPECT_TRUE(stats.exhausted) << stats.schedules << " schedules were not all of them";
  EXPECT_GT(stats.distinct, 1u);
}

// With the switch on, some schedule gives a finding containing `expected`: what the
// missing discipline breaks, not only what lockdep_assert_held says about it.
void expect_found(Group g, std::string_view bug, const char* how, size_t budget, std::string_view expected) {
  ASSERT_TRUE(impl::set_bug(g.bugs, bug));
  std::optional<std::string> other;
  const ExploreStats stats = explore(*parse_explorer(how), 1, budget, [&](Strategy& s) {
    Outcome o = run_group(g, s);
    if (o.finding && o.finding->find(expected) == std::string::npos) {
      if (!other) other = o.finding;
      o.finding.reset();
    }
    return o;
  });
  ASSERT_TRUE(stats.first_finding) << bug << ": no finding with \"" << expected << "\" in " << stats.schedules
                                   << " schedules; another: " << other.value_or("none");
  testing::Test::RecordProperty("schedules_to_finding", int(stats.schedules_to_finding));
}

// ---- the groups ----

// mremap moves the PTEs of B (0x80, pgoff 0x48) back next to A (0x40, pgoff 0x40),
// merging into A: an rmap walk visits A before B, so it may look at A before a PTE
// arrives there and at B after it left. Migration of the page the child shares walks both.
const Group mremap_merge_vs_migrate = {
    "mmap 1 0x40 16 anon private rw populate\n"
    "mremap 1 0x48 8 8 to 0x80\n"
    "fork 1\n",
    {"mremap 1 0x80 8 8 to 0x48", "migrate 2 0x80"}};

// The same with a huge page: move_huge_pmd carries the PMD (or its migration entry).
const Group pmd_move_vs_migrate = {
    "mmap 1 0x40 16 anon private rw\n"
    "madvise 1 0x40 16 hugepage\n"
    "write 1 0x48 1\n"
    "mremap 1 0x48 8 8 to 0x80\n"
    "fork 1\n",
    {"mremap 1 0x80 8 8 to 0x48", "migrate 2 0x80"}};

// fork copies the parent's page tables while the page they share with pid 2 migrates.
const Group fork_vs_migrate = {
    "mmap 1 0x40 4 anon private rw populate\n"
    "fork 1\n",
    {"fork 1", "migrate 2 0x41"}};

// The only mapping goes (and with it the anon_vma) while the page migrates.
const Group munmap_vs_migrate = {"mmap 1 0x40 2 anon private rw populate\n", {"migrate 1 0x40", "munmap 1 0x40 2"}};

// Reclaim walks the rmap of a page (folio_lock_anon_vma_read) that munmap unmaps, freeing
// its anon_vma.
const Group munmap_vs_reclaim = {"mmap 1 0x40 1 anon private rw populate\n", {"reclaim 1", "munmap 1 0x40 1"}};

// A THP is split while a GUP pin of one of its pages is taken (both under the mmap_lock
// for reading).
const Group split_vs_pin = {
    "mmap 1 0x40 8 anon private rw\n"
    "madvise 1 0x40 8 hugepage\n"
    "write 1 0x40 1\n",
    {"split 1 0x40", "pin 1 0x43 rw"}};

TEST(InterleaveDiscipline, TheSameScheduleGivesTheSameEvents_WithStableObjectIds) {
  RandomStrategy first(11);
  const Outcome a = run_group(mremap_merge_vs_migrate, first);
  ASSERT_EQ(a.execution.end, Execution::End::finished);
  ASSERT_GT(a.execution.events.size(), 20u);
  for (int i = 0; i < 3; ++i) {
    ReplayStrategy replay(a.execution.schedule);
    const Outcome b = run_group(mremap_merge_vs_migrate, replay);  // a new kernel at new addresses
    EXPECT_EQ(b.execution.events, a.execution.events);
    EXPECT_EQ(b.execution.schedule, a.execution.schedule);
  }
}

TEST(InterleaveDiscipline, MremapPteMove_HoldsTheRmapLocks_SoMigrationLeavesNoEntryBehind) {
  expect_clean(mremap_merge_vs_migrate, "dfs:1", 5000);
}

TEST(InterleaveDiscipline, MremapSkippingTheRmapLocks_LeavesAMigrationEntryBehind) {
  expect_found(mremap_merge_vs_migrate, "mremap_skips_rmap_locks", "dfs:2", 20000, "migration entry left");
}

TEST(InterleaveDiscipline, MremapPmdMove_HoldsTheRmapLocks) { expect_clean(pmd_move_vs_migrate, "dfs:1", 5000); }

TEST(InterleaveDiscipline, PmdMoveSkippingTheRmapLocks_LeavesAMigrationEntryBehind) {
  expect_found(pmd_move_vs_migrate, "pmd_move_skips_rmap_locks", "dfs:2", 20000, "migration entry left");
}

TEST(InterleaveDiscipline, ForkLinksTheChildBeforeCopying_SoMigrationFindsWhatItCopied) {
  expect_clean(fork_vs_migrate, "dfs:1", 5000);
}

TEST(InterleaveDiscipline, ForkCopyingBeforeAnonVmaFork_LeavesTheChildAMigrationEntry) {
  expect_found(fork_vs_migrate, "fork_copies_page_tables_before_anon_vma_fork", "dfs:2", 20000,
               "migration entry left");
}

TEST(InterleaveDiscipline, MigrationHoldsTheAnonVma_WhileMunmapFreesItsVmas) {
  expect_clean(munmap_vs_migrate, "dfs:2", 20000);
}

TEST(InterleaveDiscipline, MigrationDroppingTheAnonVmaReference_WalksAFreedAnonVma) {
  expect_found(munmap_vs_migrate, "migration_drops_anon_vma_reference", "dfs:2", 20000, "freed anon_vma");
}

TEST(InterleaveDiscipline, FolioLockAnonVmaRead_RechecksTheFolioIsMapped) {
  expect_clean(munmap_vs_reclaim, "dfs:2", 20000);
}

TEST(InterleaveDiscipline, AnonVmaReadLockWithoutTheRecheck_WalksAFreedAnonVma) {
  expect_found(munmap_vs_reclaim, "anon_vma_read_lock_skips_recheck", "dfs:2", 20000, "freed anon_vma");
}

TEST(InterleaveDiscipline, SplitFreezesTheRefcount_SoAConcurrentPinIsKept) { expect_clean(split_vs_pin, "dfs:1", 5000); }

TEST(InterleaveDiscipline, SplitWithoutTheFreeze_LosesAPinReference) {
  expect_found(split_vs_pin, "split_skips_refcount_freeze", "dfs:2", 20000, "refcount");
}

// Every named point of the disciplines above is reached by one of their groups.
TEST(InterleaveDiscipline, EveryNamedPointOfTheDisciplines_IsReachedByTheirGroups) {
  for (const Group* g : {&mremap_merge_vs_migrate, &pmd_move_vs_migrate, &fork_vs_migrate, &munmap_vs_migrate,
                         &munmap_vs_reclaim, &split_vs_pin})
    explore_group(*g, "dfs:1", 40);
  for (const char* fn : {"move_ptes", "move_huge_pmd", "try_to_migrate_one", "set_pmd_migration_entry",
                         "remove_migration_pte", "remove_migration_pmd", "copy_pte_range", "folio_lock_anon_vma_read",
                         "folio_get_anon_vma", "get_anon_vma", "put_anon_vma", "anon_vma_free",
                         "anon_vma_interval_tree_insert", "anon_vma_interval_tree_remove", "anon_vma_chain_link",
                         "folio_ref_freeze", "folio_ref_unfreeze", "folio_try_get", "zap_pte_range",
                         "lruvec_add_folio", "lruvec_del_folio", "vma_set_range", "rmap_walk_anon",
                         "page_vma_mapped_walk", "folio_add_rmap_pte", "folio_remove_rmap_pte", "mmap_lock",
                         "anon_vma->rwsem", "ptl"})
    EXPECT_TRUE(functions_seen().count(fn)) << fn << " was never reached (run the whole file)";
}

}  // namespace
