#pragma once
// Who runs next at a scheduling point: the strategies the explorers use, all
// deterministic from their seed or schedule.
//
//   random   uniform among the threads that can run;
//   pct      PCT (Burckhardt et al., ASPLOS 2010): random distinct priorities, the
//            highest-priority runnable thread runs, and at D-1 random steps the running
//            thread drops to the lowest priority so far; a bug of depth D is found with
//            probability at least 1/(n k^(D-1)) per schedule (n threads, k steps);
//   replay   the choices of a recorded schedule, then no preemption.

#include <cstdint>
#include <vector>

#include "interleave/scheduler.hpp"

namespace interleave {

// splitmix64: small, and the same on every platform.
class SplitMix {
 public:
  explicit SplitMix(uint64_t seed) : state_(seed) {}
  uint64_t next();
  uint64_t below(uint64_t n) { return n ? next() % n : 0; }

 private:
  uint64_t state_;
};

class RandomStrategy : public Strategy {
 public:
  explicit RandomStrategy(uint64_t seed) : rng_(seed) {}
  ThreadId pick(const Decision& d) override;

 private:
  SplitMix rng_;
};

class PctStrategy : public Strategy {
 public:
  // `threads` in the group, bug depth `depth` (>= 1), `steps` the decisions an
  // execution is expected to take (the change points fall among them).
  PctStrategy(uint64_t seed, unsigned threads, unsigned depth, size_t steps);
  ThreadId pick(const Decision& d) override;

 private:
  std::vector<int> priority_;        // per thread; higher runs first
  std::vector<size_t> change_steps_; // steps at which the running thread is lowered
  int next_low_ = 0;
};

// Follows `schedule`; past its end, lets the thread at the point go on (or the lowest
// runnable one). A recorded choice that cannot run throws std::runtime_error: the
// schedule does not belong to this group and prefix.
class ReplayStrategy : public Strategy {
 public:
  explicit ReplayStrategy(Schedule schedule) : schedule_(std::move(schedule)) {}
  ThreadId pick(const Decision& d) override;
  bool used_up() const { return next_ == schedule_.size(); }

 private:
  Schedule schedule_;
  size_t next_ = 0;
};

// The choice that preempts nobody: the thread at the point if it can go on, else the
// lowest runnable.
ThreadId no_preemption(const Decision& d);

}  // namespace interleave
