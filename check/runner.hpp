#pragma once
// check::Runner: the one place that applies an op to the model and the implementation
// and compares them. Every consumer (CLI, ctest, RapidCheck, fuzzers, benchmarks) goes
// through it. After every op it requires
//   - equal results, and the implementation's facts (reclaimed frames, huge-page
//     fallbacks) legal for the model;
//   - model observation == impl page-table observation: every VMA (extent and
//     anon_vma), every page, every class of the sharing partition, every swap class
//     (the model decides its VMA layout by itself; no layout is handed over);
//   - for each frame whose class the op changed in the page tables, rmap_walk to find
//     exactly the pages the page tables say map it.
// The checks that look at everything the implementation holds at once (rmap_walk over
// every folio: the whole impl-rmap observation; every invariant of the implementation
// and the model's own VMA consistency) run after every
// RunnerOptions::full_check_every ops and at finish(). Whenever a check fails and some
// of those were skipped on the way, the ops run again with every check after every op,
// so that a finding always names the first op where the sides diverge.
//
// A side that throws (the implementation's BUG is a std::logic_error) gives a finding
// of kind "crash" (the implementation) or "model-crash" (the model) at the op it threw
// in; the runner keeps a RunnerSite up to date so that a side that dies of a signal can
// be located from outside (check/forked_run.hpp).

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <span>
#include <vector>

#include "check/finding.hpp"
#include "impl/bugs.hpp"
#include "model/system.hpp"
#include "ops/limits.hpp"
#include "ops/observation.hpp"
#include "ops/op.hpp"

namespace impl { class Kernel; }

namespace check {

// Why `taken` reclaimed frames are more than `op` may hand over, or nothing: `reclaim N`
// takes at most N; an op that allocates nothing (exit, munmap, munlock, unpin,
// ftruncate, split) runs no direct reclaim and takes none.
std::optional<std::string> facts_out_of_bounds(const ops::Op& op, size_t taken);

// Where a runner is: which op of its trace it is in and what it is doing there. A few
// stores per op; a parent process that shares the memory reads it when its child died
// of a signal (check/forked_run.hpp).
struct RunnerSite {
  enum class Phase : uint32_t {
    idle,           // no op started yet
    impl_apply,     // the implementation applies the op
    model_apply,    // the model applies it
    model_observe,  // the model is observed, its layout checked
    impl_observe,   // the implementation's page tables and rmap are observed
    compare,        // the checker compares what both sides said
    whole_state,    // rmap_walk over every folio and the implementation's invariants
  };
  std::atomic<uint32_t> op_index{0};  // 0-based, into Runner::trace()
  std::atomic<Phase> phase{Phase::idle};

  void at(size_t op, Phase p) {
    op_index.store(uint32_t(op), std::memory_order_relaxed);
    phase.store(p, std::memory_order_relaxed);
  }
  void in(Phase p) { phase.store(p, std::memory_order_relaxed); }
};

// Whose code runs in `phase`: the model's phases give "model-crash" findings.
bool model_phase(RunnerSite::Phase phase);
// "applying the op to the implementation", ...
std::string_view phase_text(RunnerSite::Phase phase);

// How a Runner sets up the implementation and how often it checks everything.
struct RunnerOptions {
  impl::Bugs bugs;  // injected bugs to turn on (impl/bugs.hpp); tests only
  // Run the whole-state checks after every this many ops (and at finish()). 1: after
  // every op, as traces and tests do; campaigns and fuzzers use
  // campaign_full_check_every.
  unsigned full_check_every = 1;
  // Where the runner reports its site; null: into its own. Shared memory when a parent
  // process must be able to locate a crash.
  RunnerSite* site = nullptr;
};

// The checkpoint interval of `rmapcheck run`, the fuzz targets and the shrinker.
inline constexpr unsigned campaign_full_check_every = 16;

class Runner {
 public:
  explicit Runner(const ops::Limits& limits, const RunnerOptions& options = {});
  ~Runner();
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;

  // Whether the implementation handles this op yet; unsupported ops must be filtered
  // out before step().
  bool supports(const ops::Op& op) const;

  // Applies the op to both sides and checks. Returns the finding, if any, which may
  // name an earlier op than this one (see above); the runner is then spent.
  std::optional<Finding> step(const ops::Op& op);
  // The whole-state checks, if any op ran since they last did. Call it after the
  // last op of a sequence.
  std::optional<Finding> finish();

  const std::vector<ops::Op>& trace() const { return trace_; }
  const ops::Result& last_result() const { return last_result_; }
  const model::System& model() const { return *model_; }
  impl::Kernel& kernel() { return *impl_; }

 private:
  std::optional<Finding> step_once(const ops::Op& op);
  // Runs `check` (step_once or the whole-state checks), turning an exception from either
  // side into a crash finding at the current op.
  template <class Check>
  std::optional<Finding> guarded(Check&& check);
  Finding crashed(std::string_view type, std::string_view what) const;
  std::optional<Finding> full_check(Finding& f);
  // Whether rmap_walk disagrees with the page tables about a frame whose class the
  // last op changed.
  bool changed_classes_disagree();
  // The finding a runner that checks everything after every op gives on this trace.
  Finding first_failing_op(Finding found) const;
  // Why an allocation failure the model agreed with was still wrong: the model ran out of
  // frames in an op (a fault, fork's copies, a migration, a file write) while direct
  // reclaim could legally have taken a frame the op had not used.
  std::optional<std::string> gave_up_too_early(const ops::Op& op) const;

  ops::Limits limits_;
  RunnerOptions options_;
  RunnerSite own_site_;
  RunnerSite* site_;
  std::unique_ptr<model::System> model_;
  std::unique_ptr<impl::Kernel> impl_;
  std::vector<ops::Op> trace_;
  ops::Result last_result_;
  unsigned unchecked_ = 0;  // ops since the whole-state checks last ran
  // Buffers kept from op to op, so that checking allocates nothing once warm.
  ops::Observation model_obs_, tables_, prev_tables_;
  std::vector<uint64_t> prev_pfns_, changed_pfns_;
  std::vector<ops::PageKey> rmap_found_;
};

struct SequenceResult {
  std::optional<Finding> finding;
  size_t ops_run = 0;      // ops applied (supported ones)
  size_t ops_skipped = 0;  // ops the implementation does not handle yet
};

// Runs a whole sequence through a fresh Runner, skipping unsupported ops, stopping at
// the first finding, and finishing it. With `results` (at least ops.size() long), the
// model's result of the i-th op that ran is written to results[i] as soon as it is known.
SequenceResult run_sequence(const ops::Limits& limits, std::span<const ops::Op> ops,
                            const RunnerOptions& options = {}, std::span<ops::Result> results = {});

// The ops of `ops` a runner with these limits supports, in order: the ops a finding's
// trace is made of.
std::vector<ops::Op> supported_ops(const ops::Limits& limits, std::span<const ops::Op> ops);

}  // namespace check
