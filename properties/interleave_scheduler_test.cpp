// The deterministic scheduler and its explorers, on small worlds of their own: two
// threads incrementing a counter without a lock (the lost update is the race), the same
// under a lock (no race, and blocking), and two locks taken in opposite orders (a
// deadlock). What holds here holds for the groups of ops built on top.

#include <gtest/gtest.h>

#include <set>
#include <stdexcept>

#include "interleave/explore.hpp"
#include "interleave/scheduler.hpp"
#include "interleave/strategy.hpp"

namespace {

using namespace interleave;

constexpr uint64_t counter_id = 0xc0, lock_a = 0xa, lock_b = 0xb;

// A lock of the toy world: acquiring it waits until it is free.
struct ToyLock {
  bool held = false;
  void acquire(Scheduler& s, uint64_t id) {
    s.acquire([this] { return !held; }, [this] { held = true; }, EventKind::acquire_write, id, "toy_lock",
              fmt::format("toy lock {:#x}", id));
  }
  void release(Scheduler& s, uint64_t id) {
    s.point(EventKind::release, id, "toy_unlock");
    held = false;
  }
};

struct Counter {
  Scheduler sched;
  int value = 0;
  ToyLock lock;

  void increment(bool locked) {
    if (locked) lock.acquire(sched, lock_a);
    sched.point(EventKind::read, counter_id, "increment");
    const int seen = value;
    sched.point(EventKind::write, counter_id, "increment");
    value = seen + 1;
    if (locked) lock.release(sched, lock_a);
  }

  Outcome run(Strategy& strategy, bool locked) {
    value = 0;
    lock = ToyLock{};
    Execution e = sched.run({[&] { increment(locked); }, [&] { increment(locked); }}, strategy);
    std::optional<std::string> finding;
    if (value != 2) finding = fmt::format("lost update: the counter is {}", value);
    return Outcome{std::move(e), finding};
  }

  // The schedules of `how` from `seed`, all of the budget or (stop_at_finding) up to the
  // first lost update; `each` sees every outcome.
  ExploreStats explore_with(const char* how, uint64_t seed, size_t budget, bool locked, bool stop_at_finding,
                            const std::function<void(const Outcome&)>& each = {}) {
    return explore(*parse_explorer(how), seed, budget, [&](Strategy& s) {
      Outcome o = run(s, locked);
      if (each) each(o);
      return o;
    }, stop_at_finding);
  }
};

TEST(InterleaveScheduler, TheSameScheduleGivesTheSameEvents_Always) {
  Counter c;
  RandomStrategy first(7);
  const Outcome a = c.run(first, false);
  for (int i = 0; i < 20; ++i) {
    ReplayStrategy replay(a.execution.schedule);
    const Outcome b = c.run(replay, false);
    EXPECT_EQ(b.execution.events, a.execution.events);
    EXPECT_EQ(b.execution.schedule, a.execution.schedule);
    EXPECT_EQ(b.finding, a.finding);
  }
}

TEST(InterleaveScheduler, OnlyOneThreadRunsBetweenPoints) {
  // Each thread's events between two of its points come from it alone: with a lock
  // held across a point the other thread cannot get in.
  Counter c;
  for (uint64_t seed = 0; seed < 50; ++seed) {
    RandomStrategy random(seed);
    const Outcome out = c.run(random, true);
    EXPECT_FALSE(out.finding) << *out.finding;
    EXPECT_EQ(out.execution.end, Execution::End::finished);
  }
}

TEST(InterleaveExplore, DfsRunsEveryInterleavingOfTheCounter_AndFindsTheLostUpdate) {
  Counter c;
  const ExploreStats stats = c.explore_with("dfs:10", 1, 1000, false, false);
  EXPECT_TRUE(stats.exhausted);
  // Two events a thread: the 4!/(2!2!) orders of them, each run once.
  EXPECT_EQ(stats.distinct, 6u);
  EXPECT_EQ(stats.schedules, 6u);
  ASSERT_TRUE(stats.first_finding);
  // The finding replays from its schedule.
  ReplayStrategy replay(stats.first_finding->execution.schedule);
  EXPECT_EQ(c.run(replay, false).finding, stats.first_finding->finding);
}

TEST(InterleaveExplore, DfsWithoutPreemptions_RunsEachThreadToItsEnd_AndMissesTheRace) {
  Counter c;
  const ExploreStats stats = c.explore_with("dfs:0", 1, 1000, false, false);
  EXPECT_TRUE(stats.exhausted);
  EXPECT_EQ(stats.distinct, 2u);  // T0 then T1, T1 then T0
  EXPECT_FALSE(stats.first_finding);
}

TEST(InterleaveExplore, UnderALock_EveryScheduleCountsToTwo) {
  Counter c;
  const ExploreStats stats = c.explore_with("dfs:10", 1, 10000, true, false);
  EXPECT_TRUE(stats.exhausted);
  EXPECT_FALSE(stats.first_finding);
}

TEST(InterleaveExplore, RandomAndPct2FindTheLostUpdate) {
  for (const char* how : {"random", "pct:2", "pct:3"}) {
    Counter c;
    const ExploreStats stats = c.explore_with(how, 3, 200, false, true);
    EXPECT_TRUE(stats.first_finding) << how;
  }
}

// The lost update needs one thread preempted between its read and its write: a bug of
// depth 2. PCT with depth 1 changes no priority, so each thread runs to its end.
TEST(InterleaveExplore, Pct1NeverPreempts_SoItMissesADepthTwoBug) {
  Counter c;
  const ExploreStats stats = c.explore_with("pct:1", 3, 200, false, false);
  EXPECT_FALSE(stats.first_finding);
  EXPECT_EQ(stats.distinct, 2u);
}

TEST(InterleaveExplore, ExplorersAreDeterministicFromTheirSeed) {
  for (const char* how : {"random", "pct:2"}) {
    Counter c;
    auto schedules = [&] {
      std::vector<Schedule> out;
      c.explore_with(how, 11, 30, false, false, [&](const Outcome& o) { out.push_back(o.execution.schedule); });
      return out;
    };
    EXPECT_EQ(schedules(), schedules()) << how;
  }
}

// Two locks taken in opposite orders.
struct TwoLocks {
  Scheduler sched;
  ToyLock a, b;
  int unwound = 0;  // RAII on the way out of an aborted thread

  void take(ToyLock& first, uint64_t first_id, ToyLock& second, uint64_t second_id) {
    struct Count {
      int& n;
      ~Count() { ++n; }
    } count{unwound};
    first.acquire(sched, first_id);
    second.acquire(sched, second_id);
    second.release(sched, second_id);
    first.release(sched, first_id);
  }

  Outcome run(Strategy& s) {
    a = b = ToyLock{};
    unwound = 0;
    Execution e = sched.run({[&] { take(a, lock_a, b, lock_b); }, [&] { take(b, lock_b, a, lock_a); }}, s);
    std::optional<std::string> finding;
    if (e.end == Execution::End::deadlock) finding = "deadlock: " + e.detail;
    return Outcome{std::move(e), finding};
  }
};

TEST(InterleaveDeadlock, LocksInOppositeOrders_DeadlockUnderSomeSchedule_AndTheReportNamesTheWaits) {
  TwoLocks w;
  const ExploreStats stats = explore(*parse_explorer("dfs:2"), 1, 1000, [&](Strategy& s) { return w.run(s); });
  ASSERT_TRUE(stats.first_finding);
  const std::string& detail = stats.first_finding->execution.detail;
  EXPECT_NE(detail.find("T0 waits for toy lock 0xb"), std::string::npos) << detail;
  EXPECT_NE(detail.find("T1 waits for toy lock 0xa"), std::string::npos) << detail;
  EXPECT_EQ(w.unwound, 2) << "both blocked threads are unwound";
}

TEST(InterleaveDeadlock, WithoutPreemption_NoDeadlock) {
  TwoLocks w;
  const ExploreStats stats = explore(*parse_explorer("dfs:0"), 1, 1000, [&](Strategy& s) { return w.run(s); });
  EXPECT_TRUE(stats.exhausted);
  EXPECT_FALSE(stats.first_finding);
}

TEST(InterleaveScheduler, ABodyThatThrows_EndsTheExecution_AndTheOthersAreUnwound) {
  Scheduler sched;
  int unwound = 0;
  RandomStrategy s(1);
  const Execution e = sched.run(
      {[&] {
         sched.point(EventKind::write, 1, "first");
         throw std::logic_error("BUG");
       },
       [&] {
         struct Count {
           int& n;
           ~Count() { ++n; }
         } count{unwound};
         for (int i = 0; i < 10; ++i) sched.point(EventKind::read, 1, "second");
       }},
      s);
  EXPECT_EQ(e.end, Execution::End::exception);
  ASSERT_TRUE(e.exception);
  EXPECT_THROW(std::rethrow_exception(e.exception), std::logic_error);
  EXPECT_EQ(unwound, 1);
}

TEST(InterleaveScheduler, AScheduleThatDoesNotFit_IsAnError) {
  Counter c;
  ReplayStrategy replay({5});  // there is no T5
  const Outcome out = c.run(replay, false);
  EXPECT_EQ(out.execution.end, Execution::End::exception);
}

TEST(InterleaveExplorerText, ParsesWhatItPrints) {
  for (const char* text : {"random", "pct:1", "pct:3", "dfs:0", "dfs:2"})
    EXPECT_EQ(explorer_text(*parse_explorer(text)), text);
  EXPECT_EQ(explorer_text(*parse_explorer("dfs")), "dfs:2");
  for (const char* bad : {"", "pct", "pct:0", "pct:x", "dfs:", "z3", "random:1"})
    EXPECT_FALSE(parse_explorer(bad)) << bad;
}

}  // namespace
