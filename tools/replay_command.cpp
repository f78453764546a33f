#include "tools/replay_command.hpp"

#include <fmt/core.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "check/finding.hpp"
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

struct ReplayOptions {
  std::string file;
  std::string all_dir;
  bool quiet = false;
  std::vector<std::string> bugs;
  LimitsOptions limits;
};

// One trace file replayed: the result, or the exit code of why there is none.
struct FileRun {
  ExitCode code = exit_ok;
  std::optional<ReplayResult> result;
};

FileRun run_file(const std::string& path, const LimitsOptions& flags, const impl::Bugs& bugs = {}) {
  const std::optional<std::string> text = read_file(path);
  if (!text) {
    print_error("{}: error: cannot read file\n", path);
    return {exit_usage, std::nullopt};
  }
  try {
    ReplayResult result =
        replay_text(*text, ops::Limits{}, [&flags](ops::Limits& l) { flags.apply(l); }, bugs);
    const ExitCode code = result.ok() ? exit_ok : exit_mismatch;
    return {code, std::move(result)};
  } catch (const ops::ParseError& e) {
    print_error("{}\n", parse_error_text(path, e));
    return {exit_usage, std::nullopt};
  } catch (const std::invalid_argument& e) {
    print_error("{}: error: {}\n", path, e.what());  // what() names the field
    return {exit_usage, std::nullopt};
  } catch (const std::system_error& e) {  // no child process for the differential run
    print_error("{}: internal error: {}\n", path, e.what());
    return {exit_internal, std::nullopt};
  }
}

void print_step(const Step& step) {
  fmt::print("{}  # = {}\n", ops::print_op(step.op), ops::result_text(step.result));
}

void print_mismatch(const std::string& path, const Step& step) {
  fmt::print("{}:{}: mismatch: {}: expected {}, actual {}\n", path, step.line,
             ops::print_op(step.op), ops::result_text(*step.expect), ops::result_text(step.result));
}

void print_layout_mismatch(const std::string& path, const LayoutCheck& check) {
  fmt::print("{}:{}: layout mismatch: pid {}: claimed {}, actual {}\n", path, check.line, check.claim.pid,
             ops::layout_text(check.claim), check.actual);
}

void print_mismatches(const std::string& path, const ReplayResult& result) {
  for (size_t i : result.mismatches) print_mismatch(path, result.steps[i]);
  for (const LayoutCheck& check : result.layouts)
    if (!check.holds()) print_layout_mismatch(path, check);
}

// Echoes the limits (when not the defaults) and every op with its result, each
// mismatch right after its op.
void print_steps(const std::string& path, const ReplayResult& result) {
  const std::string limits = ops::limits_comment(result.limits);
  if (!limits.empty()) fmt::print("{}\n", limits);
  for (const Step& step : result.steps) {
    print_step(step);
    if (step.mismatch()) print_mismatch(path, step);
  }
  for (const LayoutCheck& check : result.layouts)
    if (!check.holds()) print_layout_mismatch(path, check);
}

// The implementation's side: a divergence as a finding, or where it had to stop.
void print_differential(const std::string& path, const ReplayResult& result, const std::string& flags) {
  if (result.finding) fmt::print("{}", check::finding_text(*result.finding, path + flags));
  if (result.impl_stopped)
    fmt::print("{}:{}: note: the implementation does not support this op yet; from here on the model runs alone\n",
               path, *result.impl_stopped);
}

int replay_one(const ReplayOptions& opts) {
  const FileRun run = run_file(opts.file, opts.limits, bugs_from(opts.bugs));
  if (!run.result) return run.code;
  const ReplayResult& result = *run.result;
  if (opts.quiet) {
    print_mismatches(opts.file, result);
  } else {
    print_steps(opts.file, result);
  }
  print_differential(opts.file, result, bug_flags(opts.bugs));
  fmt::print("{}: {} ops, {} expectations, {} mismatches", opts.file, result.steps.size(),
             result.expectations(), result.mismatches.size());
  if (!result.layouts.empty())
    fmt::print(", {} layout claims, {} not met", result.layouts.size(), result.layout_mismatches());
  fmt::print("\n");
  return run.code;
}

int replay_all(const ReplayOptions& opts) {
  const auto paths = traces_in(opts.all_dir);
  if (!paths) {
    print_error("{}: error: cannot list directory\n", opts.all_dir);
    return exit_usage;
  }
  int worst = exit_ok;
  size_t failed = 0;
  for (const std::string& path : *paths) {
    const FileRun run = run_file(path, opts.limits, bugs_from(opts.bugs));
    worst = std::max<int>(worst, run.code);
    if (run.code != exit_ok) ++failed;
    if (run.result) print_mismatches(path, *run.result);
    if (run.result && run.result->finding) fmt::print("{}", check::finding_text(*run.result->finding, path));
    if (!opts.quiet) fmt::print("{}  {}\n", run.code == exit_ok ? "PASS" : "FAIL", path);
  }
  fmt::print("{} traces, {} passed, {} failed\n", paths->size(), paths->size() - failed, failed);
  return worst;
}

}  // namespace

void add_replay_command(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<ReplayOptions>();
  CLI::App* cmd =
      app.add_subcommand("replay", "Replay a trace on the model and the implementation, and check it");
  cmd->footer(
      "Applies the ops in order to a fresh model, prints each as `OP  # = RESULT` and checks "
      "every `# = RESULT` the trace states. The same ops run on the implementation beside "
      "the model until an op it does not support yet; a divergence is printed as a finding.\n"
      "Limits: defaults < the trace's `# limits:` line < flags.\n"
      "Exit: 0 all expectations hold, 1 a mismatch, divergence or crash of either side, 2 usage, parse or "
      "limits error, 3 internal error.");
  CLI::Option* file = cmd->add_option("FILE", opts->file, "trace file to replay")->type_name("");
  CLI::Option* all =
      cmd->add_option("--all", opts->all_dir,
                      "replay every *.trace in DIR: one line per trace and a summary")
          ->type_name("DIR");
  file->excludes(all);
  cmd->add_flag("-q,--quiet", opts->quiet, "print only mismatches, errors and the summary");
  add_bug_option(*cmd, opts->bugs);
  opts->limits.add_to(*cmd);
  cmd->callback([opts, file, all, &exit_code] {
    if (file->count() + all->count() == 0) throw CLI::RequiredError("FILE or --all DIR");
    exit_code = all->count() > 0 ? replay_all(*opts) : replay_one(*opts);
  });
}

}  // namespace tools
