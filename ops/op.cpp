// Keywords of the op language: op names in variant order and madvise advice names.

#include "ops/op.hpp"

#include <array>

namespace ops {

namespace {

// Indexed by the variant index of Op, so adding an op means adding its name here.
constexpr std::array<std::string_view, op_kind_count> op_names = {
    "fork",    "exit",    "mmap",      "munmap",  "mprotect", "mremap",  "mlock",
    "munlock", "madvise", "read",      "write",   "pin",      "readpin", "writepin",
    "unpin",   "fwrite",  "ftruncate", "reclaim", "migrate",  "ksm",     "split",
};

constexpr std::array<std::string_view, advice_count> advice_names = {
    "dontfork",    "dofork",   "wipeonfork", "keeponfork", "dontneed", "free",     "mergeable",
    "unmergeable", "hugepage", "nohugepage", "cold",       "pageout",  "willneed", "collapse",
};

}  // namespace

std::string_view advice_name(Advice a) {
  auto i = static_cast<size_t>(a);
  return i < advice_names.size() ? advice_names[i] : "?";
}

std::optional<Advice> parse_advice(std::string_view s) {
  for (size_t i = 0; i < advice_names.size(); ++i) {
    if (advice_names[i] == s) return Advice(i);
  }
  return std::nullopt;
}

std::string_view op_name(const Op& op) { return op_kind_name(unsigned(op.index())); }

std::string_view op_kind_name(unsigned kind_index) {
  return kind_index < op_names.size() ? op_names[kind_index] : "?";
}

}  // namespace ops
