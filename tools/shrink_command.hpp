#pragma once
// The `rmapcheck shrink` command: shrink a failing trace (or fuzz input) to a short
// trace that fails the same way.

#include <CLI/CLI.hpp>

namespace tools {

// Registers `shrink` on `app`; its exit code (tools::ExitCode) goes to `exit_code`.
void add_shrink_command(CLI::App& app, int& exit_code);

}  // namespace tools
