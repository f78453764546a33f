#pragma once
// The `rmapcheck run` command: a random differential campaign.

#include <CLI/CLI.hpp>

namespace tools {

// Registers `run` on `app`; its exit code (tools::ExitCode) goes to `exit_code`.
void add_run_command(CLI::App& app, int& exit_code);

}  // namespace tools
