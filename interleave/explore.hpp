#pragma once
// Exploring the schedules of one group: an explorer hands out a strategy per execution
// until its budget (in schedules) is spent or, for dfs, every schedule within the
// preemption bound has run. All of it is deterministic from the seed.
//
//   auto how = parse_explorer("pct:2");                      // random | pct:D | dfs[:B]
//   ExploreStats stats = explore(*how, seed, budget, [&](Strategy& s) {
//     Execution e = fresh_world_and_scheduler.run(bodies, s);
//     return Outcome{e, check(e)};                           // check: a finding's text, if any
//   });

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "interleave/scheduler.hpp"
#include "interleave/strategy.hpp"

namespace interleave {

struct Explorer {
  enum class Kind { random, pct, dfs };
  Kind kind = Kind::random;
  unsigned depth = 1;              // pct: D
  unsigned preemption_bound = 2;   // dfs: B
};

// "random", "pct:D" (D >= 1), "dfs" or "dfs:B"; nullopt for anything else.
std::optional<Explorer> parse_explorer(std::string_view text);
std::string explorer_text(const Explorer& e);

// Every schedule with at most `bound` preemptions, depth first: run one execution with
// strategy(), then advance(); stop when advance() says there is none left.
class DfsStrategy : public Strategy {
 public:
  explicit DfsStrategy(unsigned bound) : bound_(bound) {}
  ThreadId pick(const Decision& d) override;
  // Moves to the next schedule not run yet; false when all have run.
  bool advance();

 private:
  struct Choice {
    std::vector<ThreadId> options;  // the one that preempts nobody first
    std::optional<ThreadId> current;
    size_t taken = 0;
    unsigned preemptions_before = 0;
    unsigned preemptions() const;
  };
  unsigned bound_;
  std::vector<Choice> stack_;
  size_t depth_ = 0;  // choices made in the execution under way
};

struct Outcome {
  Execution execution;
  std::optional<std::string> finding;
};

struct ExploreStats {
  size_t schedules = 0;
  size_t distinct = 0;  // executions with different event sequences
  bool exhausted = false;  // dfs ran every schedule within its bound
  std::optional<Outcome> first_finding;
  size_t schedules_to_finding = 0;  // 1-based; 0 if none
};

// Runs `one` under the explorer until `budget` schedules have run, the first finding
// (when stop_at_finding), or dfs has no schedule left.
ExploreStats explore(const Explorer& how, uint64_t seed, size_t budget,
                     const std::function<Outcome(Strategy&)>& one, bool stop_at_finding = true);

}  // namespace interleave
