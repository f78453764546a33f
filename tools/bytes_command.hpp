#pragma once
// The `rmapcheck encode` and `rmapcheck decode` commands: traces to fuzz inputs and
// back, exactly (ops/decode.hpp). They make the fuzzers' seed corpus from readable
// traces and turn any fuzz input into a trace a person can read and replay.

#include <CLI/CLI.hpp>

namespace tools {

// Registers `encode` and `decode` on `app`; their exit code goes to `exit_code`.
void add_bytes_commands(CLI::App& app, int& exit_code);

}  // namespace tools
