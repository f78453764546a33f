#include "tools/replay.hpp"

#include <algorithm>
#include <memory>

#include <fmt/format.h>

#include "check/forked_run.hpp"
#include "check/runner.hpp"
#include "impl/kernel.hpp"
#include "model/system.hpp"
#include "ops/limits_text.hpp"

namespace tools {

std::string parse_error_text(std::string_view path, const ops::ParseError& error) {
  // ParseError's what() already starts with "line L, column C: "; say it once.
  std::string_view message = error.what();
  const std::string located =
      "line " + std::to_string(error.line) + ", column " + std::to_string(error.column) + ": ";
  if (message.starts_with(located)) message.remove_prefix(located.size());
  return std::string(path) + ":" + std::to_string(error.line) + ":" + std::to_string(error.column) +
         ": error: " + std::string(message);
}

size_t ReplayResult::layout_mismatches() const {
  return size_t(std::ranges::count_if(layouts, [](const LayoutCheck& c) { return !c.holds(); }));
}

size_t ReplayResult::expectations() const {
  return size_t(std::ranges::count_if(steps, [](const Step& s) { return s.expect.has_value(); }));
}

ReplayResult replay(const ops::Trace& trace, const ops::Limits& limits, const impl::Bugs& bugs) {
  ReplayResult out{.limits = limits, .steps = {}, .mismatches = {}, .finding = {}, .impl_stopped = {}, .layouts = {}};
  // The differential run: every op up to the first one the implementation lacks.
  std::vector<ops::Op> differential;
  bool runnable = true;
  try {
    check::Runner probe(limits, check::RunnerOptions{bugs});
  } catch (const std::invalid_argument&) {
    runnable = false;
    out.impl_stopped = 0;  // limits the implementation cannot run with: model only
  }
  for (size_t i = 0; i < trace.lines.size() && runnable; ++i) {
    const ops::Line& line = trace.lines[i];
    if (!line.op) continue;
    if (!impl::Kernel::supports(*line.op, limits)) {
      out.impl_stopped = int(i + 1);
      break;
    }
    differential.push_back(*line.op);
  }
  if (!differential.empty())
    out.finding = check::run_sequence_forked(limits, differential, check::RunnerOptions{bugs}).finding;
  // A crash's op is not run again here: it may be one that kills the process.
  const size_t op_lines = size_t(std::ranges::count_if(trace.lines, [](const ops::Line& l) { return l.op.has_value(); }));
  const size_t model_ops = out.finding && check::is_crash(*out.finding) ? out.finding->op_index : op_lines;
  out.ops_skipped = op_lines - (out.finding ? out.finding->op_index + 1 : differential.size());
  model::System system(limits);
  for (size_t i = 0; i < trace.lines.size(); ++i) {
    const ops::Line& line = trace.lines[i];
    if (line.op && out.steps.size() >= model_ops) break;
    if (!line.op) {
      if (auto claim = ops::parse_layout_claim(line.comment, int(i + 1)))
        out.layouts.push_back({int(i + 1), *claim, ops::layout_text(system.observe().vmas, claim->pid)});
      continue;
    }
    Step step{.line = int(i + 1), .op = *line.op, .result = {}, .expect = line.expect};
    try {
      step.result = system.apply(*line.op);
    } catch (const std::exception& e) {
      // Past the differential run (or the runner found something earlier): the model's
      // crash is the finding, unless there is one already.
      if (!out.finding) {
        std::vector<ops::Op> ran;
        for (const Step& s : out.steps) ran.push_back(s.op);
        ran.push_back(*line.op);
        out.finding = check::Finding{ran.size() - 1, *line.op, "model-crash",
                                     {fmt::format("the model threw: {}", e.what())}, ran, std::nullopt};
      }
      break;
    }
    out.steps.push_back(std::move(step));
    if (out.steps.back().mismatch()) out.mismatches.push_back(out.steps.size() - 1);
  }
  return out;
}

ops::Limits trace_limits(const ops::Trace& trace, const ops::Limits& base,
                         const LimitsOverride& override_limits) {
  ops::Limits limits = ops::limits_from_trace(trace, base);
  if (override_limits) override_limits(limits);
  ops::validate_limits(limits);
  return limits;
}

ReplayResult replay_text(std::string_view text, const ops::Limits& base,
                         const LimitsOverride& override_limits, const impl::Bugs& bugs) {
  const ops::Trace trace = ops::parse_trace(text);
  return replay(trace, trace_limits(trace, base, override_limits), bugs);
}

}  // namespace tools
