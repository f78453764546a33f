// rmapcheck shrink: read a failing trace (or fuzz bytes), shrink it with check::shrink
// and write the short trace that fails the same way, ready for `rmapcheck replay`.

#include "tools/shrink_command.hpp"

#include <fmt/core.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "check/finding.hpp"
#include "check/shrink.hpp"
#include "ops/decode.hpp"
#include "ops/world_byte.hpp"
#include "ops/limits_text.hpp"
#include "ops/trace.hpp"
#include "tools/bug_options.hpp"
#include "tools/cli_io.hpp"
#include "tools/exit_code.hpp"
#include "tools/limits_options.hpp"
#include "tools/replay.hpp"

namespace tools {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct ShrinkOptions {
  std::string input;
  bool from_bytes = false;
  std::string output;  // default: INPUT with .trace replaced by .min.trace
  unsigned max_runs = 20000;
  double seconds = 120;
  LimitsOptions limits;
  std::vector<std::string> bugs;
};

std::string default_output(const std::string& input) {
  const std::string suffix = ".trace";
  if (input.size() > suffix.size() && input.ends_with(suffix))
    return input.substr(0, input.size() - suffix.size()) + ".min.trace";
  return input + ".min.trace";
}

// The ops to shrink and the limits they run with.
struct Input {
  std::vector<ops::Op> ops;
  ops::Limits limits;
};

// Reads and parses the input; prints why not and returns nothing on failure.
std::optional<Input> read_input(const ShrinkOptions& opts) {
  const std::optional<std::string> content = read_file(opts.input);
  if (!content) {
    print_error("{}: error: cannot read file\n", opts.input);
    return std::nullopt;
  }
  try {
    if (opts.from_bytes) {
      // Bytes carry no limits but their world byte: they decode in the fuzzers' world,
      // which flags may change (and have the last word over the world byte).
      ops::Limits limits = ops::campaign_limits();
      opts.limits.apply(limits);
      ops::validate_limits(limits);
      const auto* data = reinterpret_cast<const uint8_t*>(content->data());
      ops::FuzzInput in = ops::decode_input(std::span<const uint8_t>(data, content->size()), limits);
      opts.limits.apply(in.limits);
      return Input{std::move(in.ops), in.limits};
    }
    const ops::Trace trace = ops::parse_trace(*content);
    const ops::Limits limits =
        trace_limits(trace, ops::Limits{}, [&opts](ops::Limits& l) { opts.limits.apply(l); });
    return Input{trace.ops(), limits};
  } catch (const ops::ParseError& e) {
    print_error("{}\n", parse_error_text(opts.input, e));
  } catch (const std::invalid_argument& e) {
    print_error("{}: error: {}\n", opts.input, e.what());
  }
  return std::nullopt;
}

int shrink_file(const ShrinkOptions& opts) {
  const std::optional<Input> input = read_input(opts);
  if (!input) return exit_usage;
  const std::string output = opts.output.empty() ? default_output(opts.input) : opts.output;
  check::ShrinkOptions shrink_options;
  shrink_options.max_runs = opts.max_runs;
  shrink_options.max_seconds = opts.seconds;
  shrink_options.bugs = bugs_from(opts.bugs);
  const auto start = Clock::now();
  check::ShrinkResult result;
  try {
    result = check::shrink(input->limits, input->ops, shrink_options);
  } catch (const std::invalid_argument& e) {  // limits the runner cannot run
    print_error("{}: error: {}\n", opts.input, e.what());
    return exit_usage;
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (result.error) {
    fmt::print("{}: nothing to shrink: {}\n", opts.input, *result.error);
    return exit_mismatch;
  }
  std::ofstream out(output, std::ios::binary);
  out << check::finding_trace(result.finding, input->limits);
  out.close();
  if (!out) {
    print_error("{}: error: cannot write file\n", output);
    return exit_usage;
  }
  fmt::print("shrunk {} ops to {} ops in {} runs ({:.1f} s){}\n", result.before, result.after, result.runs,
             seconds, result.budget_exhausted ? "; stopped by the run or time budget" : "");
  fmt::print("{}", check::finding_text(result.finding, output + bug_flags(opts.bugs)));
  return exit_ok;
}

}  // namespace

void add_shrink_command(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<ShrinkOptions>();
  CLI::App* cmd = app.add_subcommand("shrink", "Shrink a failing trace to a short one that fails the same way");
  cmd->footer(
      "Keeps a finding of the same kind after the same kind of op, and removes or simplifies "
      "everything else: ops, processes, pins, addresses, values, sizes, flags. Deterministic.\n"
      "Limits: defaults < the trace's `# limits:` line < flags. With --from-bytes the fuzzers' world "
      "(--address-space 0x100 --max-pages 0x100 --frames 64 --swap-slots 48) < flags.\n"
      "Exit: 0 wrote the shrunk trace, 1 the input has no finding, 2 usage, parse or limits error.");
  cmd->add_option("INPUT", opts->input, "trace file (or fuzz input with --from-bytes)")->required()->type_name("");
  cmd->add_flag("--from-bytes", opts->from_bytes, "INPUT is fuzz bytes, decoded with ops::decode under the limits");
  cmd->add_option("-o,--output", opts->output, "where the shrunk trace goes (default: INPUT with .trace -> .min.trace)")
      ->type_name("FILE");
  cmd->add_option("--max-runs", opts->max_runs, "stop after this many runs")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--time", opts->seconds, "stop after this many seconds")->capture_default_str()->check(CLI::PositiveNumber);
  add_bug_option(*cmd, opts->bugs);
  opts->limits.add_to(*cmd);
  cmd->callback([opts, &exit_code] { exit_code = shrink_file(*opts); });
}

}  // namespace tools
