#pragma once
// `--bug NAME` (repeatable): turns on an injected bug of the implementation's bug zoo
// (impl/bugs.hpp), to see the checker find it.

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "impl/bugs.hpp"

namespace tools {

void add_bug_option(CLI::App& cmd, std::vector<std::string>& names);
impl::Bugs bugs_from(const std::vector<std::string>& names);
// " --bug A --bug B": what a replay command line needs to see the same bugs.
std::string bug_flags(const std::vector<std::string>& names);

}  // namespace tools
