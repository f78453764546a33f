// lockdep_assert_held: where the kernel says a lock must be held, the implementation
// says so too, and a place that changes what a lock guards without it is an invariant
// finding ("rmap") at the op that did it.

#include <gtest/gtest.h>

#include <string>

#include "check/finding.hpp"
#include "check/runner.hpp"
#include "impl/bugs.hpp"
#include "impl/locks.hpp"
#include "ops/trace.hpp"

namespace {

// A faulted anon VMA moved whole: the new VMA keeps its pgoff, so an rmap walk could
// meet it first (need_rmap_locks) and the move must hold the anon_vma's lock.
constexpr const char* mremap_of_a_faulted_anon_vma = R"(mmap 1 0x100 4 anon private rw
write 1 0x100 7
write 1 0x103 8
mremap 1 0x100 4 4 to 0x200
read 1 0x200
)";

// The same for a file mapping: the move must hold i_mmap_rwsem.
constexpr const char* mremap_of_a_shared_file_vma = R"(mmap 1 0x100 4 file:0@0 shared rw
read 1 0x100
mremap 1 0x100 4 4 to 0x200
read 1 0x200
)";

std::optional<check::Finding> run(const char* trace, const impl::Bugs& bugs = {}) {
  return check::run_sequence(ops::Limits{}, ops::parse_trace(trace).ops(), check::RunnerOptions{bugs}).finding;
}

impl::Bugs skip_rmap_locks() {
  impl::Bugs bugs;
  bugs.mremap_skips_rmap_locks = true;
  return bugs;
}

bool has_detail(const check::Finding& f, const std::string& text) {
  for (const std::string& d : f.details)
    if (d == text) return true;
  return false;
}

}  // namespace

TEST(LockdepAssertHeld, ALockNotHeld_IsAViolationNamingThePlace) {
  impl::LockTracker t;
  impl::Lock rwsem(impl::LockClass::i_mmap_rwsem);
  t.assert_held(rwsem, impl::LockMode::write, "vma_interval_tree_insert");
  ASSERT_EQ(t.violations().size(), 1u);
  EXPECT_EQ(t.violations()[0], "lockdep_assert_held: i_mmap_rwsem not held for writing in vma_interval_tree_insert");
}

TEST(LockdepAssertHeld, ALockHeldForReading_DoesNotSatisfyAWriteAssertion) {
  impl::LockTracker t;
  impl::Lock rwsem(impl::LockClass::anon_vma_rwsem);
  impl::LockGuard g(t, rwsem, impl::LockMode::read);
  t.assert_held(rwsem, impl::LockMode::read, "rmap_walk_anon");
  EXPECT_TRUE(t.violations().empty());
  t.assert_held(rwsem, impl::LockMode::write, "anon_vma_chain_link");
  EXPECT_EQ(t.violations().size(), 1u);
}

TEST(LockdepAssertHeld, TheSameViolationInALoop_IsReportedOnce) {
  impl::LockTracker t;
  impl::Lock lru(impl::LockClass::lru_lock);
  for (int i = 0; i < 3; ++i) t.assert_held(lru, impl::LockMode::write, "lruvec_add_folio");
  EXPECT_EQ(t.violations().size(), 1u);
}

TEST(LockdepAssertHeld, MremapMovesWithTheRmapLocksWhereTheyAreNeeded) {
  EXPECT_FALSE(run(mremap_of_a_faulted_anon_vma));
  EXPECT_FALSE(run(mremap_of_a_shared_file_vma));
}

TEST(LockdepAssertHeld, AnMremapThatSkipsTheAnonVmaLock_IsReportedAtTheMremap) {
  const auto finding = run(mremap_of_a_faulted_anon_vma, skip_rmap_locks());
  ASSERT_TRUE(finding);
  EXPECT_EQ(finding->kind, "rmap");
  EXPECT_EQ(ops::print_op(finding->op), "mremap 1 0x100 4 4 to 0x200");
  EXPECT_TRUE(has_detail(*finding, "impl invariant: lockdep_assert_held: anon_vma->rwsem not held for writing in move_ptes"))
      << check::finding_text(*finding, "");
}

TEST(LockdepAssertHeld, AnMremapThatSkipsTheIMmapLock_IsReportedAtTheMremap) {
  const auto finding = run(mremap_of_a_shared_file_vma, skip_rmap_locks());
  ASSERT_TRUE(finding);
  EXPECT_EQ(finding->kind, "rmap");
  EXPECT_EQ(ops::print_op(finding->op), "mremap 1 0x100 4 4 to 0x200");
  EXPECT_TRUE(has_detail(*finding, "impl invariant: lockdep_assert_held: i_mmap_rwsem not held for writing in move_ptes"))
      << check::finding_text(*finding, "");
}
