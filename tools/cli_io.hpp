#pragma once
// File reading and error printing shared by the rmapcheck commands.

#include <fmt/core.h>

#include <cstdio>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace tools {

// Errors go to stderr; stdout is flushed first so both streams read in order on a terminal.
template <class... Args>
void print_error(fmt::format_string<Args...> format, Args&&... args) {
  std::fflush(stdout);
  fmt::print(stderr, format, std::forward<Args>(args)...);
}

// The whole file, or nothing if it cannot be read (a directory counts as unreadable:
// an ifstream would read it as empty).
std::optional<std::string> read_file(const std::string& path);

// Every *.trace directly in `dir`, sorted so runs are repeatable; nothing if the
// directory cannot be listed.
std::optional<std::vector<std::string>> traces_in(const std::string& dir);

}  // namespace tools
