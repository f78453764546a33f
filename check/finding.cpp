// Printing a Finding for people and saving it as a replayable trace.

#include "check/finding.hpp"

#include <fmt/format.h>

#include <stdexcept>
#include <vector>

#include "ops/limits_text.hpp"
#include "ops/trace.hpp"

namespace check {

namespace {

// "divergence", "crash" or "model crash": what the headline and the marker call it.
std::string_view what_went_wrong(const Finding& f) {
  if (f.kind == "crash") return "crash";
  if (f.kind == "model-crash") return "model crash";
  return "divergence";
}

// The lines of a detail (most have one).
std::vector<std::string_view> lines_of(std::string_view detail) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  for (size_t nl; (nl = detail.find('\n', start)) != std::string_view::npos; start = nl + 1) {
    lines.push_back(detail.substr(start, nl - start));
  }
  lines.push_back(detail.substr(start));
  return lines;
}

ops::Line comment_line(std::string comment) {
  ops::Line line;
  line.comment = std::move(comment);
  return line;
}

}  // namespace

const std::vector<std::string_view>& finding_kinds() {
  static const std::vector<std::string_view> kinds = {"result", "reclaim", "observation", "rmap", "crash",
                                                      "model-crash", "kernel"};
  return kinds;
}

bool is_crash(const Finding& finding) { return finding.kind == "crash" || finding.kind == "model-crash"; }

std::string finding_headline(const Finding& finding) {
  return fmt::format("{} {} op {} ({})", what_went_wrong(finding), is_crash(finding) ? "in" : "after",
                     finding.op_index + 1, ops::print_op(finding.op));
}

std::string finding_text(const Finding& finding, std::string_view replay_path) {
  std::string out = finding_headline(finding) + "\n";
  for (const std::string& d : finding.details) {
    for (std::string_view l : lines_of(d)) out += fmt::format("  {}\n", l);
  }
  if (finding.seed) out += fmt::format("seed: {}\n", *finding.seed);
  if (!replay_path.empty()) out += fmt::format("replay: rmapcheck replay {}\n", replay_path);
  return out;
}

std::string finding_trace(const Finding& finding, const ops::Limits& limits) {
  if (finding.op_index >= finding.trace.size()) {
    throw std::invalid_argument(fmt::format("finding: op {} is past the end of its {}-op trace",
                                            finding.op_index + 1, finding.trace.size()));
  }
  if (finding.trace[finding.op_index] != finding.op) {
    throw std::invalid_argument(
        fmt::format("finding: op {} of the trace is ({}), not ({})", finding.op_index + 1,
                    ops::print_op(finding.trace[finding.op_index]), ops::print_op(finding.op)));
  }
  ops::Trace t;
  t.lines.push_back(comment_line("# " + finding_headline(finding)));
  for (const std::string& d : finding.details) {
    for (std::string_view l : lines_of(d))
      t.lines.push_back(comment_line(fmt::format("#   {}", l)));
  }
  if (std::string l = ops::limits_comment(limits); !l.empty()) {
    t.lines.push_back(comment_line(std::move(l)));
  }
  if (finding.seed) t.lines.push_back(comment_line(fmt::format("# seed: {}", *finding.seed)));
  for (size_t i = 0; i <= finding.op_index; ++i) {
    ops::Line line;
    line.op = finding.trace[i];
    if (i == finding.op_index) {
      line.gap = "  ";
      line.comment = fmt::format("# <- {} here", what_went_wrong(finding));
    }
    t.lines.push_back(std::move(line));
  }
  return ops::print_trace(t);
}

}  // namespace check
