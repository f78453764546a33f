#include "tools/oracle_command.hpp"

#include <fmt/core.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ops/trace.hpp"
#include "oracle/cleanup.hpp"
#include "oracle/files.hpp"
#include "oracle/oracle.hpp"
#include "oracle/processes.hpp"
#include "tools/cli_io.hpp"
#include "tools/exit_code.hpp"
#include "tools/limits_options.hpp"
#include "tools/replay.hpp"

namespace tools {
namespace {

struct OracleCommandOptions {
  std::string file;
  std::string all_dir;
  uint64_t random = 0;  // sequences
  uint64_t seed = 1;
  std::string findings = "findings";
  bool quiet = false;
  oracle::OracleOptions oracle;
  LimitsOptions limits;
};

// The op's number in the file (1-based, skipped ops included) for the run's n-th op.
size_t file_op_number(const oracle::OracleRun& run, size_t ran_index) {
  size_t ran = 0;
  for (size_t i = 0; i < run.steps.size(); ++i)
    if (!run.steps[i].skipped && ran++ == ran_index) return i + 1;
  return run.steps.size();
}

void print_steps(const std::string& path, const oracle::OracleRun& run, bool quiet) {
  for (size_t i = 0; i < run.steps.size(); ++i) {
    const oracle::OracleStep& s = run.steps[i];
    if (s.skipped) {
      fmt::print("{}: op {}: skipped: {}: {}\n", path, i + 1, ops::print_op(s.op), s.note);
      continue;
    }
    if (quiet) continue;
    fmt::print("{}  # = {}{}\n", ops::print_op(s.op), ops::result_text(s.kernel), s.note.empty() ? "" : "  (" + s.note + ")");
  }
}

void print_difference(const std::string& path, const oracle::OracleRun& run) {
  const check::Finding& f = *run.difference;
  fmt::print("kernel and model differ after op {} ({})\n", file_op_number(run, f.op_index), ops::print_op(f.op));
  for (const std::string& d : f.details) fmt::print("  {}\n", d);
  fmt::print("replay: rmapcheck oracle {}\n", path);
}

// The differences that did not come back, as notes. Their runs' steps are gone, so an
// op is numbered among the ops run on the kernel, not by its line.
void print_flaky(const std::string& path, const oracle::OracleRun& run) {
  for (const check::Finding& f : run.flaky) {
    fmt::print("{}: note: a difference after `{}` (op {} of those run on the kernel) did not come back on the "
               "next run (background kernel work); compared again from the start:\n",
               path, ops::print_op(f.op), f.op_index + 1);
    for (const std::string& d : f.details) fmt::print("  {}\n", d);
  }
  if (run.incomplete)
    fmt::print("{}: note: every run differed somewhere else; the ops after op {} were not compared\n", path,
               run.steps.size());
}

// With `flaky`, whether the trace had a difference that did not come back.
ExitCode run_file(const std::string& path, const OracleCommandOptions& opts, bool print_all, bool* flaky = nullptr) {
  const std::optional<std::string> text = read_file(path);
  if (!text) {
    print_error("{}: error: cannot read file\n", path);
    return exit_usage;
  }
  try {
    const ops::Trace trace = ops::parse_trace(*text);
    const ops::Limits limits = trace_limits(trace, ops::Limits{}, [&](ops::Limits& l) { opts.limits.apply(l); });
    const oracle::OracleRun run = oracle::run_oracle_confirmed(trace.ops(), limits, opts.oracle);
    if (print_all) print_steps(path, run, opts.quiet);
    print_flaky(path, run);
    if (run.difference) print_difference(path, run);
    fmt::print("{}: {} ops: {} on the kernel, {} skipped; {}{}\n", path, run.steps.size(), run.run(), run.skipped(),
               run.difference ? "the kernel and the model differ" : "no difference",
               run.flaky.empty() ? "" : fmt::format(" (flaky: {} not reproducible)", run.flaky.size()));
    if (flaky) *flaky = !run.flaky.empty();
    return run.difference ? exit_mismatch : exit_ok;
  } catch (const ops::ParseError& e) {
    print_error("{}\n", parse_error_text(path, e));
    return exit_usage;
  } catch (const std::invalid_argument& e) {
    print_error("{}: error: {}\n", path, e.what());
    return exit_usage;
  } catch (const oracle::OracleError& e) {
    print_error("{}: oracle error: {}\n", path, e.what());
    return exit_internal;
  }
}

void print_capabilities(const OracleCommandOptions& opts) {
  const oracle::Capabilities& caps = oracle::capabilities(oracle::files_dir(opts.oracle.files_dir));
  oracle::Capabilities shown = caps;
  if (opts.oracle.hide_frames) shown.pfns = false;
  ops::Limits limits;
  opts.limits.apply(limits);
  for (const std::string& line : oracle::describe(shown, oracle::oracle_limits(limits, shown)))
    fmt::print("oracle: {}\n", line);
}

// Random sequences (random_kernel_ops) until the first difference. A difference is run
// once more: one that does not come back was caused by something no op did (khugepaged,
// writeback) and is reported as such, not as a finding.
int run_random(const OracleCommandOptions& opts) {
  const ops::Limits world = oracle::random_world();
  const auto start = std::chrono::steady_clock::now();
  size_t ran = 0, flaky = 0;
  for (uint64_t i = 0; i < opts.random; ++i) {
    const uint64_t seed = opts.seed + i;
    const std::vector<ops::Op> ops = oracle::random_kernel_ops(seed, world, opts.oracle);
    oracle::OracleRun run = oracle::run_oracle_confirmed(ops, world, opts.oracle);
    ran += run.run();
    if (!run.flaky.empty()) {
      ++flaky;
      fmt::print("seed {}: ", seed);
      print_flaky("random", run);
    }
    if (!run.difference) continue;
    run.difference->seed = seed;
    const std::string path = fmt::format("{}/oracle-{}.trace", opts.findings, seed);
    std::filesystem::create_directories(opts.findings);
    std::ofstream(path) << check::finding_trace(*run.difference, world);
    fmt::print("{}", check::finding_text(*run.difference, ""));
    fmt::print("replay: rmapcheck oracle {}\n", path);
    return exit_mismatch;
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  fmt::print("{} sequences (seeds {}..{}), {} ops on the kernel, {} not reproducible, no difference ({:.1f} s)\n",
             opts.random, opts.seed, opts.seed + opts.random - 1, ran, flaky, seconds);
  return exit_ok;
}

int run_command(const OracleCommandOptions& opts) {
  oracle::install_interrupt_handlers();
  print_capabilities(opts);
  if (opts.random > 0) {
    try {
      return run_random(opts);
    } catch (const oracle::OracleError& e) {
      print_error("oracle error: {}\n", e.what());
      return exit_internal;
    }
  }
  if (opts.all_dir.empty()) return run_file(opts.file, opts, true);
  const auto paths = traces_in(opts.all_dir);
  if (!paths) {
    print_error("{}: error: cannot list directory\n", opts.all_dir);
    return exit_usage;
  }
  int worst = exit_ok;
  size_t failed = 0, flaky = 0;
  for (const std::string& path : *paths) {
    bool was_flaky = false;
    const ExitCode code = run_file(path, opts, false, &was_flaky);
    worst = std::max<int>(worst, code);
    failed += code != exit_ok;
    flaky += was_flaky;
  }
  fmt::print("{} traces, {} passed, {} failed, {} flaky (a difference that did not come back)\n", paths->size(),
             paths->size() - failed, failed, flaky);
  return worst;
}

}  // namespace

void add_oracle_command(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<OracleCommandOptions>();
  CLI::App* cmd = app.add_subcommand("oracle", "Run a trace on this machine's Linux kernel and compare it with the model");
  cmd->footer(
      "Runs the trace with one real process per trace pid, in a reserved region of memory, "
      "and after every op compares what the kernel shows (/proc/PID/smaps, pagemap, "
      "/proc/kpagecount, /proc/kpageflags, values read by each process) with the model's "
      "observation. The model runs with this machine's huge page size, THP mode, swap, "
      "and fault-around. Ops the kernel cannot be asked for are skipped, with a note.\n"
      "Without root, only results, VMAs, PTE states and values are compared.\n"
      "Limits: defaults < the trace's `# limits:` line < flags, then the machine's settings.\n"
      "Exit: 0 no difference, 1 the kernel and the model differ, 2 usage, parse or limits error, "
      "3 the oracle itself failed.");
  CLI::Option* file = cmd->add_option("FILE", opts->file, "trace file to run")->type_name("");
  CLI::Option* all = cmd->add_option("--all", opts->all_dir, "run every *.trace in DIR")->type_name("DIR");
  file->excludes(all);
  CLI::Option* random =
      cmd->add_option("--random", opts->random, "run N random sequences of kernel ops instead of a trace")
          ->type_name("N");
  random->excludes(file)->excludes(all);
  cmd->add_option("--seed", opts->seed, "first seed of --random (sequence i has seed S+i)")->type_name("S");
  cmd->add_option("--findings", opts->findings, "where --random writes a difference (default findings/)")
      ->type_name("DIR");
  cmd->add_flag("-q,--quiet", opts->quiet, "print only skipped ops, differences and the summary");
  cmd->add_flag("--ksm", opts->oracle.ksm,
                "put `ksm` to the kernel through /sys/kernel/mm/ksm (a system setting; restored after)");
  cmd->add_flag("--no-frames", opts->oracle.hide_frames,
                "compare only what is visible without root (results, VMAs, PTE states, values)");
  cmd->add_option("--dir", opts->oracle.files_dir, "where to make the files (default $TMPDIR or /var/tmp)")
      ->type_name("DIR");
  opts->limits.add_to(*cmd);
  cmd->callback([opts, file, all, random, &exit_code] {
    if (file->count() + all->count() + random->count() == 0) throw CLI::RequiredError("FILE, --all DIR or --random N");
    exit_code = run_command(*opts);
  });
}

}  // namespace tools
