#include "tools/replay.hpp"

#include <algorithm>
#include <memory>

#include "check/runner.hpp"
#include "model/system.hpp"
#include "ops/limits_text.hpp"

namespace tools {
namespace {

ops::Result apply(model::System& system, const ops::Op& op, int line) {
  try {
    return system.apply(op);
  } catch (const std::exception& e) {
    throw ModelError(line, e.what());
  }
}

}  // namespace

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
  model::System system(limits);
  std::unique_ptr<check::Runner> runner;
  try {
    runner = std::make_unique<check::Runner>(limits, check::RunnerOptions{bugs});
  } catch (const std::invalid_argument&) {
    out.impl_stopped = 0;  // limits the implementation cannot run with: model only
  }
  for (size_t i = 0; i < trace.lines.size(); ++i) {
    const ops::Line& line = trace.lines[i];
    const int number = int(i + 1);
    if (!line.op) {
      if (auto claim = ops::parse_layout_claim(line.comment, number))
        out.layouts.push_back({number, *claim, ops::layout_text(system.observe().vmas, claim->pid)});
      continue;
    }
    out.steps.push_back(Step{.line = number,
                             .op = *line.op,
                             .result = apply(system, *line.op, number),
                             .expect = line.expect});
    if (out.steps.back().mismatch()) out.mismatches.push_back(out.steps.size() - 1);
    if (!runner) continue;
    if (!runner->supports(*line.op)) {
      out.impl_stopped = number;
      runner.reset();
    } else if ((out.finding = runner->step(*line.op))) {
      runner.reset();
    }
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
