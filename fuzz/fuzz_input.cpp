#include "fuzz/fuzz_input.hpp"

#include <fmt/core.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "check/finding.hpp"
#include "check/runner.hpp"
#include "ops/world_byte.hpp"

namespace fuzz {

namespace {

impl::Bugs parse_bugs(const char* env) {
  impl::Bugs bugs;
  std::string_view rest = env ? env : "";
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    const std::string_view name = rest.substr(0, comma);
    if (!name.empty() && !impl::set_bug(bugs, name)) {
      fmt::print(stderr, "RMAPCHECK_BUGS: unknown bug '{}' (see impl/bugs.hpp)\n", name);
      std::exit(2);
    }
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
  }
  return bugs;
}

// " --bug NAME" for each bug switched on, so the printed command reproduces the run.
std::string bug_flags() {
  std::string out;
  for (const auto& [name, field] : impl::bug_names())
    if (bugs_from_env().*field) out += fmt::format(" --bug {}", name);
  return out;
}

}  // namespace

const impl::Bugs& bugs_from_env() {
  static const impl::Bugs bugs = parse_bugs(std::getenv("RMAPCHECK_BUGS"));
  return bugs;
}

void run_input(std::span<const uint8_t> bytes) {
  static const ops::Limits world = ops::campaign_limits();
  const ops::FuzzInput in = ops::decode_input(bytes, world);
  const ops::Limits& limits = in.limits;
  const check::SequenceResult result =
      check::run_sequence(limits, in.ops, check::RunnerOptions{bugs_from_env(), check::campaign_full_check_every});
  if (!result.finding) return;
  fmt::print(stderr, "{}shrink: rmapcheck shrink --from-bytes CRASH-FILE{}\n\n{}",
             check::finding_text(*result.finding, ""), bug_flags(), check::finding_trace(*result.finding, limits));
  std::fflush(stderr);
  std::abort();
}

}  // namespace fuzz
