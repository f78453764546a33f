#pragma once
// The `rmapcheck replay` command: replays one trace, or every trace of a directory,
// against the model and reports expectation mismatches.

#include <CLI/CLI.hpp>

namespace tools {

// Registers `replay` on `app`. When it runs, its exit code (tools::ExitCode) is
// stored in `exit_code`.
void add_replay_command(CLI::App& app, int& exit_code);

}  // namespace tools
