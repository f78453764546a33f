#pragma once
// check::Runner: the one place that applies an op to the model and the implementation
// and compares them. Every consumer (CLI, ctest, RapidCheck, fuzzers, benchmarks) goes
// through it. After each op it requires
//   - equal results;
//   - model observation == impl page-table observation == impl rmap observation;
//   - the implementation's VMA layout to be a possible layout of the model's pages;
//   - every implementation invariant to hold.

#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "check/finding.hpp"
#include "impl/bugs.hpp"
#include "ops/limits.hpp"
#include "ops/op.hpp"

namespace model { class System; }
namespace impl { class Kernel; }

namespace check {

// How a Runner sets up the implementation. The default is the clean implementation.
struct RunnerOptions {
  impl::Bugs bugs;  // injected bugs to turn on (impl/bugs.hpp); tests only
};

class Runner {
 public:
  explicit Runner(const ops::Limits& limits, const RunnerOptions& options = {});
  ~Runner();
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;

  // Whether the implementation handles this op yet; unsupported ops must be filtered
  // out before step().
  bool supports(const ops::Op& op) const;

  // Applies the op to both sides and checks. Returns the finding, if any; the runner
  // is then spent.
  std::optional<Finding> step(const ops::Op& op);

  const std::vector<ops::Op>& trace() const { return trace_; }
  const ops::Result& last_result() const { return last_result_; }
  const model::System& model() const { return *model_; }
  impl::Kernel& kernel() { return *impl_; }

 private:
  // Why an ENOMEM the model agreed with was still wrong: the model ran out of frames in
  // a fault while a frame could legally have been reclaimed.
  std::optional<std::string> gave_up_too_early(const ops::Op& op) const;

  ops::Limits limits_;
  std::unique_ptr<model::System> model_;
  std::unique_ptr<impl::Kernel> impl_;
  std::vector<ops::Op> trace_;
  ops::Result last_result_;
};

struct SequenceResult {
  std::optional<Finding> finding;
  size_t ops_run = 0;      // ops applied (supported ones)
  size_t ops_skipped = 0;  // ops the implementation does not handle yet
};

// Runs a whole sequence through a fresh Runner, skipping unsupported ops, stopping at
// the first finding.
SequenceResult run_sequence(const ops::Limits& limits, std::span<const ops::Op> ops,
                            const RunnerOptions& options = {});

}  // namespace check
