#pragma once
// Replaying a trace: apply its ops in order to a fresh model::System and check every
// `# = RESULT` expectation, and run the same ops through the differential Runner
// (model beside the implementation) for as long as the implementation supports them.
// The differential run is made in a forked child (check/forked_run.hpp), so that a
// trace that crashes either side replays to its crash finding instead of ending the
// caller. Used by `rmapcheck replay` and by the corpus test.

#include <cstddef>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "check/finding.hpp"
#include "impl/bugs.hpp"
#include "ops/layout_claim.hpp"
#include "ops/limits.hpp"
#include "ops/op.hpp"
#include "ops/trace.hpp"
#include "ops/types.hpp"

namespace tools {

// One op line of the trace and what the model answered.
struct Step {
  int line = 0;  // 1-based line number in the trace
  ops::Op op;
  ops::Result result;
  std::optional<ops::Result> expect;  // from `# = RESULT`, if the line had one

  bool mismatch() const { return expect && *expect != result; }
};

// A `# layout P = ...` claim (ops/layout_claim.hpp) and the model's layout where it
// stands. The model's layout is the implementation's too unless `finding` says otherwise
// (the Runner compares them after every op), and the kernel's where the oracle agrees.
struct LayoutCheck {
  int line = 0;
  ops::LayoutClaim claim;
  std::string actual;  // the model's extents of claim.pid, as layout_text() writes them
  bool holds() const { return actual == ops::layout_text(claim); }
};

struct ReplayResult {
  ops::Limits limits;              // the limits the ops ran with
  std::vector<Step> steps;         // one per op line, in order
  std::vector<size_t> mismatches;  // indices into steps
  std::optional<check::Finding> finding;  // where the implementation diverged, or a side crashed
  std::optional<int> impl_stopped;        // line of the first op the implementation lacks
  std::vector<LayoutCheck> layouts;       // every `# layout` claim, in order
  size_t ops_skipped = 0;                 // op lines the differential run did not reach

  size_t expectations() const;
  size_t layout_mismatches() const;
  bool ok() const { return mismatches.empty() && !finding && layout_mismatches() == 0; }
};

// "FILE:LINE:COL: error: MESSAGE", the way compilers report, so editors can jump there.
std::string parse_error_text(std::string_view path, const ops::ParseError& error);

// Runs `trace` with `limits` exactly as given (its `# limits:` line is not consulted).
// A crash of either side is the finding (kind "crash" or "model-crash"); the model's
// steps then end before the op that crashed.
ReplayResult replay(const ops::Trace& trace, const ops::Limits& limits, const impl::Bugs& bugs = {});

// Overwrites the limits fields a caller insists on (e.g. command-line flags).
using LimitsOverride = std::function<void(ops::Limits&)>;

// Settles the limits of one trace: `base`, then the trace's `# limits:` line, then
// `override_limits`; validated. Throws ops::ParseError for a bad `# limits:` line and
// std::invalid_argument for limits that do not make a machine.
ops::Limits trace_limits(const ops::Trace& trace, const ops::Limits& base,
                         const LimitsOverride& override_limits = {});

// Parses `text`, settles its limits as trace_limits() does and replays it. Throws what
// parse_trace() and trace_limits() throw.
ReplayResult replay_text(std::string_view text, const ops::Limits& base = {},
                         const LimitsOverride& override_limits = {}, const impl::Bugs& bugs = {});

}  // namespace tools
