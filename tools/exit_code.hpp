#pragma once
// Exit codes of every rmapcheck command. Ordered by severity, so a command that
// handles several inputs exits with the largest code any of them produced.

namespace tools {

enum ExitCode : int {
  exit_ok = 0,        // everything checked held
  exit_mismatch = 1,  // a check failed: an expectation, a divergence, a crash of either side
  exit_usage = 2,     // bad command line, unreadable file, parse or limits error
  exit_internal = 3,  // the harness itself failed (no child process, the oracle's own error)
};

}  // namespace tools
