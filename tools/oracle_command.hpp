#pragma once
// The `rmapcheck oracle` command: runs traces on this machine's Linux kernel, with real
// processes, and compares what the kernel shows with the model (oracle/oracle.hpp).

#include <CLI/CLI.hpp>

namespace tools {

// Registers `oracle` on `app`; its exit code (tools::ExitCode) goes to `exit_code`.
void add_oracle_command(CLI::App& app, int& exit_code);

}  // namespace tools
