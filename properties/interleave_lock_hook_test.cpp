// The implementation's own locks under the deterministic scheduler: with the scheduler
// as the LockTracker's hook, a lock another thread of control holds incompatibly makes
// the acquirer wait, readers share, every acquire and release is an event, and two
// mmap_locks taken in opposite orders deadlock under some schedule, after which every
// lock has been let go.

#include <gtest/gtest.h>

#include <algorithm>

#include "impl/kernel.hpp"
#include "impl/locks.hpp"
#include "interleave/explore.hpp"
#include "interleave/lock_hook.hpp"
#include "ops/op.hpp"

namespace {

using namespace interleave;

// A kernel with two processes, whose locks the bodies below take.
struct TwoProcesses {
  impl::Kernel k{ops::Limits{}};
  Scheduler sched;
  SchedulerLockHook hook{sched};
  int inside = 0, most_inside = 0;

  TwoProcesses() {
    k.apply(ops::Fork{1});
    k.locks.set_hook(&hook);
  }
  ~TwoProcesses() { k.locks.set_hook(nullptr); }

  impl::Lock& mmap_lock(ops::Pid pid) { return k.tasks.at(pid)->mmap_lock; }

  void critical_section(impl::LockMode mode) {
    impl::LockGuard guard(k.locks, mmap_lock(1), mode);
    most_inside = std::max(most_inside, ++inside);
    sched.point(EventKind::write, 1, "critical_section");
    --inside;
  }

  Outcome run(Strategy& s, impl::LockMode mode) {
    inside = most_inside = 0;
    Execution e = sched.run({[&] { critical_section(mode); }, [&] { critical_section(mode); }}, s);
    return Outcome{std::move(e), std::nullopt};
  }
};

TEST(InterleaveImplLocks, TwoWritersOfOneMmapLock_NeverOverlap_AndOneWaitsForTheOther) {
  TwoProcesses w;
  const ExploreStats stats = explore(*parse_explorer("dfs:10"), 1, 1000, [&](Strategy& s) {
    Outcome o = w.run(s, impl::LockMode::write);
    EXPECT_EQ(o.execution.end, Execution::End::finished);
    EXPECT_EQ(w.most_inside, 1);
    EXPECT_TRUE(w.k.locks.idle());
    return o;
  });
  EXPECT_TRUE(stats.exhausted);
  EXPECT_TRUE(w.k.locks.violations().empty()) << w.k.locks.violations().front();
}

TEST(InterleaveImplLocks, TwoReadersShareTheLockUnderSomeSchedule) {
  TwoProcesses w;
  int shared = 0;
  explore(*parse_explorer("dfs:10"), 1, 1000, [&](Strategy& s) {
    Outcome o = w.run(s, impl::LockMode::read);
    shared += w.most_inside == 2;
    return o;
  });
  EXPECT_GT(shared, 0);
  EXPECT_TRUE(w.k.locks.violations().empty());
}

TEST(InterleaveImplLocks, AcquireAndReleaseAreEventsOnTheLock) {
  TwoProcesses w;
  RandomStrategy s(3);
  const Outcome o = w.run(s, impl::LockMode::write);
  const uint64_t lock = lock_object(w.mmap_lock(1));
  for (ThreadId t : {0u, 1u}) {
    EXPECT_EQ(std::count(o.execution.events.begin(), o.execution.events.end(),
                         Event{t, EventKind::acquire_write, lock, "mmap_lock"}),
              1);
    EXPECT_EQ(std::count(o.execution.events.begin(), o.execution.events.end(),
                         Event{t, EventKind::release, lock, "mmap_lock"}),
              1);
  }
}

TEST(InterleaveImplLocks, MmapLocksInOppositeOrders_Deadlock_AndAllAreLetGo) {
  TwoProcesses w;
  auto nested = [&](ops::Pid first, ops::Pid second) {
    impl::LockGuard a(w.k.locks, w.mmap_lock(first), impl::LockMode::write);
    impl::LockGuard b(w.k.locks, w.mmap_lock(second), impl::LockMode::write);
  };
  const ExploreStats stats = explore(*parse_explorer("dfs:2"), 1, 1000, [&](Strategy& s) {
    Execution e = w.sched.run({[&] { nested(1, 2); }, [&] { nested(2, 1); }}, s);
    EXPECT_TRUE(w.k.locks.idle());
    std::optional<std::string> finding;
    if (e.end == Execution::End::deadlock) finding = e.detail;
    return Outcome{std::move(e), finding};
  });
  ASSERT_TRUE(stats.first_finding);
  EXPECT_NE(stats.first_finding->finding->find("mmap_lock for writing"), std::string::npos)
      << *stats.first_finding->finding;
}

}  // namespace
