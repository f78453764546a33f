#pragma once
// The kernel oracle: runs a trace on the Linux kernel this program runs on, with one
// real process per trace pid, and after every op compares what the kernel shows with
// the model's Observation. The model is the judge of the implementation; here the
// kernel is the judge of the model.
//
//   OracleRun run = run_oracle(trace.ops(), limits, {});
//   if (run.difference) print(check::finding_text(*run.difference, ...));
//
// Ops the kernel cannot be asked for are skipped on both sides with a note (pins,
// split, `reclaim N`, KSM unless asked for, ranges past the region); `migrate` is
// move_pages(2) to the page's own node. README.md, "The kernel oracle", has the whole
// list.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "check/finding.hpp"
#include "ops/limits.hpp"
#include "ops/op.hpp"
#include "oracle/capabilities.hpp"

namespace oracle {

struct OracleOptions {
  std::string files_dir;  // where the files go (files_dir() picks a default)
  bool ksm = false;       // run `ksm` through /sys/kernel/mm/ksm (changes a system setting)
  // Compare as if frames were not visible (no root): to test the reduced comparison.
  bool hide_frames = false;
  // Changes the model's limits after the machine's are applied: to see what a model
  // rule (fault-around, say) changes against the kernel, and to test the oracle.
  std::function<void(ops::Limits&)> adjust_model;
};

struct OracleStep {
  ops::Op op;
  bool skipped = false;
  std::string note;     // why it was skipped, or how it was put to the kernel
  ops::Result kernel;   // what the kernel (or the oracle, for emulated answers) said
  ops::Result model;
};

struct OracleRun {
  Capabilities caps;
  ops::Limits limits;  // the model's limits
  std::vector<OracleStep> steps;
  std::optional<check::Finding> difference;  // kind "kernel"; trace = ops run so far
  // Differences that did not come back when the same ops ran again: something no op
  // did (khugepaged collapsing a range, writeback) changed what the kernel showed. The
  // comparison went on past each in the next run: `steps` are the last run's.
  std::vector<check::Finding> flaky;
  // Every run differed somewhere and no difference came back: the last run's steps end
  // at its (flaky) difference, and what follows was not compared.
  bool incomplete = false;
  size_t run() const;
  size_t skipped() const;
};

// The world of random oracle runs: two huge pages of address space (at order 9), four
// processes, two files of up to 32 pages, sequences of at most 24 ops, so that ops meet.
ops::Limits random_world();

// A random sequence for the oracle: check::random_sequence(seed) in `world`, without the
// ops this kernel cannot be asked for.
std::vector<ops::Op> random_kernel_ops(uint64_t seed, const ops::Limits& world, const OracleOptions& options);

// The machine's capabilities, probed once per program for `files_dir`.
const Capabilities& capabilities(const std::string& files_dir);

// Throws OracleError when the oracle itself fails (a process died, /proc unreadable),
// std::invalid_argument for limits it cannot run (a region too large).
OracleRun run_oracle(const std::vector<ops::Op>& ops, const ops::Limits& trace_limits,
                     const OracleOptions& options);

// run_oracle(), and a difference run once more: one that does not come back the same
// (op and details) is moved to `flaky`, and the run that did not repeat it goes on
// comparing; up to `max_runs` runs in all. Only differences the ops themselves cause
// count.
OracleRun run_oracle_confirmed(const std::vector<ops::Op>& ops, const ops::Limits& trace_limits,
                               const OracleOptions& options, unsigned max_runs = 4);

// The rule of run_oracle_confirmed() over any way of running the ops once.
OracleRun confirm_differences(const std::function<OracleRun()>& run_once, unsigned max_runs);

}  // namespace oracle
