#pragma once
// The shrinker: turns a failing op sequence into a short one that fails the same way.
//
// "The same way" means: run_sequence() reports a finding of the same kind ("result",
// "observation", "rmap", "crash", ...: finding.hpp) after an op of the same kind (mmap,
// fork, write, ...) as the original finding. Details may change; the shape of the bug
// may not. The input runs in a forked child (check/forked_run.hpp); so does every
// candidate when the finding is a crash, which is then the predicate: a crash of the
// same side in the same kind of op, by a signal or by an exception alike.
//
// Structure-aware delta debugging. The passes, repeated until none of them makes
// progress:
//   - cut everything after the failing op (every accepted candidate is replaced by the
//     ops that ran up to its finding, which also drops ops the implementation skips);
//   - remove chunks of ops, halves down to single ops (ddmin);
//   - remove dead processes (a fork, its descendants and every op naming them) and dead
//     pins (a pin and every use of it);
//   - renumber pids, file ids and pin ids toward the smallest values;
//   - move addresses low: shift them all down, or lay the distinct vpn ranges out from 0
//     keeping their order, their gaps (at least one page) and their offset within a huge
//     page, so hpage alignment and VMA adjacency survive;
//   - lower values (toward 0, 1, 2, ...), page counts (toward 1) and pgoffs (toward 0);
//   - simplify flags: drop populate, locked, dontunmap and `to`; prot toward rw;
//     shared toward private.
// Everything is deterministic: the same input gives the same output, unless a budget
// (max_runs, max_seconds) cuts the work short; ShrinkResult says whether it did.

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "check/finding.hpp"
#include "check/runner.hpp"
#include "impl/bugs.hpp"
#include "ops/limits.hpp"
#include "ops/op.hpp"

namespace check {

struct ShrinkOptions {
  size_t max_runs = 20000;   // run_sequence calls, the original one included
  double max_seconds = 120;  // wall-clock budget
  impl::Bugs bugs;           // the implementation's injected bugs, as the finding was made
};

struct ShrinkResult {
  std::vector<ops::Op> ops;  // the shrunk sequence; its last op is the failing one
  Finding finding;           // the finding `ops` produce (op_index == ops.size() - 1)
  size_t runs = 0;           // run_sequence calls made
  size_t before = 0, after = 0;  // op counts of the input and of `ops`
  bool budget_exhausted = false; // a budget stopped the passes before a fixpoint
  std::optional<std::string> error;  // set when there was nothing to shrink
};

// Shrinks `ops`, which must produce a finding under `limits`. If they do not, the result
// has `error` set ("the ops produce no finding ..."), `ops` unchanged and no finding.
ShrinkResult shrink(const ops::Limits& limits, std::vector<ops::Op> ops, const ShrinkOptions& options = {});

}  // namespace check
