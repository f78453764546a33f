// rmapcheck: the command-line program. Each command lives in its own *_command file;
// this file only assembles them and maps command-line errors to exit codes.

#include <fmt/core.h>

#include <CLI/CLI.hpp>
#include <exception>

#include "tools/bytes_command.hpp"
#include "tools/exit_code.hpp"
#include "tools/oracle_command.hpp"
#include "tools/replay_command.hpp"
#include "tools/run_command.hpp"
#include "tools/shrink_command.hpp"

int main(int argc, char** argv) {
  CLI::App app(
      "rmapcheck checks a kernel-shaped rmap/reclaim implementation against a naive "
      "reference model.",
      "rmapcheck");
  app.require_subcommand(1);
  int exit_code = tools::exit_ok;
  tools::add_replay_command(app, exit_code);
  tools::add_run_command(app, exit_code);
  tools::add_shrink_command(app, exit_code);
  tools::add_bytes_commands(app, exit_code);
  tools::add_oracle_command(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help is reported as a ParseError with exit code 0.
    return app.exit(e) == 0 ? tools::exit_ok : tools::exit_usage;
  } catch (const std::exception& e) {
    fmt::print(stderr, "rmapcheck: internal error: {}\n", e.what());
    return tools::exit_internal;
  }
  return exit_code;
}
