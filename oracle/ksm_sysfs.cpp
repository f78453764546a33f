#include "oracle/ksm_sysfs.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include "oracle/cleanup.hpp"
#include "oracle/processes.hpp"

namespace oracle {
namespace {

const std::string ksm_dir = "/sys/kernel/mm/ksm/";

std::string read_setting(const std::string& name) {
  std::ifstream in(ksm_dir + name);
  std::string v;
  in >> v;
  return v;
}

void write_setting(const std::string& name, const std::string& value) {
  std::ofstream out(ksm_dir + name);
  out << value << '\n';
  out.flush();
  if (!out) throw OracleError(fmt::format("cannot write {}{}", ksm_dir, name));
}

uint64_t number(const std::string& name) { return std::strtoull(read_setting(name).c_str(), nullptr, 10); }

}  // namespace

ops::Result run_ksm() {
  const std::string saved[][2] = {{"pages_to_scan", read_setting("pages_to_scan")},
                                  {"sleep_millisecs", read_setting("sleep_millisecs")},
                                  {"run", read_setting("run")}};
  for (const auto& [name, value] : saved) register_restore((ksm_dir + name).c_str(), value.c_str());
  auto restore = [&] {
    for (const auto& [name, value] : saved) write_setting(name, value);
    unregister_restores();
  };
  try {
    write_setting("pages_to_scan", "100000");
    write_setting("sleep_millisecs", "0");
    write_setting("run", "1");
    // A page merges only once its checksum held over a whole scan, so the fixpoint is
    // two full scans after the last change. With nothing mergeable anywhere ksmd does
    // not scan at all: then it is settled once nothing has moved for a while.
    using clock = std::chrono::steady_clock;
    const auto deadline = clock::now() + std::chrono::seconds(20);
    auto counters = [] {
      return std::array{number("full_scans"), number("pages_scanned"), number("pages_shared"), number("pages_sharing")};
    };
    auto last = counters();
    uint64_t last_change_scan = last[0];
    auto quiet_since = clock::now();
    while (last[0] < last_change_scan + 3 && clock::now() - quiet_since < std::chrono::milliseconds(300)) {
      if (clock::now() > deadline) throw OracleError("ksmd did not settle within 20 s");
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      const auto now = counters();
      if (now != last) quiet_since = clock::now();
      if (now[2] != last[2] || now[3] != last[3]) last_change_scan = now[0];
      last = now;
    }
  } catch (...) {
    restore();
    throw;
  }
  restore();
  return ops::Result::ok();
}

}  // namespace oracle
