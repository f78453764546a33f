#include "tools/bug_options.hpp"

namespace tools {

void add_bug_option(CLI::App& cmd, std::vector<std::string>& names) {
  std::vector<std::string> known;
  for (const auto& [name, field] : impl::bug_names()) known.emplace_back(name);
  cmd.add_option("--bug", names, "turn on an injected implementation bug (impl/bugs.hpp); repeatable")
      ->check(CLI::IsMember(known))
      ->type_name("NAME");
}

impl::Bugs bugs_from(const std::vector<std::string>& names) {
  impl::Bugs bugs;
  for (const std::string& name : names) impl::set_bug(bugs, name);
  return bugs;
}

std::string bug_flags(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& name : names) out += " --bug " + name;
  return out;
}

}  // namespace tools
