// rmapcheck run: random op sequences through the differential Runner until a finding,
// the time limit or the sequence limit. Sequence i uses seed S+i, so a finding
// reproduces from its seed alone (`--seed S+i --sequences 1`) and from the trace it
// writes (`rmapcheck replay findings/SEED.trace`).
//
// The campaign runs in a forked child, so that a crash of either side by signal does not
// end it silently: the child keeps its progress, the seed it is at and its runner's site
// in shared memory, and when it dies the parent runs that seed's sequence again (in a
// child, checking every op) to locate the crash, and reports it like any finding.

#include "tools/run_command.hpp"

#include <fmt/core.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>

#include "check/finding.hpp"
#include "check/forked_run.hpp"
#include "check/random_sequence.hpp"
#include "check/runner.hpp"
#include "ops/limits_text.hpp"
#include "ops/trace.hpp"
#include "tools/bug_options.hpp"
#include "tools/exit_code.hpp"
#include "tools/limits_options.hpp"

namespace tools {
namespace {

using Clock = std::chrono::steady_clock;

struct RunOptions {
  std::optional<uint64_t> seed;
  unsigned ops = 200;
  double seconds = 60;
  uint64_t sequences = 0;  // 0: no limit
  std::string findings_dir = "findings";
  bool quiet = false;
  std::vector<std::string> bugs;
  LimitsOptions limits;
};

struct Progress {
  uint64_t sequences = 0, ops = 0, skipped = 0;
  std::array<uint64_t, ops::op_kind_count> done{};  // ops of each kind that did something
};

bool did_something(const ops::Result& r) {
  return r.kind == ops::Result::Kind::ok || r.kind == ops::Result::Kind::value;
}

size_t kinds_covered(const Progress& p) {
  size_t n = 0;
  for (uint64_t c : p.done) n += c > 0;
  return n;
}

// With `elapsed` 0 (not known), no time and no rate.
void print_progress(const Progress& p, double elapsed, bool final) {
  if (elapsed <= 0) {
    fmt::print(stderr, "\r{} sequences, {} ops, {}/{} op kinds exercised{}", p.sequences, p.ops, kinds_covered(p),
               ops::op_kind_count, final ? "\n" : "");
    return;
  }
  fmt::print(stderr, "\r[{:5.0f}s] {} sequences, {} ops ({:.0f} ops/s), {}/{} op kinds exercised{}", elapsed,
             p.sequences, p.ops, elapsed > 0 ? double(p.ops) / elapsed : 0.0, kinds_covered(p),
             ops::op_kind_count, final ? "\n" : "");
  std::fflush(stderr);
}

// What the campaign's child shares with the parent: enough to report a crash.
struct CampaignState {
  Progress progress;
  uint64_t seed = 0;  // of the sequence being run
  check::RunnerSite site;
};

// Runs one sequence; returns its finding.
std::optional<check::Finding> run_one(uint64_t seed, const ops::Limits& limits, const impl::Bugs& bugs,
                                      CampaignState& state) {
  Progress& progress = state.progress;
  state.seed = seed;
  check::Runner runner(limits, check::RunnerOptions{bugs, check::campaign_full_check_every, &state.site});
  std::optional<check::Finding> finding;
  for (const ops::Op& op : check::random_sequence(seed, limits)) {
    if (!runner.supports(op)) {
      ++progress.skipped;
      continue;
    }
    ++progress.ops;
    if ((finding = runner.step(op))) break;
    if (did_something(runner.last_result())) ++progress.done[op.index()];
  }
  if (!finding) finding = runner.finish();
  if (finding) finding->seed = seed;
  return finding;
}

int report(const check::Finding& finding, const ops::Limits& limits, const RunOptions& opts) {
  std::filesystem::create_directories(opts.findings_dir);
  const std::string path = fmt::format("{}/{}.trace", opts.findings_dir, *finding.seed);
  std::ofstream(path) << check::finding_trace(finding, limits);
  fmt::print("{}", check::finding_text(finding, path + bug_flags(opts.bugs)));
  return exit_mismatch;
}

// The campaign's world and how it varies by seed.
struct World {
  ops::Limits limits;
  // Unless told otherwise, odd seeds run with THP "always", so that every sequence
  // either needs hugepage advice for huge pages or gets them wherever they fit, and
  // seeds 2 and 3 mod 4 with execute-only PROT_EXEC, the two ways x86 machines differ.
  // A seed alone still says everything: `--seed S --sequences 1` runs as sequence S ran.
  bool vary_thp = true, vary_exec_only = true;

  ops::Limits for_seed(uint64_t seed) const {
    ops::Limits l = limits;
    if (vary_thp) l.thp_always = seed % 2 == 1;
    if (vary_exec_only) l.exec_only = seed % 4 >= 2;
    return l;
  }
};

// The campaign proper, in the child; returns the exit code.
int campaign_loop(const RunOptions& opts, const World& world, uint64_t seed, CampaignState& state) {
  const auto start = Clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - start).count(); };
  Progress& progress = state.progress;
  double shown = 0;
  for (uint64_t i = 0; opts.sequences == 0 || i < opts.sequences; ++i) {
    if (opts.sequences == 0 && elapsed() >= opts.seconds) break;
    const ops::Limits sequence_limits = world.for_seed(seed + i);
    auto finding = run_one(seed + i, sequence_limits, bugs_from(opts.bugs), state);
    ++progress.sequences;
    if (finding) {
      if (!opts.quiet) print_progress(progress, elapsed(), true);
      return report(*finding, sequence_limits, opts);
    }
    if (!opts.quiet && elapsed() - shown >= 1) print_progress(progress, shown = elapsed(), false);
  }
  if (!opts.quiet) print_progress(progress, elapsed(), true);
  fmt::print("no finding: {} sequences, {} ops, {} ops skipped (not in the implementation yet)\n",
             progress.sequences, progress.ops, progress.skipped);
  return exit_ok;
}

// The child died in the sequence of `state.seed`: run it again in a child, checking
// every op, to find the first op where something went wrong, and report that.
int report_crash(const RunOptions& opts, const World& world, const CampaignState& state, const std::string& how) {
  if (!opts.quiet) print_progress(state.progress, 0, true);
  fmt::print(stderr, "rmapcheck run: the campaign {} in the sequence of seed {}; running it again to locate that\n",
             how, state.seed);
  const ops::Limits limits = world.for_seed(state.seed);
  const std::vector<ops::Op> ops = check::random_sequence(state.seed, limits);
  auto again = check::run_sequence_forked(limits, ops, check::RunnerOptions{bugs_from(opts.bugs)});
  // Should the crash not come back, the campaign's own site still names the op.
  check::Finding finding = again.finding ? std::move(*again.finding)
                                         : check::crash_finding(check::supported_ops(limits, ops), state.site, how);
  finding.seed = state.seed;
  return report(finding, limits, opts);
}

int run_campaign(const RunOptions& opts) {
  // The world grows with --hpage-order; every other flag given still has the last word.
  ops::Limits given;
  opts.limits.apply(given);
  World world{ops::campaign_limits(given.hpage_order), !opts.limits.thp_always_given(),
              !opts.limits.exec_only_given()};
  opts.limits.apply(world.limits);
  world.limits.max_ops = opts.ops;
  ops::validate_limits(world.limits);
  const uint64_t seed = opts.seed ? *opts.seed : std::random_device{}() * 0x100000001ull;
  ops::Limits shown_limits = world.limits;
  shown_limits.max_ops = ops::Limits{}.max_ops;  // already said by --ops
  const std::string comment = ops::limits_comment(shown_limits);
  fmt::print("rmapcheck run --seed {} --ops {}{}{}{}\n", seed, opts.ops,
             comment.empty() ? "" : "  (" + comment + ")", world.vary_thp ? "  thp_always on odd seeds" : "",
             world.vary_exec_only ? "  exec_only on seeds 2,3 mod 4" : "");
  check::Shared<CampaignState> state;
  const check::ChildEnd end = check::run_in_child([&](int) {
    try {
      return campaign_loop(opts, world, seed, *state);
    } catch (const std::invalid_argument& e) {
      fmt::print(stderr, "rmapcheck run: error: {}\n", e.what());
      return int(exit_usage);
    } catch (const std::exception& e) {  // not a crash of either side: the Runner catches those
      fmt::print(stderr, "rmapcheck run: internal error: {}\n", e.what());
      return int(exit_internal);
    }
  });
  if (end.returned) return end.code;
  return report_crash(opts, world, *state, end.how);
}

}  // namespace

void add_run_command(CLI::App& app, int& exit_code) {
  auto opts = std::make_shared<RunOptions>();
  CLI::App* cmd = app.add_subcommand("run", "Run a random differential campaign: model beside implementation");
  cmd->footer(
      "Stops at the first finding, writes it to FINDINGS/SEED.trace and prints how to replay it.\n"
      "The campaign's world is denser than the trace defaults: --address-space 0x100 --max-pages 0x100 --frames 64 --swap-slots 48 "
      "unless given; with --hpage-order N it grows to hold huge pages (8 of address space, 4 per process, 4 of memory).\n"
      "Without --thp-always or --no-thp-always, odd seeds run with THP \"always\".\n"
      "Exit: 0 no finding, 1 a finding, 2 usage or limits error.");
  cmd->add_option("--seed", opts->seed, "seed of the first sequence (default: random; printed)");
  cmd->add_option("--ops", opts->ops, "ops per sequence")->capture_default_str()->check(CLI::Range(1u, 1u << 20));
  cmd->add_option("--time", opts->seconds, "seconds to run")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--sequences", opts->sequences, "run exactly this many sequences (overrides --time)");
  cmd->add_option("--findings", opts->findings_dir, "where finding traces go")->capture_default_str();
  cmd->add_flag("-q,--quiet", opts->quiet, "no progress line");
  add_bug_option(*cmd, opts->bugs);
  opts->limits.add_to(*cmd);
  cmd->callback([opts, &exit_code] {
    try {
      exit_code = run_campaign(*opts);
    } catch (const std::invalid_argument& e) {
      fmt::print(stderr, "rmapcheck run: error: {}\n", e.what());
      exit_code = exit_usage;
    }
  });
}

}  // namespace tools
