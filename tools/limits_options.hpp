#pragma once
// Command-line flags for the fields of ops::Limits, shared by every command that runs
// a simulated machine. Only the flags actually given override anything, so the
// precedence defaults < a trace's `# limits:` line < flags can be applied per trace.

#include <CLI/CLI.hpp>
#include <functional>
#include <vector>

#include "ops/limits.hpp"

namespace tools {

class LimitsOptions {
 public:
  LimitsOptions() = default;
  LimitsOptions(const LimitsOptions&) = delete;  // the registered callbacks point at this
  LimitsOptions& operator=(const LimitsOptions&) = delete;

  // Registers --hpage-order, --frames, --thp-always, ... on `app` (in a "Limits" group).
  void add_to(CLI::App& app);

  // Overwrites in `limits` exactly the fields whose flag was given.
  void apply(ops::Limits& limits) const;

  // Whether --thp-always or --no-thp-always was given.
  bool thp_always_given() const { return thp_ && thp_->count() > 0; }
  // Whether --exec-only or --no-exec-only was given.
  bool exec_only_given() const { return exec_only_ && exec_only_->count() > 0; }

 private:
  template <class T>
  void add_number(CLI::App& app, const char* flag, T ops::Limits::*field, const char* what);
  CLI::Option* add_switch(CLI::App& app, const char* flags, bool ops::Limits::*field, const char* what);

  ops::Limits given_;  // parsed flag values; only fields whose flag was seen are meaningful
  CLI::Option* thp_ = nullptr;
  CLI::Option* exec_only_ = nullptr;
  std::vector<std::function<void(ops::Limits&)>> overrides_;
};

}  // namespace tools
