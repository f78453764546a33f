#include "tools/limits_options.hpp"

#include <string>

namespace tools {
namespace {

const char* const group = "Limits (override the trace's `# limits:` line)";

bool is_digits(const std::string& s, size_t from, bool hex) {
  if (from >= s.size()) return false;
  for (size_t i = from; i < s.size(); ++i) {
    const char c = s[i];
    const bool ok =
        (c >= '0' && c <= '9') || (hex && ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')));
    if (!ok) return false;
  }
  return true;
}

// CLI11 reads integers with strtoull(base 0), which wraps "-1" around and reads "010"
// as octal. Accept only what a trace would: decimal, or hex with 0x.
const CLI::Validator plain_number(
    [](std::string& s) -> std::string {
      const bool hex = s.starts_with("0x") || s.starts_with("0X");
      const bool ok =
          hex ? is_digits(s, 2, true) : is_digits(s, 0, false) && (s == "0" || s[0] != '0');
      return ok ? "" : "expected a non-negative decimal or 0x-hex number, got '" + s + "'";
    },
    "");

}  // namespace

template <class T>
void LimitsOptions::add_number(CLI::App& app, const char* flag, T ops::Limits::*field,
                               const char* what) {
  CLI::Option* opt =
      app.add_option(flag, given_.*field, what)->type_name("N")->check(plain_number)->group(group);
  overrides_.push_back([this, opt, field](ops::Limits& l) {
    if (opt->count() > 0) l.*field = given_.*field;
  });
}

CLI::Option* LimitsOptions::add_switch(CLI::App& app, const char* flags, bool ops::Limits::*field,
                                       const char* what) {
  CLI::Option* opt = app.add_flag(flags, given_.*field, what)->group(group);
  overrides_.push_back([this, opt, field](ops::Limits& l) {
    if (opt->count() > 0) l.*field = given_.*field;
  });
  return opt;
}

void LimitsOptions::add_to(CLI::App& app) {
  using L = ops::Limits;
  add_number(app, "--hpage-order", &L::hpage_order, "a huge page covers 2^N pages");
  add_number(app, "--max-processes", &L::max_processes, "live processes (fork past it: EAGAIN)");
  add_number(app, "--max-vmas", &L::max_vmas, "VMAs per process (past it: ENOMEM)");
  add_number(app, "--address-space", &L::address_space, "vpns lie in [0, N)");
  add_number(app, "--max-pages", &L::max_pages, "mapped pages per process (past it: ENOMEM)");
  add_number(app, "--frames", &L::frames, "memory frames");
  add_number(app, "--swap-slots", &L::swap_slots, "swap slots");
  add_number(app, "--files", &L::files, "files 0..N-1 exist from the start");
  add_number(app, "--initial-file-pages", &L::initial_file_pages, "size of every file at start");
  add_number(app, "--max-file-pages", &L::max_file_pages, "file size limit (past it: EFBIG)");
  add_number(app, "--max-pins", &L::max_pins, "live long-term pins (past it: ENOMEM)");
  add_number(app, "--max-ops", &L::max_ops, "fuzz decoder: ops per input");
  add_number(app, "--fault-around-pages", &L::fault_around_pages,
             "a file read fault maps the cached pages of its N-page window (1: off)");

  thp_ = add_switch(app, "--thp-always,!--no-thp-always", &L::thp_always,
                    "THP \"always\": huge pages without hugepage advice");
  add_switch(app, "--file-pages-cached,!--no-file-pages-cached", &L::file_pages_cached,
             "every file page inside the file is in the page cache, always");
  exec_only_ = add_switch(app, "--exec-only,!--no-exec-only", &L::exec_only,
                          "PROT_EXEC alone is execute-only (x86 pkeys): reads SIGSEGV, mlock cannot fault it");
}

void LimitsOptions::apply(ops::Limits& limits) const {
  for (const auto& override_field : overrides_) override_field(limits);
}

}  // namespace tools
